"""Golden models and cycle models of the feature-map stream blocks.

One frozen dataclass per hardware block (templates/hwcomp_pool.v, hwcomp_gap.v,
hwcomp_add.v, hwcomp_fork.v, hwcomp_concat.v): everything that is an HDL
parameter, checked on construction; `reference` is the exact integer result
(docs/numerics.md, "Pooling, global pooling, residual add"), `cycles` the
cycles per image at steady state when nothing stalls, `latency` the cycles
from a last input beat's handshake to the handshake of the output beat it
completes.

Feature maps are channels last: a pixel is CF = ceil(C / LANES) beats of LANES
elements, tail lanes zero. References take and return logical channels; the
blocks map a zero tail lane to scale(0) = 0 (the bounds contain zero), so
`hw.design.pack_beats` of a reference is the block's exact output.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from hwcomp.numerics import (MULT_LIMIT, exact, ROUNDINGS, Scale, ceil_div, int_range,  # noqa: F401 (re-exported)
                              rounding_shift)

MAX, SUM = "max", "sum"
POOL_MODES = (MAX, SUM)
# Cycles from the last input beat to its output beat (S1 register, FIFO write).
PIPELINE_LATENCY = 2
FIFO_LATENCY = 1


def _require(ok: bool, what: str, msg: str) -> None:
    if not ok:
        raise ValueError(f"{what}: {msg}")


_exact = exact


def _check_range(values: np.ndarray, width: int, signed: bool, what: str) -> None:
    lo, hi = int_range(width, signed)
    _require(values.size == 0 or (lo <= values.min() and values.max() <= hi), what,
             f"inputs outside [{lo}, {hi}]")


# ---------------------------------------------------------------- scale

def scale_factor(ratio: Fraction, max_abs: int, max_shift: int = 62) -> tuple[int, int]:
    """(mult, shift) with mult / 2^shift close to `ratio` > 0, for values |v| <= max_abs.

    The smallest shift whose multiplier round(ratio * 2^shift) errs by less than
    1 / (2q) at |v| = max_abs, q the denominator of `ratio`: v * ratio is a multiple
    of 1/q, so the scaled value is round-half-up of v * ratio, except that on a tie
    (v * ratio exactly halfway) it may round down. Exact when ratio * 2^shift is an
    integer (a power-of-two divisor).
    """
    ratio = Fraction(ratio)
    _require(ratio > 0 and max_abs >= 0, "scale_factor", "ratio > 0 and max_abs >= 0")
    for shift in range(max_shift + 1):
        target = ratio * (1 << shift)
        mult = int(target + Fraction(1, 2))              # round half up
        if mult >= MULT_LIMIT:
            break
        # max_abs * |mult / 2^shift - ratio| < 1 / (2q)
        if mult >= 1 and 2 * ratio.denominator * max_abs * abs(mult - target) < (1 << shift):
            return mult, shift
    raise ValueError(f"scale_factor: no multiplier below 2^30 approximates {ratio} for |v| <= {max_abs}")


def average_scale(count: int, in_width: int, in_signed: bool, out_width: int, out_signed: bool,
                  frac_shift: int = 0) -> Scale:
    """Scale of an average of `count` values: v * 2^frac_shift / count, saturated to the
    output type (frac_shift = F_out - F_in moves the binary point)."""
    lo, hi = int_range(in_width, in_signed)
    mult, shift = scale_factor(Fraction(2) ** frac_shift / count, count * max(-lo, hi))
    return Scale.to_type(mult, shift, out_width, out_signed)


# ---------------------------------------------------------------- pooling

def _reduce(values: np.ndarray, axis: int, mode: str, scale: Scale | None) -> np.ndarray:
    if mode == MAX:
        return values.max(axis=axis)
    return scale.apply(_exact(values).sum(axis=axis))


def _pool_checks(what: str, mode: str, count: int, channels: int, lanes: int, in_width: int,
                 scale: Scale | None) -> None:
    _require(mode in POOL_MODES, what, f"mode {mode!r} not in {POOL_MODES}")
    _require(min(count, channels, lanes, in_width) >= 1, what, "sizes and widths must be >= 1")
    _require((scale is not None) == (mode == SUM), what, "a scale is given exactly in sum mode")
    _require(scale is None or not scale.relu, what, "pooling has no ReLU")


class _Reduction:
    """Properties shared by window and global pooling."""

    mode: str
    channels: int
    lanes: int
    in_width: int
    in_signed: bool
    scale: Scale | None

    @property
    def cf(self) -> int:
        return ceil_div(self.channels, self.lanes)

    @property
    def out_width(self) -> int:
        return self.in_width if self.mode == MAX else self.scale.out_width

    @property
    def out_signed(self) -> bool:
        return self.in_signed if self.mode == MAX else self.scale.out_signed

    @property
    def latency(self) -> int:
        return PIPELINE_LATENCY


@dataclass(frozen=True)
class PoolUnit(_Reduction):
    """hwcomp_pool: per output pixel, reduce `window` positions (K*K) per channel.

    max: the largest input, unchanged. sum: the exact sum, then `scale` (with
    mult / 2^shift ~ 1 / window: average pooling counting padded taps).
    """

    mode: str
    window: int
    channels: int
    lanes: int
    in_width: int
    in_signed: bool
    scale: Scale | None = None

    def __post_init__(self) -> None:
        _pool_checks("pool", self.mode, self.window, self.channels, self.lanes, self.in_width, self.scale)

    @classmethod
    def average(cls, window: int, channels: int, lanes: int, in_width: int, in_signed: bool,
                out_width: int, out_signed: bool, frac_shift: int = 0) -> PoolUnit:
        scale = average_scale(window, in_width, in_signed, out_width, out_signed, frac_shift)
        return cls(SUM, window, channels, lanes, in_width, in_signed, scale)

    def reference(self, windows) -> np.ndarray:
        """[pixels, window, channels] -> [pixels, channels]."""
        w = np.asarray(windows, dtype=np.int64)
        _require(w.ndim == 3 and w.shape[1:] == (self.window, self.channels), "pool",
                 f"expected windows [pixels, {self.window}, {self.channels}], got {w.shape}")
        _check_range(w, self.in_width, self.in_signed, "pool")
        return _reduce(w, 1, self.mode, self.scale)

    def cycles(self, out_pixels: int = 1) -> int:
        """One input beat per cycle: window * CF cycles per output pixel."""
        return out_pixels * self.window * self.cf


@dataclass(frozen=True)
class GlobalPoolUnit(_Reduction):
    """hwcomp_gap: per image, reduce all `pixels` (H*W) per channel; max or sum + scale."""

    mode: str
    pixels: int
    channels: int
    lanes: int
    in_width: int
    in_signed: bool
    scale: Scale | None = None

    def __post_init__(self) -> None:
        _pool_checks("global pool", self.mode, self.pixels, self.channels, self.lanes, self.in_width,
                     self.scale)

    @classmethod
    def average(cls, pixels: int, channels: int, lanes: int, in_width: int, in_signed: bool,
                out_width: int, out_signed: bool, frac_shift: int = 0) -> GlobalPoolUnit:
        scale = average_scale(pixels, in_width, in_signed, out_width, out_signed, frac_shift)
        return cls(SUM, pixels, channels, lanes, in_width, in_signed, scale)

    def reference(self, images) -> np.ndarray:
        """[images, pixels, channels] -> [images, channels]."""
        x = np.asarray(images, dtype=np.int64)
        _require(x.ndim == 3 and x.shape[1:] == (self.pixels, self.channels), "global pool",
                 f"expected [images, {self.pixels}, {self.channels}], got {x.shape}")
        _check_range(x, self.in_width, self.in_signed, "global pool")
        return _reduce(x, 1, self.mode, self.scale)

    def cycles(self) -> int:
        return self.pixels * self.cf


# ---------------------------------------------------------------- residual add

@dataclass(frozen=True)
class AddUnit:
    """hwcomp_add: y = scale((a << shift0) + (b << shift1)) with scale.mult = 1
    (its shift rounds half up, its relu is the optional ReLU)."""

    channels: int
    lanes: int
    in0_width: int
    in0_signed: bool
    in1_width: int
    in1_signed: bool
    shift0: int
    shift1: int
    scale: Scale

    def __post_init__(self) -> None:
        _require(min(self.channels, self.lanes, self.in0_width, self.in1_width) >= 1, "add",
                 "sizes and widths must be >= 1")
        _require(min(self.shift0, self.shift1) >= 0, "add", "alignment shifts must be >= 0")
        _require(self.scale.mult == 1, "add", "the scale's mult must be 1")

    @property
    def cf(self) -> int:
        return ceil_div(self.channels, self.lanes)

    @property
    def out_width(self) -> int:
        return self.scale.out_width

    @property
    def out_signed(self) -> bool:
        return self.scale.out_signed

    @property
    def sum_width(self) -> int:
        """hwcomp_add's SUM_W: the aligned inputs' widths as signed values, plus a carry."""
        x0 = self.in0_width + (0 if self.in0_signed else 1)
        x1 = self.in1_width + (0 if self.in1_signed else 1)
        return max(x0 + self.shift0, x1 + self.shift1) + 1

    @property
    def latency(self) -> int:
        return PIPELINE_LATENCY

    def reference(self, a, b) -> np.ndarray:
        """Two arrays of the same shape [..., channels] -> the same shape."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        _require(a.shape == b.shape and a.shape[-1:] == (self.channels,), "add",
                 f"expected two arrays [..., {self.channels}], got {a.shape} and {b.shape}")
        _check_range(a, self.in0_width, self.in0_signed, "add input 0")
        _check_range(b, self.in1_width, self.in1_signed, "add input 1")
        return self.scale.apply((_exact(a) << self.shift0) + (_exact(b) << self.shift1))

    def cycles(self, pixels: int) -> int:
        return pixels * self.cf


