"""Synthesis of generated designs with open tools (Yosys)."""
