"""Fold every block of the hardware region (hwcomp/hw/folder.py): PE and SIMD on
each MatrixVectorUnit, the whole folding record in meta["folding"]
(hwcomp/hw/folding.py). One folder for every design, branches included."""
from __future__ import annotations

from hwcomp.hw.folder import balanced_folding, explicit_folding
from hwcomp.hw.folding import Folding
from hwcomp.ir.graph import Graph
from hwcomp.ir.verify import verify


def choose_folding(graph: Graph, target_ii: int | None = None, pe_simd=None) -> Folding:
    """pe_simd: (PE, SIMD) per unit, a list in unit order or a dict by node name."""
    if pe_simd:
        return explicit_folding(graph, pe_simd)
    return balanced_folding(graph, target_ii)


def fold(graph: Graph, target_ii: int | None = None, pe_simd=None, folding: Folding | None = None) -> Graph:
    """Apply `folding` (one chosen elsewhere, e.g. to fit a device), else the folder's choice."""
    folding = folding or choose_folding(graph, target_ii, pe_simd)
    g = graph.copy()
    for node in g.nodes():
        knobs = folding.blocks.get(node.name, {})
        if "pe" in knobs:
            g.replace_node(node.name, type(node)(node.name, node.op, node.inputs, node.outputs,
                                                 dict(node.attrs, pe=knobs["pe"], simd=knobs["simd"]),
                                                 dict(node.params)))
    g.meta["folding"] = folding.to_meta()
    verify(g)
    return g
