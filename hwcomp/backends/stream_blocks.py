"""HDL module, sources and parameters of each feature-map stream block.

`hdl_module(unit)` turns a block of hwcomp/hw/stream_ops.py into what an
instantiation needs: the module name, the library files it depends on (in
compile order) and its parameters as Verilog literals. The saturation bounds
are sized literals of OUT_W + 1 bits, two's complement.
"""
from __future__ import annotations

from dataclasses import dataclass

from hwcomp.hw.design import ceil_div
from hwcomp.hw.netlist import FifoUnit
from hwcomp.hw.stream_ops import (MAX, ROUNDINGS, SUM, AddUnit, ConcatUnit, ForkUnit, GlobalPoolUnit, PoolUnit,
                                   Scale)
from hwcomp.hw.window import DwcParams, SwuParams

POOL_MODE = {MAX: 0, SUM: 1}


@dataclass(frozen=True)
class HdlModule:
    name: str
    sources: tuple[str, ...]                  # files in templates/, compile order
    parameters: tuple[tuple[str, str], ...]   # (name, Verilog literal)


def _sized(value: int, width: int) -> str:
    return f"{width}'h{value & ((1 << width) - 1):0{ceil_div(width, 4)}x}"


def _scale_parameters(scale: Scale | None, out_width: int) -> list[tuple[str, str]]:
    """MULT, SHIFT, OUT_W, OUT_MIN, OUT_MAX (unused placeholders without a scale), and
    ROUND only when the shift does not round half up (the default)."""
    mult, shift, lo, hi = (scale.mult, scale.shift, scale.out_min, scale.out_max) if scale else (1, 0, 0, 0)
    rounding = [("ROUND", str(ROUNDINGS.index(scale.rounding)))] if scale and scale.rounding != "half_up" else []
    return [("MULT", str(mult)), ("SHIFT", str(shift))] + rounding + [
        ("OUT_W", str(out_width)), ("OUT_MIN", _sized(lo, out_width + 1)), ("OUT_MAX", _sized(hi, out_width + 1))]


def _ints(*pairs: tuple[str, int]) -> list[tuple[str, str]]:
    return [(name, str(int(v))) for name, v in pairs]


def pool_module(u: PoolUnit) -> HdlModule:
    params = _ints(("MODE", POOL_MODE[u.mode]), ("WINDOW", u.window), ("CF", u.cf), ("LANES", u.lanes),
                   ("IN_W", u.in_width), ("IN_SIGNED", u.in_signed))
    return HdlModule("hwcomp_pool", ("hwcomp_fifo.v", "hwcomp_scale.v", "hwcomp_pool.v"),
                     tuple(params + _scale_parameters(u.scale, u.out_width)))


def global_pool_module(u: GlobalPoolUnit) -> HdlModule:
    params = _ints(("MODE", POOL_MODE[u.mode]), ("PIXELS", u.pixels), ("CF", u.cf), ("LANES", u.lanes),
                   ("IN_W", u.in_width), ("IN_SIGNED", u.in_signed))
    return HdlModule("hwcomp_gap", ("hwcomp_fifo.v", "hwcomp_scale.v", "hwcomp_pool.v", "hwcomp_gap.v"),
                     tuple(params + _scale_parameters(u.scale, u.out_width)))


def add_module(u: AddUnit) -> HdlModule:
    params = _ints(("LANES", u.lanes), ("IN0_W", u.in0_width), ("IN0_SIGNED", u.in0_signed),
                   ("IN1_W", u.in1_width), ("IN1_SIGNED", u.in1_signed), ("SHIFT0", u.shift0),
                   ("SHIFT1", u.shift1), ("SHIFT", u.scale.shift), ("RELU", u.scale.relu),
                   ("OUT_W", u.scale.out_width))
    w = u.scale.out_width
    params += [("OUT_MIN", _sized(u.scale.out_min, w + 1)), ("OUT_MAX", _sized(u.scale.out_max, w + 1))]
    return HdlModule("hwcomp_add", ("hwcomp_fifo.v", "hwcomp_scale.v", "hwcomp_add.v"), tuple(params))


def fork_module(u: ForkUnit) -> HdlModule:
    params = _ints(("WIDTH", u.width), ("DEPTH0", u.depth0), ("DEPTH1", u.depth1))
    return HdlModule("hwcomp_fork", ("hwcomp_fifo.v", "hwcomp_fork.v"), tuple(params))


def concat_module(u: ConcatUnit) -> HdlModule:
    params = _ints(("LANES", u.lanes), ("ELEM_W", u.elem_width), ("CF0", u.cf0), ("CF1", u.cf1))
    return HdlModule("hwcomp_concat", ("hwcomp_fifo.v", "hwcomp_concat.v"), tuple(params))


def swu_module(p: SwuParams) -> HdlModule:
    return HdlModule("hwcomp_swu", ("hwcomp_fifo.v", "hwcomp_swu.v"), tuple(p.verilog_parameters()))


def dwc_module(p: DwcParams) -> HdlModule:
    return HdlModule("hwcomp_dwc", ("hwcomp_fifo.v", "hwcomp_dwc.v"), tuple(p.verilog_parameters()))


def fifo_module(u: FifoUnit) -> HdlModule:
    return HdlModule("hwcomp_fifo", ("hwcomp_fifo.v",), tuple(_ints(("WIDTH", u.width), ("DEPTH", u.depth))))


_BUILDERS = {
    FifoUnit: fifo_module,
    SwuParams: swu_module,
    DwcParams: dwc_module,
    PoolUnit: pool_module,
    GlobalPoolUnit: global_pool_module,
    AddUnit: add_module,
    ForkUnit: fork_module,
    ConcatUnit: concat_module,
}


def hdl_module(unit) -> HdlModule:
    try:
        return _BUILDERS[type(unit)](unit)
    except KeyError:
        raise TypeError(f"no stream block for {type(unit).__name__}") from None
