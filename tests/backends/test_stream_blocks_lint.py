"""The feature-map stream blocks pass `verilator --lint-only -Wall` with no
warnings and no waivers, at corners that select every generate branch; the
parameters come from each block's HDL description (hwcomp.hw.blocks) rendered by
hwcomp.backends.verilog, as in a generated design."""
from __future__ import annotations

import subprocess

import pytest

from hwcomp.backends.verilog import parameter_literals
from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.stream_ops import MAX, SUM, AddUnit, ConcatUnit, ForkUnit, GlobalPoolUnit, PoolUnit, Scale
from hwcomp.resources import templates_dir
from hwcomp.sim.toolchain import ensure_verilator

pytestmark = pytest.mark.rtl

CORNERS = {
    # pooling: max signed / unsigned, sum with and without a multiplier and shift,
    # one position, one channel fold, a sum no wider than the input (WINDOW = 1)
    "pool_max_signed": PoolUnit(MAX, 9, 5, 2, 4, True),
    "pool_max_unsigned_cf1": PoolUnit(MAX, 4, 4, 4, 3, False),
    "pool_max_window1": PoolUnit(MAX, 1, 3, 2, 8, True),
    "pool_avg_mult": PoolUnit.average(9, 3, 4, 5, False, 6, True, frac_shift=1),
    "pool_avg_pow2": PoolUnit.average(4, 7, 4, 8, True, 8, True),
    "pool_sum_window1_wide_out": PoolUnit(SUM, 1, 2, 2, 4, True, Scale.to_type(1, 0, 12, True)),
    "pool_sum_shift_beyond_product": PoolUnit(SUM, 4, 2, 1, 3, False, Scale.to_type(3, 12, 3, False)),
    # the other roundings of the shift (a QONNX Trunc after average pooling)
    "pool_sum_half_even": PoolUnit(SUM, 4, 3, 2, 4, True, Scale(1, 2, 4, True, -8, 7, rounding="half_even")),
    "pool_sum_floor_narrow_out": PoolUnit(SUM, 9, 2, 2, 4, False, Scale(1, 4, 3, False, 0, 7, rounding="floor")),
    "pool_sum_ceil_shift_beyond_product": PoolUnit(SUM, 4, 2, 1, 3, False,
                                                   Scale(3, 12, 3, False, 0, 7, rounding="ceil")),
    "gap_half_down": GlobalPoolUnit(SUM, 16, 3, 1, 5, True, Scale(1, 3, 6, True, -32, 31, rounding="half_down")),
    "gap_max": GlobalPoolUnit(MAX, 9, 3, 1, 5, False),
    "gap_avg": GlobalPoolUnit.average(49, 8, 8, 8, False, 8, False),
    # add: mixed signedness, shifts on either side, ReLU, output wider than the sum
    "add_relu_shift": AddUnit(7, 3, 4, True, 5, False, 2, 0, Scale(1, 1, 4, False, 0, 12, relu=True)),
    "add_signed_no_shift": AddUnit(4, 4, 8, True, 8, True, 0, 1, Scale.to_type(1, 0, 10, True)),
    "add_unsigned_wide_out": AddUnit(1, 1, 2, False, 3, False, 0, 0, Scale.to_type(1, 0, 16, False)),
    "fork": ForkUnit(12, 2, 3),
    "fork_one_bit_deep": ForkUnit(1, 2, 16),
    "concat": ConcatUnit(2, 5, 3, 5),
    "concat_one_beat_each": ConcatUnit(4, 8, 4, 4),
    "concat_one_lane": ConcatUnit(1, 3, 3, 1),
}


def module_name(unit) -> str:
    return block_of_unit(unit).hdl(unit, "unit").module


def lint(unit) -> str:
    module = block_of_unit(unit).hdl(unit, "unit")
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", module.module]
    cmd += [f"-G{k}={v}" for k, v in parameter_literals(unit)]
    cmd += [str(templates_dir() / s) for s in module.sources]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
    return module.module


@pytest.mark.parametrize("corner", CORNERS, ids=str)
def test_stream_block_lint(corner: str) -> None:
    lint(CORNERS[corner])


def test_every_block_is_linted() -> None:
    names = {module_name(u) for u in CORNERS.values()}
    assert names == {"hwcomp_pool", "hwcomp_gap", "hwcomp_add", "hwcomp_fork", "hwcomp_concat"}
