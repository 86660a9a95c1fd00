"""MatrixVectorUnit: the hardware form of Dense [+ ReLU] [+ Requantize].

Its reference is the integer arithmetic the RTL performs, bit for bit
(docs/numerics.md). Folding (pe, simd) does not change results, only cycles.
Param "row_shifts" [rows] (weights with a format per row) requantizes each row
by its own shift; attr "shift" is then 0.
"""
from __future__ import annotations

import numpy as np

from hwcomp.numerics import ceil_div, relu_requant, threshold_activation
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import BOOL, DTYPE, FOLDING, INT, STR, Op, optional, register, required


def mvu_arith(x, w, b, relu: bool, requant: bool, shift, out_min: int, out_max: int) -> np.ndarray:
    """acc = W x + b (exact in int64: the accumulator type bounds it); then ReLU and requantization
    (shift: one int, or one per row)."""
    acc = x.astype(np.int64) @ w.astype(np.int64).T + b.astype(np.int64)
    return relu_requant(acc, relu, requant, shift, out_min, out_max)


@register
class MatrixVectorUnit(Op):
    name = "MatrixVectorUnit"
    # kind "xnor", weight_bipolar and out_base are the low-bit modes (see execute); pe and simd come from fold.
    attr_schema = {"relu": required(*BOOL), "requant": required(*BOOL), "shift": required(*INT),
                   "acc_dtype": required(*DTYPE), "weight_dtype": required(*DTYPE), "out_dtype": required(*DTYPE),
                   "kind": optional(*STR), "weight_bipolar": optional(*BOOL), "out_base": optional(*INT),
                   **FOLDING}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        rows, cols = node.params["weight"].shape
        if len(x.shape) < 2 or x.shape[-1] != cols or not x.dtype.is_fixed:
            raise ValueError(f"MatrixVectorUnit {node.name}: input {x} does not match weight [{rows}x{cols}]")
        return [TensorType(x.shape[:-1] + (rows,), node.attrs["out_dtype"])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        """Optional low-bit modes (absent: the plain unit): attr "weight_bipolar" reads the
        weights as bits, 1 = +1 and 0 = -1; param "thresholds" [rows, K] (with optional
        "descending" [rows] and attr "out_base") replaces ReLU and requantization by the
        threshold activation of the exact accumulator."""
        a, prm = node.attrs, node.params
        if a.get("kind") == "xnor":
            return [cls.xnor(node, inputs[0])]
        out = a["out_dtype"]
        w = np.asarray(prm["weight"], dtype=np.int64)
        if a.get("weight_bipolar", False):
            w = 2 * w - 1
        thresholds = prm.get("thresholds")
        if thresholds is None:
            return [mvu_arith(inputs[0], w, prm["bias"], a["relu"], a["requant"], prm.get("row_shifts", a["shift"]),
                              out.min_int, out.max_int)]
        x = np.asarray(inputs[0])
        acc = mvu_arith(x.reshape(-1, x.shape[-1]), w, prm["bias"], False, False, 0, 0, 0)
        y = threshold_activation(acc, thresholds, prm.get("descending"), a.get("out_base", 0))
        return [y.reshape(x.shape[:-1] + (w.shape[0],))]

    @staticmethod
    def xnor(node: Node, x: np.ndarray) -> np.ndarray:
        """XNOR kind: bits in, p = #agreements with the weight bits; out (p >= T) or p."""
        w = np.asarray(node.params["weight"], dtype=np.int64)
        x = np.asarray(x, dtype=np.int64)
        p = (x.reshape(-1, 1, x.shape[-1]) == w[None]).sum(axis=-1)
        t = node.params.get("thresholds")
        y = p if t is None else (p >= np.asarray(t, dtype=np.int64)[:, 0]).astype(np.int64)
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        rows, cols = node.params["weight"].shape
        return int(rows * cols * np.prod(graph.tensors[node.inputs[0]].shape[:-1]))

    @classmethod
    def cycles(cls, node: Node) -> int:
        """Cycles per input vector once folded: (rows/PE) * (cols/SIMD), rounded up."""
        rows, cols = node.params["weight"].shape
        return ceil_div(rows, node.attrs["pe"]) * ceil_div(cols, node.attrs["simd"])
