"""Golden models of the feature-map stream blocks against the written rules
(docs/numerics.md, "Pooling, global pooling, residual add") and against numpy."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from hwcomp.backends.verilog import parameter_literals
from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.blocks.base import Bits
from hwcomp.hw.design import pack_beats
from hwcomp.hw.numerics import int_range
from hwcomp.hw.stream_ops import (
    MAX, SUM, AddUnit, ConcatUnit, ForkUnit, GlobalPoolUnit, PoolUnit, Scale, average_scale, scale_factor,
)


def spec_scale(v: int, mult: int, shift: int, lo: int, hi: int, relu: bool = False) -> int:
    """The rule in plain Python."""
    v = max(v, 0) if relu else v
    v *= mult
    if shift:
        v = (v + (1 << (shift - 1))) // (1 << shift)        # floor division = arithmetic shift
    return min(max(v, lo), hi)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("mult,shift", [(1, 0), (3, 0), (1, 2), (7, 4), (57, 9)])
def test_scale_rule(mult: int, shift: int, relu: bool) -> None:
    s = Scale(mult, shift, 6, True, -20, 25, relu)
    v = np.arange(-300, 301)
    assert s.apply(v).tolist() == [spec_scale(int(x), mult, shift, -20, 25, relu) for x in v]


def test_scale_rounds_half_up_on_negative_ties() -> None:
    # -5/2 = -2.5 -> -2, -3/2 = -1.5 -> -1, 5/2 = 2.5 -> 3
    assert Scale.to_type(1, 1, 4, True).apply([-5, -3, 5]).tolist() == [-2, -1, 3]


def test_scale_is_exact_beyond_int64() -> None:
    s = Scale.to_type((1 << 29) + 1, 40, 8, True)
    v = (1 << 40) + 12345
    assert s.apply([v]).tolist() == [spec_scale(v, (1 << 29) + 1, 40, -128, 127)]


def test_scale_bounds_must_contain_zero() -> None:
    with pytest.raises(ValueError, match="contain 0"):
        Scale(1, 0, 4, False, 1, 15)


@pytest.mark.parametrize("ratio", [Fraction(1, c) for c in (1, 2, 4, 9, 12, 25, 49, 196)] + [Fraction(2, 9)])
@pytest.mark.parametrize("max_abs", [1, 100, 10_000])
def test_scale_factor_error_bound(ratio: Fraction, max_abs: int) -> None:
    def err(mult: int, shift: int) -> Fraction:
        return 2 * ratio.denominator * max_abs * abs(Fraction(mult, 1 << shift) - ratio)

    mult, shift = scale_factor(ratio, max_abs)
    assert err(mult, shift) < 1
    if shift:   # the smallest such shift
        prev = int(ratio * (1 << (shift - 1)) + Fraction(1, 2))
        assert prev < 1 or err(prev, shift - 1) >= 1


@pytest.mark.parametrize("ratio", [Fraction(1, 9), Fraction(2, 9), Fraction(1, 12), Fraction(1, 49)])
def test_scale_factor_rounds_like_the_exact_ratio(ratio: Fraction) -> None:
    max_abs = 3000
    mult, shift = scale_factor(ratio, max_abs)
    s = Scale.to_type(mult, shift, 20, True)
    v = np.arange(-max_abs, max_abs + 1)
    exact = [v_ * ratio for v_ in v.tolist()]
    want = np.array([math.floor(e + Fraction(1, 2)) for e in exact])
    tie = np.array([(e - Fraction(1, 2)).denominator == 1 for e in exact])
    got = s.apply(v)
    assert np.array_equal(got[~tie], want[~tie])
    assert set((want[tie] - got[tie]).tolist()) <= {0, 1}


@pytest.mark.parametrize("count", [1, 2, 4, 16])
def test_power_of_two_average_is_a_plain_shift(count: int) -> None:
    assert scale_factor(Fraction(1, count), 1000) == (1, count.bit_length() - 1)


# ---------------------------------------------------------------- pooling

@pytest.mark.parametrize("in_width,in_signed", [(4, True), (5, False), (8, True)])
@pytest.mark.parametrize("window", [4, 9])
def test_max_pool_matches_numpy(window: int, in_width: int, in_signed: bool) -> None:
    rng = np.random.default_rng(window + in_width)
    unit = PoolUnit(MAX, window, 5, 2, in_width, in_signed)
    lo, hi = int_range(in_width, in_signed)
    w = rng.integers(lo, hi, size=(30, window, 5), endpoint=True)
    assert np.array_equal(unit.reference(w), w.max(axis=1))
    assert (unit.out_width, unit.out_signed) == (in_width, in_signed)


@pytest.mark.parametrize("window", [4, 9, 25])
@pytest.mark.parametrize("in_width,in_signed", [(4, True), (6, False), (8, True)])
def test_avg_pool_within_one_lsb_of_float_average(window: int, in_width: int, in_signed: bool) -> None:
    rng = np.random.default_rng(window * in_width)
    out_width = in_width + 1           # no saturation: compare the rounding alone
    unit = PoolUnit.average(window, 3, 2, in_width, in_signed, out_width, True)
    lo, hi = int_range(in_width, in_signed)
    w = rng.integers(lo, hi, size=(500, window, 3), endpoint=True)
    w[0], w[1] = lo, hi                # the extremes of the sum
    got = unit.reference(w)
    assert np.abs(got - w.mean(axis=1)).max() <= 0.5


def test_avg_pool_with_binary_point_move_and_saturation() -> None:
    # average * 2 into a 4-bit unsigned type: saturates at 15
    unit = PoolUnit.average(9, 1, 1, 5, False, 4, False, frac_shift=1)
    w = np.full((1, 9, 1), 31)
    assert unit.reference(w).tolist() == [[15]]
    w = np.full((1, 9, 1), 3)
    assert unit.reference(w).tolist() == [[6]]


def test_global_pool_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-32, 32, size=(8, 12, 6))
    assert np.array_equal(GlobalPoolUnit(MAX, 12, 6, 4, 6, True).reference(x), x.max(axis=1))
    gap = GlobalPoolUnit.average(12, 6, 4, 6, True, 7, True)
    assert np.abs(gap.reference(x) - x.mean(axis=1)).max() < 1


def test_pool_checks_shapes_and_ranges() -> None:
    unit = PoolUnit(MAX, 4, 3, 2, 4, False)
    with pytest.raises(ValueError, match="windows"):
        unit.reference(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="outside"):
        unit.reference(np.full((2, 4, 3), 16))
    with pytest.raises(ValueError, match="scale"):
        PoolUnit(SUM, 4, 3, 2, 4, False)


def test_cycle_models() -> None:
    assert PoolUnit(MAX, 9, 5, 2, 4, True).cycles(out_pixels=16) == 16 * 9 * 3
    assert GlobalPoolUnit(MAX, 49, 8, 4, 8, True).cycles() == 49 * 2
    add = AddUnit(7, 3, 4, True, 4, True, 0, 0, Scale.to_type(1, 0, 5, True))
    assert add.cycles(pixels=10) == 30
    assert ForkUnit(12).cycles(beats=100) == 100
    assert ConcatUnit(2, 5, 3, 5).cycles(pixels=10) == 10 * (2 + 3)


# ---------------------------------------------------------------- add, concat, fork

def test_add_rule_value_by_value() -> None:
    scale = Scale(1, 2, 4, False, 0, 12, relu=True)
    unit = AddUnit(1, 1, 4, True, 5, False, 2, 0, scale)
    a = np.arange(-8, 8).repeat(32)
    b = np.tile(np.arange(32), 16)
    got = unit.reference(a[:, None], b[:, None])[:, 0]
    want = [spec_scale((int(x) << 2) + int(y), 1, 2, 0, 12, relu=True) for x, y in zip(a, b)]
    assert got.tolist() == want


def test_add_sum_width_holds_every_sum() -> None:
    unit = AddUnit(1, 1, 4, True, 5, False, 3, 1, Scale.to_type(1, 0, 4, True))
    a_lo, a_hi = int_range(4, True)
    b_lo, b_hi = int_range(5, False)
    lo, hi = int_range(unit.sum_width, True)
    assert lo <= (a_lo << 3) + (b_lo << 1) and (a_hi << 3) + (b_hi << 1) <= hi


def test_concat_keeps_the_tail_lane_gap() -> None:
    unit = ConcatUnit(lanes=2, elem_width=5, channels0=3, channels1=2)
    a, b = np.array([[1, 2, 3]]), np.array([[4, 5]])
    assert unit.reference(a, b).tolist() == [[1, 2, 3, 0, 4, 5]]
    # Word for word, the output stream is input 0's beats then input 1's beats.
    words = pack_beats(unit.reference(a, b), 2, 5)
    assert words.tolist() == [pack_beats(a, 2, 5).tolist()[0] + pack_beats(b, 2, 5).tolist()[0]]


def test_fork_copies() -> None:
    x = np.arange(6)
    a, b = ForkUnit(8).reference(x)
    assert np.array_equal(a, x) and np.array_equal(b, x)
    with pytest.raises(ValueError, match="full rate"):
        ForkUnit(8, depth0=1)


# ---------------------------------------------------------------- HDL parameters

def test_hdl_parameters() -> None:
    unit = PoolUnit.average(9, 5, 2, 5, False, 6, True, frac_shift=1)
    m = block_of_unit(unit).hdl(unit, "pool")
    params = dict(parameter_literals(unit))
    assert m.module == "hwcomp_pool" and m.sources[-1] == "hwcomp_pool.v" and "hwcomp_scale.v" in m.sources
    assert params["MODE"] == "1" and params["CF"] == "3" and params["OUT_MIN"] == "7'h60"
    assert params["OUT_MAX"] == "7'h1f" and params["MULT"] == str(unit.scale.mult)
    # The block gives plain values; the literals above are the backend's rendering of them.
    plain = dict(m.params)
    assert plain["CF"] == 3 and plain["OUT_MIN"] == Bits(-32, 7) and plain["OUT_MAX"] == Bits(31, 7)
    assert dict(parameter_literals(ForkUnit(12, 2, 5))) == {"WIDTH": "12", "DEPTH0": "2", "DEPTH1": "5"}
    with pytest.raises(TypeError):
        block_of_unit(object())


def test_average_scale_saturates_to_type() -> None:
    s = average_scale(9, 8, True, 8, True)
    assert (s.out_min, s.out_max) == (-128, 127) and not s.relu
