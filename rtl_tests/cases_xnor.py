"""The XNOR-popcount MVU test matrix and its random layers.

An `XnorSpec` fixes every HDL parameter, so one Verilator build serves every
random draw of weights, thresholds and inputs for it. Padded weight bits and
padded input lanes are random on purpose: the RTL must mask them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.hw.binary import XnorLayer
from hwcomp.hw.design import ceil_div


@dataclass(frozen=True)
class XnorSpec:
    name: str
    rows: int
    cols: int
    pe: int
    simd: int
    popcount_out: bool = False
    op_reg: int = 0                  # the S1b register a clock target adds


def make_xnor_layer(spec: XnorSpec, rng: np.random.Generator) -> XnorLayer:
    rows_p = ceil_div(spec.rows, spec.pe) * spec.pe
    cols_p = ceil_div(spec.cols, spec.simd) * spec.simd
    weights = rng.integers(0, 1, size=(rows_p, cols_p), endpoint=True).astype(np.uint8)
    # Thresholds beyond both ends too: <= 0 (always 1) and > cols (always 0).
    thresholds = rng.integers(-2, spec.cols + 3, size=rows_p)
    return XnorLayer(name=spec.name, rows=spec.rows, cols=spec.cols, pe=spec.pe, simd=spec.simd,
                     weights=weights, thresholds=thresholds, popcount_out=spec.popcount_out, op_reg=spec.op_reg)


def random_bits(layer: XnorLayer, samples: int, rng: np.random.Generator) -> np.ndarray:
    """[samples, cols_p] bits, padded lanes included (garbage the RTL must ignore)."""
    return rng.integers(0, 1, size=(samples, layer.cols_p), endpoint=True)


# Default run: two builds, both with PE/SIMD dividing neither size.
XNOR_SPECS = (
    XnorSpec("thresh_r7_c13_pe3_simd4", rows=7, cols=13, pe=3, simd=4),
    XnorSpec("popcount_r5_c10_pe2_simd3", rows=5, cols=10, pe=2, simd=3, popcount_out=True),
    # Popcount tree: 4 leaves of 3 lanes and a carry-in lane; the padded lanes 9..12
    # of the last column fold fall in a leaf (9..11) and in the carry-in (12).
    XnorSpec("tree_r5_c61_pe2_simd13", rows=5, cols=61, pe=2, simd=13),
)

# With the S1b register (per-lane input copies, threshold index carried one stage more).
XNOR_PIPE_SPECS = (
    XnorSpec("pipe_thresh_r7_c13_pe3_simd4", rows=7, cols=13, pe=3, simd=4, op_reg=1),
    XnorSpec("pipe_popcount_r5_c10_pe2_simd3", rows=5, cols=10, pe=2, simd=3, popcount_out=True, op_reg=1),
    XnorSpec("pipe_single_fold_r4_c5", rows=4, cols=5, pe=4, simd=5, op_reg=1),
)

# `make test-slow`: NF = 1 and SF = 1, SIMD = 1, wide words, thresholds narrower than the count.
XNOR_SPECS_SLOW = (
    XnorSpec("single_step_r4_c5", rows=4, cols=5, pe=4, simd=5),
    XnorSpec("serial_r3_c4", rows=3, cols=4, pe=1, simd=1),
    XnorSpec("serial_popcount_r3_c5", rows=3, cols=5, pe=2, simd=1, popcount_out=True),
    XnorSpec("wide_r20_c70_pe8_simd32", rows=20, cols=70, pe=8, simd=32),
    XnorSpec("one_col_r6_c1_simd8", rows=6, cols=1, pe=3, simd=8),
    XnorSpec("wide_popcount_r9_c64", rows=9, cols=64, pe=4, simd=16, popcount_out=True),
    # Popcount tree shapes: SIMD 5 (2 leaves, no carry-in), 7 (a masked carry-in lane),
    # 64 (17 leaves, 13 carry-ins, 42 padded lanes), SF = 1 (no accumulator), NF = 40
    # (a threshold ROM indexed by 6 bits).
    XnorSpec("tree_simd5_r4_c9_pe2", rows=4, cols=9, pe=2, simd=5),
    XnorSpec("tree_simd7_r3_c20_pe3", rows=3, cols=20, pe=3, simd=7),
    XnorSpec("tree_simd64_r6_c150_pe3", rows=6, cols=150, pe=3, simd=64),
    XnorSpec("tree_simd64_popcount_r4_c128", rows=4, cols=128, pe=2, simd=64, popcount_out=True),
    XnorSpec("single_fold_r5_c11_simd11", rows=5, cols=11, pe=5, simd=11),
    XnorSpec("deep_rom_r40_c9_pe1_simd3", rows=40, cols=9, pe=1, simd=3),
)

XNOR_SEEDS = (1, 2)
