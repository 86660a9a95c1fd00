"""Sliding-window unit and stream width converter: parameters, golden models, cycle models.

Feature-map stream (channels last): an image of H x W pixels travels pixel by
pixel, row-major (y outer, x inner); a pixel is CF beats of LANES elements
(element i of a beat at tdata[i*W +: W], tail lanes zero).

hwcomp_swu (templates/hwcomp_swu.v) emits, for each output pixel (oy, ox) in
row-major order, its window as K_H*K_W*CF beats: ky outer, then kx, then cf.
A beat is the cf-th beat of input pixel (oy*S_H + ky - PAD_T, ox*S_W + kx -
PAD_L), or PAD_VALUE in every lane where that pixel lies outside the image.
This is SlidingWindow (hwcomp/ops/window.py) on C = CF*LANES channels.

hwcomp_dwc (templates/hwcomp_dwc.v) re-packs vectors of N elements from
IN_LANES to OUT_LANES elements per beat; the values do not change.

Everything the modules need is decided here: output sizes, the line buffer
depth, the element buffer size, and the cycle models the tests hold them to.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import ceil_div


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(what)


# ---------------------------------------------------------------- sliding window

@dataclass(frozen=True)
class SwuParams:
    """Everything that fixes one hwcomp_swu instance (all sizes in pixels or beats)."""

    elem_w: int                  # bits per element
    lanes: int                   # elements per beat (the consumer's SIMD)
    cf: int                      # beats per pixel: ceil(channels / lanes)
    ifm_h: int
    ifm_w: int
    k_h: int
    k_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_t: int = 0
    pad_l: int = 0
    pad_b: int = 0
    pad_r: int = 0
    pad_value: int = 0           # element value at padded positions (may be negative)

    def __post_init__(self) -> None:
        for name in ("elem_w", "lanes", "cf", "ifm_h", "ifm_w", "k_h", "k_w", "stride_h", "stride_w"):
            _check(getattr(self, name) >= 1, f"SwuParams.{name} must be >= 1")
        _check(0 <= self.pad_t < self.k_h and 0 <= self.pad_b < self.k_h, "vertical padding must be in [0, k_h)")
        _check(0 <= self.pad_l < self.k_w and 0 <= self.pad_r < self.k_w, "horizontal padding must be in [0, k_w)")
        _check(self.k_h <= self.ifm_h + self.pad_t + self.pad_b, "k_h exceeds the padded image height")
        _check(self.k_w <= self.ifm_w + self.pad_l + self.pad_r, "k_w exceeds the padded image width")
        _check(-(1 << (self.elem_w - 1)) <= self.pad_value < (1 << self.elem_w), "pad_value does not fit elem_w bits")

    @property
    def ofm_h(self) -> int:
        return (self.ifm_h + self.pad_t + self.pad_b - self.k_h) // self.stride_h + 1

    @property
    def ofm_w(self) -> int:
        return (self.ifm_w + self.pad_l + self.pad_r - self.k_w) // self.stride_w + 1

    @property
    def in_beats_per_image(self) -> int:
        return self.ifm_h * self.ifm_w * self.cf

    @property
    def window_beats(self) -> int:
        """Beats per output pixel."""
        return self.k_h * self.k_w * self.cf

    @property
    def out_beats_per_image(self) -> int:
        return self.ofm_h * self.ofm_w * self.window_beats

    @property
    def pad_bits(self) -> int:
        """PAD_VALUE as the raw elem_w-bit pattern."""
        return self.pad_value & ((1 << self.elem_w) - 1)

    @property
    def buffer_beats(self) -> int:
        """Depth of the line buffer (words of lanes*elem_w bits): the larger of

        - inside an image: the current window's rows, the stride_h rows the next
          output row adds, and k_w pixels, (k_h - 1 + stride_h) rows + k_w pixels;
        - across images: from the top row of the last window to the end of the
          image, then the next image's first window, (live + k_h - 1) rows + k_w
          pixels, live = ifm_h - (ofm_h - 1) * stride_h.

        With this much the writer never waits for space while the reader has
        work and the reader never waits for a pixel the writer could have
        stored, so an image takes max(in, out) beats (checked by the
        cycle-accurate model in tests/hw/test_window.py over random shapes).
        It also holds the largest window, which the module needs to be
        deadlock free. Padding occupies no memory.
        """
        row = self.ifm_w
        inside = (self.k_h - 1 + self.stride_h) * row + self.k_w
        live = self.ifm_h - (self.ofm_h - 1) * self.stride_h
        across = (live + self.k_h - 1) * row + self.k_w
        return max(inside, across) * self.cf

    @property
    def min_buffer_beats(self) -> int:
        """The module deadlocks with less: the span of one window, ((k_h-1)*ifm_w + k_w) pixels."""
        return ((self.k_h - 1) * self.ifm_w + self.k_w) * self.cf

    @property
    def buffer_bits(self) -> int:
        return self.buffer_beats * self.lanes * self.elem_w


def swu_cycles(p: SwuParams) -> int:
    """Cycles per image at steady state, back-to-back images, neither side stalled.

    One beat per cycle on whichever side has more beats: the buffer depth
    (SwuParams.buffer_beats) is chosen so that neither side waits for the other.
    """
    return max(p.in_beats_per_image, p.out_beats_per_image)


def swu_reference(p: SwuParams, x: np.ndarray) -> np.ndarray:
    """Golden model of hwcomp_swu.

    Elements: x [images, ifm_h, ifm_w, cf*lanes] -> [images, ofm_h*ofm_w, k_h*k_w*cf*lanes],
    each row one output pixel's window in stream order (ky, kx, channel); padded
    positions hold pad_value in every lane (the tail lanes of the last beat too).

    Beats: x [images, ifm_h*ifm_w*cf] packed words -> [images, out_beats_per_image]
    words, padded beats being pad_bits in every lane.
    """
    x = np.asarray(x)
    if x.ndim == 2:
        _check(x.shape[1] == p.in_beats_per_image, f"expected {p.in_beats_per_image} beats per image")
        pad_word = sum(p.pad_bits << (i * p.elem_w) for i in range(p.lanes))
        grid = x.reshape(x.shape[0], p.ifm_h, p.ifm_w, p.cf)
        return _windows(p, grid, pad_word).reshape(x.shape[0], -1)
    _check(x.ndim == 4 and x.shape[1:] == (p.ifm_h, p.ifm_w, p.cf * p.lanes),
           f"expected [images, {p.ifm_h}, {p.ifm_w}, {p.cf * p.lanes}]")
    return _windows(p, x, p.pad_value)


def _windows(p: SwuParams, x: np.ndarray, fill) -> np.ndarray:
    """[n, H, W, C] -> [n, OH*OW, KH*KW*C], pad with `fill`."""
    n, _, _, c = x.shape
    xp = np.full((n, p.ifm_h + p.pad_t + p.pad_b, p.ifm_w + p.pad_l + p.pad_r, c), fill, dtype=x.dtype)
    xp[:, p.pad_t:p.pad_t + p.ifm_h, p.pad_l:p.pad_l + p.ifm_w, :] = x
    out = np.empty((n, p.ofm_h, p.ofm_w, p.k_h, p.k_w, c), dtype=x.dtype)
    for ky in range(p.k_h):
        for kx in range(p.k_w):
            out[:, :, :, ky, kx, :] = xp[:, ky:ky + p.stride_h * (p.ofm_h - 1) + 1:p.stride_h,
                                         kx:kx + p.stride_w * (p.ofm_w - 1) + 1:p.stride_w, :]
    return out.reshape(n, p.ofm_h * p.ofm_w, p.k_h * p.k_w * c)


# ---------------------------------------------------------------- width converter

@dataclass(frozen=True)
class DwcParams:
    """One hwcomp_dwc instance: vectors of n elements, in_lanes -> out_lanes per beat."""

    elem_w: int
    n: int
    in_lanes: int
    out_lanes: int

    def __post_init__(self) -> None:
        for name in ("elem_w", "n", "in_lanes", "out_lanes"):
            _check(getattr(self, name) >= 1, f"DwcParams.{name} must be >= 1")

    @property
    def in_beats(self) -> int:
        """Beats per vector on s_axis."""
        return ceil_div(self.n, self.in_lanes)

    @property
    def out_beats(self) -> int:
        """Beats per vector on m_axis."""
        return ceil_div(self.n, self.out_lanes)

    @property
    def buffer_lanes(self) -> int:
        """Element buffer of the general converter: in + out + min(in, out) - 1 lanes.

        s_axis_tready looks at the fill level only (not at an output leaving in
        the same cycle); this is the smallest size that still moves one beat per
        cycle on the busier side for every n (checked in tests/hw/test_window.py).
        Equal lane counts need no buffer (a 2-word FIFO), nor does IN_LANES a
        multiple of OUT_LANES (a 2-word FIFO and a slice mux); the RTL uses this
        buffer in the other cases only.
        """
        if self.in_lanes == self.out_lanes:
            return 0
        return self.in_lanes + self.out_lanes + min(self.in_lanes, self.out_lanes) - 1


def dwc_cycles(p: DwcParams) -> int:
    """Cycles per vector at steady state, neither side stalled: one beat per cycle on the busier side."""
    return max(p.in_beats, p.out_beats)


def dwc_reference(p: DwcParams, words: np.ndarray) -> np.ndarray:
    """Golden model of hwcomp_dwc: [vectors, in_beats] words -> [vectors, out_beats] words.

    The tail lanes of each vector's last input beat are ignored; those of the
    last output beat are zero.
    """
    words = np.asarray(words, dtype=object)
    _check(words.ndim == 2 and words.shape[1] == p.in_beats, f"expected [vectors, {p.in_beats}] words")
    mask = (1 << p.elem_w) - 1
    out = np.zeros((words.shape[0], p.out_beats), dtype=object)
    for v in range(words.shape[0]):
        elems = [(int(words[v, i // p.in_lanes]) >> ((i % p.in_lanes) * p.elem_w)) & mask for i in range(p.n)]
        for b in range(p.out_beats):
            chunk = elems[b * p.out_lanes:(b + 1) * p.out_lanes]
            out[v, b] = sum(e << (i * p.elem_w) for i, e in enumerate(chunk))
    return out
