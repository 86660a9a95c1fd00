"""Element types of IR tensors.

Fixed point follows docs/numerics.md: a value is an integer q held in W bits,
meaning q * 2**-F. int<W> is fixed point with F = 0. Bipolar holds +1/-1,
stored in hardware as one bit (1 = +1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DType:
    """Base of all element types; instances are immutable and hashable."""

    is_float = False
    is_fixed = False
    is_bipolar = False

    @property
    def bits(self) -> int:
        raise NotImplementedError


@dataclass(frozen=True)
class Float32(DType):
    is_float = True

    @property
    def bits(self) -> int:
        return 32

    def __str__(self) -> str:
        return "float32"


@dataclass(frozen=True)
class Fixed(DType):
    """Integer q in `width` bits (two's complement when signed) meaning q * 2**-frac."""

    width: int
    frac: int
    signed: bool = True
    is_fixed = True

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 62:
            raise ValueError(f"fixed-point width must be 1..62 bits, got {self.width}")

    @property
    def bits(self) -> int:
        return self.width

    @property
    def min_int(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def scale(self) -> float:
        """Real value of one integer step."""
        return 2.0 ** -self.frac

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Float -> integer q: round to nearest, ties to even, then saturate."""
        q = np.rint(np.asarray(x, dtype=np.float64) * 2.0 ** self.frac)
        return np.clip(q, self.min_int, self.max_int).astype(np.int64)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(q, dtype=np.float64) * self.scale

    def __str__(self) -> str:
        if self.frac == 0:
            return f"int<{self.width}>" if self.signed else f"uint<{self.width}>"
        return f"fixed<{self.width},{self.frac},{'s' if self.signed else 'u'}>"


def Int(width: int, signed: bool = True) -> Fixed:
    """int<W>: fixed point with no fractional bits."""
    return Fixed(width, 0, signed)


@dataclass(frozen=True)
class Bipolar(DType):
    """+1/-1 held as bits (1 = +1), in the executor as in hardware.

    It streams like uint<1> (width 1, codes 0..1), so it counts as an integer
    code type (is_fixed); ops that compute with its values map bit b to 2b - 1.
    """

    is_bipolar = True
    is_fixed = True
    width = 1
    frac = 0
    signed = False
    min_int = 0
    max_int = 1
    scale = 1.0

    @property
    def bits(self) -> int:
        return 1

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """sign with sign(0) = +1, as bits."""
        return (np.asarray(x) >= 0).astype(np.int64)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return 2.0 * np.asarray(q, dtype=np.float64) - 1.0

    def __str__(self) -> str:
        return "bipolar"


FLOAT32 = Float32()
BIPOLAR = Bipolar()


def bits_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """Smallest (width, signed) two's-complement/unsigned type holding [lo, hi]."""
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    width = max(int(-lo - 1).bit_length(), int(hi).bit_length()) + 1
    return width, True


def parse_dtype(text: str) -> DType:
    """Inverse of str(dtype): 'float32', 'bipolar', 'int<8>', 'uint<4>', 'fixed<8,4,s>'."""
    import re

    if text == "float32":
        return FLOAT32
    if text == "bipolar":
        return BIPOLAR
    m = re.fullmatch(r"(u?)int<(\d+)>", text)
    if m:
        return Fixed(int(m.group(2)), 0, m.group(1) == "")
    m = re.fullmatch(r"fixed<(\d+),(-?\d+),([su])>", text)
    if m:
        return Fixed(int(m.group(1)), int(m.group(2)), m.group(3) == "s")
    raise ValueError(f"not a dtype: {text!r}")
