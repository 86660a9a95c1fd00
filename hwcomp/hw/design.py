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


@dataclass(frozen=True, eq=False)
class MVULayer:
    """One folded matrix-vector unit: y = requant(relu(W x + b)).

    Sizes with `_p` are padded: rows_p = NF*PE, cols_p = SF*SIMD. Padded rows
    have zero weights and bias; padded columns have zero weights.
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

    @property
    def macs(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True, eq=False)
class StreamDesign:
    """A chain of MVU layers between one AXI4-Stream input and one output.

    Layer k+1 consumes layer k's output words directly: its SIMD equals layer
    k's PE and its cols_p equals layer k's rows_p.
    """

    name: str                      # top module name (legal Verilog identifier)
    layers: tuple[MVULayer, ...]
    in_elems: int                  # logical input vector length
    out_elems: int                 # logical output vector length

    @property
    def in_lanes(self) -> int:
        return self.layers[0].simd

    @property
    def in_width(self) -> int:
        return self.layers[0].in_width

    @property
    def in_signed(self) -> bool:
        return self.layers[0].in_signed

    @property
    def in_beats(self) -> int:
        return self.layers[0].sf

    @property
    def out_lanes(self) -> int:
        return self.layers[-1].pe

    @property
    def out_width(self) -> int:
        return self.layers[-1].out_width

    @property
    def out_signed(self) -> bool:
        return self.layers[-1].out_signed

    @property
    def out_beats(self) -> int:
        return self.layers[-1].nf

    @property
    def s_tdata_width(self) -> int:
        return bytes_width(self.in_lanes * self.in_width)

    @property
    def m_tdata_width(self) -> int:
        return bytes_width(self.out_lanes * self.out_width)


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
