"""Generated tops with forks and joins end to end, bit exact against the blocks' golden models.

Images of 4x4 pixels, 4 channels on 2 lanes (CF = 2), unsigned 4-bit elements.

residual: x -> fork -> (3x3 pad 1 window -> FIFO -> MVU + ReLU + requant, FIFO) -> add -> y
concat:   the residual, then fork -> (3x3 window -> max pool, FIFO) -> concat -> y

The skip FIFOs hold a whole image of beats plus a margin: the add (concat) needs
the windowed branch's first output before it takes a skip beat, and that needs
about a row and a half of input first. One Verilator build per design; each
runs with and without random input gaps and output stalls.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwcomp.backends.verilog import top_module_name, write_verilog
from hwcomp.hw.design import Design, FifoUnit, MVULayer, Stage, Stream, pack_pixels, unpack_pixels
from hwcomp.hw.numerics import mvu_reference
from hwcomp.hw.stream_ops import MAX, AddUnit, ConcatUnit, ForkUnit, PoolUnit, Scale
from hwcomp.hw.window import SwuParams, swu_reference
from hwcomp.sim.stream import run_stream

LANES, W, H, C = 2, 4, 4, 4
CF = C // LANES
PIXELS = H * W
WORD = LANES * W
IMAGES = 24
SKIP_DEPTH = PIXELS * CF + 8
STALLS = (0.0, 0.4)

SWU = SwuParams(W, LANES, CF, H, W, 3, 3, pad_t=1, pad_l=1, pad_b=1, pad_r=1)
ADD = AddUnit(C, LANES, W, False, W, False, 0, 0, Scale(1, 1, W, False, 0, 15))
POOL = PoolUnit(MAX, 9, C, LANES, W, False)
CONCAT = ConcatUnit(LANES, W, C, C)


def conv_layer(rng) -> MVULayer:
    """3x3 convolution C -> C: columns (ky, kx, channel), as the window emits them."""
    cols = 9 * CF * LANES
    return MVULayer(name="conv", rows=C, cols=cols, pe=2, simd=2, in_width=W, in_signed=False,
                    weight_width=4, weights=rng.integers(-8, 8, (C, cols)), bias=rng.integers(-40, 40, C),
                    acc_width=16, requant=True, shift=5, relu=True, out_width=W, out_signed=False,
                    out_min=0, out_max=15, in_fifo_depth=2 * 18)


def residual_stages(conv: MVULayer, out: str) -> tuple[Stage, ...]:
    return (
        Stage("fork0", ForkUnit(WORD), ("x",), ("xa", "xb")),
        Stage("swu0", SWU, ("xa",), ("win",)),
        Stage("fifo_conv", FifoUnit(WORD, conv.in_fifo_depth), ("win",), ("win_q",)),
        Stage("conv", conv, ("win_q",), ("conv_out",)),
        Stage("fifo_skip", FifoUnit(WORD, SKIP_DEPTH), ("xb",), ("skip",)),
        Stage("add0", ADD, ("conv_out", "skip"), (out,)),
    )


def streams(*names: str) -> tuple[Stream, ...]:
    return tuple(Stream(n, LANES, W, False) for n in names)


RESIDUAL_STREAMS = ("x", "xa", "xb", "win", "win_q", "conv_out", "skip")


def residual_design(conv: MVULayer) -> Design:
    return Design("netlist_residual", streams(*RESIDUAL_STREAMS, "y"), residual_stages(conv, "y"),
                  input="x", output="y", in_elems=C, in_pixels=PIXELS, out_elems=C, out_pixels=PIXELS)


def concat_design(conv: MVULayer) -> Design:
    stages = residual_stages(conv, "sum") + (
        Stage("fork1", ForkUnit(WORD), ("sum",), ("sa", "sb")),
        Stage("swu1", SWU, ("sa",), ("win2",)),
        Stage("pool", POOL, ("win2",), ("pooled",)),
        Stage("fifo_skip2", FifoUnit(WORD, SKIP_DEPTH), ("sb",), ("skip2",)),
        Stage("cat", CONCAT, ("pooled", "skip2"), ("y",)),
    )
    names = RESIDUAL_STREAMS + ("sum", "sa", "sb", "win2", "pooled", "skip2", "y")
    return Design("netlist_concat", streams(*names), stages, input="x", output="y", in_elems=C,
                  in_pixels=PIXELS, out_elems=CONCAT.out_channels, out_pixels=PIXELS)


def residual_reference(conv: MVULayer, x: np.ndarray) -> np.ndarray:
    """[images, H, W, C] -> [images * pixels, C]."""
    windows = swu_reference(SWU, x).reshape(-1, SWU.window_beats * LANES)
    return ADD.reference(mvu_reference(conv, windows), x.reshape(-1, C))


def concat_reference(conv: MVULayer, x: np.ndarray) -> np.ndarray:
    s = residual_reference(conv, x)
    windows = swu_reference(SWU, s.reshape(-1, H, W, C)).reshape(-1, 9, C)
    return CONCAT.reference(POOL.reference(windows), s)


def simulate(design: Design, x: np.ndarray, expected: np.ndarray, outdir: Path) -> None:
    files = write_verilog(design, outdir)
    sources = [f for f in files if f.suffix == ".v"]
    words = pack_pixels(x.reshape(len(x), -1), PIXELS, LANES, W)
    for stall in STALLS:
        res = run_stream(outdir, top_module_name(design), sources, words, design.out_beats,
                         design.s_tdata_width, design.m_tdata_width, stall_prob=stall, seed=11)
        got = unpack_pixels(res.out_words, PIXELS, LANES, W, False, design.out_elems)
        want = expected.reshape(len(x), -1)
        bad = np.flatnonzero((got != want).any(axis=1))
        assert bad.size == 0, f"stall {stall}: {bad.size} image(s) differ, first {bad[0]}"


@pytest.mark.rtl
@pytest.mark.parametrize("case", ["residual", "concat"])
def test_netlist_top(case: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    conv = conv_layer(rng)
    x = rng.integers(0, 1 << W, (IMAGES, H, W, C))
    if case == "residual":
        design, expected = residual_design(conv), residual_reference(conv, x)
    else:
        design, expected = concat_design(conv), concat_reference(conv, x)
    # The requantized convolution is neither all zero nor all saturated.
    assert 0 < np.count_nonzero(expected) < expected.size
    simulate(design, x, expected, tmp_path)
