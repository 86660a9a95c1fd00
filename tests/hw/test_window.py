"""Golden and cycle models of the sliding-window unit and the width converter (no Verilator).

The golden models are checked against direct loops (convolution, max pooling)
and the SlidingWindow op. The cycle models are checked against cycle-accurate
Python models of the two modules' control (the RTL tests check the RTL
against the same cycle numbers): in hwcomp_swu no beat is overwritten before
its last read and images take swu_cycles; in hwcomp_dwc vectors take
dwc_cycles.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from hwcomp.backends.verilog import parameter_literals
from hwcomp.hw.design import pack_beats
from hwcomp.hw.window import DwcParams, SwuParams, dwc_cycles, dwc_reference, swu_cycles, swu_reference
from hwcomp.ir.dtypes import Fixed
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ops.window import SlidingWindow


def conv_direct(x: np.ndarray, w: np.ndarray, p: SwuParams) -> np.ndarray:
    """x [n, H, W, C], w [OC, KH, KW, C] -> [n, OH, OW, OC], zero padding, straight loops."""
    n, h, wd, c = x.shape
    out = np.zeros((n, p.ofm_h, p.ofm_w, w.shape[0]), dtype=np.int64)
    for oy in range(p.ofm_h):
        for ox in range(p.ofm_w):
            for ky in range(p.k_h):
                for kx in range(p.k_w):
                    iy, ix = oy * p.stride_h + ky - p.pad_t, ox * p.stride_w + kx - p.pad_l
                    if 0 <= iy < h and 0 <= ix < wd:
                        out[:, oy, ox, :] += x[:, iy, ix, :] @ w[:, ky, kx, :].T
    return out


def maxpool_direct(x: np.ndarray, p: SwuParams) -> np.ndarray:
    n, h, wd, c = x.shape
    out = np.full((n, p.ofm_h, p.ofm_w, c), np.iinfo(np.int64).min, dtype=np.int64)
    for oy in range(p.ofm_h):
        for ox in range(p.ofm_w):
            for ky in range(p.k_h):
                for kx in range(p.k_w):
                    iy, ix = oy * p.stride_h + ky - p.pad_t, ox * p.stride_w + kx - p.pad_l
                    v = x[:, iy, ix, :] if 0 <= iy < h and 0 <= ix < wd else p.pad_value
                    out[:, oy, ox, :] = np.maximum(out[:, oy, ox, :], v)
    return out


SHAPES = [
    SwuParams(elem_w=4, lanes=2, cf=2, ifm_h=5, ifm_w=6, k_h=3, k_w=3, pad_t=1, pad_l=1, pad_b=1, pad_r=1),
    SwuParams(elem_w=5, lanes=3, cf=2, ifm_h=7, ifm_w=9, k_h=5, k_w=5, stride_h=2, stride_w=2,
              pad_t=2, pad_l=2, pad_b=2, pad_r=2),
    SwuParams(elem_w=8, lanes=1, cf=3, ifm_h=5, ifm_w=7, k_h=2, k_w=2, stride_h=2, stride_w=2,
              pad_b=1, pad_r=1, pad_value=-128),
    SwuParams(elem_w=3, lanes=4, cf=2, ifm_h=3, ifm_w=4, k_h=1, k_w=1),
    SwuParams(elem_w=4, lanes=2, cf=1, ifm_h=9, ifm_w=11, k_h=7, k_w=7, stride_h=4, stride_w=4,
              pad_t=3, pad_l=3, pad_b=3, pad_r=3),
    SwuParams(elem_w=4, lanes=2, cf=2, ifm_h=4, ifm_w=5, k_h=6, k_w=5, pad_t=1, pad_b=1),
    SwuParams(elem_w=4, lanes=3, cf=2, ifm_h=7, ifm_w=3, k_h=4, k_w=2, stride_h=3, pad_t=3, pad_r=1, pad_value=5),
]


@pytest.mark.parametrize("p", SHAPES, ids=str)
def test_windows_times_weights_is_convolution(p: SwuParams) -> None:
    rng = np.random.default_rng(0)
    c = p.cf * p.lanes
    x = rng.integers(-8, 8, size=(2, p.ifm_h, p.ifm_w, c))
    w = rng.integers(-4, 4, size=(3, p.k_h, p.k_w, c))
    zero = SwuParams(**{**p.__dict__, "pad_value": 0})
    windows = swu_reference(zero, x)
    assert windows.shape == (2, p.ofm_h * p.ofm_w, p.k_h * p.k_w * c)
    conv = windows @ w.reshape(3, -1).T          # weight columns in (ky, kx, c) order
    np.testing.assert_array_equal(conv.reshape(2, p.ofm_h, p.ofm_w, 3), conv_direct(x, w, p))


@pytest.mark.parametrize("p", SHAPES, ids=str)
def test_windows_max_is_max_pooling(p: SwuParams) -> None:
    rng = np.random.default_rng(1)
    c = p.cf * p.lanes
    x = rng.integers(-100, 100, size=(2, p.ifm_h, p.ifm_w, c))
    pool = SwuParams(**{**p.__dict__, "pad_value": -(1 << (p.elem_w - 1))})
    windows = swu_reference(pool, x).reshape(2, p.ofm_h, p.ofm_w, p.k_h * p.k_w, c)
    np.testing.assert_array_equal(windows.max(axis=3), maxpool_direct(x, pool))


@pytest.mark.parametrize("p", SHAPES, ids=str)
def test_beats_and_elements_agree_with_the_sliding_window_op(p: SwuParams) -> None:
    rng = np.random.default_rng(2)
    c = p.cf * p.lanes
    x = rng.integers(-(1 << (p.elem_w - 1)), 1 << (p.elem_w - 1), size=(3, p.ifm_h, p.ifm_w, c))
    elems = swu_reference(p, x)

    words_in = pack_beats(x.reshape(-1, p.lanes), p.lanes, p.elem_w).reshape(3, -1)
    words_out = swu_reference(p, words_in)
    assert words_out.shape == (3, p.out_beats_per_image)
    np.testing.assert_array_equal(words_out, pack_beats(elems.reshape(-1, p.lanes), p.lanes, p.elem_w).reshape(3, -1))

    g = Graph()
    g.tensors["x"] = TensorType(x.shape, Fixed(p.elem_w, 0, True))
    mode = "zero" if p.pad_value == 0 else "lowest"
    node = Node("win", SlidingWindow, ("x",), ("y",), {
        "kernel": [p.k_h, p.k_w], "strides": [p.stride_h, p.stride_w],
        "pads": [p.pad_t, p.pad_l, p.pad_b, p.pad_r], "pad": mode})
    op_pad = 0 if mode == "zero" else -(1 << (p.elem_w - 1))
    ours = swu_reference(SwuParams(**{**p.__dict__, "pad_value": op_pad}), x)
    np.testing.assert_array_equal(SlidingWindow.execute(node, [x], g)[0].reshape(ours.shape), ours)


def test_swu_params_derived_and_literals() -> None:
    p = SHAPES[1]
    assert (p.ofm_h, p.ofm_w) == (4, 5)
    assert (p.in_beats_per_image, p.out_beats_per_image) == (126, 1000)
    assert swu_cycles(p) == 1000
    lit = dict(parameter_literals(p))
    assert lit["PAD_VALUE"] == "5'h00" and lit["BUF_DEPTH"] == str(p.buffer_beats)
    assert dict(parameter_literals(SHAPES[2]))["PAD_VALUE"] == "8'h80"
    assert list(lit) == ["ELEM_W", "LANES", "CF", "IFM_H", "IFM_W", "K_H", "K_W", "STRIDE_H", "STRIDE_W",
                         "PAD_T", "PAD_L", "PAD_B", "PAD_R", "PAD_VALUE", "OFM_H", "OFM_W", "BUF_DEPTH"]


@pytest.mark.parametrize("bad", [dict(pad_t=3), dict(pad_r=3), dict(k_h=8), dict(stride_w=0), dict(pad_value=16)])
def test_swu_params_reject(bad: dict) -> None:
    base = dict(elem_w=4, lanes=1, cf=1, ifm_h=4, ifm_w=4, k_h=3, k_w=3)
    with pytest.raises(ValueError):
        SwuParams(**{**base, **bad})


# ---------------------------------------------------------------- SWU control, cycle accurate

def simulate_swu(p: SwuParams, images: int) -> list[int]:
    """hwcomp_swu's control, cycle by cycle, source always valid and sink always ready.

    Returns the cycles between the ends of consecutive images. The buffer holds
    each beat's stream position, so a read of an overwritten beat fails.
    """
    h, w, cf, sh, sw = p.ifm_h, p.ifm_w, p.cf, p.stride_h, p.stride_w
    img, depth, oy_z = h * w * cf, p.buffer_beats, p.pad_t // sh
    assert depth >= p.min_buffer_beats
    mem = [None] * depth
    n = oy = ox = ky = kx = c = 0
    written = emitted = s1 = fifo = 0
    last_free = 0
    ends = []
    cycle = 0
    while emitted < images * p.out_beats_per_image:
        # free: the first beat this window or any later one reads (as the RTL's lag counter)
        col = 0 if oy < oy_z else max(ox * sw - p.pad_l, 0)
        free = n * img + (max(oy * sh - p.pad_t, 0) * w + col) * cf
        assert free >= last_free
        last_free = free
        push = written - free < depth and written < images * img
        en = fifo != 2
        iy, ix = oy * sh + ky - p.pad_t, ox * sw + kx - p.pad_l
        pad = not (0 <= iy < h and 0 <= ix < w)
        need = n * img + (iy * w + ix) * cf + c
        fire = en and (pad or written > need)
        if fire and not pad:
            assert mem[need % depth] == need, f"beat {need} overwritten before its last read"
        if fifo:
            emitted += 1
            if emitted % p.out_beats_per_image == 0:
                ends.append(cycle)
        fifo += int(en and s1) - int(fifo > 0)
        if en:
            s1 = fire
        if fire:
            n, oy, ox, ky, kx, c = _advance(p, n, oy, ox, ky, kx, c)
        if push:
            mem[written % depth] = written
            written += 1
        cycle += 1
    return [b - a for a, b in zip(ends, ends[1:])]


def _advance(p: SwuParams, n: int, oy: int, ox: int, ky: int, kx: int, c: int):
    """The loop nest: image, oy, ox, ky, kx, cf (innermost)."""
    c += 1
    if c == p.cf:
        c, kx = 0, kx + 1
        if kx == p.k_w:
            kx, ky = 0, ky + 1
            if ky == p.k_h:
                ky, ox = 0, ox + 1
                if ox == p.ofm_w:
                    ox, oy = 0, oy + 1
                    if oy == p.ofm_h:
                        oy, n = 0, n + 1
    return n, oy, ox, ky, kx, c


def random_swu(rng: random.Random, max_k: int, max_size: int) -> SwuParams:
    while True:
        k_h, k_w = rng.randint(1, max_k), rng.randint(1, max_k)
        s_h, s_w = rng.randint(1, 4), rng.randint(1, 4)
        pads = [rng.randint(0, k_h - 1), rng.randint(0, k_w - 1), rng.randint(0, k_h - 1), rng.randint(0, k_w - 1)]
        h, w = rng.randint(1, max_size), rng.randint(1, max_size)
        if k_h <= h + pads[0] + pads[2] and k_w <= w + pads[1] + pads[3]:
            return SwuParams(elem_w=4, lanes=1, cf=rng.randint(1, 3), ifm_h=h, ifm_w=w, k_h=k_h, k_w=k_w,
                             stride_h=s_h, stride_w=s_w, pad_t=pads[0], pad_l=pads[1], pad_b=pads[2],
                             pad_r=pads[3])


def check_swu_cycles(p: SwuParams) -> None:
    # Enough images that the last two intervals are past the start-up.
    images = max(4, 2000 // p.in_beats_per_image + 3)
    intervals = simulate_swu(p, images)
    assert intervals[-2:] == [swu_cycles(p)] * 2, (p, intervals)


@pytest.mark.parametrize("p", SHAPES, ids=str)
def test_swu_cycle_model_on_the_rtl_shapes(p: SwuParams) -> None:
    check_swu_cycles(p)


def test_swu_cycle_model_random_shapes() -> None:
    rng = random.Random(11)
    for _ in range(40):
        check_swu_cycles(random_swu(rng, max_k=5, max_size=7))


@pytest.mark.slow
def test_swu_cycle_model_random_shapes_wide() -> None:
    rng = random.Random(12)
    for _ in range(400):
        check_swu_cycles(random_swu(rng, max_k=7, max_size=14))


# ---------------------------------------------------------------- width converter

def test_dwc_reference_repacks() -> None:
    p = DwcParams(elem_w=4, n=5, in_lanes=3, out_lanes=2)
    words = np.array([[0x321, 0xE54]], dtype=object)   # elements 1..5; lane 2 of beat 1 is garbage
    out = dwc_reference(p, words)
    assert out.tolist() == [[0x21, 0x43, 0x5]]
    assert (p.in_beats, p.out_beats, dwc_cycles(p)) == (2, 3, 3)
    assert dict(parameter_literals(p)) == {"ELEM_W": "4", "N": "5", "IN_LANES": "3", "OUT_LANES": "2"}


def simulate_dwc(p: DwcParams, vectors: int) -> list[int]:
    """hwcomp_dwc's general-case control, cycle by cycle (source valid, sink ready)."""
    cap = p.buffer_lanes
    count = in_beat = out_beat = sent = got = 0
    ends, cycle = [], 0
    while got < vectors * p.out_beats:
        in_n = p.in_lanes if in_beat < p.in_beats - 1 else p.n - (p.in_beats - 1) * p.in_lanes
        out_n = p.out_lanes if out_beat < p.out_beats - 1 else p.n - (p.out_beats - 1) * p.out_lanes
        push = sent < vectors * p.in_beats and count + in_n <= cap
        pop = count >= out_n
        if pop:
            got += 1
            out_beat = (out_beat + 1) % p.out_beats
            if out_beat == 0:
                ends.append(cycle)
        if push:
            sent += 1
            in_beat = (in_beat + 1) % p.in_beats
        count += (in_n if push else 0) - (out_n if pop else 0)
        cycle += 1
    return [b - a for a, b in zip(ends, ends[1:])]


def test_dwc_cycle_model_every_small_ratio() -> None:
    for n in range(1, 26):
        for i in range(1, 9):
            for o in range(1, 9):
                if i == o:
                    continue
                p = DwcParams(elem_w=1, n=n, in_lanes=i, out_lanes=o)
                assert simulate_dwc(p, 8)[-2:] == [dwc_cycles(p)] * 2, p
