"""hwcomp_fifo: order kept under stalls, one word per cycle, exactly DEPTH words held."""
from __future__ import annotations

import numpy as np
import pytest

from cases import FIFO_DEPTHS, FIFO_DEPTHS_SLOW, stream_case
from sim_builds import BUILD_ROOT, TEMPLATES, build, run_case

WIDTH = 12
WORDS = 200


def run_fifo(depth: int, out_reg: int = 0) -> None:
    name = f"fifo_w{WIDTH}_d{depth}" + ("_outreg" if out_reg else "")
    runner = build(name, [TEMPLATES / "hwcomp_fifo.v"], "hwcomp_fifo",
                   {"WIDTH": WIDTH, "DEPTH": depth, "OUT_REG": out_reg})
    words = np.random.default_rng(depth).integers(0, 1 << WIDTH, size=WORDS)
    # A word pushed at one edge can be popped at the next (OUT_REG: 3 edges
    # later, through the read and output registers, which hold two more words).
    # tready comes from registers only, so a one-word memory cannot refill while it drains.
    ii = 2 if depth == 1 else 1
    case = stream_case(words, words, in_beats=1, out_beats=1, ii=ii, span=ii * (WORDS - 1) + 1 + 2 * out_reg,
                       seed=depth, capacity=depth + 2 * out_reg)
    run_case(runner, "hwcomp_fifo", BUILD_ROOT / name / "run", case)


@pytest.mark.rtl
@pytest.mark.parametrize("depth", FIFO_DEPTHS)
def test_fifo(depth: int) -> None:
    run_fifo(depth)


@pytest.mark.rtl
@pytest.mark.parametrize("depth", [1, 2, 5, 64])
def test_fifo_out_reg(depth: int) -> None:
    run_fifo(depth, out_reg=1)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("depth", FIFO_DEPTHS_SLOW)
def test_fifo_slow(depth: int) -> None:
    run_fifo(depth)
