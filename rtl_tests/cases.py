"""The RTL test matrix, defined once, and the random layers and stream cases built from it.

A `LayerSpec` fixes everything that is an HDL parameter, so one Verilator
build serves every random draw of weights, biases and inputs for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.hw.design import MVULayer, ceil_div, pack_beats
from hwcomp.hw.numerics import activate, accumulate, int_range
from hwcomp.hw.pipeline import MvuPipeline


def signed_bits(lo: int, hi: int) -> int:
    """Fewest bits of a signed integer holding every value in [lo, hi]."""
    return max(1, (-lo - 1).bit_length() + 1 if lo < 0 else 1, hi.bit_length() + 1)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    rows: int
    cols: int
    pe: int
    simd: int
    in_width: int
    in_signed: bool
    weight_width: int
    relu: bool
    requant: bool
    shift: int = 0
    out_width: int = 0               # ignored without requant (the accumulator goes out)
    out_signed: bool = False
    out_bounds: tuple[int, int] | None = None   # default: the output type's range
    weight_limit: int | None = None  # |w| <= limit instead of the full type range
    bias_limit: int = 8
    acc_width: int | None = None     # default: worst case over the value ranges
    fifo_depth: int = 2
    row_shifts: bool = False         # requant by a random shift per row (0..acc_width), shift 0
    pipeline: MvuPipeline = MvuPipeline()   # the optional register stages
    codebook_bits: int = 0           # > 0: weights drawn from a codebook of 2^bits values (0 among them)

    def weight_range(self) -> tuple[int, int]:
        lo, hi = int_range(self.weight_width, True)
        if self.weight_limit is not None:
            lo, hi = max(lo, -self.weight_limit), min(hi, self.weight_limit)
        return lo, hi

    def worst_acc_width(self) -> int:
        x_lo, x_hi = int_range(self.in_width, self.in_signed)
        w_lo, w_hi = self.weight_range()
        corners = [w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi]
        return signed_bits(self.cols * min(corners) - self.bias_limit, self.cols * max(corners) + self.bias_limit)


def make_layer(spec: LayerSpec, rng: np.random.Generator) -> MVULayer:
    """Random weights and bias for `spec`, zero padded to whole folds."""
    rows_p, cols_p = ceil_div(spec.rows, spec.pe) * spec.pe, ceil_div(spec.cols, spec.simd) * spec.simd
    w_lo, w_hi = spec.weight_range()
    weights = np.zeros((rows_p, cols_p), dtype=np.int64)
    codebook = None
    if spec.codebook_bits:
        # 2^bits distinct values of the weight type, 0 among them (the padding's weight).
        others = rng.choice(np.setdiff1d(np.arange(w_lo, w_hi + 1), [0]), (1 << spec.codebook_bits) - 1, replace=False)
        codebook = np.sort(np.append(others, 0)).astype(np.int64)
        weights[: spec.rows, : spec.cols] = rng.choice(codebook, size=(spec.rows, spec.cols))
    else:
        weights[: spec.rows, : spec.cols] = rng.integers(w_lo, w_hi, size=(spec.rows, spec.cols), endpoint=True)
    bias = np.zeros(rows_p, dtype=np.int64)
    bias[: spec.rows] = rng.integers(-spec.bias_limit, spec.bias_limit, size=spec.rows, endpoint=True)
    acc_width = spec.acc_width or spec.worst_acc_width()
    row_shifts = None
    if spec.row_shifts:
        # Mostly shifts that keep some of the output's bits (so rounding shows); every
        # draw holds 0 and acc_width, so ROW_SHIFT_W (an HDL parameter) is the same.
        useful = max(1, acc_width - (spec.out_width if spec.requant else acc_width) + 2)
        row_shifts = np.zeros(rows_p, dtype=np.int64)
        row_shifts[: spec.rows] = rng.integers(0, useful, size=spec.rows, endpoint=True)
        row_shifts[rng.permutation(spec.rows)[:2]] = (0, acc_width)
    if spec.requant:
        out_width, out_signed = spec.out_width, spec.out_signed
        out_min, out_max = spec.out_bounds or int_range(out_width, out_signed)
    else:
        out_width, out_signed = acc_width, True
        out_min, out_max = int_range(acc_width, True)
    return MVULayer(
        name=spec.name, rows=spec.rows, cols=spec.cols, pe=spec.pe, simd=spec.simd,
        in_width=spec.in_width, in_signed=spec.in_signed, weight_width=spec.weight_width,
        weights=weights, bias=bias, acc_width=acc_width, requant=spec.requant,
        shift=spec.shift if spec.requant else 0, relu=spec.relu, out_width=out_width,
        out_signed=out_signed, out_min=out_min, out_max=out_max, in_fifo_depth=spec.fifo_depth,
        row_shifts=row_shifts, pipeline=spec.pipeline, codebook=codebook,
    )


def random_inputs(layer: MVULayer, samples: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = int_range(layer.in_width, layer.in_signed)
    return rng.integers(lo, hi, size=(samples, layer.cols), endpoint=True)


# ---------------------------------------------------------------- the matrix
# Default run: five MVU builds. Together they cover PE/SIMD not dividing the
# sizes, NF = 1 and SF = 1, signed and unsigned inputs, ReLU on and off,
# requant on (shift 0 and > 0, saturating bounds, a shift per row) and off.
MVU_SPECS = (
    LayerSpec("fold3x3_relu_shift", rows=5, cols=7, pe=2, simd=3, in_width=4, in_signed=True,
              weight_width=4, relu=True, requant=True, shift=3, out_width=4, out_signed=False),
    LayerSpec("serial_unsigned_sat", rows=3, cols=4, pe=1, simd=1, in_width=3, in_signed=False,
              weight_width=3, relu=False, requant=True, shift=0, out_width=5, out_signed=True,
              out_bounds=(-10, 9)),
    LayerSpec("one_row_fold_logits", rows=4, cols=9, pe=4, simd=4, in_width=8, in_signed=True,
              weight_width=2, relu=False, requant=False, bias_limit=300),
    LayerSpec("one_col_fold_relu_acc", rows=7, cols=3, pe=2, simd=3, in_width=1, in_signed=False,
              weight_width=8, relu=True, requant=False),
    LayerSpec("single_step", rows=2, cols=2, pe=2, simd=2, in_width=6, in_signed=False,
              weight_width=5, relu=True, requant=True, shift=7, out_width=4, out_signed=True,
              bias_limit=40),
    # Weights with a format per row: each row its own shift, 0 to ACC_W, from the shift ROM.
    LayerSpec("row_shifts_relu_sat", rows=7, cols=6, pe=3, simd=4, in_width=5, in_signed=False,
              weight_width=6, relu=True, requant=True, out_width=4, out_signed=False,
              bias_limit=100, row_shifts=True),
)

# Extra points for `make test-slow`.
MVU_SPECS_SLOW = (
    LayerSpec("wide_8x8", rows=30, cols=50, pe=8, simd=8, in_width=8, in_signed=False,
              weight_width=8, relu=True, requant=True, shift=9, out_width=8, out_signed=False,
              bias_limit=5000),
    # Weights use a sliver of their type, so the accumulator is narrower than one
    # full-range product: the RTL must wrap products modulo 2^ACC_W.
    LayerSpec("acc_narrower_than_product", rows=3, cols=5, pe=3, simd=5, in_width=4, in_signed=True,
              weight_width=8, weight_limit=1, bias_limit=2, relu=False, requant=True, shift=1,
              out_width=4, out_signed=True),
    LayerSpec("out_wider_than_acc", rows=3, cols=2, pe=1, simd=2, in_width=2, in_signed=False,
              weight_width=2, relu=False, requant=True, shift=0, out_width=16, out_signed=True,
              bias_limit=1),
    LayerSpec("signed_out_big_shift", rows=6, cols=6, pe=3, simd=2, in_width=5, in_signed=True,
              weight_width=6, relu=False, requant=True, shift=8, out_width=3, out_signed=True),
    LayerSpec("row_shifts_signed_serial", rows=5, cols=3, pe=1, simd=1, in_width=4, in_signed=True,
              weight_width=4, relu=False, requant=True, out_width=6, out_signed=True,
              out_bounds=(-20, 17), row_shifts=True),
    LayerSpec("row_shifts_one_fold", rows=4, cols=8, pe=4, simd=8, in_width=8, in_signed=True,
              weight_width=8, relu=True, requant=True, out_width=8, out_signed=False,
              bias_limit=3000, row_shifts=True),
)

# The register stages a clock target adds (hw/pipeline.py), over several values:
# every stage, a register after each adder level or every other level, odd trees.
MVU_PIPE_SPECS = (
    LayerSpec("pipe_all_simd5", rows=5, cols=13, pe=2, simd=5, in_width=4, in_signed=True, weight_width=4,
              relu=True, requant=True, shift=3, out_width=4, pipeline=MvuPipeline(1, 1, 1, 1)),
    LayerSpec("pipe_tree2_simd8", rows=6, cols=16, pe=3, simd=8, in_width=8, in_signed=False, weight_width=8,
              relu=False, requant=False, pipeline=MvuPipeline(0, 1, 2, 0)),
    LayerSpec("pipe_op_act_serial", rows=3, cols=4, pe=1, simd=1, in_width=3, in_signed=False, weight_width=3,
              relu=True, requant=True, shift=1, out_width=2, pipeline=MvuPipeline(1, 0, 1, 1)),
    LayerSpec("pipe_rowshift_tree1", rows=7, cols=12, pe=3, simd=4, in_width=5, in_signed=False, weight_width=4,
              relu=True, requant=True, out_width=3, row_shifts=True, pipeline=MvuPipeline(1, 0, 1, 0)),
    LayerSpec("pipe_far_simd6", rows=5, cols=11, pe=2, simd=6, in_width=6, in_signed=True, weight_width=5,
              relu=True, requant=True, shift=4, out_width=5, pipeline=MvuPipeline(2, 2, 2, 1)),
)

# Shared weights: CB_W-bit indices in the weight ROM, the codebook looked up per lane;
# with padding (PE and SIMD dividing nothing), a shift per row and every register stage.
MVU_CODEBOOK_SPECS = (
    LayerSpec("codebook3_fold_relu", rows=5, cols=7, pe=2, simd=3, in_width=4, in_signed=True,
              weight_width=8, relu=True, requant=True, shift=5, out_width=4, out_signed=False,
              bias_limit=60, codebook_bits=3),
    LayerSpec("codebook2_rowshift_pipe", rows=7, cols=10, pe=3, simd=4, in_width=5, in_signed=False,
              weight_width=6, relu=False, requant=True, out_width=5, out_signed=True, row_shifts=True,
              codebook_bits=2, pipeline=MvuPipeline(1, 1, 1, 1)),
)

MVU_SEEDS = (1, 2)                       # random draws per build
FIFO_DEPTHS = (5,)
FIFO_DEPTHS_SLOW = (1, 2, 16)


def chain_specs() -> tuple[LayerSpec, ...]:
    """13 -> 7 -> 5 -> 3 with PE/SIMD dividing nothing; logits at the end."""
    return (
        LayerSpec("fc1", rows=7, cols=13, pe=3, simd=4, in_width=3, in_signed=False, weight_width=4,
                  relu=True, requant=True, shift=4, out_width=4, out_signed=False, fifo_depth=2),
        LayerSpec("fc2", rows=5, cols=7, pe=2, simd=3, in_width=4, in_signed=False, weight_width=3,
                  relu=True, requant=True, shift=3, out_width=3, out_signed=False, fifo_depth=3),
        LayerSpec("fc3", rows=3, cols=5, pe=2, simd=2, in_width=3, in_signed=False, weight_width=4,
                  relu=False, requant=False, fifo_depth=4),
    )


# ---------------------------------------------------------------- stream cases

def stream_case(in_words, out_words, *, in_beats: int, out_beats: int, ii: int, seed: int,
                span: int | None = None, check_tlast: bool = False, capacity: int | None = None) -> dict:
    """What stream_tb.py reads: words to send, exact words expected, cycle model."""
    return {
        "in_words": [int(w) for w in np.asarray(in_words).ravel()],
        "out_words": [int(w) for w in np.asarray(out_words).ravel()],
        "in_beats": in_beats, "out_beats": out_beats, "ii": ii, "span": span,
        "seed": seed, "check_tlast": check_tlast, "capacity": capacity,
    }


def mvu_expected_words(layer: MVULayer, x: np.ndarray) -> np.ndarray:
    """Output words of the bare MVU, padded rows included (they carry activate(0))."""
    y = activate(layer, accumulate(layer, x))
    return pack_beats(y, layer.pe, layer.out_width)
