"""Quantizers as trained models carry them, and the integer ops they become.

Float side (what QONNX and QDQ files say, executed in float32 as qonnx and
onnxruntime do):
  FakeQuant          QONNX Quant and BipolarQuant, and a fused ONNX
                     QuantizeLinear -> DequantizeLinear pair:
                     y = s * (clip(round(x / s + z), qmin, qmax) - z), or
                     y = s * (x >= 0 ? +1 : -1) when bipolar
  QuantizeLinear     ONNX: float -> integer codes
  DequantizeLinear   ONNX: integer codes -> float

Integer side (written by hwcomp.passes.integerize; exact):
  QuantizeCodes      host: float input -> the codes FakeQuant would round to
  MultiThreshold     accumulator -> codes: base + #{k : (acc >= T[c,k]) xor desc[c]}
  DequantizeAffine   codes or accumulator -> float: (q - offset[c]) * scale[c] + bias[c]

Quantizer parameters must be constants; each op checks them once, at import,
and raises HwcompError naming what is wrong (the frontend adds file and node).
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import BIPOLAR, FLOAT32, DType, Int, bits_for_range
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import BOOL, DTYPE, INT, STR, Op, optional, register, required
from .onnx_common import OnnxOp, required_constant, shape_of

# QONNX's rounding modes on float32 values (Quant takes the first four, Trunc all but ROUND_TO_ZERO)
ROUND_FUNCS = {
    "ROUND": np.round,                    # half to even
    "HALF_EVEN": np.round,
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "ROUND_TO_ZERO": np.trunc,
    "DOWN": np.trunc,                     # toward zero
    "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),                          # away from zero
    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)),  # ties away from zero
    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - np.float32(0.5)), # ties toward zero
}
ROUNDING = ("ROUND", "FLOOR", "CEIL", "ROUND_TO_ZERO")
QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")
# A quantizer's codes (quantize_codes, code_dtype): FakeQuant's, copied by QuantizeCodes.
CODE_SCHEMA = {"qmin": required(*INT), "qmax": required(*INT), "rounding": required(*STR),
               "bipolar": required(*BOOL), "zero_after_round": optional(*BOOL)}


def _round(v: np.ndarray, mode: str) -> np.ndarray:
    return ROUND_FUNCS[mode](v)


def int_code_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def code_dtype(attrs: dict) -> DType:
    """Element type of the codes a quantizer produces."""
    if attrs.get("bipolar"):
        return BIPOLAR
    width, signed = bits_for_range(attrs["qmin"], attrs["qmax"])
    return Int(width, signed)


def quantize_codes(x: np.ndarray, attrs: dict, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Float -> integer codes, in float32 like qonnx/onnxruntime; bipolar codes are bits.

    The order matters near ties: QONNX Quant rounds x/s + z, ONNX QuantizeLinear
    adds z after rounding x/s (attr zero_after_round); in float32 the sums differ."""
    x = np.asarray(x, dtype=np.float32)
    if attrs.get("bipolar"):
        return (x >= 0).astype(np.int64)
    with np.errstate(over="ignore"):  # x / scale beyond float32 is +-Inf, which saturates below, as in qonnx
        v = x / scale.astype(np.float32)
        if attrs.get("zero_after_round"):
            q = _round(v, attrs["rounding"]) + zero.astype(np.float32)
        else:
            q = _round(v + zero.astype(np.float32), attrs["rounding"])
    return np.clip(q, attrs["qmin"], attrs["qmax"]).astype(np.int64)


