"""The RTL test matrix of the feature-map stream blocks, defined once, and the
helpers that build a block and run a case on it.

Each entry is a block of hwcomp/hw/stream_ops.py, which fixes every HDL
parameter: one Verilator build per entry. The default run builds six (pool
max and average, global pool, add, fork, concat); the rest run under `slow`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from cocotb_tools.runner import Runner

from sim_builds import BUILD_ROOT, TEMPLATES, build, safe_name

from hwcomp.backends.verilog import parameter_literals
from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.numerics import int_range
from hwcomp.hw.stream_ops import MAX, SUM, AddUnit, ConcatUnit, ForkUnit, GlobalPoolUnit, PoolUnit, Scale

# ---------------------------------------------------------------- the matrix
POOL_UNITS = {
    # 3x3 max, signed, C = 5 over 3 beats of 2 lanes (a zero tail lane)
    "max3x3_s4_c5x2": PoolUnit(MAX, 9, 5, 2, 4, True),
    # 3x3 average times 2 (binary point moved by one): MULT/SHIFT ~ 2/9, one beat
    # per position, saturating at 31 for about half the windows
    "avg3x3_u5_c3x4_sat": PoolUnit.average(9, 3, 4, 5, False, 6, True, frac_shift=1),
    # 2x2 max of bits, 128 channels on 12 lanes (CF 11, 4 zero tail lanes): a binary CNN's pool
    "max2x2_u1_c128x12": PoolUnit(MAX, 4, 128, 12, 1, False),
}
POOL_UNITS_SLOW = {
    "max2x2_u3_c4x4": PoolUnit(MAX, 4, 4, 4, 3, False),
    "avg2x2_s8_c7x4": PoolUnit.average(4, 7, 4, 8, True, 8, True),          # MULT = 1, SHIFT = 2
    "avg5x5_s6_c3x1": PoolUnit.average(25, 3, 1, 6, True, 4, True),         # narrow output
    # sum >> shift rounded as a QONNX Trunc says: half to even, floor, ceil, half down
    "sum2x2_s5_c3x2_half_even": PoolUnit(SUM, 4, 3, 2, 5, True, Scale(1, 2, 5, True, -16, 15, rounding="half_even")),
    "sum3x3_u4_c2x2_floor": PoolUnit(SUM, 9, 2, 2, 4, False, Scale(1, 4, 3, False, 0, 7, rounding="floor")),
    "sum2x2_s4_c2x1_ceil": PoolUnit(SUM, 4, 2, 1, 4, True, Scale(1, 3, 3, True, -4, 3, rounding="ceil")),
    "sum2x2_s4_c2x1_half_down": PoolUnit(SUM, 4, 2, 1, 4, True, Scale(1, 1, 5, True, -16, 15, rounding="half_down")),
    # lanes that do not divide the channels: 128 on 3 (CF 43), an average of 128 on 12 (CF 11)
    "max2x2_s2_c128x3": PoolUnit(MAX, 4, 128, 3, 2, True),
    "avg3x3_s4_c128x12": PoolUnit.average(9, 128, 12, 4, True, 4, True),
}
GAP_UNITS = {
    # GlobalAveragePool over 3x4 pixels, C = 6 in 2 beats of 4 lanes
    "gavg12_s6_c6x4": GlobalPoolUnit.average(12, 6, 4, 6, True, 6, True),
}
GAP_UNITS_SLOW = {
    "gmax9_u5_c3x1": GlobalPoolUnit(MAX, 9, 3, 1, 5, False),
    "gavg49_u8_c8x8": GlobalPoolUnit.average(49, 8, 8, 8, False, 8, False),
    "gavg4_u2_c128x12": GlobalPoolUnit.average(4, 128, 12, 2, False, 2, False),   # CF 11, 4 tail lanes
}
ADD_UNITS = {
    # int4 << 2 plus uint5, >> 1 with rounding, ReLU, saturate to [0, 12] in 4 bits
    "s4sh2_u5_l3_c7_relu": AddUnit(7, 3, 4, True, 5, False, 2, 0, Scale(1, 1, 4, False, 0, 12, relu=True)),
}
ADD_UNITS_SLOW = {
    "s8_s8sh1_l4_c4": AddUnit(4, 4, 8, True, 8, True, 0, 1, Scale.to_type(1, 0, 10, True)),
    "u3_u3_l1_c3_sh3": AddUnit(3, 1, 3, False, 3, False, 0, 0, Scale.to_type(1, 3, 2, False)),
}
FORK_UNITS = {
    "w12_d2_d3": ForkUnit(12, 2, 3),
}
FORK_UNITS_SLOW = {
    "w64_d2_d16": ForkUnit(64, 2, 16),
}
CONCAT_UNITS = {
    # C0 = 3 (2 beats, a zero tail lane in the middle), C1 = 5 (3 beats)
    "l2_w5_c3_c5": ConcatUnit(2, 5, 3, 5),
}
CONCAT_UNITS_SLOW = {
    "l4_w8_c4_c4": ConcatUnit(4, 8, 4, 4),
    "l1_w3_c3_c1": ConcatUnit(1, 3, 3, 1),
}


# ---------------------------------------------------------------- helpers

def build_block(kind: str, name: str, unit) -> tuple[Runner, str, Path]:
    """Build `unit` once per process; return the runner, the HDL top and its directory."""
    module = block_of_unit(unit).hdl(unit, name)
    build_name = safe_name(f"{kind}_{name}")
    runner = build(build_name, [TEMPLATES / s for s in module.sources], module.module,
                   dict(parameter_literals(unit, name)))
    return runner, module.module, BUILD_ROOT / build_name


def random_values(rng: np.random.Generator, width: int, signed: bool, shape) -> np.ndarray:
    lo, hi = int_range(width, signed)
    return rng.integers(lo, hi, size=shape, endpoint=True)


def multi_case(sources: dict[str, object], sinks: dict[str, object], *, images: int,
               cycles_per_image: int, latency: int, seed: int) -> dict:
    """What multi_stream_tb.py reads: words per port, images, cycle model.

    span: cycles from the first input handshake to the last output handshake
    at full rate, images * cycles_per_image - 1 + latency.
    """
    def ports(d):
        return [{"port": p, "words": [int(w) for w in np.asarray(ws).ravel()]} for p, ws in d.items()]

    return {
        "sources": ports(sources), "sinks": ports(sinks), "images": images,
        "cycles_per_image": cycles_per_image, "span": images * cycles_per_image - 1 + latency, "seed": seed,
    }


def run_multi_case(runner: Runner, toplevel: str, case_dir: Path, case: dict) -> dict:
    """Run multi_stream_tb on case_dir; return what it measured (measured.json)."""
    case_dir.mkdir(parents=True, exist_ok=True)
    case_file = case_dir / "case.json"
    case_file.write_text(json.dumps(case))
    measured = case_dir / "measured.json"
    measured.unlink(missing_ok=True)
    runner.test(
        test_module="multi_stream_tb",
        hdl_toplevel=toplevel,
        test_dir=case_dir,
        extra_env={"HWCOMP_CASE": str(case_file)},
    )
    return json.loads(measured.read_text())
