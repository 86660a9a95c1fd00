"""Numpy semantics of the QONNX ops that hwcomp.train exports, and an
onnx.reference evaluator that runs graphs containing them.

Follows the QONNX spec (domain "qonnx.custom_op.general", version 1):

    Quant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode)
        q = clip(round(x / scale + zeropt), qmin, qmax);  y = (q - zeropt) * scale
    BipolarQuant(x, scale)
        y = scale * (+1 if x >= 0 else -1)
"""
from __future__ import annotations

import numpy as np
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from .quantizers import QONNX_DOMAIN

_ROUNDING = {
    "ROUND": np.round,  # half to even
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "ROUND_TO_ZERO": np.trunc,
}


def quant_ref(x, scale, zeropt, bitwidth, signed: int = 1, narrow: int = 0, rounding_mode: str = "ROUND"):
    """QONNX Quant in numpy (float32 in, float32 out)."""
    b = float(np.asarray(bitwidth))
    if b != int(b):
        raise ValueError(f"Quant: non-integer bit width {b}")
    b = int(b)
    if signed:
        qmin, qmax = -(2 ** (b - 1)) + int(narrow), 2 ** (b - 1) - 1
    else:
        qmin, qmax = 0, 2 ** b - 1 - int(narrow)
    x, scale, zeropt = (np.asarray(a, dtype=np.float32) for a in (x, scale, zeropt))
    q = np.clip(_ROUNDING[rounding_mode](x / scale + zeropt), qmin, qmax)
    return ((q - zeropt) * scale).astype(np.float32)


def bipolar_quant_ref(x, scale):
    """QONNX BipolarQuant in numpy; 0 maps to +1."""
    x = np.asarray(x, dtype=np.float32)
    return (np.where(x >= 0, 1.0, -1.0) * np.asarray(scale, dtype=np.float32)).astype(np.float32)


class Quant(OpRun):
    op_domain = QONNX_DOMAIN

    def _run(self, x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding_mode="ROUND"):
        if isinstance(rounding_mode, bytes):
            rounding_mode = rounding_mode.decode()
        return (quant_ref(x, scale, zeropt, bitwidth, signed, narrow, rounding_mode),)


class BipolarQuant(OpRun):
    op_domain = QONNX_DOMAIN

    def _run(self, x, scale):
        return (bipolar_quant_ref(x, scale),)


class BatchNormalization(OpRun):
    """Inference BatchNormalization (opsets 9..13 have no training_mode).

    onnx.reference's own version for these opsets treats the momentum
    attribute, which torch always writes, as training mode and normalizes
    with batch statistics; onnxruntime and torch use the running ones."""

    op_domain = ""

    def _run(self, x, scale, bias, mean, var, epsilon=1e-5, momentum=None, training_mode=0):
        if training_mode:
            raise NotImplementedError("BatchNormalization in training mode")
        shape = (-1,) + (1,) * (x.ndim - 2)
        y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon) * scale.reshape(shape) + bias.reshape(shape)
        return (y.astype(x.dtype),)


def qonnx_evaluator(model) -> ReferenceEvaluator:
    """onnx.reference.ReferenceEvaluator that also runs Quant and BipolarQuant
    (and BatchNormalization in inference mode, see above)."""
    return ReferenceEvaluator(model, new_ops=[Quant, BipolarQuant, BatchNormalization])
