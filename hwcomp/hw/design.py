"""Plain data describing a streaming accelerator, handed from the compiler to
the Verilog backend and the simulator.

Everything here is already decided: padded sizes, widths, shifts, folding.
Templates only substitute these numbers. Stream format (see
docs/architecture.md): a vector of N elements travels as ceil(N/LANES) beats
of LANES elements; element i of a beat sits at tdata[i*W +: W] (two's
complement when signed); unused tail lanes carry zeros; TDATA is padded up to
a whole number of bytes; tlast marks the last beat of a vector.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def bytes_width(bits: int) -> int:
    """AXI4-Stream TDATA widths are whole bytes."""
    return ceil_div(bits, 8) * 8


class Folded:
    """Folding arithmetic shared by the matrix-vector units (this MVULayer and
    hwcomp.hw.binary.XnorLayer): rows/PE row folds, cols/SIMD column folds."""

    rows: int
    cols: int
    pe: int
    simd: int

    @property
    def nf(self) -> int:
        return ceil_div(self.rows, self.pe)

    @property
    def sf(self) -> int:
        return ceil_div(self.cols, self.simd)

    @property
    def rows_p(self) -> int:
        return self.nf * self.pe

    @property
    def cols_p(self) -> int:
        return self.sf * self.simd

    @property
    def cycles(self) -> int:
        """Cycles per input vector at full rate: one (row fold, column fold) pair per cycle."""
        return self.nf * self.sf


@dataclass(frozen=True, eq=False)
class MVULayer(Folded):
    """One folded matrix-vector unit: y = requant(relu(W x + b)), or a threshold code of W x + b.

    Sizes with `_p` are padded: rows_p = NF*PE, cols_p = SF*SIMD. Padded rows
    have zero weights and bias; padded columns have zero weights.

    Two optional modes for low-bit layers (docs/numerics.md, "Low-bit
    matrix-vector units"); the defaults give the plain unit:
    - weight_bipolar: `weights` holds bits, 1 = +1 and 0 = -1 (weight_width 1).
      Padded columns are masked in hardware, so they count 0 whatever the
      input lane carries; padded rows (bits 0) compute -sum(x).
    - thresholds: y[r] = out_base + #{k : (acc[r] >= T[r, k]) != descending[r]},
      on the exact accumulator; relu and requant are off, shift is 0.
    """

    name: str                 # legal Verilog identifier, unique in the design
    rows: int                 # logical output count
    cols: int                 # logical input count
    pe: int                   # output lanes (rows computed in parallel)
    simd: int                 # input lanes (columns consumed per cycle)
    in_width: int
    in_signed: bool
    weight_width: int         # weights are signed two's complement
    weights: np.ndarray       # int64 [rows_p, cols_p]
    bias: np.ndarray          # int64 [rows_p], at the accumulator's scale
    acc_width: int            # never overflows: from the bounds of x, W and b
    requant: bool             # False: output the accumulator unchanged
    shift: int                # arithmetic right shift, round half up (requant only), >= 0
    relu: bool
    out_width: int
    out_signed: bool
    out_min: int              # saturation bounds after shift (and ReLU)
    out_max: int
    in_fifo_depth: int        # words of FIFO in front of this layer
    weight_bipolar: bool = False              # weights are bits: 1 = +1, 0 = -1
    thresholds: np.ndarray | None = None      # int64 [rows_p, K], K >= 1, rows ascending
    descending: np.ndarray | None = None      # bool [rows_p]; None: all False
    out_base: int = 0                         # output code when no threshold counts
    # XNOR-popcount unit (hwcomp_xnor_mvu, docs/numerics_binary.md): bipolar inputs and
    # weight bits; outputs p >= T (thresholds [rows_p, 1] on the popcount p) or p itself.
    xnor: bool = False

    @property
    def thresh_k(self) -> int:
        """Thresholds per row; 0 without the threshold activation."""
        return 0 if self.thresholds is None else int(np.shape(self.thresholds)[1])


    @property
    def macs(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True, eq=False)
class BlockStage:
    """A stream block that is not a matrix-vector unit (sliding window, pooling).

    `unit` is the block's own description (hwcomp/hw/window.py, stream_ops.py);
    the backend turns it into a module name, sources and parameter literals.
    """

    name: str                      # legal Verilog identifier, unique in the design
    unit: object
    in_lanes: int
    in_width: int
    in_signed: bool
    out_lanes: int
    out_width: int
    out_signed: bool
    in_fifo_depth: int = 0         # 0: no FIFO in front
    summary: str = ""
    cycles: int = 0                # cycles per image from the block's cycle model


def stage_lanes(stage) -> tuple[int, int, int, int]:
    """(in lanes, in width, out lanes, out width) of either kind of stage."""
    if isinstance(stage, MVULayer):
        return stage.simd, stage.in_width, stage.pe, stage.out_width
    return stage.in_lanes, stage.in_width, stage.out_lanes, stage.out_width


@dataclass(frozen=True, eq=False)
class StreamDesign:
    """A chain of stages between one AXI4-Stream input and one output.

    Without `stages`, the chain is `layers` (matrix-vector units only): layer
    k+1 consumes layer k's output words directly, its SIMD equals layer k's PE
    and its cols_p equals layer k's rows_p. With `stages`, sliding windows and
    pooling blocks sit between the units (`layers` lists the units among them);
    every stage's input lanes and element type equal its producer's output.
    An image is `in_pixels` input vectors of `in_elems` elements and
    `out_pixels` output vectors of `out_elems` elements.
    """

    name: str                      # top module name (legal Verilog identifier)
    layers: tuple[MVULayer, ...]
    in_elems: int                  # logical input vector (pixel) length
    out_elems: int                 # logical output vector (pixel) length
    stages: tuple = ()
    in_pixels: int = 1
    out_pixels: int = 1

    @property
    def chain(self) -> tuple:
        return self.stages or self.layers

    @property
    def in_lanes(self) -> int:
        return stage_lanes(self.chain[0])[0]

    @property
    def in_width(self) -> int:
        return stage_lanes(self.chain[0])[1]

    @property
    def in_signed(self) -> bool:
        return self.chain[0].in_signed

    @property
    def in_beats(self) -> int:
        """Beats per image."""
        return self.in_pixels * ceil_div(self.in_elems, self.in_lanes)

    @property
    def out_lanes(self) -> int:
        return stage_lanes(self.chain[-1])[2]

    @property
    def out_width(self) -> int:
        return stage_lanes(self.chain[-1])[3]

    @property
    def out_signed(self) -> bool:
        return self.chain[-1].out_signed

    @property
    def out_beats(self) -> int:
        """Beats per image."""
        return self.out_pixels * ceil_div(self.out_elems, self.out_lanes)

    @property
    def s_tdata_width(self) -> int:
        return bytes_width(self.in_lanes * self.in_width)

    @property
    def m_tdata_width(self) -> int:
        return bytes_width(self.out_lanes * self.out_width)


def pack_pixels(values: np.ndarray, pixels: int, lanes: int, width: int) -> np.ndarray:
    """[samples, pixels*elems] -> [samples, pixels*beats]: each pixel padded to whole beats."""
    values = np.asarray(values)
    samples = values.shape[0]
    words = pack_beats(values.reshape(samples * pixels, -1), lanes, width)
    return words.reshape(samples, -1)


def unpack_pixels(words: np.ndarray, pixels: int, lanes: int, width: int, signed: bool, elems: int) -> np.ndarray:
    samples = words.shape[0]
    vals = unpack_beats(words.reshape(samples * pixels, -1), lanes, width, signed, elems)
    return vals.reshape(samples, pixels * elems)


def pack_beats(values: np.ndarray, lanes: int, width: int) -> np.ndarray:
    """[samples, elems] ints -> [samples, beats] python-int words (object array)."""
    values = np.asarray(values, dtype=np.int64)
    samples, elems = values.shape
    beats = ceil_div(elems, lanes)
    padded = np.zeros((samples, beats * lanes), dtype=np.int64)
    padded[:, :elems] = values
    mask = (1 << width) - 1
    words = np.zeros((samples, beats), dtype=object)
    for s in range(samples):
        for b in range(beats):
            w = 0
            for i in range(lanes):
                w |= (int(padded[s, b * lanes + i]) & mask) << (i * width)
            words[s, b] = w
    return words


def unpack_beats(words: np.ndarray, lanes: int, width: int, signed: bool, elems: int) -> np.ndarray:
    """Inverse of pack_beats: [samples, beats] words -> [samples, elems] ints."""
    samples, beats = words.shape
    mask = (1 << width) - 1
    out = np.zeros((samples, beats * lanes), dtype=np.int64)
    for s in range(samples):
        for b in range(beats):
            w = int(words[s, b])
            for i in range(lanes):
                v = (w >> (i * width)) & mask
                if signed and v >> (width - 1):
                    v -= 1 << width
                out[s, b * lanes + i] = v
    return out[:, :elems]
