"""The analytic resource model: what a block's RTL builds, priced on a device.

A block's `Structure` (hw/resource_terms.py, from its HDL parameters) lists
what the RTL declares: its memories, its multipliers, the hwcomp_fifo
instances inside it, and two sets of linear terms, for LUTs and for flip-
flops (register bits by group, adder and comparator bits, counters). Pricing:

- memories go where Yosys puts them (hw/memory_map.py): block RAM counts
  exactly, LUT RAM cells are 4 LUTs, a ROM left to logic adds its bits to the
  `rom_logic_bits` LUT term, a RAM left to logic is its bits in FFs; a
  registered read's data register is FFs unless a block RAM holds it; a
  FIFO (read at a registered address) in block RAM gets Yosys' soft
  transparency, a register and a multiplexer per bit;
- multipliers go to DSPs by Yosys' rule (both operands >= 2 bits, product >=
  9 bits; split by the slice's widths), else their a*b bits join the
  `lut_mult` term;
- register groups that stay plain flip-flops (pipeline registers: `ff_bits`)
  count one FF per bit, exactly;
- LUT and FF are then the fitted coefficients of the block's kind times its
  terms (hw/resource_fit.py, written by benchmarks/resource_model.py --fit),
  plus the exact parts above and the inner FIFOs' own estimates.

Coefficients exist for the flow they were fitted to (synth_xilinx xc7). On a
device of another flow the same coefficients are used and `model` says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from hwcomp.devices import Device

from .memory_map import Memory, Placement, place_generic, place_xc7

FITTED_FLOW = "xc7"


@dataclass(frozen=True)
class Multiplier:
    """`count` multipliers of an a-bit by a b-bit signed operand giving y bits."""
    a: int
    b: int
    y: int
    count: int = 1


@dataclass(frozen=True)
class Structure:
    kind: str                                   # the fit's key: one set of coefficients per kind
    lut: dict[str, float]
    ff: dict[str, float]
    memories: tuple[Memory, ...] = ()
    multipliers: tuple[Multiplier, ...] = ()
    children: tuple["Structure", ...] = ()      # hwcomp_fifo instances inside the block
    # Terms the DSP slices take in when the multipliers map to them (xilinx_dsp packs the
    # product register, the adder chain and a plain accumulator into the slices): priced
    # as "<term>@dsp" then, which the fit weighs on its own.
    dsp_absorbs: tuple[str, ...] = ()
    # Register groups counted exactly, one flip-flop per bit (no coefficient): plain
    # pipeline registers Yosys keeps as they are. A group in dsp_absorbs becomes a
    # fitted "<group>@dsp" FF term when the multipliers map to DSP slices.
    ff_bits: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    lut: float
    ff: float
    dsp: int
    bram18: float
    model: str
    placements: tuple[tuple[str, str], ...] = field(default=())   # (memory, "bram" / "lutram" / "logic")


@dataclass(frozen=True)
class Priced:
    """A structure on a device before the fitted coefficients: its terms completed
    with the memory and multiplier parts, and the exact counts."""
    kind: str
    lut_terms: dict[str, float]
    ff_terms: dict[str, float]
    lut_exact: float
    ff_exact: float
    dsp: int
    bram18: float
    placements: tuple[tuple[str, str], ...]


def dsp_limits(device: Device) -> tuple[int, int]:
    """The multiplier widths one DSP slice takes (signed operand bits)."""
    flow = device.flow
    return {"xc7": (25, 18), "xcup": (27, 18), "ecp5": (18, 18), "ice40": (16, 16)}[flow]


def dsp_count(m: Multiplier, device: Device) -> int:
    """DSP slices Yosys maps one multiplier onto (0: it stays in LUTs).

    synth_xilinx runs mul2dsp with DSP_A_MINWIDTH = DSP_B_MINWIDTH = 2 (no Nx1
    products) and DSP_Y_MINWIDTH = 9 (UG901's "small" multipliers stay in logic);
    wider operands split into slices of the maximum widths less the sign bit."""
    if min(m.a, m.b) < 2 or m.y < 9:
        return 0
    amax, bmax = dsp_limits(device)
    a, b = max(m.a, m.b), min(m.a, m.b)
    if a <= amax and b <= bmax:
        return 1
    return math.ceil(a / (amax - 1)) * math.ceil(b / (bmax - 1))


def place(mem: Memory, device: Device) -> Placement:
    flow = device.flow
    if flow in ("xc7", "xcup"):
        return place_xc7(mem)
    return place_generic(mem, device.bram_block_bits, flow)


def price(s: Structure, device: Device) -> Priced:
    lut, ff = dict(s.lut), dict(s.ff)
    lut_exact = ff_exact = 0.0
    dsp_mapped = any(dsp_count(m, device) for m in s.multipliers)
    for group, bits in s.ff_bits.items():
        if dsp_mapped and group in s.dsp_absorbs:
            ff[f"{group}@dsp"] = ff.get(f"{group}@dsp", 0) + bits
        else:
            ff_exact += bits
    bram = 0.0
    placements = []
    for mem in s.memories:
        p = place(mem, device)
        placements.append((mem.name, p.kind))
        bram += p.bram18
        lut_exact += p.lut
        lut["mem_mux"] = lut.get("mem_mux", 0) + p.mux_bits
        if p.kind == "logic":
            if mem.rom:
                lut["rom_logic_bits"] = lut.get("rom_logic_bits", 0) + p.logic_bits
            else:
                ff_exact += p.logic_bits
                lut["ram_logic_bits"] = lut.get("ram_logic_bits", 0) + p.logic_bits
        if p.kind == "bram" and not mem.rom and not mem.read_reg:
            # A read from a registered address (a FIFO) in block RAM: Yosys adds soft
            # transparency for a write to the address being read, a register of the
            # written word and a multiplexer per bit.
            ff_exact += mem.width
            lut_exact += mem.width
        if mem.read_reg and p.kind != "bram":
            ff[f"read_reg:{mem.name}"] = ff.get(f"read_reg:{mem.name}", 0) + mem.width
    dsp = 0
    for m in s.multipliers:
        n = dsp_count(m, device)
        if n:
            dsp += n * m.count
            lut["dsp"] = lut.get("dsp", 0) + n * m.count
            ff["dsp"] = ff.get("dsp", 0) + n * m.count
        else:
            lut["lut_mult"] = lut.get("lut_mult", 0) + m.a * m.b * m.count
    if dsp:
        for terms in (lut, ff):
            for t in s.dsp_absorbs:
                if t in terms:
                    terms[f"{t}@dsp"] = terms.pop(t)
    return Priced(s.kind, lut, ff, lut_exact, ff_exact, dsp, bram, tuple(placements))


def _coefficients(kind: str) -> dict:
    from . import resource_fit
    return resource_fit.COEFFICIENTS.get(kind, {})


def linear(coef: dict[str, float], terms: dict[str, float]) -> float:
    return sum(coef.get(k, 0.0) * v for k, v in terms.items())


def estimate(s: Structure, device: Device) -> Estimate | None:
    """The structure's resources on `device`; None when its kind has no fit yet."""
    coef = _coefficients(s.kind)
    if not coef:
        return None
    p = price(s, device)
    lut = p.lut_exact + linear(coef["lut"], p.lut_terms)
    ff = p.ff_exact + linear(coef["ff"], p.ff_terms)
    dsp, bram = p.dsp, p.bram18
    placements = list(p.placements)
    for child in s.children:
        e = estimate(child, device)
        if e is None:
            return None
        lut, ff, dsp, bram = lut + e.lut, ff + e.ff, dsp + e.dsp, bram + e.bram18
        placements += [(f"{child.kind}.{n}", k) for n, k in e.placements]
    return Estimate(max(lut, 0.0), max(ff, 0.0), dsp, bram, model_note(device), tuple(placements))


def model_note(device: Device) -> str:
    flow = device.flow
    if flow == FITTED_FLOW:
        return f"fitted to synth_xilinx {FITTED_FLOW}"
    return (f"fitted to synth_xilinx {FITTED_FLOW}, not to {device.synth}: LUT and FF use the xc7 fit, "
            f"block RAM in {device.bram_block_bits // 1024} Kb blocks" +
            ("" if flow == "xcup" else ", LUT4 counts not modelled"))


__all__ = ["Estimate", "Memory", "Multiplier", "Structure", "dsp_count", "estimate", "price"]
