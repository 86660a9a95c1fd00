"""templates/hwcomp_xnor_mvu.v passes `verilator --lint-only -Wall` with no warnings."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hwcomp.hw.binary import XnorLayer, xnor_parameters
from hwcomp.hw.design import ceil_div
from hwcomp.resources import templates_dir
from hwcomp.sim.toolchain import ensure_verilator

pytestmark = pytest.mark.rtl

# (rows, cols, pe, simd, popcount_out): each picks different generate branches.
CORNERS = {
    "folded_thresh_narrower": (7, 13, 3, 4, False),            # THRESH_W 4 < CNT_W 5
    "folded_popcount": (5, 10, 2, 3, True),
    "serial_simd1": (3, 4, 1, 1, False),                       # one-lane popcount, THRESH_W == CNT_W
    "one_col_fold_thresh_narrow": (6, 1, 3, 8, False),         # SF = 1, NF = 2, THRESH_W 2 < CNT_W 4
    "single_step_thresh_wider": (4, 7, 4, 7, False),           # NF = SF = 1, THRESH_W 4 > CNT_W 3
    "serial_popcount": (2, 3, 2, 1, True),
    "tree_carry_in_masked": (5, 61, 2, 13, False),             # leaves, carry-in lanes, padded lanes in both
    "tree_simd64": (6, 150, 3, 64, False),                     # 17 leaves, pass-through nodes
    "tree_simd5_popcount": (4, 9, 2, 5, True),                 # a one-lane leaf, no carry-in
    "single_fold_no_accumulator": (5, 11, 5, 11, False),       # SF = 1: the count is the step's
    "deep_threshold_rom": (40, 9, 1, 3, False),                # NF = 40
}


@pytest.mark.parametrize("corner", CORNERS, ids=str)
def test_xnor_mvu_lint(corner: str) -> None:
    rows, cols, pe, simd, popcount_out = CORNERS[corner]
    rows_p, cols_p = ceil_div(rows, pe) * pe, ceil_div(cols, simd) * simd
    layer = XnorLayer(corner, rows, cols, pe, simd, weights=np.zeros((rows_p, cols_p), dtype=np.uint8),
                      thresholds=np.zeros(rows_p, dtype=np.int64), popcount_out=popcount_out)
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", "hwcomp_xnor_mvu"]
    cmd += [f"-G{k}={v}" for k, v in xnor_parameters(layer)]
    cmd += [str(templates_dir() / n) for n in ("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_xnor_mvu.v")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
