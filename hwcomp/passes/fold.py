"""Set PE and SIMD on every MatrixVectorUnit (see hwcomp.hw.folding)."""
from __future__ import annotations

from hwcomp.hw.chain import mvu_chain
from hwcomp.hw.folding import Folding, balanced_folding, explicit_folding
from hwcomp.hw.stream_design import chain_layers
from hwcomp.ir.graph import Graph
from hwcomp.ir.verify import verify


def choose_folding(graph: Graph, target_ii: int | None = None,
                   pe_simd: list[tuple[int, int]] | None = None) -> Folding:
    layers, beats = chain_layers(graph)
    if pe_simd is not None:
        return explicit_folding(layers, pe_simd, [n.name for n in mvu_chain(graph)], beats)
    return balanced_folding(layers, target_ii, beats)


def fold(graph: Graph, target_ii: int | None = None, pe_simd: list[tuple[int, int]] | None = None) -> Graph:
    folding = choose_folding(graph, target_ii, pe_simd)
    g = graph.copy()
    for node, layer in zip(mvu_chain(g), folding.layers):
        node.attrs["pe"] = layer.pe
        node.attrs["simd"] = layer.simd
    g.meta["folding"] = {"ii": folding.ii, "ideal_ii": folding.ideal_ii, "stream_cycles": list(folding.stream_cycles)}
    verify(g)
    return g
