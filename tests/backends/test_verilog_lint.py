"""Generated and library Verilog passes `verilator --lint-only -Wall` with no warnings."""
from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hwcomp.backends.verilog import literal, write_verilog
from hwcomp.hw.blocks.mvu import mvu_parameters
from hwcomp.hw.blocks.sparse import sparse_parameters
from hwcomp.hw.design import MVULayer, chain_design
from hwcomp.hw.sparse import sparse_layer
from hwcomp.resources import templates_dir
from hwcomp.sim.toolchain import ensure_verilator

pytestmark = pytest.mark.rtl


def lint(sources: list[Path], top: str, params: dict[str, object] | None = None) -> None:
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in (params or {}).items()]
    res = subprocess.run(cmd + [str(s) for s in sources], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr


def library(*names: str) -> list[Path]:
    return [templates_dir() / n for n in names]


@pytest.mark.parametrize("depth", [1, 2, 3, 8])
def test_fifo_lint(depth: int) -> None:
    lint(library("hwcomp_fifo.v"), "hwcomp_fifo", {"WIDTH": 5, "DEPTH": depth})


# Each corner selects a different generate branch of hwcomp_mvu.
MVU_CORNERS = {
    "folded_requant": dict(pe=2, simd=3, shape=(5, 7), requant=True, shift=3, out_width=4, relu=True),
    "single_step": dict(pe=2, simd=2, shape=(2, 2), requant=True, shift=0, out_width=4, out_signed=True),
    "logits": dict(pe=4, simd=4, shape=(4, 9), in_signed=True),
    "acc_narrower_than_product": dict(pe=1, simd=2, shape=(2, 2), weight_width=8, acc_width=6,
                                      requant=True, shift=1, out_width=3, out_signed=True),
    "acc_equals_product": dict(pe=1, simd=1, shape=(2, 1), weight_width=4, in_width=4, acc_width=9),
    "out_equals_rounding_width": dict(pe=1, simd=1, shape=(1, 1), acc_width=9, requant=True,
                                      out_width=10, out_signed=True),
    "out_wider_than_rounding": dict(pe=1, simd=1, shape=(1, 1), acc_width=9, requant=True,
                                    out_width=16, out_signed=True),
}


@pytest.mark.parametrize("corner", MVU_CORNERS, ids=str)
def test_mvu_lint(dense_layer, corner: str) -> None:
    cfg = dict(MVU_CORNERS[corner])
    rows, cols = cfg.pop("shape")
    cfg.setdefault("acc_width", 12)
    if cfg.get("requant"):
        signed = cfg.setdefault("out_signed", False)
        lo = -(1 << (cfg["out_width"] - 1)) if signed else 0
        hi = (1 << (cfg["out_width"] - (1 if signed else 0))) - 1
        cfg.update(out_min=lo, out_max=hi)
    # Weights of 1 keep every accumulator small enough for any acc_width here.
    layer = dense_layer("l", np.ones((rows, cols), dtype=np.int64), **cfg)
    params = {k: literal(v) for k, v in mvu_parameters(layer)}
    lint(library("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_add_tree.v", "hwcomp_mul.v", "hwcomp_mvu.v"), "hwcomp_mvu", params)


# Each corner selects a different generate branch of hwcomp_sparse_mvu: one lane and one
# input element, SIMD not a power of two, one input word (SF = 1), requant with and
# without a shift, the accumulator out, ReLU.
SPARSE_CORNERS = {
    "serial_acc_out": dict(pe=1, simd=1, shape=(3, 5)),
    "simd3_requant": dict(pe=2, simd=3, shape=(5, 7), requant=True, shift=3, out_width=4, relu=True),
    "one_word_no_shift": dict(pe=4, simd=8, shape=(4, 8), requant=True, shift=0, out_width=5, out_signed=True),
}


@pytest.mark.parametrize("corner", SPARSE_CORNERS, ids=str)
def test_sparse_mvu_lint(dense_layer, corner: str) -> None:
    cfg = dict(SPARSE_CORNERS[corner])
    rows, cols = cfg.pop("shape")
    if cfg.get("requant"):
        signed = cfg.setdefault("out_signed", False)
        lo = -(1 << (cfg["out_width"] - 1)) if signed else 0
        hi = (1 << (cfg["out_width"] - (1 if signed else 0))) - 1
        cfg.update(out_min=lo, out_max=hi)
    w = np.where(np.arange(rows * cols).reshape(rows, cols) % 3 == 0, 1, 0)   # a third non-zero
    layer = sparse_layer(dense_layer("l", w, **cfg), idx_width=2)
    params = {k: literal(v) for k, v in sparse_parameters(layer)}
    lint(library("hwcomp_fifo.v", "hwcomp_sparse_mvu.v"), "hwcomp_sparse_mvu", params)


def test_generated_tops_lint(design, dense_layer, tmp_path) -> None:
    first, second = design.units(MVULayer)
    single = chain_design("one_layer", (dataclasses.replace(second, in_signed=True, pe=1),),
                          in_elems=3, out_elems=2)
    odd_tail = dense_layer("fc2", [[1, 2, 3]] * 3, pe=2, simd=2, in_width=3, acc_width=10)
    tail = chain_design("tail", (first, odd_tail), in_elems=design.in_elems, out_elems=3)
    for d in (design, single, tail):
        files = write_verilog(d, tmp_path / d.name)
        lint([f for f in files if f.suffix == ".v"], d.name)


@pytest.mark.parametrize("values", [(0, 1), (-3, 0, 1, 2, 5)], ids=["cb1", "cb3"])
def test_mvu_codebook_lint(dense_layer, values) -> None:
    from dataclasses import replace

    cb = np.array(values, dtype=np.int64)
    w = cb[np.arange(15).reshape(3, 5) % len(cb)]
    layer = replace(dense_layer("l", w, pe=2, simd=2, acc_width=12), codebook=cb)
    params = {k: literal(v) for k, v in mvu_parameters(layer)}
    assert "CB_W" in params   # the codebook branch is the one linted
    lint(library("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_add_tree.v", "hwcomp_mul.v", "hwcomp_mvu.v"), "hwcomp_mvu", params)
