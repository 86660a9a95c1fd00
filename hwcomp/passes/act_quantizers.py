"""The activation quantizers integerize reads codes from, whichever op they are.

FakeQuant (QONNX Quant/BipolarQuant, QDQ pairs), ThresholdQuant (QONNX/FINN
MultiThreshold) and Trunc (QONNX Trunc) each map a float tensor to integer
codes, and give a code q the value (q - zero) * scale. integerize needs only
that map (computed by the op's own float32 reference), the codes' range and
what a code means, all per tensor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.ir.graph import Node
from hwcomp.ops.quantizers import FakeQuant, quantize_codes, value_params
from hwcomp.ops.threshold_quant import ThresholdQuant, count_thresholds
from hwcomp.ops.trunc import Trunc, trunc_codes

ACTIVATION_QUANTIZERS = (FakeQuant, ThresholdQuant, Trunc)


@dataclass(frozen=True)
class CodeSpec:
    """What a quantizer's codes are: attrs as FakeQuant's (qmin, qmax, bipolar; qmin and
    qmax None when the op does not bound them: Trunc v1), and the value of a code."""

    attrs: dict
    scale: float
    zero: float


def is_activation_quantizer(node: Node) -> bool:
    return node.op in ACTIVATION_QUANTIZERS


def _scalar(v) -> float:
    return float(np.asarray(v).reshape(-1)[0])


def per_tensor(node: Node) -> bool:
    """Whether the quantizer's parameters are one value for the whole tensor (thresholds
    may differ per channel: their codes still mean the same)."""
    if node.op is ThresholdQuant:
        return True
    return all(np.size(v) == 1 for v in node.params.values())


def code_spec(node: Node) -> CodeSpec:
    """The codes of a per-tensor quantizer (see per_tensor)."""
    if node.op is FakeQuant:
        return CodeSpec(dict(node.attrs), *(_scalar(v) for v in value_params(node)))
    if node.op is ThresholdQuant:
        a = node.attrs
        # out_scale * q + out_bias = (q - zero) * out_scale
        return CodeSpec({"qmin": 0, "qmax": ThresholdQuant.levels(node), "bipolar": False},
                        a["out_scale"], -a["out_bias"] / a["out_scale"])
    lo, hi = node.attrs.get("clamp", (None, None))
    p = node.params
    return CodeSpec({"qmin": lo, "qmax": hi, "bipolar": False}, _scalar(p["out_scale"]), _scalar(p["out_zero"]))


def float_to_codes(node: Node, x: np.ndarray) -> np.ndarray:
    """The quantizer's codes (int64) for float inputs, as its float32 reference computes them."""
    if node.op is FakeQuant:
        return quantize_codes(x, node.attrs, node.params["scale"], node.params["zero_point"])
    if node.op is ThresholdQuant:
        return count_thresholds(x, node.params["thresholds"], node.attrs["axis"])
    return trunc_codes(node, x).astype(np.int64)
