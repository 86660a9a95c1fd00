"""Plain data for a streaming design whose blocks form a graph (forks and
joins: residual adds, channel concats), handed to the netlist backend.

Every stream (an AXI4-Stream-like valid/ready channel) is named and carries
`lanes` elements of `width` bits per beat. Every stage is one module instance
whose ports connect to streams: single-input blocks use port `s_axis`,
two-input blocks (add, concat) `s0_axis` and `s1_axis` in `inputs` order;
single-output blocks `m_axis`, the fork `m0_axis` and `m1_axis`. The design's
`input` stream is driven by the top's s_axis, its `output` stream drives m_axis.
Stream format within a beat as in hwcomp/hw/design.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from .design import bytes_width, ceil_div


@dataclass(frozen=True)
class FifoUnit:
    """hwcomp_fifo: `depth` words of `width` bits."""
    width: int
    depth: int


@dataclass(frozen=True)
class NetStream:
    name: str          # legal Verilog identifier, unique in the design
    lanes: int
    width: int         # bits per element
    signed: bool

    @property
    def word_width(self) -> int:
        return self.lanes * self.width


@dataclass(frozen=True, eq=False)
class NetStage:
    name: str                   # legal Verilog identifier, unique in the design
    unit: object                # MVULayer, SwuParams, DwcParams, PoolUnit, GlobalPoolUnit,
                                # AddUnit, ForkUnit, ConcatUnit or FifoUnit
    inputs: tuple[str, ...]     # stream names, port order
    outputs: tuple[str, ...]
    summary: str = ""


@dataclass(frozen=True, eq=False)
class NetlistDesign:
    name: str                   # top module name
    streams: tuple[NetStream, ...]
    stages: tuple[NetStage, ...]
    input: str                  # stream fed from s_axis
    output: str                 # stream driving m_axis
    in_elems: int               # logical elements per input pixel
    in_pixels: int
    out_elems: int
    out_pixels: int

    def stream(self, name: str) -> NetStream:
        return next(s for s in self.streams if s.name == name)

    @property
    def in_beats(self) -> int:
        return self.in_pixels * ceil_div(self.in_elems, self.stream(self.input).lanes)

    @property
    def out_beats(self) -> int:
        return self.out_pixels * ceil_div(self.out_elems, self.stream(self.output).lanes)

    @property
    def s_tdata_width(self) -> int:
        return bytes_width(self.stream(self.input).word_width)

    @property
    def m_tdata_width(self) -> int:
        return bytes_width(self.stream(self.output).word_width)
