"""Structural, attribute and type checks run after every pass."""
from __future__ import annotations

import networkx as nx

from .graph import Graph, Node


class VerifyError(ValueError):
    pass


def check_attrs(node: Node) -> None:
    """The node's attrs against its op's declared schema (Op.attr_schema): no unknown
    attribute, every required one present, every value of a declared type."""
    schema = node.op.attr_schema
    where = f"node {node.name!r} ({node.op.name})"
    for key in node.attrs:
        if key not in schema:
            raise VerifyError(f"{where}: unknown attribute {key!r}; {node.op.name} declares "
                              f"{', '.join(sorted(schema)) or 'no attributes'}")
    for key, spec in schema.items():
        if key not in node.attrs:
            if spec.required:
                raise VerifyError(f"{where}: missing required attribute {key!r}")
        elif not spec.accepts(node.attrs[key]):
            value = node.attrs[key]
            raise VerifyError(f"{where}: attribute {key!r} is {type(value).__name__} {value!r:.60}, "
                              f"expected {spec.type_names()}")


def verify(graph: Graph) -> None:
    # First: graph.nodes() sorts topologically and fails on a cycle with networkx's own error.
    if not nx.is_directed_acyclic_graph(graph.nx_graph()):
        raise VerifyError("graph has a cycle")
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
    for node in graph.nodes():
        check_attrs(node)  # before infer, which reads them
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
