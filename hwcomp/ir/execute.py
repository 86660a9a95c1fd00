"""Run a graph on numpy inputs, node by node, through each op's reference."""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError

from .graph import Graph, Node


def execute(graph: Graph, feeds: dict[str, np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
    """Return the graph outputs (or every tensor with keep_all) for the given feeds.

    Float inputs are cast to float32; fixed-point inputs must already be integers.
    Feeds may also name intermediate tensors: nodes whose outputs are all fed
    are skipped, so a value computed elsewhere (e.g. by the RTL) flows on
    through the rest of the graph.

    A float op that turns finite values into NaN or Inf (float32 overflow, a
    division by zero) raises HwcompError naming the node: calibration ranges and
    simulated outputs must not be computed from such values.
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
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below, by name
            outs = node.op.execute(node, ins, graph)
        for t, v in zip(node.outputs, outs):
            if t:
                _check_finite(graph, node, t, v, ins)
                values[t] = v
    if keep_all:
        return values
    return {t: values[t] for t in graph.outputs}


def _finite(v) -> bool:
    return not (isinstance(v, np.ndarray) and v.dtype.kind == "f" and not np.isfinite(v).all())


def _check_finite(graph: Graph, node: Node, tensor: str, value, inputs) -> None:
    if _finite(value) or not all(x is None or _finite(x) for x in inputs):
        return
    kinds = [k for k, m in (("NaN", np.isnan(value)), ("Inf", np.isinf(value))) if m.any()]
    raise HwcompError(f"{graph.meta.get('source', graph.name)}: node '{node.name}' ({node.op.name}) computes "
                      f"{' and '.join(kinds)} in {tensor!r} from finite inputs (float32 overflow or a division by "
                      "zero: weights or data far too large?); supported: models whose values stay finite in float32")
