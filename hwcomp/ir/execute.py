"""Run a graph on numpy inputs, node by node, through each op's reference."""
from __future__ import annotations

import numpy as np

from .graph import Graph


def execute(graph: Graph, feeds: dict[str, np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
    """Return the graph outputs (or every tensor with keep_all) for the given feeds.

    Float inputs are cast to float32; fixed-point inputs must already be integers.
    Feeds may also name intermediate tensors: nodes whose outputs are all fed
    are skipped, so a value computed elsewhere (e.g. by the RTL) flows on
    through the rest of the graph.
    """
    values: dict[str, np.ndarray] = dict(graph.constants)
    for name in graph.inputs:
        if name not in feeds:
            raise KeyError(f"missing input {name!r}")
    for name, arr in feeds.items():
        t = graph.tensors[name]
        arr = np.asarray(arr)
        values[name] = arr.astype(np.float32) if t.dtype.is_float else arr.astype(np.int64)
    for node in graph.nodes():
        if all(t in feeds for t in node.outputs if t):
            continue
        ins = [values[t] if t else None for t in node.inputs]
        outs = node.op.execute(node, ins, graph)
        for t, v in zip(node.outputs, outs):
            if t:
                values[t] = v
    if keep_all:
        return values
    return {t: values[t] for t in graph.outputs}
