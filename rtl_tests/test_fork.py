"""hwcomp_fork: every beat exactly once at each output, in order, with the two
outputs stalling independently; one beat per cycle when nothing stalls."""
from __future__ import annotations

import numpy as np
import pytest

from cases_stream import FORK_UNITS, FORK_UNITS_SLOW, build_block, multi_case, run_multi_case

from hwcomp.hw.stream_ops import ForkUnit

IMAGES = 16
BEATS = 24                  # per image
SEED = 14


def run_fork(name: str, unit: ForkUnit) -> None:
    runner, top, out = build_block("fork", name, unit)
    rng = np.random.default_rng(SEED)
    words = [int(w) for w in rng.integers(0, 1 << 62, size=IMAGES * BEATS)]
    words = [w & ((1 << unit.width) - 1) for w in words]
    y0, y1 = unit.reference(np.array(words, dtype=object))
    case = multi_case(
        {"s_axis": words}, {"m0_axis": y0, "m1_axis": y1},
        images=IMAGES, cycles_per_image=unit.cycles(BEATS), latency=unit.latency, seed=SEED,
    )
    run_multi_case(runner, top, out / "run", case)


@pytest.mark.rtl
@pytest.mark.parametrize("name", FORK_UNITS)
def test_fork(name: str) -> None:
    run_fork(name, FORK_UNITS[name])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", FORK_UNITS_SLOW)
def test_fork_slow(name: str) -> None:
    run_fork(name, FORK_UNITS_SLOW[name])
