"""Register stages a unit needs for a clock target.

The matrix-vector unit's datapath is a chain: the weight ROM's read (block
RAM clock-to-output), the multipliers, a balanced adder tree, the accumulator,
the activation. `mvu_pipeline` cuts that chain where a clock period runs out,
from the delays below, so a lower clock target gets fewer flip-flops. The
delays are ECP5 (speed grade 6, nextpnr's timing model) as measured on the
example designs (benchmarks/fmax.py); other families are of the same order.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CLOCK_MHZ = 100.0

# Nanoseconds. A register-to-register path pays clock-to-output, setup and the
# routing into and out of its logic: OVERHEAD_NS.
OVERHEAD_NS = 2.0
EBR_EXTRA_NS = 5.3             # DP16KD read without its output register, beyond a flip-flop's
MULT_NS = 7.0                  # MULT18X18D, with the routing of operands fanned out to every lane
MULT_CORE_NS = 3.9             # MULT18X18D alone
FAR_ROUTE_NS = 4.6             # a net across the die, to or from a multiplier
ADD_LEVEL_NS = 1.6             # one adder tree level: a LUT, a short carry chain, routing
ADD_BIT_NS = 0.06              # carry per bit of an adder
ACT_NS = 2.5                   # requantize / threshold logic beyond its adders
# Beyond this many multipliers in a design nextpnr spreads them over the
# ECP5-85k's DSP rows (156 in all), far from the block RAMs and the adders.
FAR_MULTIPLIERS = 64


@dataclass(frozen=True)
class MvuPipeline:
    """The optional register stages of hwcomp_mvu (see its header comment)."""
    op_reg: int = 0           # weight and input words registered once or twice more after the ROM
    prod_reg: int = 0         # products registered once or twice
    tree_levels: int = 8      # adder tree levels per register stage (>= the tree's depth: none)
    act_reg: int = 0          # activation registered before the output FIFO

    def tree_regs(self, simd: int) -> int:
        levels = (simd - 1).bit_length()
        return (levels - 1) // self.tree_levels if levels > 0 else 0

    def extra_latency(self, simd: int) -> int:
        """Cycles these stages add to the unit's latency."""
        return self.op_reg + self.prod_reg + self.tree_regs(simd) + self.act_reg

    def parameters(self) -> tuple[tuple[str, int], ...]:
        return (("OP_REG", self.op_reg), ("PROD_REG", self.prod_reg), ("TREE_LEVELS", self.tree_levels),
                ("ACT_REG", self.act_reg))


def period_ns(clock_mhz: float) -> float:
    if not clock_mhz > 0:
        raise ValueError(f"clock must be > 0 MHz, got {clock_mhz}")
    return 1000.0 / clock_mhz


def adder_ns(width: int) -> float:
    return ADD_LEVEL_NS + ADD_BIT_NS * width


def popcount_ns(simd: int) -> float:
    """XNOR and a popcount of `simd` bits: about one LUT level per doubling."""
    return ADD_LEVEL_NS * max(1, (simd - 1).bit_length())


def xnor_pipeline(clock_mhz: float, simd: int) -> MvuPipeline:
    """hwcomp_xnor_mvu has one optional stage: S1b, between the ROM and the popcount."""
    budget = period_ns(clock_mhz) - OVERHEAD_NS
    return MvuPipeline(op_reg=int(EBR_EXTRA_NS + popcount_ns(simd) > budget), tree_levels=64)


# A FIFO deeper than a LUT RAM (16 words) and this large is block RAM in Yosys' ECP5 flow.
FIFO_BRAM_BITS = 1024
CONSUMER_NS = 3.0              # what a consumer does with a FIFO's word before its first register


def fifo_out_reg(clock_mhz: float, depth: int, width: int) -> int:
    """1 when a FIFO's block RAM read feeds its consumer's logic for longer than a period."""
    budget = period_ns(clock_mhz) - OVERHEAD_NS
    bram = depth > 16 and depth * width >= FIFO_BRAM_BITS
    return int(bram and EBR_EXTRA_NS + CONSUMER_NS > budget)


def mvu_pipeline(clock_mhz: float, simd: int, acc_width: int, multipliers: int = 0) -> MvuPipeline:
    """The fewest stages for which every path of the unit fits one clock period:
    walk the chain ROM -> multiplier -> tree levels and cut where the period runs out.
    `multipliers`: the design's total; many of them lie far from their operands."""
    budget = period_ns(clock_mhz) - OVERHEAD_NS
    levels = (simd - 1).bit_length()
    add = adder_ns(acc_width)
    per_stage = max(1, int(budget // add))           # tree levels a stage of its own holds
    act_reg = int(add + ACT_NS > budget)
    if multipliers > FAR_MULTIPLIERS and FAR_ROUTE_NS + MULT_CORE_NS > budget:
        # Operands and products cross the die: a register at each end of both nets.
        return MvuPipeline(2, 2 if levels > 0 else 1, min(per_stage, max(levels, 1)), act_reg)
    op_reg = int(EBR_EXTRA_NS + MULT_NS > budget)
    t = MULT_NS + (0 if op_reg else EBR_EXTRA_NS)   # the path so far into the tree
    prod_reg = int(levels > 0 and t + min(per_stage, levels) * add > budget)
    if prod_reg:
        tree_levels = per_stage
    else:
        # The first tree stage also holds the multiplier.
        tree_levels = max(1, int(max(budget - t, 0.0) // add))
    tree_levels = min(tree_levels, max(levels, 1))
    return MvuPipeline(op_reg, prod_reg, tree_levels, act_reg)
