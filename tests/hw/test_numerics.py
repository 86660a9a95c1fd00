"""mvu_reference against the written rules (docs/numerics.md), value by value."""
from __future__ import annotations

import numpy as np
import pytest

from hwcomp.hw.numerics import accumulator_bounds, int_range, mvu_reference


def spec_value(acc: int, relu: bool, requant: bool, shift: int, lo: int, hi: int) -> int:
    """The rule in plain Python: ReLU, round half up by shifting, saturate."""
    if relu:
        acc = max(acc, 0)
    if not requant:
        return acc
    if shift:
        acc = (acc + (1 << (shift - 1))) // (1 << shift)     # floor division = arithmetic shift
    return min(max(acc, lo), hi)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shift", [0, 1, 3])
def test_requant_rule(dense_layer, relu: bool, shift: int) -> None:
    # One input fixed at 1 and identity-like weights make acc = weight + bias.
    accs = np.arange(-20, 21)
    layer = dense_layer("l", np.ones((accs.size, 1), dtype=np.int64), accs - 1, in_width=2,
                        weight_width=2, acc_width=8, relu=relu, requant=True, shift=shift,
                        out_width=4, out_signed=True, out_min=-5, out_max=6)
    got = mvu_reference(layer, np.array([[1]]))[0]
    want = [spec_value(int(a), relu, True, shift, -5, 6) for a in accs]
    assert got.tolist() == want


def test_round_half_up_on_negative_ties(dense_layer) -> None:
    layer = dense_layer("l", [[1], [1], [1]], [-6, -5, 4], in_width=2, weight_width=2, acc_width=6,
                        requant=True, shift=1, out_width=6, out_signed=True, out_min=-32, out_max=31)
    # acc = -5, -4, 5 -> -2.5 -> -2, -2 -> -2, 2.5 -> 3
    assert mvu_reference(layer, np.array([[1]])).tolist() == [[-2, -2, 3]]


def test_exact_dot_product_with_padding(dense_layer) -> None:
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, size=(5, 7))
    b = rng.integers(-50, 50, size=5)
    layer = dense_layer("l", w, b, pe=2, simd=3, in_width=4, in_signed=True, acc_width=12)
    x = rng.integers(-8, 8, size=(10, 7))
    assert np.array_equal(mvu_reference(layer, x), x @ w.T + b)
    # padded inputs give the same answer
    xp = np.zeros((10, layer.cols_p), dtype=np.int64)
    xp[:, :7] = x
    assert np.array_equal(mvu_reference(layer, xp), x @ w.T + b)


def test_inputs_outside_type_are_rejected(dense_layer) -> None:
    layer = dense_layer("l", [[1, 1]], in_width=3)
    with pytest.raises(ValueError, match="outside"):
        mvu_reference(layer, np.array([[8, 0]]))


def test_accumulator_bounds_are_reached(dense_layer) -> None:
    w = np.array([[3, -2, 0], [-1, -1, -1]])
    layer = dense_layer("l", w, [1, 0], in_width=3, in_signed=True, acc_width=8)
    lo, hi = accumulator_bounds(layer)
    x_lo, x_hi = int_range(3, True)
    assert (lo, hi) == (3 * x_lo + (-2) * x_hi + 1, 3 * x_hi + (-2) * x_lo + 1)
