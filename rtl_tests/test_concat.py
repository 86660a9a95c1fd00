"""hwcomp_concat against ConcatUnit.reference: per pixel CF0 beats of s0 then
CF1 beats of s1, bit exact under independent gaps and stalls, and on the cycle
model ((CF0 + CF1) cycles per pixel)."""
from __future__ import annotations

import numpy as np
import pytest

from cases_stream import CONCAT_UNITS, CONCAT_UNITS_SLOW, build_block, multi_case, random_values, run_multi_case

from hwcomp.hw.design import pack_beats
from hwcomp.hw.stream_ops import ConcatUnit

IMAGES = 10
PIXELS = 9                  # 3x3
SEED = 15


def run_concat(name: str, unit: ConcatUnit) -> None:
    runner, top, out = build_block("concat", name, unit)
    rng = np.random.default_rng(SEED)
    a = random_values(rng, unit.elem_width, False, (IMAGES * PIXELS, unit.channels0))
    b = random_values(rng, unit.elem_width, False, (IMAGES * PIXELS, unit.channels1))
    w, lanes = unit.elem_width, unit.lanes
    case = multi_case(
        {"s0_axis": pack_beats(a, lanes, w), "s1_axis": pack_beats(b, lanes, w)},
        {"m_axis": pack_beats(unit.reference(a, b), lanes, w)},
        images=IMAGES, cycles_per_image=unit.cycles(PIXELS), latency=unit.latency, seed=SEED,
    )
    run_multi_case(runner, top, out / "run", case)


@pytest.mark.rtl
@pytest.mark.parametrize("name", CONCAT_UNITS)
def test_concat(name: str) -> None:
    run_concat(name, CONCAT_UNITS[name])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", CONCAT_UNITS_SLOW)
def test_concat_slow(name: str) -> None:
    run_concat(name, CONCAT_UNITS_SLOW[name])
