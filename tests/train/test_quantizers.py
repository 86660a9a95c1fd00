"""Fake quantizers: forward values (round half to even, clipping, sign(0) = +1)
and straight-through gradients; the numpy QONNX reference agrees with them."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwcomp.train.qonnx_ref import bipolar_quant_ref, quant_ref  # noqa: E402
from hwcomp.train.quantizers import bipolar_quant, int_range, quant, ternary_quant  # noqa: E402


@pytest.mark.parametrize("bits, signed, narrow, expect", [
    (2, True, False, (-2, 1)), (2, True, True, (-1, 1)), (4, True, False, (-8, 7)), (4, True, True, (-7, 7)),
    (3, False, False, (0, 7)), (3, False, True, (0, 6)), (8, False, False, (0, 255)), (8, True, False, (-128, 127)),
])
def test_int_range(bits, signed, narrow, expect):
    assert int_range(bits, signed, narrow) == expect


def test_quant_rounds_half_to_even_and_clips():
    x = torch.tensor([-3.0, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.7, 9.0]) * 0.5  # x / s = 2 * x
    y = quant(x, 0.25, 3, signed=True)
    # x / s: -6 -2.5 -1.5 -0.5 0.5 1.5 2.5 3.4 18 -> codes -4 -2 -2 -0 0 2 2 3 3
    assert (y / 0.25).tolist() == [-4, -2, -2, 0, 0, 2, 2, 3, 3]


def test_quant_unsigned_and_narrow():
    x = torch.tensor([-1.0, 0.4, 1.0, 2.0, 100.0])
    assert (quant(x, 1.0, 2, signed=False) / 1.0).tolist() == [0, 0, 1, 2, 3]
    assert quant(x, 1.0, 2, signed=False, narrow=True).tolist() == [0, 0, 1, 2, 2]
    assert quant(-x, 1.0, 4, signed=True, narrow=True).tolist() == [1, -0.0, -1, -2, -7]


def test_ternary_has_three_levels():
    x = torch.linspace(-3, 3, 61)
    assert sorted(set(ternary_quant(x, 0.5).tolist())) == [-0.5, 0.0, 0.5]


def test_per_channel_scale_broadcasts():
    w = torch.tensor([[0.3, -0.9], [0.3, -0.9]])
    s = torch.tensor([[0.1], [0.5]])
    # row 0: codes 3, -9 -> clipped to -8; row 1: 0.6 -> 1, -1.8 -> -2
    assert torch.allclose(quant(w, s, 4), torch.tensor([[0.3, -0.8], [0.5, -1.0]]))


def test_bipolar_maps_zero_to_plus_one():
    x = torch.tensor([-2.0, -1e-9, -0.0, 0.0, 1e-9, 3.0])
    assert bipolar_quant(x, 0.5).tolist() == [-0.5, -0.5, 0.5, 0.5, 0.5, 0.5]


def test_quant_ste_passes_gradient_inside_the_range_only():
    # x / s with s = 0.5: -5 -4 -1.2 0 3 3.4 7 7.6 ; signed 4-bit range -8..7 -> all but the ends inside
    x = torch.tensor([-5.0, -4.0, -1.2, 0.0, 3.0, 3.4, 7.0, 7.6], requires_grad=True) * 0.5
    x.retain_grad()
    (quant(x, 0.5, 3, signed=True) * torch.arange(1.0, 9.0)).sum().backward()  # 3-bit: -4..3
    assert x.grad.tolist() == [0, 2, 3, 4, 5, 0, 0, 0]


def test_bipolar_ste_is_hardtanh():
    x = torch.tensor([-1.5, -1.0, -0.2, 0.0, 0.7, 1.0, 1.01], requires_grad=True)
    bipolar_quant(x, 3.0).sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 0]


def test_scale_gets_no_gradient():
    s = torch.tensor(0.5, requires_grad=True)
    x = torch.randn(5, requires_grad=True)
    (quant(x, s, 4) + bipolar_quant(x, s)).sum().backward()
    assert s.grad is None and x.grad is not None


def test_quant_rejects_unsupported_widths():
    with pytest.raises(ValueError):
        quant(torch.zeros(2), 1.0, 1)
    with pytest.raises(ValueError):
        quant(torch.zeros(2), 1.0, 9)


@pytest.mark.parametrize("bits, signed, narrow", [(2, True, True), (3, False, False), (8, False, False), (5, True, False)])
def test_numpy_reference_matches_torch(bits, signed, narrow):
    lo, hi = int_range(bits, signed, narrow)
    rng = np.random.default_rng(bits)
    s = np.float32(0.125)
    # exact ties and values beyond the range on both sides
    x = np.concatenate([(np.arange(lo - 2, hi + 2) + 0.5) * s, rng.uniform(lo - 3, hi + 3, 50).astype(np.float32) * s])
    x = x.astype(np.float32)
    ref = quant_ref(x, s, 0.0, bits, int(signed), int(narrow), "ROUND")
    assert np.array_equal(ref, quant(torch.from_numpy(x), float(s), bits, signed, narrow).numpy())
    assert np.array_equal(bipolar_quant_ref(x - 1, s), bipolar_quant(torch.from_numpy(x - 1), float(s)).numpy())
