"""Average pooling of codes followed by a QONNX Trunc, as one exact integer pool.

Brevitas' TruncAvgPool2d exports AveragePool -> Trunc, where the Trunc's scale
is the codes' scale over the window, s / K (times any scalar Mul between the
two). Its integer p = round(x / scale) is then the exact sum S of the K codes,
and the Trunc's code is rnd(S / ts), clipped (v2), ts = 2^k. That is the pool
block's scale step (hw/stream_ops.Scale): mult = 1 and a right shift by k
rounded as the Trunc says, or mult = 2^-k when k < 0, saturated to the Trunc's
code range. Checked here: both zero points are 0 (what Brevitas exports) and
scale matches s / K closely enough that round(x / scale) is S for every S.
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.hw.stream_ops import MULT_LIMIT, rounding_shift
from hwcomp.ir.dtypes import Int, bits_for_range
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.elementwise import Div, Mul

from .act_quantizers import CodeSpec, code_spec, per_tensor

# The pool's rounding that equals a QONNX rounding mode on S / 2^k for every integer S,
# and the ones that do only for S >= 0 (modes symmetric about zero).
_ROUNDING = {"ROUND": "half_even", "HALF_EVEN": "half_even", "FLOOR": "floor", "CEIL": "ceil"}
_ROUNDING_NONNEGATIVE = {"HALF_UP": "half_up", "HALF_DOWN": "half_down", "DOWN": "floor", "UP": "ceil"}
# round(x / scale) must recover S although scale is s / K only up to float32 rounding:
# allow that much drift at the largest |S| (float32 arithmetic adds < 2^-22 |S| on top).
_DRIFT = 0.25
_MAX_SUM = 1 << 20


def scalar_gain(node: Node, graph: Graph) -> float | None:
    """The factor of a Mul by (or Div by) one positive constant; None for any other node."""
    if node.op not in (Mul, Div) or len(node.inputs) != 2:
        return None
    k = graph.constants.get(node.inputs[1])
    if k is None or np.size(k) != 1 or not float(np.asarray(k).reshape(-1)[0]) > 0:
        return None
    v = float(np.asarray(k).reshape(-1)[0])
    return v if node.op is Mul else 1.0 / v


def _shift_rounding(mode: str, nonnegative: bool) -> str:
    if mode in _ROUNDING:
        return _ROUNDING[mode]
    if nonnegative and mode in _ROUNDING_NONNEGATIVE:
        return _ROUNDING_NONNEGATIVE[mode]
    raise HwcompError(f"rounding_mode {mode} of a sum that can be negative has no pool rounding; supported: "
                      f"{', '.join(_ROUNDING)}, or {', '.join(_ROUNDING_NONNEGATIVE)} of unsigned codes")


def truncated_pool(codes: CodeSpec, count: int, gain: float, trunc: Node) -> tuple[dict, CodeSpec]:
    """(fixed-point attrs of the integer pool, the Trunc's codes) for pooling `count` codes
    of `codes`, times `gain`, then `trunc`. Raises HwcompError (no node name) when the
    Trunc is not the exact integer truncation of the sum."""
    if codes.attrs.get("bipolar"):
        raise HwcompError("average pooling of bipolar (+1/-1) codes is not supported; supported: multi-bit codes")
    if not per_tensor(trunc):
        raise HwcompError("Trunc parameters must be per tensor")
    p = trunc.params
    if codes.zero != 0 or float(np.asarray(p["zero_point"]).reshape(-1)[0]) != 0:
        raise HwcompError(f"zero points must be 0 (codes pooled: {codes.zero:g}, Trunc: "
                          f"{float(np.asarray(p['zero_point']).reshape(-1)[0]):g}); Brevitas exports Trunc "
                          "with zero point 0")
    s_min, s_max = count * codes.attrs["qmin"], count * codes.attrs["qmax"]
    biggest = max(-s_min, s_max)
    scale = float(np.asarray(p["scale"]).reshape(-1)[0])
    drift = abs(gain * codes.scale / (count * scale) - 1) * biggest
    if drift > _DRIFT or biggest >= _MAX_SUM:
        raise HwcompError(f"Trunc's scale {scale:.8g} is not the pooled codes' scale over the window "
                          f"({gain * codes.scale:.8g} / {count}); supported: a Trunc right after average pooling of "
                          "quantized codes (Brevitas TruncAvgPool2d), whose scale is the codes' scale / window")
    k = int(np.log2(float(np.asarray(p["trunc_scale"]).reshape(-1)[0])))   # ts is a power of two
    mult, shift = (1, k) if k >= 0 else (1 << -k, 0)
    if mult >= MULT_LIMIT:
        raise HwcompError(f"Trunc scales the sum up by 2^{-k}; supported: at most 2^29")
    rounding = _shift_rounding(trunc.attrs["rounding"], s_min >= 0) if shift else "half_up"
    spec = code_spec(trunc)
    lo, hi = spec.attrs["qmin"], spec.attrs["qmax"]
    if lo is None:  # Trunc v1 does not clip: its codes span the sums' image
        lo, hi = (int(v) for v in rounding_shift(np.array([s_min, s_max], dtype=object) * mult, shift, rounding))
    width, signed = bits_for_range(lo, hi)
    attrs = {"mult": mult, "shift": shift, "rounding": rounding, "out_min": lo, "out_max": hi,
             "dtype": Int(width, signed)}
    return attrs, CodeSpec({"qmin": lo, "qmax": hi, "bipolar": False}, spec.scale, spec.zero)
