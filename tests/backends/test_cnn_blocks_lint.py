"""hwcomp_swu and hwcomp_dwc pass `verilator --lint-only -Wall` with no warnings.

Each corner selects different generate branches (padding sides, rows that
start in the top padding, single output pixel, power-of-two buffer depth;
pass-through and converting DWC, with and without tails).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hwcomp.backends.verilog import parameter_literals
from hwcomp.hw.window import DwcParams, SwuParams
from hwcomp.resources import templates_dir
from hwcomp.sim.toolchain import ensure_verilator

pytestmark = pytest.mark.rtl


def lint(sources: list[Path], top: str, params: tuple[tuple[str, str], ...]) -> None:
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in params]
    res = subprocess.run(cmd + [str(s) for s in sources], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr


SWU_CORNERS = {
    "same_3x3_cf2": SwuParams(elem_w=4, lanes=2, cf=2, ifm_h=5, ifm_w=6, k_h=3, k_w=3,
                              pad_t=1, pad_l=1, pad_b=1, pad_r=1),
    "pool_bottom_right": SwuParams(elem_w=8, lanes=1, cf=3, ifm_h=5, ifm_w=7, k_h=2, k_w=2, stride_h=2,
                                   stride_w=2, pad_b=1, pad_r=1, pad_value=-128),
    "top_left_rows_in_padding": SwuParams(elem_w=3, lanes=2, cf=1, ifm_h=6, ifm_w=5, k_h=5, k_w=4,
                                          pad_t=4, pad_l=3),
    "stride_above_pad": SwuParams(elem_w=5, lanes=3, cf=2, ifm_h=7, ifm_w=9, k_h=5, k_w=5, stride_h=3,
                                  stride_w=2, pad_t=1, pad_l=1, pad_b=2, pad_r=2),
    "pointwise": SwuParams(elem_w=8, lanes=1, cf=1, ifm_h=3, ifm_w=4, k_h=1, k_w=1),
    "whole_image": SwuParams(elem_w=4, lanes=2, cf=2, ifm_h=4, ifm_w=5, k_h=6, k_w=5, pad_t=1, pad_b=1),
    "single_pixel": SwuParams(elem_w=1, lanes=1, cf=1, ifm_h=1, ifm_w=1, k_h=1, k_w=1),
    "depth_power_of_two": SwuParams(elem_w=6, lanes=2, cf=1, ifm_h=1, ifm_w=7, k_h=1, k_w=1),
    "large_7x7_s4": SwuParams(elem_w=8, lanes=8, cf=4, ifm_h=28, ifm_w=28, k_h=7, k_w=7, stride_h=4,
                              stride_w=4, pad_t=3, pad_l=3, pad_b=3, pad_r=3),
}


def test_power_of_two_corner_is_one() -> None:
    assert SWU_CORNERS["depth_power_of_two"].buffer_beats == 8


@pytest.mark.parametrize("corner", SWU_CORNERS, ids=str)
def test_swu_lint(corner: str) -> None:
    lint([templates_dir() / "hwcomp_fifo.v", templates_dir() / "hwcomp_swu.v"], "hwcomp_swu",
         parameter_literals(SWU_CORNERS[corner]))


DWC_CORNERS = [(13, 3, 5), (20, 8, 3), (10, 7, 7), (8, 4, 4), (1, 1, 1), (16, 2, 8), (7, 5, 1), (100, 16, 12),
               (1, 3, 5), (30, 12, 4), (32, 32, 1), (7, 6, 3), (1, 4, 2)]


@pytest.mark.parametrize("n,in_lanes,out_lanes", DWC_CORNERS)
def test_dwc_lint(n: int, in_lanes: int, out_lanes: int) -> None:
    lint([templates_dir() / "hwcomp_fifo.v", templates_dir() / "hwcomp_dwc.v"], "hwcomp_dwc",
         parameter_literals(DwcParams(elem_w=5, n=n, in_lanes=in_lanes, out_lanes=out_lanes)))
