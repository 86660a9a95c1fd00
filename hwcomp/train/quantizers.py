"""Fake quantizers with straight-through gradients that export as QONNX nodes.

Both functions compute in float ("fake quantization") and carry a `symbolic`
method, so torch's TorchScript exporter writes them as QONNX ops in the domain
"qonnx.custom_op.general" (version 1):

    Quant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode="ROUND")
        y = scale * clip(round_half_even(x / scale), qmin, qmax)     (zeropt 0)
    BipolarQuant(x, scale)
        y = scale * (+1 if x >= 0 else -1)

Gradients are straight-through: Quant passes the gradient where x / scale lies
in [qmin, qmax] (clipped STE) and zero elsewhere; BipolarQuant passes it where
|x| <= 1 (the hardtanh STE of BinaryNet). The scale gets no gradient: callers
compute it from fixed settings or from detached weights.
"""
from __future__ import annotations

import torch

QONNX_DOMAIN = "qonnx.custom_op.general"


def int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """(qmin, qmax) of a QONNX Quant: signed two's complement or unsigned,
    narrow drops the most negative (signed) or the largest (unsigned) code."""
    if not 1 <= bits <= 32:
        raise ValueError(f"bit width {bits} out of range 1..32")
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def _const(g, value: float):
    return g.op("Constant", value_t=torch.tensor(value, dtype=torch.float32))


class QuantFn(torch.autograd.Function):
    """k-bit uniform fake quantization, zero point 0, round half to even."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, bits: int, signed: bool, narrow: bool) -> torch.Tensor:
        qmin, qmax = int_range(bits, signed, narrow)
        v = x / scale
        ctx.save_for_backward((v >= qmin) & (v <= qmax))
        return torch.clamp(torch.round(v), qmin, qmax) * scale  # torch.round rounds half to even

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inside,) = ctx.saved_tensors
        return grad * inside.to(grad.dtype), None, None, None, None

    @staticmethod
    def symbolic(g, x, scale, bits: int, signed: bool, narrow: bool):
        y = g.op(f"{QONNX_DOMAIN}::Quant", x, scale, _const(g, 0.0), _const(g, float(bits)),
                 signed_i=int(signed), narrow_i=int(narrow), rounding_mode_s="ROUND")
        y.setType(x.type())
        return y


class BipolarQuantFn(torch.autograd.Function):
    """scale * sign(x) with sign(0) = +1."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x.abs() <= 1)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inside,) = ctx.saved_tensors
        return grad * inside.to(grad.dtype), None

    @staticmethod
    def symbolic(g, x, scale):
        y = g.op(f"{QONNX_DOMAIN}::BipolarQuant", x, scale)
        y.setType(x.type())
        return y


def quant(x: torch.Tensor, scale, bits: int, signed: bool = True, narrow: bool = False) -> torch.Tensor:
    """k-bit fake quantization of x (scale: float, scalar or broadcastable tensor)."""
    if not 2 <= bits <= 8:
        raise ValueError(f"Quant supports 2..8 bits, got {bits}")
    return QuantFn.apply(x, _as_tensor(scale, x), bits, bool(signed), bool(narrow))


def bipolar_quant(x: torch.Tensor, scale=1.0) -> torch.Tensor:
    """Binary fake quantization of x to scale * {-1, +1}."""
    return BipolarQuantFn.apply(x, _as_tensor(scale, x))


def ternary_quant(x: torch.Tensor, scale) -> torch.Tensor:
    """scale * {-1, 0, +1}: the 2-bit signed narrow Quant."""
    return quant(x, scale, 2, signed=True, narrow=True)


def _as_tensor(scale, like: torch.Tensor) -> torch.Tensor:
    if isinstance(scale, torch.Tensor):
        return scale.detach().to(like.dtype)
    return torch.tensor(float(scale), dtype=like.dtype)
