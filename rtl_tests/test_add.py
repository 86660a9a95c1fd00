"""hwcomp_add against AddUnit.reference: bit exact with independent gaps on
both inputs and stalls on the output, and on the cycle model."""
from __future__ import annotations

import numpy as np
import pytest

from cases_stream import ADD_UNITS, ADD_UNITS_SLOW, build_block, multi_case, random_values, run_multi_case

from hwcomp.hw.design import pack_beats
from hwcomp.hw.stream_ops import AddUnit

IMAGES = 12
PIXELS = 16                 # 4x4
SEED = 13


def run_add(name: str, unit: AddUnit) -> None:
    runner, top, out = build_block("add", name, unit)
    rng = np.random.default_rng(SEED)
    shape = (IMAGES * PIXELS, unit.channels)
    a = random_values(rng, unit.in0_width, unit.in0_signed, shape)
    b = random_values(rng, unit.in1_width, unit.in1_signed, shape)
    case = multi_case(
        {"s0_axis": pack_beats(a, unit.lanes, unit.in0_width), "s1_axis": pack_beats(b, unit.lanes, unit.in1_width)},
        {"m_axis": pack_beats(unit.reference(a, b), unit.lanes, unit.out_width)},
        images=IMAGES, cycles_per_image=unit.cycles(PIXELS), latency=unit.latency, seed=SEED,
    )
    run_multi_case(runner, top, out / "run", case)


@pytest.mark.rtl
@pytest.mark.parametrize("name", ADD_UNITS)
def test_add(name: str) -> None:
    run_add(name, ADD_UNITS[name])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", ADD_UNITS_SLOW)
def test_add_slow(name: str) -> None:
    run_add(name, ADD_UNITS_SLOW[name])
