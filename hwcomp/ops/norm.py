"""BatchNormalization (inference form) and LRN (AlexNet-era local response norm)."""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import INT, REAL, register, required
from .onnx_common import OnnxOp, as_float, float_type, shape_of


@register
class BatchNormalization(OnnxOp):
    """Inputs (X, scale, B, mean, var), statistics over axis 1. attrs: epsilon."""

    name = "BatchNormalization"
    onnx_types = ("BatchNormalization",)
    onnx_defaults = {"epsilon": 1e-5}
    attr_schema = {"epsilon": required(*REAL)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        super().from_onnx(node, graph, opset)
        if node.attrs.pop("training_mode", 0):
            raise HwcompError("training_mode=1 is not supported; supported: inference (training_mode=0)")
        if node.attrs.pop("spatial", 1) != 1:
            raise HwcompError("spatial=0 (per-element statistics) is not supported; supported: spatial=1")
        node.attrs.pop("momentum", None)
        # The frontend blanks outputs nothing reads; running statistics exist only in training.
        if any(node.outputs[1:]):
            raise HwcompError("training outputs (running mean/var) are not supported")
        node.outputs = node.outputs[:1]
        var = graph.constants.get(node.inputs[4]) if len(node.inputs) > 4 else None
        if var is not None:
            bad = np.flatnonzero(~(np.asarray(var, np.float64) + float(node.attrs["epsilon"]) > 0))
            if bad.size:
                raise HwcompError(f"var + epsilon must be positive; channel {int(bad[0])} has var "
                                  f"{float(np.asarray(var).reshape(-1)[bad[0]])!r} and epsilon "
                                  f"{float(node.attrs['epsilon'])!r} ({bad.size} channels in all)")

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        shape = shape_of(graph, node.inputs[0])
        if len(shape) < 2:
            raise ValueError(f"BatchNormalization {node.name!r}: input {shape} has no channel axis")
        for t in node.inputs[1:5]:
            if shape_of(graph, t) != (shape[1],):
                raise ValueError(f"BatchNormalization {node.name!r}: {t!r} is {shape_of(graph, t)}, not ({shape[1]},)")
        return [float_type(shape)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x = as_float(inputs[0])
        scale, bias, mean, var = (np.asarray(v, dtype=np.float64) for v in inputs[1:5])
        # Folded per-channel affine form, as onnxruntime computes it.
        mul = scale / np.sqrt(var + node.attrs["epsilon"])
        add = bias - mean * mul
        bshape = (1, -1) + (1,) * (x.ndim - 2)
        return [(x * mul.astype(np.float32).reshape(bshape) + add.astype(np.float32).reshape(bshape)).astype(np.float32)]

    @classmethod
    def weight_input(cls, tensor: str, node: Node) -> bool:
        # scale and B are trained; mean and var are running statistics, not parameters.
        return tensor in node.inputs[1:3]


@register
class LRN(OnnxOp):
    """y = x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels) ** beta."""

    name = "LRN"
    onnx_types = ("LRN",)
    onnx_defaults = {"alpha": 1e-4, "beta": 0.75, "bias": 1.0}
    attr_schema = {"alpha": required(*REAL), "beta": required(*REAL), "bias": required(*REAL), "size": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        super().from_onnx(node, graph, opset)
        if int(node.attrs.get("size", 0)) < 1:
            raise HwcompError("size must be a positive integer")

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        return [float_type(shape_of(graph, node.inputs[0]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x = as_float(inputs[0]).astype(np.float64)
        size, c = int(node.attrs["size"]), x.shape[1]
        lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
        # Window sum over channels [c - lo, c + hi] via a cumulative sum on a zero-padded axis.
        sq = np.pad(x * x, [(0, 0), (lo + 1, hi)] + [(0, 0)] * (x.ndim - 2))
        cs = np.cumsum(sq, axis=1)
        window = cs[:, size:size + c] - cs[:, :c]
        a, b, k = node.attrs["alpha"], node.attrs["beta"], node.attrs["bias"]
        return [(x / (k + a / size * window) ** b).astype(np.float32)]
