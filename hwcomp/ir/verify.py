"""Structural and type checks run after every pass."""
from __future__ import annotations

import networkx as nx

from .graph import Graph


class VerifyError(Exception):
    pass


def verify(graph: Graph) -> None:
    produced: dict[str, str] = {}
    for node in graph.nodes():
        for t in node.outputs:
            if not t:
                continue
            if t in produced or t in graph.inputs or t in graph.constants:
                raise VerifyError(f"tensor {t!r} has more than one producer (node {node.name!r})")
            produced[t] = node.name
    available = set(graph.inputs) | set(graph.constants) | set(produced)
    for node in graph.nodes():
        for t in node.inputs:
            if t and t not in available:
                raise VerifyError(f"node {node.name!r} ({node.op.name}) reads undefined tensor {t!r}")
    for t in graph.outputs:
        if t not in available:
            raise VerifyError(f"graph output {t!r} is never produced")
    if not nx.is_directed_acyclic_graph(graph.nx_graph()):
        raise VerifyError("graph has a cycle")
    for node in graph.nodes():
        for t in list(node.inputs) + list(node.outputs):
            if t and t not in graph.tensors and t not in graph.constants:
                raise VerifyError(f"tensor {t!r} of node {node.name!r} has no type")
        expected = node.op.infer(node, graph)
        actual = [graph.tensors[t] for t in node.outputs if t]
        if list(expected)[: len(actual)] != actual:
            raise VerifyError(
                f"node {node.name!r} ({node.op.name}): stored output types "
                f"{[str(a) for a in actual]} disagree with inferred {[str(e) for e in expected]}"
            )
