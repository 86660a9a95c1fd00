"""`hwcomp selftest`: prove the simulation toolchain works on this machine.

Generates a small two-layer design with the real backend, simulates a few
vectors under cocotb + Verilator and checks them against the golden model.
The first run also compiles Verilator's runtime objects into the cache, so
running it once after installing (`make install` does) makes later
compiles fast.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwcomp.backends.verilog import top_module_name, write_verilog
from hwcomp.hw.design import MVULayer, chain_design, pack_beats, unpack_beats
from hwcomp.hw.numerics import mvu_reference

from .build_cache import cache_root
from .stream import run_stream
from .toolchain import ensure_verilator


@dataclass(frozen=True)
class SelftestResult:
    verilator: str
    cache: Path
    built: bool
    build_seconds: float
    vectors: int
    mismatches: int


def _layer(name: str, rows: int, cols: int, pe: int, simd: int, rng, requant: bool) -> MVULayer:
    w = rng.integers(-8, 8, (rows, cols))
    b = rng.integers(-16, 16, rows)
    return MVULayer(name=name, rows=rows, cols=cols, pe=pe, simd=simd, in_width=4, in_signed=False,
                    weight_width=4, weights=w, bias=b, acc_width=12, requant=requant, shift=3 if requant else 0,
                    relu=requant, out_width=4 if requant else 12, out_signed=not requant,
                    out_min=0 if requant else -2048, out_max=15 if requant else 2047, in_fifo_depth=4)


def run_selftest(vectors: int = 16) -> SelftestResult:
    exe = ensure_verilator()
    rng = np.random.default_rng(0)
    l0, l1 = _layer("fc0", 6, 8, 2, 4, rng, True), _layer("fc1", 3, 6, 3, 2, rng, False)
    design = chain_design("hwcomp_selftest", (l0, l1), in_elems=8, out_elems=3)
    x = rng.integers(0, 16, (vectors, 8))
    expected = mvu_reference(l1, mvu_reference(l0, x))
    work = Path(tempfile.mkdtemp(prefix="hwcomp_selftest_"))
    try:
        files = write_verilog(design, work)
        t = time.perf_counter()
        res = run_stream(work, top_module_name(design), [f for f in files if f.suffix == ".v"],
                         pack_beats(x, design.in_stream.lanes, design.in_stream.width), design.out_beats,
                         design.s_tdata_width, design.m_tdata_width, stall_prob=0.3, seed=3)
        seconds = time.perf_counter() - t
        o = design.out_stream
        got = unpack_beats(res.out_words, o.lanes, o.width, o.signed, 3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bad = int((got != expected).any(axis=1).sum())
    return SelftestResult(exe, cache_root(), res.build.built, seconds, vectors, bad)
