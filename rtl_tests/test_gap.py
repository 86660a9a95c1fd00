"""hwcomp_gap against GlobalPoolUnit.reference: bit exact under stalls, and on
the cycle model (PIXELS*CF cycles per image, images back to back)."""
from __future__ import annotations

import numpy as np
import pytest

from cases import stream_case
from cases_stream import GAP_UNITS, GAP_UNITS_SLOW, build_block, random_values
from sim_builds import run_case

from hwcomp.hw.design import pack_beats
from hwcomp.hw.stream_ops import GlobalPoolUnit

IMAGES = 16
SEED = 12


def run_gap(name: str, unit: GlobalPoolUnit) -> None:
    runner, top, out = build_block("gap", name, unit)
    rng = np.random.default_rng(SEED)
    images = random_values(rng, unit.in_width, unit.in_signed, (IMAGES, unit.pixels, unit.channels))
    in_words = pack_beats(images.reshape(-1, unit.channels), unit.lanes, unit.in_width)
    case = stream_case(
        in_words,
        pack_beats(unit.reference(images), unit.lanes, unit.out_width),
        in_beats=unit.pixels * unit.cf,
        out_beats=unit.cf,
        ii=unit.cycles(),
        span=in_words.size - 1 + unit.latency,
        seed=SEED,
    )
    run_case(runner, top, out / "run", case)


@pytest.mark.rtl
@pytest.mark.parametrize("name", GAP_UNITS)
def test_gap(name: str) -> None:
    run_gap(name, GAP_UNITS[name])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", GAP_UNITS_SLOW)
def test_gap_slow(name: str) -> None:
    run_gap(name, GAP_UNITS_SLOW[name])
