"""Where a synthesizer puts one inferred memory: block RAM, LUT RAM or logic.

The rules are Yosys' `memory_libmap` (passes/memory/memory_libmap.cc) with the
xc7 libraries `synth_xilinx` reads (brams_xc4v.txt with HAS_SIZE_36,
HAS_CASCADE, HAS_MIXWIDTH_SDP; lutrams_xc5v.txt): every legal configuration of
every RAM type gets a cost, and the memory goes to the cheapest one, or to soft
logic when that is cheaper (a ROM bit costs 1/16, a RAM bit 1) and allowed
(`rom_style = "block"` forbids it). A configuration of `mult_a` address ranges
of `unit` bits costs

    (cost - widthscale) * repl + widthscale * mult_a * width / unit
      + 0.5 * (mult_a - 1) * width              (the read multiplexer)

with repl = ceil(mult_a * width / unit) primitives. Yosys cannot put a ROM
into LUT RAM (the LUT RAM types are `prune_rom`), and block RAM reads are
synchronous only.

Other families (ECP5, iCE40, UltraScale+) have no table here: their block RAM
count is estimated from the same rule with the device's block size and no
logic fallback below it, and the estimate says so (`model` in report.json).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

LOGIC_COST_ROM = 1 / 16
LOGIC_COST_RAM = 1.0
FACTOR_MUX = 0.5


@dataclass(frozen=True)
class Memory:
    """One `reg [width-1:0] m [0:depth-1]` of a block's RTL."""
    name: str
    depth: int
    width: int
    rom: bool                 # no write port (initialized by $readmemh)
    sync_read: bool           # the read data or the read address is registered (a block RAM can hold it)
    block_only: bool = False  # rom_style / ram_style = "block"
    same_address: bool = False  # read and write share one address (single-port LUT RAM fits)
    data_reg: bool | None = None  # the read data is registered (FFs unless a block RAM holds them);
    #                               None: as sync_read. A FIFO's read has its address registered only.

    @property
    def read_reg(self) -> bool:
        return self.sync_read if self.data_reg is None else self.data_reg

    @property
    def bits(self) -> int:
        return self.depth * self.width


@dataclass(frozen=True)
class Placement:
    """What one memory occupies: `kind` is "bram", "lutram" or "logic"."""
    kind: str
    bram18: int = 0
    lut: int = 0              # LUT RAM cells (4 LUTs each on xc7)
    mux_bits: int = 0         # read multiplexer inputs beyond the first (width * (ranges - 1))
    logic_bits: int = 0       # bits left to soft logic (LUTs for a ROM's content, FFs for a RAM)
    cost: float = 0.0


@dataclass(frozen=True)
class RamConfig:
    name: str
    kind: str                 # "bram" or "lutram"
    abits: int                # address bits at the narrowest width (1 bit for block RAM)
    widths: tuple[int, ...]   # data widths, narrowest first; depth halves per step
    cost: float
    widthscale: float
    size18: int               # 18 Kb units per primitive (block RAM) or LUTs per cell (LUT RAM)
    ports: str                # "rom_ok": may hold a ROM; "sp": one read-write address; "dp": separate


