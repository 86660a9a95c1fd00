"""MaxPool, AveragePool and the global poolings (N-D, NCHW...)."""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import INT, register, required
from .conv import WINDOW_SCHEMA, out_spatial, window_attrs, windows
from .onnx_common import OnnxOp, as_float, float_type, shape_of


class _Pool(OnnxOp):
    """attrs: kernel_shape, strides, dilations, pads, ceil_mode (+ count_include_pad)."""

    onnx_defaults = {"ceil_mode": 0}
    attr_schema = {**WINDOW_SCHEMA, "ceil_mode": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        super().from_onnx(node, graph, opset)
        if "kernel_shape" not in node.attrs:
            raise HwcompError("kernel_shape is required")
        if any(node.outputs[1:]):
            raise HwcompError("the Indices output is not supported; supported: the pooled values only")
        node.outputs = node.outputs[:1]
        node.attrs.pop("storage_order", None)  # only affects Indices
        window_attrs(node, shape_of(graph, node.inputs[0])[2:], list(node.attrs["kernel_shape"]))

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        x = shape_of(graph, node.inputs[0])
        if len(x) < 3:
            raise ValueError(f"{cls.name} {node.name!r}: input {x} has no spatial axes")
        return [float_type(x[:2] + out_spatial(node, x[2:], bool(node.attrs["ceil_mode"])))]

    @classmethod
    def _out(cls, node: Node, x: np.ndarray) -> tuple[int, ...]:
        return out_spatial(node, x.shape[2:], bool(node.attrs["ceil_mode"]))


@register
class MaxPool(_Pool):
    name = "MaxPool"
    onnx_types = ("MaxPool",)

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x = as_float(inputs[0])
        out = cls._out(node, x)
        v = windows(x, node, out, -np.inf)
        return [v.max(axis=tuple(range(-len(out), 0)))]


def _tap_counts(size: int, o: int, k: int, s: int, d: int, lo: int, valid_lo: int, valid_hi: int) -> np.ndarray:
    """Per output position, how many kernel taps fall in [valid_lo, valid_hi) of the input
    (coordinates relative to the unpadded input; window i starts at i*s - lo)."""
    pos = np.arange(o)[:, None] * s - lo + np.arange(k)[None, :] * d
    return ((pos >= valid_lo) & (pos < valid_hi)).sum(axis=1)


@register
class AveragePool(_Pool):
    """count_include_pad=1 divides by the taps inside input + explicit pads (never
    the ceil-mode overhang); 0 divides by the taps inside the input."""

    name = "AveragePool"
    onnx_types = ("AveragePool",)
    onnx_defaults = {"ceil_mode": 0, "count_include_pad": 0}
    attr_schema = {**_Pool.attr_schema, "count_include_pad": required(*INT)}

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x = as_float(inputs[0])
        a, out = node.attrs, cls._out(node, x)
        n = len(out)
        total = windows(x, node, out, 0.0).sum(axis=tuple(range(-n, 0)), dtype=np.float64)
        count = np.ones((), dtype=np.float64)
        for i in range(n):
            size, lo, hi = x.shape[2 + i], a["pads"][i], a["pads"][n + i]
            valid = (-lo, size + hi) if a["count_include_pad"] else (0, size)
            c = _tap_counts(size, out[i], a["kernel_shape"][i], a["strides"][i], a["dilations"][i], lo, *valid)
            count = np.multiply.outer(count, c)
        return [(total / count).astype(np.float32)]


class _GlobalPool(OnnxOp):
    attr_schema = {}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        x = shape_of(graph, node.inputs[0])
        if len(x) < 3:
            raise ValueError(f"{cls.name} {node.name!r}: input {x} has no spatial axes")
        return [float_type(x[:2] + (1,) * (len(x) - 2))]


@register
class GlobalAveragePool(_GlobalPool):
    name = "GlobalAveragePool"
    onnx_types = ("GlobalAveragePool",)

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x = as_float(inputs[0])
        axes = tuple(range(2, x.ndim))
        return [x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(np.float32)]


@register
class GlobalMaxPool(_GlobalPool):
    name = "GlobalMaxPool"
    onnx_types = ("GlobalMaxPool",)

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x = as_float(inputs[0])
        return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]

