"""Quantized weights: fold each weight quantizer into its layer, remembering the grid.

A trained quantized model feeds its layers weights through a quantizer (QONNX
Quant/BipolarQuant on a float initializer, or DequantizeLinear on int8 codes).
This pass evaluates that quantizer once and gives the layer (MatMul, Gemm,
Conv) the float weights plus attr `weight_grid` = {"dtype": the code type,
"scale": one float per output channel}: weight = code * scale exactly. Later
passes keep the grid (gemm_to_dense, conv_to_windows) and must not change the
weights (fold_batchnorm skips such layers); passes/integerize recovers the
integer codes from it. Quantizers on other constants (a bias) simply fold.

It also fuses an activation's QuantizeLinear -> DequantizeLinear pair (QDQ
format) into one FakeQuant, the form QONNX files use; when the two carry
different parameters, the FakeQuant keeps the DequantizeLinear's as well.
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.conv import Conv
from hwcomp.ops.linear import Gemm, MatMul
from hwcomp.ops.quantizers import DequantizeLinear, FakeQuant, QuantizeLinear, code_dtype, value_params
from hwcomp.ops.shape import Transpose

from .act_quantizers import is_activation_quantizer
from .base import Pass

# (op, weight input index) -> axis of the output channel in the weight tensor
_LAYERS = {Conv: 1, MatMul: 1, Gemm: 1}


def _out_axis(layer: Node) -> int:
    if layer.op is Conv:
        return 0
    if layer.op is Gemm:
        return 0 if layer.attrs.get("transB", 0) else 1
    return 1


def _row_scales(node: Node, layer: Node, w_shape: tuple) -> np.ndarray:
    """Scale per output channel; fails if the scale varies along another axis."""
    scale = np.asarray(value_params(node)[0], np.float64)
    axis = _out_axis(layer)
    full = np.broadcast_to(scale, w_shape)
    rows = np.moveaxis(full, axis, 0).reshape(w_shape[axis], -1)
    if not np.all(rows == rows[:, :1]):
        raise HwcompError(f"node {node.name!r} ({node.op.name}): weight scales vary along an input axis of "
                          f"{layer.name!r}; supported: one scale per tensor or per output channel")
    out = rows[:, 0].copy()
    if layer.op is Gemm:
        out *= float(layer.attrs.get("alpha", 1.0))
    return out


def _grid(g: Graph, node: Node, layer: Node) -> dict:
    if np.any(np.asarray(value_params(node)[1]) != 0):
        raise HwcompError(f"node {node.name!r} ({node.op.name}): weights of {layer.name!r} have a non-zero "
                          "zero point; supported: symmetric weights (zero point 0)")
    w_shape = tuple(g.constants[node.inputs[0]].shape)
    dtype = code_dtype(node.attrs) if node.op is FakeQuant else code_dtype(_dq_codes(g, node))
    return {"dtype": dtype, "scale": _row_scales(node, layer, w_shape)}


def _dq_codes(g: Graph, node: Node) -> dict:
    codes = g.constants[node.inputs[0]]
    info = np.iinfo(codes.dtype)
    return {"qmin": int(info.min), "qmax": int(info.max), "bipolar": False}


def _weight_users(g: Graph, tensor: str) -> list[Node] | None:
    """The layers reading `tensor` as their weight, or None if anything else reads it."""
    users = g.consumers(tensor)
    if not users or tensor in g.outputs:
        return None
    for u in users:
        idx = _LAYERS.get(u.op)
        if idx is None or len(u.inputs) <= idx or u.inputs[idx] != tensor or u.inputs.count(tensor) != 1:
            return None
    return users


def _fold_weights(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    changed = False
    for node in g.nodes():
        if node.op not in (FakeQuant, DequantizeLinear) or node.inputs[0] not in g.constants:
            continue
        out = node.outputs[0]
        if any(u.op is Transpose for u in g.consumers(out)):
            continue  # swap_weight_transposes moves it past the Transpose first
        value = node.op.execute(node, [g.constants[node.inputs[0]]], g)[0]
        users = _weight_users(g, out)
        if users is not None:
            for layer in users:
                g.replace_node(layer.name, Node(layer.name, layer.op, layer.inputs, layer.outputs,
                                                dict(layer.attrs, weight_grid=_grid(g, node, layer)),
                                                dict(layer.params)))
        g.remove_node(node.name)
        del g.tensors[out]
        g.add_constant(out, value)
        changed = True
    if changed:
        g.remove_unused()
    return g, changed


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.array_equal(np.broadcast_to(a, shape), np.broadcast_to(b, shape))


def _fuse_qdq(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for q in g.nodes():
        if q.op is not QuantizeLinear:
            continue
        users = g.consumers(q.outputs[0])
        if not users or q.outputs[0] in g.outputs or any(u.op is not DequantizeLinear for u in users):
            continue
        for dq in users:
            params = dict(q.params)
            if not all(_same(q.params[k], dq.params[k]) for k in ("scale", "zero_point")):
                # the codes are read with other parameters: keep both (ops/quantizers.value_params)
                params.update(dq_scale=dq.params["scale"], dq_zero=dq.params["zero_point"])
            g.remove_node(dq.name)
            g.add_node(Node(dq.name, FakeQuant, q.inputs, dq.outputs, dict(q.attrs), params))
        g.remove_node(q.name)
        del g.tensors[q.outputs[0]]
        g.remove_unused()
        return g, True
    return g, False


def _swap_transposes(graph: Graph) -> tuple[Graph, bool]:
    """Transpose(quantizer(W)) -> quantizer'(W^T): TorchScript exports a Linear as
    Quant(W) -> Transpose -> MatMul; the grid must reach the MatMul."""
    g = graph.copy()
    for t in g.nodes():
        q = g.producer(t.inputs[0]) if t.op is Transpose else None
        if q is None or q.op not in (FakeQuant, DequantizeLinear) or q.inputs[0] not in g.constants:
            continue
        if len(g.consumers(q.outputs[0])) != 1 or q.outputs[0] in g.outputs:
            continue
        perm = list(t.attrs["perm"])
        w = g.constants[q.inputs[0]]
        wt = g.add_constant(g.unique_name(f"{q.inputs[0]}_t"), np.transpose(w, perm))
        params = {k: np.ascontiguousarray(np.transpose(np.broadcast_to(v, w.shape), perm)) if np.ndim(v) else v
                  for k, v in q.params.items()}
        g.remove_node(t.name)
        g.remove_node(q.name)
        del g.tensors[q.outputs[0]]
        g.add_node(Node(q.name, q.op, (wt,), t.outputs, dict(q.attrs), params))
        g.remove_unused()
        return g, True
    return g, False


swap_weight_transposes = Pass("swap_weight_transposes", _swap_transposes)
fold_weight_quantizers = Pass("fold_weight_quantizers", _fold_weights)
fuse_qdq_pairs = Pass("fuse_qdq_pairs", _fuse_qdq)


def has_quantizers(graph: Graph) -> bool:
    return any(is_activation_quantizer(n) or "weight_grid" in n.attrs for n in graph.nodes())