# lutrams_xc5v.txt: every cell is one SLICEM (4 LUTs); `widths N global` is one width per depth.
_XC7_LUTRAM = (
    RamConfig("RAM32M SP", "lutram", 5, (8,), 8, 8, 4, "sp"),
    RamConfig("RAM64M SP", "lutram", 6, (4,), 8, 8, 4, "sp"),
    RamConfig("RAM128X1S", "lutram", 7, (2,), 8, 8, 4, "sp"),
    RamConfig("RAM256X1S", "lutram", 8, (1,), 8, 8, 4, "sp"),
    RamConfig("RAM32M DP", "lutram", 5, (4,), 8, 8, 4, "dp"),
    RamConfig("RAM64M DP", "lutram", 6, (2,), 8, 8, 4, "dp"),
    RamConfig("RAM128X1D", "lutram", 7, (1,), 8, 8, 4, "dp"),
    RamConfig("RAM32M QP", "lutram", 5, (2,), 7, 7, 4, "dp"),
    RamConfig("RAM64M QP", "lutram", 6, (1,), 7, 7, 4, "dp"),
    RamConfig("RAM32M SDP", "lutram", 5, (6,), 8, 7, 4, "dp"),
    RamConfig("RAM64M SDP", "lutram", 6, (3,), 8, 7, 4, "dp"),
)
# brams_xc4v.txt for xc7: RAMB18 ("HALF") and RAMB36 ("FULL"), true dual port up to 18 / 36 bits,
# simple dual port (mixed widths) up to 36 / 72; the cascade of two RAMB36 for 64K x 1..9.
_XC7_BRAM = (
    RamConfig("RAMB18 TDP", "bram", 14, (1, 2, 4, 9, 18), 129, 0, 1, "rom_ok"),
    RamConfig("RAMB18 SDP", "bram", 14, (1, 2, 4, 9, 18, 36), 129, 0, 1, "rom_ok"),
    RamConfig("RAMB36 TDP", "bram", 15, (1, 2, 4, 9, 18, 36), 257, 0, 2, "rom_ok"),
    RamConfig("RAMB36 SDP", "bram", 15, (1, 2, 4, 9, 18, 36, 72), 257, 0, 2, "rom_ok"),
    RamConfig("RAMB36 cascade", "bram", 16, (1, 2, 4, 9), 513, 0, 4, "rom_ok"),
)


def _best_config(mem: Memory, cfg: RamConfig) -> Placement | None:
    best = None
    for i, unit in enumerate(cfg.widths):
        depth = 1 << (cfg.abits - i)
        mult_a = math.ceil(mem.depth / depth)
        repl = math.ceil(mult_a * mem.width / unit)
        cost = (cfg.cost - cfg.widthscale) * repl + cfg.widthscale * mult_a * mem.width / unit
        cost += FACTOR_MUX * (mult_a - 1) * mem.width
        if best is None or cost < best.cost:
            mux = mem.width * (mult_a - 1)
            best = (Placement("bram", bram18=repl * cfg.size18, mux_bits=mux, cost=cost) if cfg.kind == "bram"
                    else Placement("lutram", lut=repl * cfg.size18, mux_bits=mux, cost=cost))
    return best


def _allowed(mem: Memory, cfg: RamConfig) -> bool:
    if cfg.kind == "bram":
        return mem.sync_read
    if mem.rom or mem.block_only:
        return False
    return cfg.ports == "dp" or mem.same_address


def place_xc7(mem: Memory) -> Placement:
    """The placement Yosys synth_xilinx (xc7) picks for `mem`."""
    options = [p for cfg in _XC7_LUTRAM + _XC7_BRAM if _allowed(mem, cfg) for p in [_best_config(mem, cfg)] if p]
    logic_cost = mem.bits * (LOGIC_COST_ROM if mem.rom else LOGIC_COST_RAM)
    if not mem.block_only or not options:
        options.append(Placement("logic", logic_bits=mem.bits, cost=logic_cost))
    # Yosys keeps the first cheapest: logic wins ties (its cost is the starting best).
    logic = [p for p in options if p.kind == "logic"]
    best = logic[0] if logic else None
    for p in options:
        if p.kind != "logic" and (best is None or p.cost < best.cost):
            best = p
    return best


# Per flow without a cost table: the widest block RAM port and the distributed RAM cell
# (depth, width, LUTs), None where the family has none.
GENERIC = {"ecp5": (36, (16, 4, 4)), "ice40": (16, None)}


def place_generic(mem: Memory, block_bits: int, flow: str) -> Placement:
    """Another family (not fitted): block RAM of `block_bits` per block, as wide as the port
    allows, for registered memories of at least half a block (or forced); distributed RAM
    cells for the others where the family has them, else logic. An approximation."""
    max_width, cell = GENERIC.get(flow, (36, None))
    if mem.sync_read and (mem.block_only or mem.bits * 2 >= block_bits):
        blocks = max(math.ceil(mem.bits / block_bits), math.ceil(mem.width / max_width))
        return Placement("bram", bram18=blocks * block_bits / (18 * 1024))
    if cell is not None and not mem.rom:
        depth, width, luts = cell
        return Placement("lutram", lut=math.ceil(mem.depth / depth) * math.ceil(mem.width / width) * luts)
    return Placement("logic", logic_bits=mem.bits)
