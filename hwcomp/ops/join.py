"""ResidualAdd: the fixed-point form of Add/Sum joining two streams.

y = sat(relu((a << shift0) + (b << shift1)) rounded by `shift`), exactly what
hwcomp_add computes (hwcomp.hw.stream_ops.AddUnit; docs/numerics.md). The
alignment shifts put both inputs on a common binary point; `shift` moves the
exact sum to the output type's, rounding half up.
"""
from __future__ import annotations

import numpy as np

from hwcomp.numerics import Scale
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import BOOL, DTYPE, FOLDING, INT, Op, register, required


@register
class ResidualAdd(Op):
    """attrs: shift0, shift1, shift, relu, dtype (the output type)."""

    name = "ResidualAdd"
    attr_schema = {"shift0": required(*INT), "shift1": required(*INT), "shift": required(*INT),
                   "relu": required(*BOOL), "dtype": required(*DTYPE), **FOLDING}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        a, b = (graph.tensors[t] for t in node.inputs)
        if a.shape != b.shape or not (a.dtype.is_fixed and b.dtype.is_fixed):
            raise ValueError(f"ResidualAdd {node.name}: inputs {a} and {b} must be fixed point of one shape")
        return [a.with_dtype(node.attrs["dtype"])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        at = node.attrs
        out = at["dtype"]
        scale = Scale(1, at["shift"], out.width, out.signed, out.min_int, out.max_int, at["relu"])
        a, b = (np.asarray(x, dtype=np.int64) for x in inputs)
        return [np.asarray(scale.apply((a << at["shift0"]) + (b << at["shift1"])), dtype=np.int64)]
