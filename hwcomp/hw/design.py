"""Plain data describing a streaming accelerator, handed from the compiler to
the Verilog backend, the report and the simulator.

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

from hwcomp.hw.pipeline import MvuPipeline
from hwcomp.numerics import bytes_width, ceil_div  # noqa: F401 (re-exported)


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
    And one for weights with a format per row (post-training fixed point):
    - row_shifts: row r is requantized by its own shift row_shifts[r] (0..acc_width)
      instead of `shift`, which is 0; requant only.
    And one for shared weights (--share-weights):
    - codebook: the sorted distinct weights; the weight ROM holds each weight's
      index into it (codebook_width bits) and the unit looks the weight up before
      multiplying. `weights` still holds the values (weight = codebook[index]).
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
    row_shifts: np.ndarray | None = None      # int64 [rows_p]: each row's requantization shift
    codebook: np.ndarray | None = None        # int64 [n], sorted distinct weights, 2 <= n <= 256
    # XNOR-popcount unit (hwcomp_xnor_mvu, docs/numerics_binary.md): bipolar inputs and
    # weight bits; outputs p >= T (thresholds [rows_p, 1] on the popcount p) or p itself.
    xnor: bool = False
    # Register stages for the clock target (hw/pipeline.py); the default adds none.
    pipeline: MvuPipeline = MvuPipeline()

    @property
    def thresh_k(self) -> int:
        """Thresholds per row; 0 without the threshold activation."""
        return 0 if self.thresholds is None else int(np.shape(self.thresholds)[1])

    @property
    def row_shift_width(self) -> int:
        """Bits of one row's shift in the shift ROM; 0 without row shifts."""
        if self.row_shifts is None:
            return 0
        return max(1, int(np.max(self.row_shifts, initial=0)).bit_length())

    @property
    def codebook_width(self) -> int:
        """Bits of a weight's codebook index (CB_W); 0 without a codebook."""
        return 0 if self.codebook is None else max(1, (len(self.codebook) - 1).bit_length())

    @property
    def shifts(self):
        """The requantization shift: one int, or one per padded row."""
        return self.shift if self.row_shifts is None else np.asarray(self.row_shifts, dtype=np.int64)


    @property
    def macs(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class FifoUnit:
    """hwcomp_fifo: `depth` words of `width` bits (two more with out_reg)."""
    width: int
    depth: int
    out_reg: int = 0          # registered memory read and output, for the clock (hw/pipeline.py)


@dataclass(frozen=True)
class Stream:
    """A valid/ready channel of `lanes` elements of `width` bits per beat."""
    name: str          # legal Verilog identifier, unique in the design
    lanes: int
    width: int         # bits per element
    signed: bool

    @property
    def word_width(self) -> int:
        return self.lanes * self.width


@dataclass(frozen=True, eq=False)
class Stage:
    """One module instance. Its ports connect to streams: single-input blocks use
    port `s_axis`, two-input blocks (add, concat) `s0_axis` and `s1_axis` in
    `inputs` order; single-output blocks `m_axis`, the fork `m0_axis` and `m1_axis`."""
    name: str                   # legal Verilog identifier, unique in the design
    unit: object                # the block's parameters (hw/blocks: MVULayer, SwuParams, ...)
    inputs: tuple[str, ...]     # stream names, port order
    outputs: tuple[str, ...]
    cycles: int = 0             # cycles per image from the block's cycle model
    node: str | None = None     # the IR node it implements (None: FIFO, fork, converter)
    summary: str = ""


@dataclass(frozen=True, eq=False)
class Design:
    """A streaming accelerator: stages joined by named streams between one
    AXI4-Stream input and one output. A chain of layers is a design without forks.
    An image is `in_pixels` input vectors of `in_elems` elements and `out_pixels`
    output vectors of `out_elems` elements."""
    name: str                   # top module name
    streams: tuple[Stream, ...]
    stages: tuple[Stage, ...]
    input: str                  # stream fed from s_axis
    output: str                 # stream driving m_axis
    in_elems: int               # logical elements per input pixel
    out_elems: int
    in_pixels: int = 1
    out_pixels: int = 1

    def stream(self, name: str) -> Stream:
        return next(s for s in self.streams if s.name == name)

    @property
    def expected_ii(self) -> int:
        """The slowest stage's cycles per image: the pipeline's initiation interval."""
        return max(s.cycles for s in self.stages)

    @property
    def in_stream(self) -> Stream:
        return self.stream(self.input)

    @property
    def out_stream(self) -> Stream:
        return self.stream(self.output)

    @property
    def in_beats(self) -> int:
        """Beats per image."""
        return self.in_pixels * ceil_div(self.in_elems, self.in_stream.lanes)

    @property
    def out_beats(self) -> int:
        return self.out_pixels * ceil_div(self.out_elems, self.out_stream.lanes)

    @property
    def s_tdata_width(self) -> int:
        return bytes_width(self.in_stream.word_width)

    @property
    def m_tdata_width(self) -> int:
        return bytes_width(self.out_stream.word_width)

    def units(self, kind: type) -> list:
        return [s.unit for s in self.stages if isinstance(s.unit, kind)]


def chain_design(name: str, layers, in_elems: int, out_elems: int, in_pixels: int = 1,
                 out_pixels: int = 1) -> Design:
    """Matrix-vector units one after another, each behind its input FIFO
    (`in_fifo_depth` words): layer k+1 reads layer k's words as they are, so its
    SIMD equals layer k's PE. For hand-built designs (tests, selftest)."""
    streams = [Stream("s0", layers[0].simd, layers[0].in_width, layers[0].in_signed)]
    stages = []
    for layer in layers:
        prev = streams[-1]
        buf = Stream(f"s{len(streams)}", prev.lanes, prev.width, prev.signed)
        out = Stream(f"s{len(streams) + 1}", layer.pe, layer.out_width, layer.out_signed)
        streams += [buf, out]
        stages.append(Stage(f"fifo_{layer.name}", FifoUnit(prev.word_width, layer.in_fifo_depth),
                            (prev.name,), (buf.name,), ceil_div(layer.cols, layer.simd)))
        stages.append(Stage(layer.name, layer, (buf.name,), (out.name,), layer.cycles))
    return Design(name, tuple(streams), tuple(stages), "s0", streams[-1].name, in_elems, out_elems,
                  in_pixels, out_pixels)


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
