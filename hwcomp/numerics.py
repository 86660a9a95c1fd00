"""The integer arithmetic that the executor, the golden models and the RTL
generator share (docs/numerics.md). Plain numpy; no imports from the project,
so every layer can use it without depending on another (import-linter checks).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MULT_LIMIT = 1 << 30          # hwcomp_scale holds MULT in a Verilog integer


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def bytes_width(bits: int) -> int:
    """AXI4-Stream TDATA widths are whole bytes."""
    return ceil_div(bits, 8) * 8


def _require(ok: bool, what: str, msg: str) -> None:
    if not ok:
        raise ValueError(f"{what}: {msg}")


def exact(values) -> np.ndarray:
    """Python-int (object) array: products and sums never overflow."""
    return np.asarray(values, dtype=np.int64).astype(object)


def int_range(width: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest value of a `width`-bit integer."""
    if signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


def relu_requant(acc: np.ndarray, relu: bool, requant: bool, shift, out_min: int, out_max: int) -> np.ndarray:
    """ReLU and requantization of accumulator values; shared with the IR's MatrixVectorUnit op.

    `shift` is one int, or one per row (an array over the last axis of acc)."""
    y = np.maximum(acc, 0) if relu else acc
    if not requant:
        return y
    if np.ndim(shift):
        s = np.asarray(shift, dtype=np.int64)
        # Python's >> on ints (and numpy's on int64) is an arithmetic shift; no rounding term at 0.
        y = (y + np.where(s > 0, np.left_shift(1, np.maximum(s - 1, 0)), 0)) >> s
    elif shift > 0:
        y = (y + (1 << (shift - 1))) >> shift
    return np.clip(y, out_min, out_max)


def threshold_activation(acc: np.ndarray, thresholds: np.ndarray, descending: np.ndarray | None,
                         base: int) -> np.ndarray:
    """Multi-threshold activation: [samples, rows] accumulators -> [samples, rows] int64 codes.

    code[i, r] = base + #{k : (acc[i, r] >= T[r, k]) XOR descending[r]}, with
    T = thresholds [rows, K] and descending [rows] (None: all False). With
    ascending rows an ascending row's code rises by one at each threshold
    (base .. base + K), a descending row's falls (base + K .. base). Shared
    with the IR's MatrixVectorUnit op.
    """
    acc = np.asarray(acc)
    t = np.asarray(thresholds)
    if t.ndim != 2 or acc.ndim != 2 or acc.shape[1] != t.shape[0]:
        raise ValueError(f"thresholds {t.shape} do not match accumulators {acc.shape}")
    desc = np.zeros(t.shape[0], dtype=bool) if descending is None else np.asarray(descending, dtype=bool)
    if desc.shape != (t.shape[0],):
        raise ValueError(f"descending {desc.shape} does not match thresholds {t.shape}")
    # Object accumulators (wider than int64) compare with Python ints.
    t = t.astype(object) if acc.dtype == object else t
    hits = (acc[:, :, None] >= t[None, :, :]).astype(bool) ^ desc[None, :, None]
    return int(base) + hits.sum(axis=2, dtype=np.int64)


# How the scale step's right shift rounds (hwcomp_scale's ROUND parameter): the
# term added before the arithmetic shift by s of w = relu(v) * mult.
ROUNDINGS = ("half_up", "half_even", "half_down", "floor", "ceil")


def rounding_shift(w, shift: int, rounding: str = "half_up"):
    """w / 2^shift rounded as `rounding` says, on exact integers (int64 or Python ints)."""
    if shift == 0:
        return w
    half = 1 << (shift - 1)
    if rounding == "half_up":
        term = half
    elif rounding == "half_down":
        term = half - 1
    elif rounding == "floor":
        term = 0
    elif rounding == "ceil":
        term = (1 << shift) - 1
    else:  # half_even: a tie goes up only when the kept part is odd
        term = (w >> shift) % 2 + (half - 1)
    return (w + term) >> shift


@dataclass(frozen=True)
class Scale:
    """y = clip(round(relu(v) * mult / 2^shift), out_min, out_max), the division an
    arithmetic shift rounding as `rounding` says (ROUNDINGS; half up unless told);
    no rounding when shift = 0. The bounds contain zero, so zero stays zero."""

    mult: int
    shift: int
    out_width: int
    out_signed: bool
    out_min: int
    out_max: int
    relu: bool = False
    rounding: str = "half_up"

    def __post_init__(self) -> None:
        _require(1 <= self.mult < MULT_LIMIT, "scale", f"mult {self.mult} outside [1, 2^30)")
        _require(self.shift >= 0 and self.out_width >= 1, "scale", "shift >= 0, out_width >= 1")
        _require(self.rounding in ROUNDINGS, "scale", f"rounding {self.rounding!r} not in {ROUNDINGS}")
        lo, hi = int_range(self.out_width, self.out_signed)
        _require(lo <= self.out_min <= 0 <= self.out_max <= hi, "scale",
                 f"bounds [{self.out_min}, {self.out_max}] must contain 0 and fit the output type")

    @classmethod
    def to_type(cls, mult: int, shift: int, out_width: int, out_signed: bool, relu: bool = False) -> Scale:
        """Saturating to the whole output type."""
        lo, hi = int_range(out_width, out_signed)
        return cls(mult, shift, out_width, out_signed, lo, hi, relu)

    def apply(self, v) -> np.ndarray:
        if self.rounding == "half_up":  # the MVU's requantization rule
            y = relu_requant(exact(v) * self.mult, self.relu, True, self.shift, self.out_min, self.out_max)
            return np.asarray(y).astype(np.int64)
        w = exact(v) * self.mult
        w = np.maximum(w, 0) if self.relu else w
        return np.clip(rounding_shift(w, self.shift, self.rounding), self.out_min, self.out_max).astype(np.int64)