# ---------------------------------------------------------------- fork and concat

@dataclass(frozen=True)
class ForkUnit:
    """hwcomp_fork: every beat to both outputs; depth0 / depth1 words buffered per output."""

    width: int                # bits per beat
    depth0: int = 2
    depth1: int = 2

    def __post_init__(self) -> None:
        _require(self.width >= 1, "fork", "width must be >= 1")
        # tready of hwcomp_fifo is registered: one word holds only every other cycle.
        _require(min(self.depth0, self.depth1) >= 2, "fork", "depths must be >= 2 for full rate")

    @property
    def latency(self) -> int:
        return FIFO_LATENCY

    def reference(self, x) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        return x.copy(), x.copy()

    def cycles(self, beats: int) -> int:
        return beats


@dataclass(frozen=True)
class ConcatUnit:
    """hwcomp_concat: per pixel, CF0 beats of input 0, then CF1 beats of input 1.

    Output channels: input 0's cf0 * lanes lanes (channels0 .. cf0*lanes-1 are
    its zero tail lanes), then input 1's channels.
    """

    lanes: int
    elem_width: int
    channels0: int
    channels1: int

    def __post_init__(self) -> None:
        _require(min(self.lanes, self.elem_width, self.channels0, self.channels1) >= 1, "concat",
                 "sizes and widths must be >= 1")

    @property
    def cf0(self) -> int:
        return ceil_div(self.channels0, self.lanes)

    @property
    def cf1(self) -> int:
        return ceil_div(self.channels1, self.lanes)

    @property
    def out_channels(self) -> int:
        return self.cf0 * self.lanes + self.channels1

    @property
    def latency(self) -> int:
        return FIFO_LATENCY

    def reference(self, a, b) -> np.ndarray:
        """[..., channels0] and [..., channels1] -> [..., out_channels]."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        _require(a.shape[:-1] == b.shape[:-1] and a.shape[-1] == self.channels0
                 and b.shape[-1] == self.channels1, "concat",
                 f"expected [..., {self.channels0}] and [..., {self.channels1}], got {a.shape}, {b.shape}")
        gap = np.zeros(a.shape[:-1] + (self.cf0 * self.lanes - self.channels0,), dtype=np.int64)
        return np.concatenate([a, gap, b], axis=-1)

    def cycles(self, pixels: int) -> int:
        return pixels * (self.cf0 + self.cf1)
