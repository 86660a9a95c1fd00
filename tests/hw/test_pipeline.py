"""hw/pipeline.py: the register stages a clock target adds to the matrix-vector units."""
from __future__ import annotations

import pytest

from hwcomp.hw.pipeline import MvuPipeline, mvu_pipeline, period_ns, xnor_pipeline


def stages(p: MvuPipeline, simd: int) -> int:
    return p.extra_latency(simd)


@pytest.mark.parametrize("simd", [1, 2, 5, 8, 32, 64])
def test_a_faster_clock_never_takes_fewer_stages(simd: int) -> None:
    clocks = [10, 25, 50, 75, 100, 125, 150, 200]
    counts = [stages(mvu_pipeline(c, simd, 20), simd) for c in clocks]
    assert counts == sorted(counts)


def test_a_slow_clock_adds_nothing() -> None:
    for simd in (1, 2, 8, 32):
        assert stages(mvu_pipeline(20, simd, 20), simd) == 0
        assert xnor_pipeline(20, simd).op_reg == 0


def test_100_mhz_registers_the_rom_output_and_the_products() -> None:
    p = mvu_pipeline(100, 8, 20)
    assert (p.op_reg, p.prod_reg) == (1, 1)
    # A register every tree_levels levels: (3 - 1) // tree_levels of them for SIMD 8.
    assert p.tree_regs(8) == (3 - 1) // p.tree_levels


def test_serial_lanes_have_no_tree_registers() -> None:
    for clock in (50, 100, 200):
        p = mvu_pipeline(clock, 1, 24)
        assert p.prod_reg == 0 and p.tree_regs(1) == 0


def test_tree_registers_follow_tree_levels() -> None:
    assert MvuPipeline(tree_levels=1).tree_regs(32) == 4     # 5 levels, the last feeds the dot register
    assert MvuPipeline(tree_levels=2).tree_regs(32) == 2
    assert MvuPipeline(tree_levels=5).tree_regs(32) == 0
    assert MvuPipeline(tree_levels=1).tree_regs(5) == 2      # 3 levels, an odd tree
    assert MvuPipeline(1, 1, 1, 1).extra_latency(5) == 5


def test_parameters_name_the_template_parameters() -> None:
    assert dict(MvuPipeline(1, 0, 3, 1).parameters()) == {"OP_REG": 1, "PROD_REG": 0, "TREE_LEVELS": 3, "ACT_REG": 1}


def test_clock_must_be_positive() -> None:
    with pytest.raises(ValueError):
        period_ns(0)


def test_many_multipliers_get_a_register_at_each_end_of_their_nets() -> None:
    near, far = mvu_pipeline(100, 8, 20, multipliers=48), mvu_pipeline(100, 8, 20, multipliers=134)
    assert (far.op_reg, far.prod_reg) == (2, 2) and (near.op_reg, near.prod_reg) == (1, 1)
    assert mvu_pipeline(40, 8, 20, multipliers=134).op_reg < 2    # a slow clock needs no second register
