"""Blocks the builder places between the ones built from IR nodes: FIFOs,
forks (a stream read by two blocks) and width converters (neighbours with
different lane counts)."""
from __future__ import annotations

from hwcomp.hw.design import FifoUnit
from hwcomp.hw.stream_ops import ForkUnit
from hwcomp.hw.window import DwcParams, dwc_cycles

from .base import Block, Hdl, register


@register
class FifoBlock(Block):
    unit = FifoUnit
    prefix = "fifo"

    @classmethod
    def check(cls, unit: FifoUnit) -> None:
        # tready of hwcomp_fifo is registered: one word holds only every other cycle.
        if unit.width < 1 or unit.depth < 2:
            raise ValueError(f"FIFO: width must be >= 1 and depth >= 2, got {unit.width} x {unit.depth}")

    @classmethod
    def ports(cls, unit: FifoUnit):
        return (unit.width,), (unit.width,)

    @classmethod
    def cycles(cls, unit: FifoUnit, vectors: int) -> int:
        return vectors   # one word per cycle; `vectors` counts words here

    @classmethod
    def hdl(cls, unit: FifoUnit, name: str) -> Hdl:
        params = (("WIDTH", unit.width), ("DEPTH", unit.depth)) + ((("OUT_REG", 1),) if unit.out_reg else ())
        return Hdl("hwcomp_fifo", ("hwcomp_fifo.v",), params)

    @classmethod
    def summary(cls, unit: FifoUnit) -> str:
        return f"FIFO of {unit.depth} words" + (" and a registered output" if unit.out_reg else "")


@register
class ForkBlock(Block):
    unit = ForkUnit
    prefix = "fork"

    @classmethod
    def ports(cls, unit: ForkUnit):
        return (unit.width,), (unit.width, unit.width)

    @classmethod
    def cycles(cls, unit: ForkUnit, vectors: int) -> int:
        return unit.cycles(vectors)   # `vectors` counts beats here

    @classmethod
    def hdl(cls, unit: ForkUnit, name: str) -> Hdl:
        return Hdl("hwcomp_fork", ("hwcomp_fifo.v", "hwcomp_fork.v"),
                   (("WIDTH", unit.width), ("DEPTH0", unit.depth0), ("DEPTH1", unit.depth1)))

    @classmethod
    def summary(cls, unit: ForkUnit) -> str:
        return f"fork, {unit.depth0} / {unit.depth1} words per branch"


@register
class DwcBlock(Block):
    unit = DwcParams
    prefix = "dwc"

    @classmethod
    def ports(cls, unit: DwcParams):
        return (unit.in_lanes * unit.elem_w,), (unit.out_lanes * unit.elem_w,)

    @classmethod
    def cycles(cls, unit: DwcParams, vectors: int) -> int:
        return vectors * dwc_cycles(unit)

    @classmethod
    def hdl(cls, unit: DwcParams, name: str) -> Hdl:
        return Hdl("hwcomp_dwc", ("hwcomp_fifo.v", "hwcomp_dwc.v"),
                   (("ELEM_W", unit.elem_w), ("N", unit.n), ("IN_LANES", unit.in_lanes),
                    ("OUT_LANES", unit.out_lanes)))

    @classmethod
    def summary(cls, unit: DwcParams) -> str:
        return f"width converter {unit.in_lanes} -> {unit.out_lanes} lanes, {unit.n} elements per vector"
