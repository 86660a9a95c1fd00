"""Set PE and SIMD on every MatrixVectorUnit (see hwcomp.hw.folding)."""
from __future__ import annotations

from hwcomp.hw.chain import mvu_chain
from hwcomp.hw.folding import Folding, balanced_folding, explicit_folding
from hwcomp.ir.graph import Graph
from hwcomp.ir.verify import verify


def chain_dims(graph: Graph) -> list[tuple[int, int]]:
    return [tuple(n.params["weight"].shape) for n in mvu_chain(graph)]


def choose_folding(graph: Graph, target_ii: int | None = None,
                   pe_simd: list[tuple[int, int]] | None = None) -> Folding:
    dims = chain_dims(graph)
    if pe_simd is not None:
        return explicit_folding(dims, pe_simd, [n.name for n in mvu_chain(graph)])
    return balanced_folding(dims, target_ii)


def fold(graph: Graph, target_ii: int | None = None, pe_simd: list[tuple[int, int]] | None = None) -> Graph:
    folding = choose_folding(graph, target_ii, pe_simd)
    g = graph.copy()
    for node, layer in zip(mvu_chain(g), folding.layers):
        node.attrs["pe"] = layer.pe
        node.attrs["simd"] = layer.simd
    verify(g)
    return g
