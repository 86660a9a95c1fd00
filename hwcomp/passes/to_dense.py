"""Gemm, or MatMul followed by a bias Add, with constant weights -> Dense."""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add
from hwcomp.ops.linear import Gemm, MatMul

from .base import Pass, only_consumer, rewire


def _dense(name: str, x: str, y: str, w: np.ndarray, b: np.ndarray, attrs: dict) -> Node:
    """attrs: only a quantized layer's weight_grid (passes/weight_grid) carries over."""
    keep = {k: v for k, v in attrs.items() if k == "weight_grid"}
    return Node(name, Dense, (x,), (y,), keep, {"weight": w.astype(np.float32), "bias": b.astype(np.float32)})


def _gemm(g: Graph, node: Node) -> Node | None:
    a = node.attrs
    if a.get("transA", 0) or len(g.tensors[node.inputs[0]].shape) != 2 or node.inputs[1] not in g.constants:
        return None
    w = np.asarray(g.constants[node.inputs[1]], dtype=np.float64)
    w = (w if a.get("transB", 0) else w.T) * a.get("alpha", 1.0)
    rows = w.shape[0]
    b = np.zeros(rows)
    if len(node.inputs) > 2 and node.inputs[2]:
        if node.inputs[2] not in g.constants:
            return None
        c = np.asarray(g.constants[node.inputs[2]], dtype=np.float64) * a.get("beta", 1.0)
        if c.size not in (1, rows) or (c.ndim == 2 and c.shape[0] != 1):
            return None  # a per-sample bias is not a Dense bias
        b = np.broadcast_to(c.reshape(-1), (rows,)).copy()
    return _dense(node.name, node.inputs[0], node.outputs[0], w, b, a)


def _matmul(g: Graph, node: Node) -> Node | None:
    w = g.constants.get(node.inputs[1])
    if w is None or w.ndim != 2 or len(g.tensors[node.inputs[0]].shape) != 2:
        return None
    return _dense(node.name, node.inputs[0], node.outputs[0], np.asarray(w).T, np.zeros(w.shape[1]), node.attrs)


def _convert(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    changed = False
    for node in g.nodes():
        if node.inputs[0] not in g.tensors:
            continue  # a constant data input (a folded quantizer before it): fold_constants evaluates it
        new = _gemm(g, node) if node.op is Gemm else _matmul(g, node) if node.op is MatMul else None
        if new is not None:
            g.replace_node(node.name, new)
            changed = True
    if changed:
        g.remove_unused()
    return g, changed


def _absorb_bias(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for node in g.nodes():
        if node.op is not Dense or g.tensors[node.outputs[0]].dtype.is_fixed:
            continue
        add = only_consumer(g, node.outputs[0])
        if add is None or add.op is not Add:
            continue
        other = add.inputs[1] if add.inputs[0] == node.outputs[0] else add.inputs[0]
        c = g.constants.get(other)
        rows = node.params["weight"].shape[0]
        if c is None or c.size not in (1, rows) or g.tensors[add.outputs[0]] != g.tensors[node.outputs[0]]:
            continue
        bias = node.params["bias"] + np.broadcast_to(np.asarray(c, dtype=np.float32).reshape(-1), (rows,))
        g.replace_node(node.name, Node(node.name, Dense, node.inputs, node.outputs, dict(node.attrs),
                                       {"weight": node.params["weight"], "bias": bias}))
        g.remove_node(add.name)
        rewire(g, add.outputs[0], node.outputs[0])
        g.remove_unused()
        return g, True
    return g, False


gemm_to_dense = Pass("gemm_to_dense", _convert)
absorb_bias_add = Pass("absorb_bias_add", _absorb_bias)
