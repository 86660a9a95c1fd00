"""MatrixVectorUnit: the hardware form of Dense [+ ReLU] [+ Requantize].

Its reference is the integer arithmetic the RTL performs, bit for bit
(docs/numerics.md). Folding (pe, simd) does not change results, only cycles.
"""
from __future__ import annotations

import numpy as np

from hwcomp.hw.design import ceil_div
from hwcomp.hw.numerics import relu_requant
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import Op, register


def mvu_arith(x, w, b, relu: bool, requant: bool, shift: int, out_min: int, out_max: int) -> np.ndarray:
    """acc = W x + b (exact in int64: the accumulator type bounds it); then ReLU and requantization."""
    acc = x.astype(np.int64) @ w.astype(np.int64).T + b.astype(np.int64)
    return relu_requant(acc, relu, requant, shift, out_min, out_max)


@register
class MatrixVectorUnit(Op):
    name = "MatrixVectorUnit"

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        rows, cols = node.params["weight"].shape
        if len(x.shape) < 2 or x.shape[-1] != cols or not x.dtype.is_fixed:
            raise ValueError(f"MatrixVectorUnit {node.name}: input {x} does not match weight [{rows}x{cols}]")
        return [TensorType(x.shape[:-1] + (rows,), node.attrs["out_dtype"])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        a = node.attrs
        out = a["out_dtype"]
        return [mvu_arith(inputs[0], node.params["weight"], node.params["bias"], a["relu"], a["requant"],
                          a["shift"], out.min_int, out.max_int)]

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        rows, cols = node.params["weight"].shape
        return int(rows * cols * np.prod(graph.tensors[node.inputs[0]].shape[:-1]))

    @classmethod
    def cycles(cls, node: Node) -> int:
        """Cycles per input vector once folded: (rows/PE) * (cols/SIMD), rounded up."""
        rows, cols = node.params["weight"].shape
        return ceil_div(rows, node.attrs["pe"]) * ceil_div(cols, node.attrs["simd"])
