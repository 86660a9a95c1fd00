"""Set PE and SIMD on every MatrixVectorUnit (see hwcomp.hw.folding)."""
from __future__ import annotations

from hwcomp.hw.chain import mvu_chain
from hwcomp.hw.dag import balanced_dag_folding
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


def fold_branches(graph: Graph, target_ii: int | None = None) -> Graph:
    """The same for a design with branches (hwcomp.hw.dag): PE per unit, lanes flowing."""
    folding = balanced_dag_folding(graph, target_ii)
    g = graph.copy()
    for node in g.nodes():
        if node.name in folding.pe_simd:
            node.attrs["pe"], node.attrs["simd"] = folding.pe_simd[node.name]
    g.meta["folding"] = {"ii": folding.ii, "ideal_ii": folding.ideal_ii, "input_lanes": folding.input_lanes}
    verify(g)
    return g
