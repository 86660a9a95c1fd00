"""Broadcasting arithmetic: Add, Sub, Mul, Div and the variadic Sum.

Integer constants (shape arithmetic left by exporters) keep integer math so
that they fold at import exactly as onnxruntime would compute them.
"""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import register
from .onnx_common import OnnxOp, float_type, shape_of


def _all_int(arrays) -> bool:
    return all(np.issubdtype(np.asarray(a).dtype, np.integer) for a in arrays)


class _Broadcast(OnnxOp):
    attr_schema = {}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        shapes = [shape_of(graph, t) for t in node.inputs if t]
        try:
            return [float_type(np.broadcast_shapes(*shapes))]
        except ValueError:
            raise ValueError(f"{cls.name} {node.name!r}: shapes {shapes} do not broadcast") from None

    @classmethod
    def apply(cls, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        xs = [np.asarray(x) for x in inputs if x is not None]
        if not _all_int(xs):
            xs = [x.astype(np.float32) for x in xs]
        out = xs[0]
        for x in xs[1:]:
            out = cls.apply(out, x)
        return [out]


@register
class Add(_Broadcast):
    name = "Add"
    onnx_types = ("Add",)

    @classmethod
    def apply(cls, a, b):
        return a + b


@register
class Sub(_Broadcast):
    name = "Sub"
    onnx_types = ("Sub",)

    @classmethod
    def apply(cls, a, b):
        return a - b


@register
class Mul(_Broadcast):
    name = "Mul"
    onnx_types = ("Mul",)

    @classmethod
    def apply(cls, a, b):
        return a * b


@register
class Div(_Broadcast):
    name = "Div"
    onnx_types = ("Div",)

    @classmethod
    def apply(cls, a, b):
        if _all_int([a, b]):
            # ONNX integer division truncates toward zero (C semantics), numpy floors.
            q = np.abs(a) // np.abs(b)
            return np.where((a < 0) != (b < 0), -q, q)
        return a / b


@register
class Sum(_Broadcast):
    """Elementwise sum of any number of inputs (ResNet's residual adds in Caffe2 exports)."""

    name = "Sum"
    onnx_types = ("Sum",)

    @classmethod
    def apply(cls, a, b):
        return a + b
