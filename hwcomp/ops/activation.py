"""Pointwise activations and Softmax.

Relu is the one op here that also runs on fixed point: max(q, 0) on the
integers is exact and keeps the input type, so quantized graphs keep it.
"""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import BOOL, INT, REAL, register, required
from .onnx_common import OnnxOp, as_float, constant_input, drop_inputs, float_type, normalize_axis, shape_of


class _Pointwise(OnnxOp):
    attr_schema = {}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        return [float_type(shape_of(graph, node.inputs[0]))]

    @classmethod
    def fn(cls, x: np.ndarray, node: Node) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        return [cls.fn(as_float(inputs[0]), node).astype(np.float32)]


@register
class Relu(_Pointwise):
    name = "Relu"
    onnx_types = ("Relu",)

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        t = graph.tensors.get(node.inputs[0])
        if t is not None and t.dtype.is_fixed:
            return [t]
        return super().infer(node, graph)

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        t = graph.tensors.get(node.inputs[0])
        if t is not None and t.dtype.is_fixed:
            return [np.maximum(np.asarray(inputs[0], dtype=np.int64), 0)]
        return super().execute(node, inputs, graph)

    @classmethod
    def fn(cls, x, node):
        return np.maximum(x, np.float32(0))


@register
class Sigmoid(_Pointwise):
    name = "Sigmoid"
    onnx_types = ("Sigmoid",)

    @classmethod
    def fn(cls, x, node):
        # Split by sign so exp never overflows.
        x = x.astype(np.float64)
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@register
class Tanh(_Pointwise):
    name = "Tanh"
    onnx_types = ("Tanh",)

    @classmethod
    def fn(cls, x, node):
        return np.tanh(x)


@register
class Clip(_Pointwise):
    """attrs min/max (floats, +-inf when absent): attributes before opset 11, inputs from 11 on."""

    name = "Clip"
    onnx_types = ("Clip",)
    attr_schema = {"min": required(*REAL), "max": required(*REAL)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        if opset >= 11:
            lo = constant_input(node, graph, 1, "Clip min")
            hi = constant_input(node, graph, 2, "Clip max")
            node.attrs["min"] = float(lo.reshape(-1)[0]) if lo is not None else float("-inf")
            node.attrs["max"] = float(hi.reshape(-1)[0]) if hi is not None else float("inf")
            drop_inputs(node, 1)
        else:
            # Before opset 11 the defaults were float32 lowest/max: the same as +-inf for float32 data.
            node.attrs["min"] = float(node.attrs.get("min", float("-inf")))
            node.attrs["max"] = float(node.attrs.get("max", float("inf")))

    @classmethod
    def fn(cls, x, node):
        # ONNX Clip applies max then min, so min > max yields max everywhere.
        return np.minimum(np.maximum(x, np.float32(node.attrs["min"])), np.float32(node.attrs["max"]))


@register
class Softmax(_Pointwise):
    """attrs: axis (non-negative) and coerce_2d.

    Before opset 13 Softmax flattened the input to 2-D at `axis` and normalized
    over everything from `axis` on (coerce_2d=True); from 13 it normalizes over
    the one axis. The two agree when axis is the last one, which the frontend
    then records as coerce_2d=False.
    """

    name = "Softmax"
    onnx_types = ("Softmax",)
    attr_schema = {"axis": required(*INT), "coerce_2d": required(*BOOL)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        axis = normalize_axis(node.attrs.get("axis", 1 if opset < 13 else -1), rank)
        node.attrs["axis"] = axis
        node.attrs["coerce_2d"] = opset < 13 and axis != rank - 1

    @classmethod
    def fn(cls, x, node):
        axis = node.attrs["axis"]
        shape = x.shape
        if node.attrs["coerce_2d"]:
            x = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
            axis = 1
        x = x.astype(np.float64)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return (e / e.sum(axis=axis, keepdims=True)).reshape(shape)