def value_params(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """(scale, zero point) that give a FakeQuant's codes their float value.

    The same as the quantizing ones except for a fused Q -> DQ pair whose
    DequantizeLinear has its own parameters (onnxruntime's QOperator ops, as
    hwcomp.frontend.qoperator rewrites them, read codes with scale 1)."""
    p = node.params
    return p.get("dq_scale", p["scale"]), p.get("dq_zero", p["zero_point"])


def codes_to_float(q: np.ndarray, attrs: dict, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    s = scale.astype(np.float32)
    if attrs.get("bipolar"):
        return (np.where(np.asarray(q) > 0, np.float32(1), np.float32(-1)) * s).astype(np.float32)
    return ((np.asarray(q).astype(np.float32) - zero.astype(np.float32)) * s).astype(np.float32)


def bit_width(node: Node, graph: Graph, index: int, what: str, most: int) -> int:
    """A constant bit-width input: one integer in 1..most."""
    bits = required_constant(node, graph, index, what).astype(np.float64)
    if bits.size != 1 or not np.isfinite(bits).all() or bits.reshape(-1)[0] != np.round(bits.reshape(-1)[0]):
        raise HwcompError(f"{what} must be one integer; got {bits.ravel()[:4].tolist()}")
    b = int(bits.reshape(-1)[0])
    if not 1 <= b <= most:
        raise HwcompError(f"{what} {b} is not supported; supported: 1..{most}")
    return b


def check_scale(scale: np.ndarray) -> np.ndarray:
    s = np.asarray(scale, dtype=np.float32)
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        bad = s[~(np.isfinite(s) & (s > 0))] if s.size else s
        raise HwcompError(f"scale must be positive and finite; got {bad.ravel()[:4].tolist()}")
    return s


def broadcast_param(value: np.ndarray, x_shape: tuple, what: str) -> np.ndarray:
    try:
        np.broadcast_shapes(value.shape, x_shape)
    except ValueError:
        raise HwcompError(f"{what} of shape {value.shape} does not broadcast against the input {x_shape}") from None
    return value


@register
class FakeQuant(OnnxOp):
    """attrs: qmin, qmax, rounding, bipolar, zero_after_round; params: scale, zero_point
    (broadcast against x), and dq_scale, dq_zero when the codes' float value uses
    other parameters (see value_params)."""

    name = "FakeQuant"
    onnx_types = ("Quant", "BipolarQuant")
    onnx_custom_domain = True
    keeps_weight_grid = True  # not folded at import: passes read its grid first
    attr_schema = CODE_SCHEMA

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        x_shape = shape_of(graph, node.inputs[0])
        if len(node.inputs) == 2:  # BipolarQuant(x, scale)
            scale = broadcast_param(check_scale(required_constant(node, graph, 1, "scale")), x_shape, "scale")
            node.attrs = {"qmin": -1, "qmax": 1, "rounding": "ROUND", "bipolar": True}
            node.params = {"scale": scale, "zero_point": np.zeros((), np.float32)}
            node.inputs = node.inputs[:1]
            return
        scale = broadcast_param(check_scale(required_constant(node, graph, 1, "scale")), x_shape, "scale")
        zero = broadcast_param(np.asarray(required_constant(node, graph, 2, "zero point"), np.float32), x_shape, "zero point")
        b = bit_width(node, graph, 3, "bit width", 32)
        signed, narrow = int(node.attrs.get("signed", 1)), int(node.attrs.get("narrow", 0))
        rounding = str(node.attrs.get("rounding_mode", "ROUND")).upper()
        if rounding not in ROUNDING:
            raise HwcompError(f"rounding_mode {rounding!r} is not supported; supported: {', '.join(ROUNDING)}")
        if b == 1 and signed:
            # qonnx: a signed 1-bit Quant is the sign, +1 / -1 (0 -> +1), like BipolarQuant
            if np.any(zero != 0):
                raise HwcompError("a signed 1-bit Quant needs zero point 0")
            node.attrs = {"qmin": -1, "qmax": 1, "rounding": "ROUND", "bipolar": True}
            node.params = {"scale": scale, "zero_point": np.zeros((), np.float32)}
            node.inputs = node.inputs[:1]
            return
        qmin, qmax = int_code_range(b, bool(signed), bool(narrow))
        if np.any(zero != np.round(zero)) or np.any(zero < qmin) or np.any(zero > qmax):
            raise HwcompError(f"zero point must be an integer within the codes {qmin}..{qmax}; "
                              f"got {zero.ravel()[:4].tolist()}")
        node.attrs = {"qmin": qmin, "qmax": qmax, "rounding": rounding, "bipolar": False}
        node.params = {"scale": scale, "zero_point": zero}
        node.inputs = node.inputs[:1]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [TensorType(shape_of(graph, node.inputs[0]), FLOAT32)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        s, z = node.params["scale"], node.params["zero_point"]
        if node.attrs["bipolar"]:
            x = np.asarray(inputs[0], np.float32)
            return [(np.where(x >= 0, np.float32(1), np.float32(-1)) * s.astype(np.float32)).astype(np.float32)]
        q = quantize_codes(inputs[0], node.attrs, s, z)
        return [codes_to_float(q, node.attrs, *value_params(node))]


def _axis_param(value: np.ndarray, axis: int, rank: int, what: str) -> np.ndarray:
    """A per-tensor or per-axis (1-D) ONNX parameter in a shape that broadcasts against x."""
    v = np.asarray(value)
    if v.ndim == 0 or v.size == 1:
        return v.reshape(())
    if v.ndim != 1:
        raise HwcompError(f"{what} must be a scalar or 1-D (per-axis); blocked quantization is not supported")
    shape = [1] * rank
    shape[axis] = v.size
    return v.reshape(shape)


_CODE_TYPES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255),
               np.dtype(np.int16): (-32768, 32767), np.dtype(np.uint16): (0, 65535)}
# QuantizeLinear's output_dtype (opset 21), an ONNX TensorProto data type, for those code types.
_ONNX_CODE_TYPES = {2: np.dtype(np.uint8), 3: np.dtype(np.int8), 4: np.dtype(np.uint16), 5: np.dtype(np.int16)}


@register
class QuantizeLinear(OnnxOp):
    """ONNX QuantizeLinear: codes = saturate(round_half_even(x / s) + z).
    attrs: qmin, qmax; params: scale, zero_point (broadcast against x)."""

    name = "QuantizeLinear"
    onnx_types = ("QuantizeLinear",)
    attr_schema = {**CODE_SCHEMA, "zero_after_round": required(*BOOL)}  # ONNX adds z after rounding

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        axis = int(node.attrs.get("axis", 1)) % max(rank, 1)
        if node.attrs.get("block_size", 0):
            raise HwcompError("blocked quantization (block_size) is not supported")
        scale = _axis_param(check_scale(required_constant(node, graph, 1, "y_scale")), axis, rank, "y_scale")
        # The code type: output_dtype, else the zero point's, else uint8 (ONNX; both given must agree).
        out = int(node.attrs.get("output_dtype", 0))
        if out and out not in _ONNX_CODE_TYPES:
            raise HwcompError(f"output_dtype {out} is not supported; supported: int8, uint8, int16, uint16")
        if len(node.inputs) > 2 and node.inputs[2]:
            zp = required_constant(node, graph, 2, "y_zero_point")
            if out and zp.dtype != _ONNX_CODE_TYPES[out]:
                raise HwcompError(f"y_zero_point is {zp.dtype} but output_dtype says {_ONNX_CODE_TYPES[out]}")
        else:
            zp = np.zeros((), _ONNX_CODE_TYPES.get(out, np.uint8))
        if zp.dtype not in _CODE_TYPES:
            raise HwcompError(f"zero point type {zp.dtype} is not supported; supported: int8, uint8, int16, uint16")
        qmin, qmax = _CODE_TYPES[zp.dtype]
        node.attrs = {"qmin": qmin, "qmax": qmax, "rounding": "ROUND", "bipolar": False, "zero_after_round": True}
        node.params = {"scale": scale, "zero_point": _axis_param(zp.astype(np.float32), axis, rank, "y_zero_point")}
        node.inputs = node.inputs[:1]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [TensorType(shape_of(graph, node.inputs[0]), code_dtype(node.attrs))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [quantize_codes(inputs[0], node.attrs, node.params["scale"], node.params["zero_point"])]


@register
class DequantizeLinear(OnnxOp):
    """ONNX DequantizeLinear: x = (codes - z) * s. params: scale, zero_point.
    A constant input (weights, an int32 bias) is kept until the weight-grid pass
    has read its scale."""

    name = "DequantizeLinear"
    onnx_types = ("DequantizeLinear",)
    keeps_weight_grid = True
    attr_schema = {}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        shape = shape_of(graph, node.inputs[0])
        rank = len(shape)
        axis = int(node.attrs.get("axis", 1)) % max(rank, 1)
        if node.attrs.get("block_size", 0):
            raise HwcompError("blocked quantization (block_size) is not supported")
        scale = _axis_param(check_scale(required_constant(node, graph, 1, "x_scale")), axis, rank, "x_scale")
        zp = (required_constant(node, graph, 2, "x_zero_point") if len(node.inputs) > 2 and node.inputs[2]
              else np.zeros((), np.int64))
        src = graph.constants.get(node.inputs[0])
        if src is not None and src.dtype.kind not in "iu":
            raise HwcompError(f"input of type {src.dtype} is not supported; supported: integer codes")
        node.attrs = {}
        node.params = {"scale": scale, "zero_point": _axis_param(zp.astype(np.float32), axis, rank, "x_zero_point")}
        node.inputs = node.inputs[:1]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [TensorType(shape_of(graph, node.inputs[0]), FLOAT32)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        q = np.asarray(inputs[0])
        if q.dtype.kind == "f" and not np.all(q == np.round(q)):
            raise ValueError(f"DequantizeLinear {node.name}: input is not integer codes")
        return [codes_to_float(q, {"bipolar": False}, node.params["scale"], node.params["zero_point"])]


# ---------------------------------------------------------------- integer side


@register
class QuantizeCodes(Op):
    """Host: float input -> codes. attrs as FakeQuant; params scale, zero_point (per tensor)."""

    name = "QuantizeCodes"
    attr_schema = CODE_SCHEMA

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [graph.tensors[node.inputs[0]].with_dtype(code_dtype(node.attrs))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [quantize_codes(inputs[0], node.attrs, node.params["scale"], node.params["zero_point"])]


def threshold_codes(acc: np.ndarray, thresholds: np.ndarray, descending: np.ndarray, base: int) -> np.ndarray:
    """[..., C] accumulators -> codes: base + #{k : (acc >= T[c, k]) xor descending[c]}."""
    acc = np.asarray(acc, dtype=np.int64)
    hit = acc[..., None] >= np.asarray(thresholds, dtype=np.int64)
    hit ^= np.asarray(descending, dtype=bool)[:, None]
    return base + hit.sum(axis=-1).astype(np.int64)


@register
class MultiThreshold(Op):
    """Integer accumulator -> codes of the next quantizer, per channel on `axis`.

    attrs: axis, base, dtype; params: thresholds int64 [C, K] (rows ascending),
    descending bool [C]. The codes are base + #{k : (acc >= T[c,k]) xor desc[c]}.
    """

    name = "MultiThreshold"
    attr_schema = {"axis": required(*INT), "base": required(*INT), "dtype": required(*DTYPE)}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        c = node.params["thresholds"].shape[0]
        if not x.dtype.is_fixed or x.shape[node.attrs["axis"]] != c:
            raise ValueError(f"MultiThreshold {node.name}: input {x} does not match {c} channels")
        return [x.with_dtype(node.attrs["dtype"])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        axis = node.attrs["axis"]
        acc = np.moveaxis(np.asarray(inputs[0], np.int64), axis, -1)
        q = threshold_codes(acc, node.params["thresholds"], node.params["descending"], node.attrs["base"])
        return [np.moveaxis(q, -1, axis)]


@register
class DequantizeAffine(Op):
    """Codes or an exact accumulator -> float32: ((q - offset[c]) * scale[c] + bias[c]) in
    float64, channels on `axis` (params may be scalars). Bipolar inputs count as -1/+1."""

    name = "DequantizeAffine"
    attr_schema = {"axis": required(*INT)}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [graph.tensors[node.inputs[0]].with_dtype(FLOAT32)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        q = np.asarray(inputs[0], dtype=np.float64)
        if graph.tensors[node.inputs[0]].dtype.is_bipolar:
            q = 2 * q - 1
        axis = node.attrs["axis"]
        shape = [1] * q.ndim
        p = node.params
        n = max(np.size(p["scale"]), np.size(p["offset"]), np.size(p["bias"]))
        if n > 1:
            shape[axis] = n
        parts = [np.broadcast_to(np.asarray(p[k], np.float64).reshape(-1), (n,)).reshape(shape)
                 for k in ("offset", "scale", "bias")]
        return [((q - parts[0]) * parts[1] + parts[2]).astype(np.float32)]
