"""QONNX Trunc: re-quantize codes to fewer (or more) bits by a power-of-two step.

Brevitas exports it after average pooling (TruncAvgPool2d): the pool's output
is the sum S of the input codes at scale s / K, and Trunc keeps the top bits
of S. In float32, as qonnx executes it (ts the truncation scale, a power of two):

    p    = round_half_even(x / scale + zero)                 the integer, S for a pool
    code = rnd(p / ts)                 v1 (5 inputs):  ts = 2^(in_bits - out_bits)
    code = rnd(clip(p / ts, lo, hi))   v2 (6 inputs):  ts = 2^round(log2(out_scale / scale)),
                                       lo..hi the out_bits code range (signed, narrow)
    y    = (code - out_zero) * out_scale      v2: out_zero = zero / ts
                                             v1: out_zero = zero, out_scale = scale

rnd is the node's rounding_mode (FLOOR by default). Clipping before rnd equals
clipping after it, since the bounds are integers.
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import INTS, STR, optional, register, required
from .onnx_common import OnnxOp, float_type, required_constant, shape_of
from .quantizers import ROUND_FUNCS, bit_width, broadcast_param, check_scale, int_code_range

ROUNDING = {m: ROUND_FUNCS[m] for m in ("ROUND", "HALF_EVEN", "FLOOR", "CEIL", "DOWN", "UP", "HALF_UP", "HALF_DOWN")}


def trunc_codes(node: Node, x: np.ndarray) -> np.ndarray:
    """The codes of a Trunc (integers held in float32, before the rescale), as qonnx computes them."""
    p = node.params
    v = np.round(np.asarray(x, np.float32) / p["scale"] + p["zero_point"]) / p["trunc_scale"]
    if "clamp" in node.attrs:
        lo, hi = (np.float32(b) for b in node.attrs["clamp"])
        v = np.where(v > hi, hi, np.where(v < lo, lo, v))
    return ROUNDING[node.attrs["rounding"]](v)


@register
class Trunc(OnnxOp):
    """attrs: rounding (a key of ROUNDING), clamp [lo, hi] (v2 only);
    params (float32, broadcast against x): scale, zero_point, trunc_scale, out_scale, out_zero."""

    name = "Trunc"
    onnx_types = ("Trunc",)
    onnx_custom_domain = True
    attr_schema = {"rounding": required(*STR), "clamp": optional(*INTS)}  # clamp: v2 only

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        if len(node.inputs) not in (5, 6):
            raise HwcompError("Trunc takes 5 inputs (QONNX Trunc v1: x, scale, zeropt, input_bit_width, "
                              "output_bit_width) or 6 (v2: ..., output_scale, output_bit_width); "
                              f"got {len(node.inputs)}")
        v2 = len(node.inputs) == 6
        x_shape = shape_of(graph, node.inputs[0])
        scale = broadcast_param(check_scale(required_constant(node, graph, 1, "scale")), x_shape, "scale")
        zero = broadcast_param(required_constant(node, graph, 2, "zero point").astype(np.float32), x_shape, "zero point")
        if not np.isfinite(zero).all():
            raise HwcompError(f"zero point must be finite; got {zero.ravel()[:4].tolist()}")
        in_bits = bit_width(node, graph, 3, "input bit width", 64)
        out_bits = bit_width(node, graph, 5 if v2 else 4, "output bit width", 32)
        rounding = str(node.attrs.get("rounding_mode", "FLOOR")).upper()
        if rounding not in ROUNDING:
            raise HwcompError(f"rounding_mode {rounding!r} is not supported; supported: {', '.join(ROUNDING)}")
        attrs = {"rounding": rounding}
        if v2:
            out_scale = check_scale(required_constant(node, graph, 4, "output scale"))
            out_scale = broadcast_param(out_scale, x_shape, "output scale")
            # qonnx rounds the ratio to a power of two, in float32
            trunc_scale = np.float32(2) ** np.round(np.log2(out_scale / scale))
            signed, narrow = int(node.attrs.get("signed", 1)), int(node.attrs.get("narrow", 0))
            if signed not in (0, 1) or narrow not in (0, 1):
                raise HwcompError(f"signed and narrow must be 0 or 1; got signed={signed}, narrow={narrow}")
            attrs["clamp"] = list(int_code_range(out_bits, bool(signed), bool(narrow)))
            out_zero = zero / trunc_scale
        else:
            out_scale, out_zero = scale, zero
            trunc_scale = np.float32(2) ** (np.float32(in_bits) - np.float32(out_bits))
        node.attrs = attrs
        node.params = {"scale": scale, "zero_point": zero, "trunc_scale": np.asarray(trunc_scale, np.float32),
                       "out_scale": out_scale, "out_zero": np.asarray(out_zero, np.float32)}
        node.inputs = node.inputs[:1]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [float_type(shape_of(graph, node.inputs[0]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        p = node.params
        code = trunc_codes(node, inputs[0])
        return [((code - p["out_zero"]) * p["out_scale"]).astype(np.float32)]
