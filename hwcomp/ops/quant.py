"""Conversions between float and fixed point, and between fixed-point types.

Rounding rules are the ones in docs/numerics.md: float -> fixed rounds to
nearest with ties to even (host side); fixed -> narrower fixed shifts right
with round-half-up (what the hardware does), then saturates.
"""
from __future__ import annotations

import numpy as np

from hwcomp.numerics import relu_requant
from hwcomp.ir.dtypes import FLOAT32, Fixed
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import DTYPE, Op, register, required


def requantize(q: np.ndarray, src: Fixed, dst: Fixed) -> np.ndarray:
    """The hardware's rule (hwcomp.hw.numerics.relu_requant): quantization keeps
    dst.frac <= src.frac, so this is always a right shift."""
    shift = src.frac - dst.frac
    if shift < 0:
        raise ValueError(f"requantize {src} -> {dst}: more fractional bits than the source")
    return relu_requant(q.astype(np.int64), False, True, shift, dst.min_int, dst.max_int)


@register
class Quantize(Op):
    name = "Quantize"
    attr_schema = {"dtype": required(*DTYPE)}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [graph.tensors[node.inputs[0]].with_dtype(node.attrs["dtype"])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [node.attrs["dtype"].quantize(inputs[0])]


@register
class Dequantize(Op):
    name = "Dequantize"
    attr_schema = {}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [graph.tensors[node.inputs[0]].with_dtype(FLOAT32)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        src = graph.tensors[node.inputs[0]].dtype
        return [src.dequantize(inputs[0]).astype(np.float32)]


@register
class Requantize(Op):
    name = "Requantize"
    attr_schema = {"dtype": required(*DTYPE)}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [graph.tensors[node.inputs[0]].with_dtype(node.attrs["dtype"])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        src = graph.tensors[node.inputs[0]].dtype
        return [requantize(inputs[0], src, node.attrs["dtype"])]
