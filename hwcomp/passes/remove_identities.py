"""Drop shape-only nodes whose output type equals their input type
(Identity, inference Dropout, no-op Reshape/Flatten)."""
from __future__ import annotations

from hwcomp.ir.graph import Graph

from .base import Pass, rewire


def _remove(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    changed = False
    for node in g.nodes():
        if not node.op.shape_only or not node.inputs:
            continue
        src, dst = node.inputs[0], node.outputs[0]
        if src not in g.tensors or g.tensors[src] != g.tensors[dst]:
            continue
        if src in g.inputs and dst in g.outputs:
            continue  # a graph that is only an identity keeps its node
        extra = [t for t in node.outputs[1:] if t]
        if any(g.consumers(t) or t in g.outputs for t in extra):
            continue  # e.g. a Dropout mask that something reads
        g.remove_node(node.name)
        rewire(g, dst, src)
        changed = True
    if changed:
        g.remove_unused()
    return g, changed


remove_identities = Pass("remove_identities", _remove)
