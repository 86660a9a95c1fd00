"""The RTL test matrix of hwcomp_swu and hwcomp_dwc, defined once.

Every entry is one Verilator build (its HDL parameters); random data is drawn
per run. Default run: four SWU builds and three DWC builds; the rest run under
`make test-slow`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cocotb_tools.runner import Runner

from cases import stream_case

from hwcomp.hw.design import pack_beats
from hwcomp.hw.window import DwcParams, SwuParams, dwc_cycles, dwc_reference, swu_cycles, swu_reference

# Measured cycles per image (vector) at steady state must be within this of the model.
CYCLE_TOLERANCE = 0.05


@dataclass(frozen=True)
class SwuCase:
    name: str
    params: SwuParams
    images: int


@dataclass(frozen=True)
class DwcCase:
    name: str
    params: DwcParams
    vectors: int


SWU_CASES = (
    # Output-bound (9x the input beats), CF > 1, padding on every side.
    SwuCase("conv3x3_s1_p1_cf2", SwuParams(elem_w=4, lanes=2, cf=2, ifm_h=5, ifm_w=6, k_h=3, k_w=3,
                                           pad_t=1, pad_l=1, pad_b=1, pad_r=1), images=5),
    # Stride 2, odd non-square image, LANES 3.
    SwuCase("conv5x5_s2_p2_7x9", SwuParams(elem_w=5, lanes=3, cf=2, ifm_h=7, ifm_w=9, k_h=5, k_w=5,
                                           stride_h=2, stride_w=2, pad_t=2, pad_l=2, pad_b=2, pad_r=2),
            images=4),
    # Max-pool shape (ceil mode: bottom/right padding only) with a nonzero pad value.
    SwuCase("pool2x2_s2_pad_br", SwuParams(elem_w=8, lanes=1, cf=3, ifm_h=5, ifm_w=7, k_h=2, k_w=2,
                                           stride_h=2, stride_w=2, pad_b=1, pad_r=1, pad_value=-128),
            images=8),
    # Balanced (in beats == out beats): both sides must run every cycle.
    SwuCase("pointwise_1x1", SwuParams(elem_w=3, lanes=4, cf=2, ifm_h=3, ifm_w=4, k_h=1, k_w=1), images=10),
    # 128 channels on 3 lanes (CF 43, one tail lane), bits: a binary CNN's 3x3 layer.
    SwuCase("conv3x3_c128_l3", SwuParams(elem_w=1, lanes=3, cf=43, ifm_h=6, ifm_w=6, k_h=3, k_w=3), images=2),
)

SWU_CASES_SLOW = (
    SwuCase("subsample_1x1_s2", SwuParams(elem_w=6, lanes=2, cf=1, ifm_h=6, ifm_w=7, k_h=1, k_w=1,
                                          stride_h=2, stride_w=2), images=10),
    SwuCase("conv7x7_s4_p3", SwuParams(elem_w=4, lanes=2, cf=1, ifm_h=9, ifm_w=11, k_h=7, k_w=7,
                                       stride_h=4, stride_w=4, pad_t=3, pad_l=3, pad_b=3, pad_r=3), images=4),
    # One window spanning the whole padded image: the buffer holds two frames.
    SwuCase("whole_image_6x5", SwuParams(elem_w=4, lanes=2, cf=2, ifm_h=4, ifm_w=5, k_h=6, k_w=5,
                                         pad_t=1, pad_b=1), images=8),
    SwuCase("row_1x3_s1x2", SwuParams(elem_w=5, lanes=1, cf=3, ifm_h=4, ifm_w=8, k_h=1, k_w=3,
                                      stride_w=2, pad_l=1, pad_r=1), images=6),
    SwuCase("conv3x3_s3_balanced", SwuParams(elem_w=2, lanes=5, cf=1, ifm_h=6, ifm_w=6, k_h=3, k_w=3,
                                             stride_h=3, stride_w=3), images=10),
    SwuCase("k4x2_s3x1_asym", SwuParams(elem_w=4, lanes=3, cf=2, ifm_h=7, ifm_w=3, k_h=4, k_w=2,
                                        stride_h=3, pad_t=3, pad_r=1, pad_value=5), images=6),
    SwuCase("conv3x3_valid", SwuParams(elem_w=4, lanes=2, cf=1, ifm_h=6, ifm_w=6, k_h=3, k_w=3), images=6),
    SwuCase("pool2x2_s2", SwuParams(elem_w=8, lanes=4, cf=1, ifm_h=4, ifm_w=4, k_h=2, k_w=2,
                                    stride_h=2, stride_w=2, pad_value=-128), images=8),
    SwuCase("pool3x3_s2_p1", SwuParams(elem_w=6, lanes=2, cf=2, ifm_h=7, ifm_w=6, k_h=3, k_w=3,
                                       stride_h=2, stride_w=2, pad_t=1, pad_l=1, pad_b=1, pad_r=1,
                                       pad_value=-32), images=5),
    # Lane counts that do not divide the channels: 128 on 12 (CF 11, 4 tail lanes), 5 on 2.
    SwuCase("pool2x2_s2_c128_l12", SwuParams(elem_w=1, lanes=12, cf=11, ifm_h=4, ifm_w=4, k_h=2, k_w=2,
                                             stride_h=2, stride_w=2), images=6),
    SwuCase("conv3x3_p1_c5_l2", SwuParams(elem_w=4, lanes=2, cf=3, ifm_h=5, ifm_w=4, k_h=3, k_w=3,
                                          pad_t=1, pad_l=1, pad_b=1, pad_r=1), images=4),
)

DWC_CASES = (
    DwcCase("dwc_3to5_n13", DwcParams(elem_w=5, n=13, in_lanes=3, out_lanes=5), vectors=40),
    DwcCase("dwc_8to3_n20", DwcParams(elem_w=4, n=20, in_lanes=8, out_lanes=3), vectors=40),
    # IN_LANES a multiple of OUT_LANES (the slice form): a 2-slice tail beat, a 1-lane tail.
    DwcCase("dwc_12to4_n30", DwcParams(elem_w=5, n=30, in_lanes=12, out_lanes=4), vectors=40),
)

DWC_CASES_SLOW = (
    DwcCase("dwc_8to2_n16", DwcParams(elem_w=6, n=16, in_lanes=8, out_lanes=2), vectors=30),
    DwcCase("dwc_32to1_n32", DwcParams(elem_w=8, n=32, in_lanes=32, out_lanes=1), vectors=12),
    DwcCase("dwc_6to3_n7", DwcParams(elem_w=3, n=7, in_lanes=6, out_lanes=3), vectors=40),
    DwcCase("dwc_4to2_n1", DwcParams(elem_w=4, n=1, in_lanes=4, out_lanes=2), vectors=60),
    DwcCase("dwc_2to8_n16", DwcParams(elem_w=6, n=16, in_lanes=2, out_lanes=8), vectors=30),
    DwcCase("dwc_7to7_n10", DwcParams(elem_w=3, n=10, in_lanes=7, out_lanes=7), vectors=40),
    DwcCase("dwc_4to4_n8", DwcParams(elem_w=8, n=8, in_lanes=4, out_lanes=4), vectors=40),
    DwcCase("dwc_1to1_n1", DwcParams(elem_w=2, n=1, in_lanes=1, out_lanes=1), vectors=60),
    DwcCase("dwc_5to1_n7", DwcParams(elem_w=7, n=7, in_lanes=5, out_lanes=1), vectors=30),
    DwcCase("dwc_1to4_n5", DwcParams(elem_w=3, n=5, in_lanes=1, out_lanes=4), vectors=30),
    DwcCase("dwc_3to5_n1", DwcParams(elem_w=4, n=1, in_lanes=3, out_lanes=5), vectors=60),
    DwcCase("dwc_16to12_n100", DwcParams(elem_w=8, n=100, in_lanes=16, out_lanes=12), vectors=12),
)


def random_elements(elem_w: int, shape, rng: np.random.Generator) -> np.ndarray:
    """Raw elem_w-bit patterns (signedness does not matter to these blocks)."""
    return rng.integers(0, 1 << elem_w, size=shape, dtype=np.int64)


def swu_stream_case(case: SwuCase, seed: int) -> dict:
    """Input beats of `images` random images (tail lanes zero) and the exact output beats."""
    p = case.params
    rng = np.random.default_rng(seed)
    x = random_elements(p.elem_w, (case.images, p.ifm_h, p.ifm_w, p.cf * p.lanes), rng)
    in_words = pack_beats(x.reshape(-1, p.lanes), p.lanes, p.elem_w).reshape(case.images, -1)
    out_words = swu_reference(p, in_words)
    # The element-level model packs to the same beats (padding in every lane included).
    elems = swu_reference(p, x)
    assert (pack_beats(elems.reshape(-1, p.lanes), p.lanes, p.elem_w).reshape(case.images, -1)
            == out_words).all()
    return stream_case(in_words, out_words, in_beats=p.in_beats_per_image, out_beats=p.out_beats_per_image,
                       ii=swu_cycles(p), seed=seed)


def dwc_stream_case(case: DwcCase, seed: int) -> dict:
    """Random vectors; the tail lanes of each last input beat carry garbage the DWC must drop."""
    p = case.params
    rng = np.random.default_rng(seed)
    lanes = p.in_beats * p.in_lanes
    x = random_elements(p.elem_w, (case.vectors, lanes), rng)
    in_words = pack_beats(x.reshape(-1, p.in_lanes), p.in_lanes, p.elem_w).reshape(case.vectors, -1)
    out_words = dwc_reference(p, in_words)
    # Sanity: the output is the first n elements of each vector, zero padded.
    clean = pack_beats(x[:, :p.n], p.out_lanes, p.elem_w)
    assert (clean == out_words).all()
    return stream_case(in_words, out_words, in_beats=p.in_beats, out_beats=p.out_beats,
                       ii=dwc_cycles(p), seed=seed)


def run_window_case(runner: Runner, toplevel: str, case_dir: Path, case: dict) -> dict:
    """Run window_tb on `case` in case_dir; return what the full-rate test measured."""
    case_dir.mkdir(parents=True, exist_ok=True)
    case_file = case_dir / "case.json"
    case_file.write_text(json.dumps({**case, "tolerance": CYCLE_TOLERANCE}))
    measured_file = case_dir / "measured.json"
    measured_file.unlink(missing_ok=True)
    runner.test(test_module="window_tb", hdl_toplevel=toplevel, test_dir=case_dir,
                extra_env={"HWCOMP_CASE": str(case_file)})
    return json.loads(measured_file.read_text())
