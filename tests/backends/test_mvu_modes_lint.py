"""hwcomp_mvu with bipolar weights, the threshold activation and a shift per row
is lint clean: `verilator --lint-only -Wall` and `iverilog -g2005 -Wall` give no warnings."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess

import numpy as np
import pytest

from hwcomp.backends.verilog import literal, write_verilog
from hwcomp.hw.blocks.mvu import mvu_parameters
from hwcomp.hw.design import MVULayer, ceil_div, chain_design
from hwcomp.hw.numerics import int_range
from hwcomp.resources import templates_dir
from hwcomp.sim.toolchain import ensure_verilator

pytestmark = pytest.mark.rtl

SOURCES = [templates_dir() / n for n in ("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_add_tree.v", "hwcomp_mul.v", "hwcomp_mvu.v")]


def mode_layer(rows: int, cols: int, pe: int, simd: int, *, bipolar: bool = False, k: int = 0,
               out_base: int = 0, out_width: int = 0, out_signed: bool = False, acc_width: int = 12,
               in_width: int = 4, in_signed: bool = False, row_shift_max: int = 0, relu: bool = False) -> MVULayer:
    """A layer in the given modes with all-zero weights and thresholds (only parameters matter)."""
    rows_p, cols_p = ceil_div(rows, pe) * pe, ceil_div(cols, simd) * simd
    layer = MVULayer(
        name="l", rows=rows, cols=cols, pe=pe, simd=simd, in_width=in_width, in_signed=in_signed,
        weight_width=1 if bipolar else 2, weights=np.zeros((rows_p, cols_p), dtype=np.int64),
        bias=np.zeros(rows_p, dtype=np.int64), acc_width=acc_width, requant=False, shift=0, relu=False,
        out_width=acc_width, out_signed=True, out_min=0, out_max=0, in_fifo_depth=2,
        weight_bipolar=bipolar,
    )
    if k:
        lo, hi = int_range(out_width, out_signed)
        layer = dataclasses.replace(layer, thresholds=np.zeros((rows_p, k), dtype=np.int64), out_base=out_base,
                                    out_width=out_width, out_signed=out_signed, out_min=lo, out_max=hi)
    if row_shift_max:
        lo, hi = int_range(out_width, out_signed)
        shifts = np.minimum(np.arange(rows_p), row_shift_max)
        shifts[-1] = row_shift_max
        layer = dataclasses.replace(layer, requant=True, relu=relu, row_shifts=shifts, out_width=out_width,
                                    out_signed=out_signed, out_min=lo, out_max=hi)
    return layer


# Each corner selects different generate branches: bipolar lanes with and
# without a padded tail, thresholds with one or several rows per fold, NF = 1,
# and outputs narrower than, equal to and wider than the 32-bit code.
CORNERS = {
    "bipolar_tail_acc_out": dict(rows=5, cols=7, pe=2, simd=3, bipolar=True),
    "bipolar_no_tail_binary": dict(rows=4, cols=6, pe=2, simd=3, bipolar=True, k=1, out_width=1, in_width=8),
    "thresh3_signed_base": dict(rows=5, cols=7, pe=2, simd=3, k=3, out_base=-2, out_width=2, out_signed=True,
                                in_width=2),
    "thresh_single_fold": dict(rows=3, cols=4, pe=3, simd=4, k=15, out_width=4, in_signed=True),
    "thresh_serial": dict(rows=2, cols=3, pe=1, simd=1, k=2, out_base=5, out_width=3, acc_width=6),
    "thresh_out32": dict(rows=2, cols=2, pe=2, simd=1, k=2, out_base=-1, out_width=32, out_signed=True),
    "thresh_out40": dict(rows=2, cols=2, pe=1, simd=2, k=1, out_base=-1, out_width=40, out_signed=True,
                         bipolar=True),
    # A shift per row: one or several rows per fold, shifts up to ACC_W (one bit of shift
    # ROM, or clog2(ACC_W + 1)), outputs narrower and wider than the rounding domain.
    "row_shifts_relu": dict(rows=5, cols=7, pe=2, simd=3, row_shift_max=12, out_width=8, relu=True),
    "row_shifts_one_bit": dict(rows=3, cols=4, pe=3, simd=4, row_shift_max=1, out_width=5, out_signed=True),
    "row_shifts_serial_wide_out": dict(rows=2, cols=3, pe=1, simd=1, row_shift_max=6, out_width=9,
                                       out_signed=True, acc_width=6),
}


def parameters(corner: str) -> tuple[tuple[str, str], ...]:
    """hwcomp_mvu's parameters as Verilog literals (the ROM file names left at their defaults)."""
    return tuple((k, literal(v)) for k, v in mvu_parameters(mode_layer(**CORNERS[corner])))


@pytest.mark.parametrize("corner", CORNERS, ids=str)
def test_mvu_modes_verilator_lint(corner: str) -> None:
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", "hwcomp_mvu"]
    cmd += [f"-G{k}={v}" for k, v in parameters(corner)]
    res = subprocess.run(cmd + [str(s) for s in SOURCES], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed")
@pytest.mark.parametrize("corner", CORNERS, ids=str)
def test_mvu_modes_icarus_lint(corner: str, tmp_path) -> None:
    cmd = ["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.vvp"), "-s", "hwcomp_mvu"]
    cmd += [f"-Phwcomp_mvu.{k}={v}" for k, v in parameters(corner)]
    res = subprocess.run(cmd + [str(s) for s in SOURCES], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr


def test_default_parameters_are_not_rendered(dense_layer) -> None:
    names = [k for k, _ in mvu_parameters(dense_layer("l", [[1, 2]]))]
    assert not {"W_BIPOLAR", "COLS", "THRESH_K", "OUT_BASE"} & set(names)


def test_generated_top_with_modes_lints(dense_layer, tmp_path) -> None:
    """A W1A8 binary layer feeding a W2A1 3-threshold layer with signed codes, then logits."""
    rng = np.random.default_rng(0)
    first = mode_layer(5, 7, 2, 3, bipolar=True, k=1, out_width=1, in_width=8)
    first = dataclasses.replace(first, name="fc1", weights=np.pad(rng.integers(0, 2, (5, 7)), ((0, 1), (0, 2))))
    second = mode_layer(4, 5, 2, 2, k=3, out_base=-2, out_width=2, out_signed=True, in_width=1, acc_width=6)
    second = dataclasses.replace(second, name="fc2", thresholds=np.tile([-3, 0, 2], (4, 1)),
                                 descending=np.array([True, False, True, False]))
    third = dense_layer("fc3", [[1, -1, 0, 1]], pe=1, simd=2, in_width=2, in_signed=True, acc_width=6)
    design = chain_design("modes", (first, second, third), in_elems=7, out_elems=1)
    files = write_verilog(design, tmp_path)
    sources = [f for f in files if f.suffix == ".v"]
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", "modes"]
    res = subprocess.run(cmd + [str(s) for s in sources], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
    if shutil.which("iverilog"):
        cmd = ["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.vvp"), "-s", "modes"]
        res = subprocess.run(cmd + [str(s) for s in sources], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and res.stderr.strip() == "", res.stderr
