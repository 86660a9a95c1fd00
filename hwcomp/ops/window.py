"""Channels-last window ops, the hardware view of convolution and pooling.

SlidingWindow turns an NHWC feature map into one vector per output pixel:
[N, H, W, C] -> [N, OH, OW, KH*KW*C], ordered ky, kx, then channel (the
order the sliding-window unit streams). A Dense on the last axis of that is a
convolution; PoolReduce over the KH*KW positions is max pooling.
"""
from __future__ import annotations

import numpy as np

from hwcomp.numerics import Scale
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import DTYPE, FOLDING, INT, INTS, STR, Op, optional, register, required


def window_out_size(size: int, k: int, stride: int, lo: int, hi: int) -> int:
    return (size + lo + hi - k) // stride + 1


def pad_value(dtype, mode: str, code: int = 0):
    """'zero' for convolution (the code `code` when codes with a zero point stand for 0);
    'lowest' (the type's minimum) so padding never wins a max."""
    if mode == "zero":
        return code
    return dtype.min_int if dtype.is_fixed else np.finfo(np.float32).min


# Fixed point: the scale step of an average (mult / 2^shift, rounded, saturated) and its output type.
AVERAGE_SCALE = {"mult": optional(*INT), "shift": optional(*INT), "out_min": optional(*INT),
                 "out_max": optional(*INT), "rounding": optional(*STR), "dtype": optional(*DTYPE)}


@register
class SlidingWindow(Op):
    """attrs: kernel [kh, kw], strides [sh, sw], pads [top, left, bottom, right], pad 'zero'|'lowest',
    optional pad_code (the integer 'zero' pads with, default 0)."""

    name = "SlidingWindow"
    value_preserving = True
    attr_schema = {"kernel": required(*INTS), "strides": required(*INTS), "pads": required(*INTS),
                   "pad": required(*STR), "pad_code": optional(*INT), **FOLDING}

    @classmethod
    def out_hw(cls, node: Node, h: int, w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = node.attrs["kernel"], node.attrs["strides"], node.attrs["pads"]
        return window_out_size(h, kh, sh, pt, pb), window_out_size(w, kw, sw, pl, pr)

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        n, h, w, c = x.shape
        oh, ow = cls.out_hw(node, h, w)
        kh, kw = node.attrs["kernel"]
        return [TensorType((n, oh, ow, kh * kw * c), x.dtype)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x = inputs[0]
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = node.attrs["kernel"], node.attrs["strides"], node.attrs["pads"]
        fill = pad_value(graph.tensors[node.inputs[0]].dtype, node.attrs["pad"], node.attrs.get("pad_code", 0))
        xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
        oh, ow = cls.out_hw(node, x.shape[1], x.shape[2])
        cols = [xp[:, ky:ky + sh * (oh - 1) + 1:sh, kx:kx + sw * (ow - 1) + 1:sw, :]
                for ky in range(kh) for kx in range(kw)]
        return [np.concatenate(cols, axis=-1)]


@register
class PoolReduce(Op):
    """Max over the window positions of a SlidingWindow output. attrs: window (kh*kw), mode 'max'."""

    name = "PoolReduce"
    value_preserving = True
    attr_schema = {"window": required(*INT), "mode": required(*STR), **FOLDING}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        k = node.attrs["window"]
        return [TensorType(x.shape[:-1] + (x.shape[-1] // k,), x.dtype)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x = inputs[0]
        k = node.attrs["window"]
        return [x.reshape(x.shape[:-1] + (k, x.shape[-1] // k)).max(axis=-2)]


def _out_dtype(node: Node, x_dtype):
    """The input's type, or in fixed point the `dtype` attr when given (a Trunc's codes)."""
    return node.attrs.get("dtype", x_dtype) if x_dtype.is_fixed else x_dtype


def _scaled_average(x_sum: np.ndarray, node: Node, graph: Graph) -> np.ndarray:
    """Fixed point: the exact sum times mult / 2^shift, rounded (half up unless the
    `rounding` attr says otherwise), saturated (docs/numerics.md, "Pooling"); the
    golden model hwcomp_scale is tested against."""
    a = node.attrs
    dt = _out_dtype(node, graph.tensors[node.inputs[0]].dtype)
    scale = Scale(a["mult"], a["shift"], dt.width, dt.signed, a["out_min"], a["out_max"],
                  rounding=a.get("rounding", "half_up"))
    return np.asarray(scale.apply(x_sum), dtype=np.int64)


@register
class AveragePoolReduce(Op):
    """Average over the window positions of a SlidingWindow output (padded taps count).

    attrs: window (kh*kw); in fixed point also mult, shift, out_min, out_max, and
    optionally rounding (hw.stream_ops.ROUNDINGS) and dtype (the output type; default
    the input's).
    """

    name = "AveragePoolReduce"
    attr_schema = {"window": required(*INT), **AVERAGE_SCALE, **FOLDING}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        return [TensorType(x.shape[:-1] + (x.shape[-1] // node.attrs["window"],), _out_dtype(node, x.dtype))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x = inputs[0]
        k = node.attrs["window"]
        w = x.reshape(x.shape[:-1] + (k, x.shape[-1] // k))
        if graph.tensors[node.inputs[0]].dtype.is_fixed:
            return [_scaled_average(w.sum(axis=-2, dtype=np.int64), node, graph)]
        return [w.mean(axis=-2, dtype=np.float64).astype(np.float32)]


@register
class GlobalPoolReduce(Op):
    """Mean over all pixels of an NHWC map: [N, H, W, C] -> [N, 1, 1, C].

    attrs: in fixed point mult, shift, out_min, out_max, optional rounding and dtype
    (as AveragePoolReduce).
    """

    name = "GlobalPoolReduce"
    attr_schema = {**AVERAGE_SCALE, **FOLDING}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        return [TensorType((x.shape[0], 1, 1, x.shape[-1]), _out_dtype(node, x.dtype))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x = inputs[0]
        if graph.tensors[node.inputs[0]].dtype.is_fixed:
            return [_scaled_average(x.sum(axis=(1, 2), keepdims=True, dtype=np.int64), node, graph)]
        return [x.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)]
