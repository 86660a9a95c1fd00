"""Count a synthesized netlist's cells as LUT, FF, DSP and 18 Kb block RAM.

One table per Yosys mapping flow (`synth_xilinx -family xc7 | xcup`,
`synth_ecp5`, `synth_ice40`; a Device's `flow` names its table): each cell type a flow emits, what it occupies.
The analytic model is fitted to these counts and `hwcomp estimate` reports
them, so both count the same way. Conventions, as the vendors' utilization
reports count:
- distributed RAM and shift registers are LUTs (a RAM32M is four LUT6, a
  RAM64X1D two);
- carry chains (CARRY4, CARRY8, SB_CARRY) and wide-function muxes (MUXF7,
  MUXF8, PFUMX, L6MUX21) are not LUTs; an ECP5 CCU2C is two LUT4 (the
  carry-mode slice half);
- block RAM is in 18 Kb units: a RAMB36 is two, an iCE40 4 Kb EBR 4/18;
- buffers and I/O cells count nothing.
A cell type a table does not know raises: a count that silently skipped it
would be wrong.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hwcomp.errors import HwcompError

RESOURCES = ("lut", "ff", "dsp", "bram18")

_XILINX_COMMON = {
    **{f"LUT{k}": ("lut", 1) for k in range(1, 7)},
    "LUT6_2": ("lut", 1),
    "INV": ("lut", 1),                  # Vivado places an inverter in a LUT1
    "SRL16E": ("lut", 1), "SRLC32E": ("lut", 1),
    "RAM32X1S": ("lut", 1), "RAM64X1S": ("lut", 1), "RAM128X1S": ("lut", 2), "RAM256X1S": ("lut", 4),
    "RAM32X1D": ("lut", 2), "RAM64X1D": ("lut", 2), "RAM128X1D": ("lut", 4),
    "RAM32M": ("lut", 4), "RAM64M": ("lut", 4),
    **{f: ("ff", 1) for f in ("FDRE", "FDSE", "FDCE", "FDPE")},
    "MUXF7": None, "MUXF8": None,
    "BUFG": None, "BUFGCE": None, "IBUF": None, "OBUF": None, "IOBUF": None, "OBUFT": None,
    "GND": None, "VCC": None,
}

TABLES: dict[str, dict[str, tuple[str, float] | None]] = {
    "xc7": {
        **_XILINX_COMMON,
        "CARRY4": None,
        "DSP48E1": ("dsp", 1),
        "RAMB18E1": ("bram18", 1), "RAMB36E1": ("bram18", 2),
    },
    "xcup": {
        **_XILINX_COMMON,
        "CARRY8": None, "MUXF9": None,
        "RAM32M16": ("lut", 8), "RAM64M8": ("lut", 8), "RAM512X1S": ("lut", 8),
        "DSP48E2": ("dsp", 1),
        "RAMB18E2": ("bram18", 1), "RAMB36E2": ("bram18", 2),
    },
    "ecp5": {
        "LUT4": ("lut", 1), "CCU2C": ("lut", 2),
        "TRELLIS_DPR16X4": ("lut", 4),    # a 16x4 RAM: the LUTs of two slices
        "TRELLIS_FF": ("ff", 1),
        "MULT18X18D": ("dsp", 1), "ALU54B": None,   # the adder beside a multiplier pair
        "DP16KD": ("bram18", 1), "PDPW16KD": ("bram18", 1),
        "PFUMX": None, "L6MUX21": None, "TRELLIS_IO": None, "VHI": None, "VLO": None,
    },
    "ice40": {
        "SB_LUT4": ("lut", 1),
        **{f"SB_DFF{s}": ("ff", 1) for s in ("", "E", "SR", "R", "SS", "S", "ESR", "ER", "ESS", "ES",
                                             "N", "NE", "NSR", "NR", "NSS", "NS", "NESR", "NER", "NESS", "NES")},
        "SB_MAC16": ("dsp", 1),
        "SB_RAM40_4K": ("bram18", 4 / 18), "SB_SPRAM256KA": None,
        "SB_CARRY": None, "SB_IO": None, "SB_GB": None, "SB_GB_IO": None,
    },
}


@dataclass(frozen=True)
class CellCount:
    lut: int
    ff: int
    dsp: int
    bram18: float

    def as_dict(self) -> dict:
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram18": self.bram18}


def count_cells(cells: Mapping[str, int], flow: str) -> CellCount:
    """LUT, FF, DSP and bram18 of a netlist's `cells` (type -> count) mapped by `flow`."""
    table = TABLES[flow]
    unknown = sorted(t for t in cells if t not in table and not t.startswith("$scopeinfo"))
    if unknown:
        raise HwcompError(f"cells of {flow} synthesis hwcomp cannot count: {', '.join(unknown)}")
    total = dict.fromkeys(RESOURCES, 0.0)
    for cell, n in cells.items():
        entry = table.get(cell)
        if entry is not None:
            total[entry[0]] += entry[1] * n
    return CellCount(int(total["lut"]), int(total["ff"]), int(total["dsp"]), round(total["bram18"], 3))
