"""cocotb side of the bulk stream testbench (runs inside the simulator).

Deliberately tiny: the Verilog testbench clocks, drives, records and times
out on its own; this only holds reset and waits for `done`, so no Python runs
per clock cycle. Results go through files the harness reads afterwards.
"""
from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

RESET_CYCLES = 4


@cocotb.test()
async def stream_until_done(dut) -> None:
    dut.rst.value = 1
    await ClockCycles(dut.clk, RESET_CYCLES)
    dut.rst.value = 0
    await RisingEdge(dut.done)
