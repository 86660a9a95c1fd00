"""Quantized layers for quantization-aware training.

QuantLinear and QuantConv2d subclass the float torch layers (same parameters
and state_dict keys, so a float checkpoint loads into them for fine-tuning) and
fake-quantize their weight on every forward:

- weight_bits=1: binary, W_q = s * sign(W), s = mean|W| per output channel
  (XNOR-Net); exported as BipolarQuant(W, s).
- weight_bits=k in 2..8: signed k-bit, s = max|W| / qmax per output channel;
  exported as Quant(W, s, 0, k). narrow=True (default) keeps the codes
  symmetric, so 2 bits are ternary s * {-1, 0, +1}.

The scale is computed from the detached weight. It has shape [out, 1] for a
Linear weight [out, in] and [out, 1, 1, 1] for a Conv2d weight. During ONNX
export the layer reads the scale from a non-persistent buffer filled by
`refresh_weight_scale()` (export_qonnx calls it), so the exported graph holds
the scale as a constant rather than the Abs/ReduceMax chain that computes it.

QuantAct fake-quantizes activations with a fixed scale: bipolar (scale 1),
unsigned k-bit over [0, r] (a clipped, quantized ReLU), signed k-bit, or the
8-bit input quantizer with a power-of-two scale.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .quantizers import bipolar_quant, int_range, quant


def weight_scale(w: torch.Tensor, bits: int, narrow: bool = True) -> torch.Tensor:
    """Per-output-channel scale of a weight [out, ...], shaped [out, 1, ...]."""
    dims = tuple(range(1, w.dim()))
    w = w.detach().abs()
    if bits == 1:
        s = w.mean(dim=dims, keepdim=True)
    else:
        s = w.amax(dim=dims, keepdim=True) / int_range(bits, True, narrow)[1]
    return s.clamp_min(1e-8)  # an all-zero row keeps a usable scale


class _QuantWeight:
    """Weight fake quantization shared by QuantLinear and QuantConv2d."""

    weight: torch.nn.Parameter
    weight_scale: torch.Tensor

    def _init_quant(self, weight_bits: int, narrow: bool) -> None:
        if not (weight_bits == 1 or 2 <= weight_bits <= 8):
            raise ValueError(f"weight_bits must be 1 (binary) or 2..8, got {weight_bits}")
        self.weight_bits = weight_bits
        self.weight_narrow = narrow
        shape = (self.weight.shape[0],) + (1,) * (self.weight.dim() - 1)
        self.register_buffer("weight_scale", torch.ones(shape), persistent=False)
        self.refresh_weight_scale()

    @torch.no_grad()
    def refresh_weight_scale(self) -> None:
        self.weight_scale.copy_(weight_scale(self.weight, self.weight_bits, self.weight_narrow))

    def quant_weight(self) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            s = self.weight_scale  # a constant in the exported graph
        else:
            s = weight_scale(self.weight, self.weight_bits, self.weight_narrow)
        if self.weight_bits == 1:
            return bipolar_quant(self.weight, s)
        return quant(self.weight, s, self.weight_bits, signed=True, narrow=self.weight_narrow)

    def _quant_repr(self) -> str:
        kind = "binary" if self.weight_bits == 1 else f"{self.weight_bits}-bit" + (" narrow" if self.weight_narrow else "")
        return f"weight={kind}"


class QuantLinear(torch.nn.Linear, _QuantWeight):
    """nn.Linear with a fake-quantized weight. Exports as Gemm(x, Quant(W), b, transB=1);
    without a bias the export adds a zero bias so the node stays a Gemm."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 weight_bits: int = 1, narrow: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self._init_quant(weight_bits, narrow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias
        if b is None and torch.onnx.is_in_onnx_export() and x.dim() == 2:
            b = torch.zeros(self.out_features)  # Gemm, not MatMul(x, Transpose(W))
        return F.linear(x, self.quant_weight(), b)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._quant_repr()}"


class QuantConv2d(torch.nn.Conv2d, _QuantWeight):
    """nn.Conv2d with a fake-quantized weight. Exports as Conv(x, Quant(W), b).
    Zero padding is only exact in hardware when x is a quantized tensor whose
    code 0 means 0 (k-bit Quant with zero point 0), never a bipolar tensor."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, *, weight_bits: int = 1,
                 narrow: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self._init_quant(weight_bits, narrow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.quant_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._quant_repr()}"


class QuantAct(torch.nn.Module):
    """Activation fake quantizer with a fixed per-tensor scale.

    bits=1: bipolar, y = scale * sign(x) (scale 1 by default);
    bits=k: y = scale * clip(round(x / scale), qmin, qmax), unsigned or signed.
    Give either `scale` or `max_val` (the largest representable value, so
    scale = max_val / qmax). Prefer the named constructors.
    """

    def __init__(self, bits: int, *, signed: bool = False, narrow: bool = False,
                 scale: float | None = None, max_val: float | None = None) -> None:
        super().__init__()
        if bits == 1:
            if max_val is not None:
                raise ValueError("a bipolar QuantAct takes scale, not max_val")
            self.scale = 1.0 if scale is None else float(scale)
        else:
            if (scale is None) == (max_val is None):
                raise ValueError("give exactly one of scale and max_val")
            qmax = int_range(bits, signed, narrow)[1]
            self.scale = float(scale) if scale is not None else float(max_val) / qmax
        if not self.scale > 0:
            raise ValueError(f"scale must be positive, got {self.scale}")
        self.bits, self.signed, self.narrow = bits, signed, narrow
        # a buffer, so the exported graph holds it as a constant without a tracer warning
        self.register_buffer("scale_t", torch.tensor(self.scale), persistent=False)

    @classmethod
    def bipolar(cls, scale: float = 1.0) -> "QuantAct":
        """Binary activation scale * {-1, +1} (BinaryNet sign with hardtanh STE)."""
        return cls(1, scale=scale)

    @classmethod
    def relu(cls, bits: int, max_val: float) -> "QuantAct":
        """Unsigned k-bit over [0, max_val]: a clipped ReLU with 2^k levels."""
        return cls(bits, signed=False, max_val=max_val)

    @classmethod
    def input(cls, bits: int = 8, frac_bits: int = 7, signed: bool = False) -> "QuantAct":
        """Input quantizer with the power-of-two scale 2^-frac_bits."""
        return cls(bits, signed=signed, scale=2.0 ** -frac_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bits == 1:
            return bipolar_quant(x, self.scale_t)
        return quant(x, self.scale_t, self.bits, signed=self.signed, narrow=self.narrow)

    def extra_repr(self) -> str:
        if self.bits == 1:
            return f"bipolar, scale={self.scale:g}"
        return f"bits={self.bits}, signed={self.signed}, narrow={self.narrow}, scale={self.scale:g}"
