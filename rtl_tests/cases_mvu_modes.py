"""The test matrix of hwcomp_mvu's low-bit modes (bipolar weights, threshold
activation) and the random layers and inputs drawn for it.

A `ModeSpec` fixes every HDL parameter, so one Verilator build serves every
random draw. Thresholds are drawn from the accumulators the test inputs
actually produce (so every code occurs), and a fifth of them are moved beyond
the accumulator type's range, some far beyond int32, to exercise clamping.
Padded input lanes carry random values: zero weights (or the bipolar lane
mask) must ignore them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cases import signed_bits

from hwcomp.hw.design import MVULayer, ceil_div
from hwcomp.hw.numerics import accumulate, int_range
from hwcomp.hw.pipeline import MvuPipeline


@dataclass(frozen=True)
class ModeSpec:
    name: str
    rows: int
    cols: int
    pe: int
    simd: int
    in_width: int
    in_signed: bool
    weight_width: int                # 1 with bipolar
    bipolar: bool
    k: int                           # thresholds per row
    out_width: int
    out_signed: bool = False
    out_base: int = 0
    descending: bool = False         # a random half of the rows count down
    bias_limit: int = 4
    pipeline: MvuPipeline = MvuPipeline()   # the optional register stages

    def acc_width(self) -> int:
        """Worst case over the value ranges (bipolar weights are -1 / +1)."""
        x_lo, x_hi = int_range(self.in_width, self.in_signed)
        w_lo, w_hi = (-1, 1) if self.bipolar else int_range(self.weight_width, True)
        corners = [w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi]
        return signed_bits(self.cols * min(corners) - self.bias_limit, self.cols * max(corners) + self.bias_limit)


def make_mode_layer(spec: ModeSpec, rng: np.random.Generator, x: np.ndarray) -> MVULayer:
    """Random weights and bias for `spec`; thresholds drawn from the accumulators of inputs x."""
    rows_p, cols_p = ceil_div(spec.rows, spec.pe) * spec.pe, ceil_div(spec.cols, spec.simd) * spec.simd
    w_lo, w_hi = (0, 1) if spec.bipolar else int_range(spec.weight_width, True)
    weights = np.zeros((rows_p, cols_p), dtype=np.int64)
    weights[: spec.rows, : spec.cols] = rng.integers(w_lo, w_hi, size=(spec.rows, spec.cols), endpoint=True)
    bias = np.zeros(rows_p, dtype=np.int64)
    bias[: spec.rows] = rng.integers(-spec.bias_limit, spec.bias_limit, size=spec.rows, endpoint=True)
    acc_width = spec.acc_width()
    o_lo, o_hi = int_range(spec.out_width, spec.out_signed)
    layer = MVULayer(
        name=spec.name, rows=spec.rows, cols=spec.cols, pe=spec.pe, simd=spec.simd, in_width=spec.in_width,
        in_signed=spec.in_signed, weight_width=spec.weight_width, weights=weights, bias=bias,
        acc_width=acc_width, requant=False, shift=0, relu=False, out_width=spec.out_width,
        out_signed=spec.out_signed, out_min=o_lo, out_max=o_hi, in_fifo_depth=2,
        weight_bipolar=spec.bipolar, thresholds=np.zeros((rows_p, spec.k), dtype=np.int64),
        out_base=spec.out_base, pipeline=spec.pipeline,
    )
    acc = np.asarray(accumulate(layer, x), dtype=np.int64)
    # Thresholds at accumulators that occur (plus 0 or 1), so each code shows up ...
    t = np.stack([rng.choice(acc[:, r], size=spec.k) for r in range(rows_p)])
    t = t + rng.integers(0, 1, size=t.shape, endpoint=True)
    # ... and a fifth beyond the type's range: just outside, or far outside.
    a_lo, a_hi = int_range(acc_width, True)
    beyond = rng.choice([a_lo - 1, a_lo - 7, a_hi + 1, a_hi + 2, a_hi + 9, -(1 << 40), 1 << 40], size=t.shape)
    t = np.where(rng.random(t.shape) < 0.2, beyond, t)
    descending = rng.random(rows_p) < 0.5 if spec.descending else None
    return dataclasses.replace(layer, thresholds=np.sort(t, axis=1), descending=descending)


def random_mode_inputs(spec: ModeSpec, samples: int, rng: np.random.Generator) -> np.ndarray:
    """[samples, cols_p] inputs in the input type's range, padded lanes included."""
    lo, hi = int_range(spec.in_width, spec.in_signed)
    return rng.integers(lo, hi, size=(samples, ceil_div(spec.cols, spec.simd) * spec.simd), endpoint=True)


# Default run: three builds, with padded rows and (masked) padded columns.
MODE_SPECS = (
    # W1A8, binary output: one threshold, bipolar lanes masked in the last column fold.
    ModeSpec("bipolar_u8_binary", rows=5, cols=7, pe=2, simd=3, in_width=8, in_signed=False, weight_width=1,
             bipolar=True, k=1, out_width=1),
    # W2A2, three thresholds (2-bit codes), half the rows descending.
    ModeSpec("w2a2_k3_desc", rows=7, cols=9, pe=3, simd=4, in_width=2, in_signed=False, weight_width=2,
             bipolar=False, k=3, out_width=2, descending=True),
    # W1A2 with signed codes -2..1 (OUT_BASE = -2), NF = 1.
    ModeSpec("w1a2_signed_base", rows=4, cols=10, pe=4, simd=4, in_width=2, in_signed=False, weight_width=1,
             bipolar=True, k=3, out_width=2, out_signed=True, out_base=-2, descending=True),
)

# `make test-slow`: serial lanes, wide folds and many thresholds, signed inputs.
# The threshold activation and the bipolar padding mask with every register stage.
MODE_PIPE_SPECS = (
    ModeSpec("pipe_w2a2_k3_desc", rows=7, cols=9, pe=3, simd=4, in_width=2, in_signed=False, weight_width=2,
             bipolar=False, k=3, out_width=2, descending=True, pipeline=MvuPipeline(1, 1, 1, 1)),
    ModeSpec("pipe_bipolar_u8_binary", rows=5, cols=7, pe=2, simd=3, in_width=8, in_signed=False,
             weight_width=1, bipolar=True, k=1, out_width=1, pipeline=MvuPipeline(1, 0, 1, 1)),
)

MODE_SPECS_SLOW = (
    ModeSpec("serial_w3a4s_k2", rows=3, cols=4, pe=1, simd=1, in_width=4, in_signed=True, weight_width=3,
             bipolar=False, k=2, out_width=3, out_base=3, descending=True),
    ModeSpec("wide_bipolar_k15", rows=20, cols=50, pe=4, simd=8, in_width=8, in_signed=True, weight_width=1,
             bipolar=True, k=15, out_width=5, out_signed=True, out_base=-8, descending=True, bias_limit=100),
)

MODE_SEEDS = (1, 2)
