"""Evaluate nodes whose inputs are all constants (shape arithmetic from exporters)."""
from __future__ import annotations

from hwcomp.ir.graph import Graph

from .base import Pass


def _fold(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    changed = False
    for node in g.nodes():
        ins = [t for t in node.inputs if t]
        if not all(t in g.constants for t in ins):
            continue
        if any(t in g.outputs for t in node.outputs):
            continue  # keep graph outputs produced by a node
        if getattr(node.op, "keeps_weight_grid", False):
            continue  # passes/weight_grid reads the quantizer's grid before folding it
        values = node.op.execute(node, [g.constants[t] if t else None for t in node.inputs], g)
        g.remove_node(node.name)
        for t, v in zip(node.outputs, values):
            if t:
                g.add_constant(t, v)
        changed = True
    if changed:
        g.remove_unused()
    return g, changed


fold_constants = Pass("fold_constants", _fold)
