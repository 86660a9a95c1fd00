"""Dense: y = x W^T + b on the last axis, the canonical fully-connected layer
(and, after a SlidingWindow, a convolution).

Float: W and b are float params. Fixed: x holds integers q_x of a Fixed type,
params hold integers, and the output is the exact accumulator (attr acc_dtype);
requantization is a separate Requantize node. With a weight format per row
(post-training quantization), param "row_shift" [rows] puts each row's
accumulator on the common binary point: acc[r] = (W[r] x + b[r]) << row_shift[r].
"""
from __future__ import annotations

import numpy as np

from hwcomp.ir.dtypes import FLOAT32, Fixed
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import DTYPE, WEIGHT_GRID, Op, optional, register


@register
class Dense(Op):
    name = "Dense"
    # acc_dtype and weight_dtype once quantized (the accumulator type is read for fixed inputs only).
    attr_schema = {"acc_dtype": optional(*DTYPE), "weight_dtype": optional(*DTYPE), **WEIGHT_GRID}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        rows, cols = node.params["weight"].shape
        if len(x.shape) < 2 or x.shape[-1] != cols:
            raise ValueError(f"Dense {node.name}: input {x} does not match weight [{rows}x{cols}]")
        dtype = node.attrs["acc_dtype"] if x.dtype.is_fixed else FLOAT32
        return [TensorType(x.shape[:-1] + (rows,), dtype)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x = inputs[0]
        w, b = node.params["weight"], node.params["bias"]
        xt = graph.tensors[node.inputs[0]].dtype
        if xt.is_fixed:
            # int64 is exact: acc_dtype bounds the sum well inside 62 bits. Bipolar bits count as -1/+1.
            xi = 2 * x.astype(np.int64) - 1 if xt.is_bipolar else x.astype(np.int64)
            acc = xi @ w.astype(np.int64).T + b.astype(np.int64)
            if "row_shift" in node.params:
                acc = acc << np.asarray(node.params["row_shift"], dtype=np.int64)
            return [acc]
        return [(x.astype(np.float32) @ w.astype(np.float32).T + b.astype(np.float32)).astype(np.float32)]

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        rows, cols = node.params["weight"].shape
        return int(rows * cols * np.prod(graph.tensors[node.inputs[0]].shape[:-1]))


def accumulator_bounds(w: np.ndarray, b: np.ndarray, xt: Fixed,
                       row_shift: np.ndarray | None = None) -> tuple[int, int]:
    """Exact min/max of W x + b (each row shifted left by row_shift) over every x in the input type's range."""
    w = w.astype(np.int64)
    lo = np.where(w > 0, w * xt.min_int, w * xt.max_int).sum(axis=1) + b
    hi = np.where(w > 0, w * xt.max_int, w * xt.min_int).sum(axis=1) + b
    if row_shift is not None:
        lo, hi = lo << np.asarray(row_shift, np.int64), hi << np.asarray(row_shift, np.int64)
    return int(lo.min()), int(hi.max())
