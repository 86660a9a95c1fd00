"""Quantized layers: per-output-channel weight scales, weights on their grid,
activation quantizer scales, float checkpoints load, gradients reach weights."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hwcomp.train import QuantAct, QuantConv2d, QuantLinear, weight_scale  # noqa: E402


def test_binary_linear_weight_is_mean_abs_times_sign():
    torch.manual_seed(0)
    fc = QuantLinear(6, 3, bias=False, weight_bits=1)
    w = fc.weight.detach()
    s = w.abs().mean(dim=1, keepdim=True)
    assert fc.weight_scale.shape == (3, 1)
    assert torch.equal(fc.quant_weight(), torch.where(w >= 0, 1.0, -1.0) * s)


@pytest.mark.parametrize("bits", [2, 3, 8])
def test_kbit_conv_weight_uses_max_abs_over_qmax(bits):
    torch.manual_seed(bits)
    conv = QuantConv2d(2, 4, 3, weight_bits=bits)
    qmax = 2 ** (bits - 1) - 1
    s = weight_scale(conv.weight, bits)
    assert s.shape == (4, 1, 1, 1)
    assert torch.allclose(s.flatten(), conv.weight.detach().abs().amax(dim=(1, 2, 3)) / qmax)
    codes = conv.quant_weight().detach() / s
    assert torch.allclose(codes, codes.round(), atol=1e-5)
    assert codes.abs().max() <= qmax + 1e-5  # narrow: symmetric, the largest |W| hits qmax
    assert torch.allclose(codes.abs().amax(dim=(1, 2, 3)), torch.full((4,), float(qmax)))


def test_two_bit_weights_are_ternary():
    torch.manual_seed(1)
    fc = QuantLinear(20, 5, weight_bits=2)
    levels = (fc.quant_weight().detach() / fc.weight_scale).round().unique().tolist()
    assert set(levels) <= {-1.0, 0.0, 1.0}


def test_float_checkpoint_loads_into_quant_layers():
    lin, conv = torch.nn.Linear(4, 3), torch.nn.Conv2d(1, 2, 3)
    QuantLinear(4, 3).load_state_dict(lin.state_dict())
    QuantConv2d(1, 2, 3, weight_bits=4).load_state_dict(conv.state_dict())


def test_gradient_reaches_the_float_weight():
    torch.manual_seed(0)
    fc = QuantLinear(8, 4, weight_bits=1)
    fc(torch.randn(5, 8)).sum().backward()
    assert fc.weight.grad is not None and fc.weight.grad.abs().sum() > 0


def test_activation_quantizer_scales():
    assert QuantAct.bipolar().scale == 1.0
    assert QuantAct.relu(2, 2.0).scale == pytest.approx(2.0 / 3)
    assert QuantAct.input(bits=8, frac_bits=7).scale == 2.0 ** -7
    assert QuantAct(4, signed=True, max_val=7.0).scale == 1.0
    x = torch.tensor([-1.0, 0.0, 0.3, 0.8, 1.0, 2.0, 5.0])  # / (2/3): 0.45 -> 0, 1.2 -> 1, 1.5 -> 2 (even)
    assert torch.allclose(QuantAct.relu(2, 2.0)(x), torch.tensor([0.0, 0.0, 0.0, 2 / 3, 4 / 3, 2.0, 2.0]))
    assert QuantAct.bipolar()(x).tolist() == [-1, 1, 1, 1, 1, 1, 1]
    digits = torch.arange(17.0) / 16  # every k/16 is exact at scale 2^-7
    assert torch.equal(QuantAct.input()(digits), digits)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        QuantLinear(2, 2, weight_bits=9)
    with pytest.raises(ValueError):
        QuantAct(4)  # neither scale nor max_val
    with pytest.raises(ValueError):
        QuantAct(4, scale=1.0, max_val=2.0)
