"""hwcomp_pool against PoolUnit.reference: bit exact under stalls, and on the cycle model.

Windows come straight from the input type's range, WINDOW*CF beats per output
pixel in (position, channel fold) order, 12 images of 2x2 output pixels back
to back. One Verilator build per entry of the matrix.
"""
from __future__ import annotations

import numpy as np
import pytest

from cases import stream_case
from cases_stream import POOL_UNITS, POOL_UNITS_SLOW, build_block, random_values
from sim_builds import run_case

from hwcomp.hw.design import pack_beats
from hwcomp.hw.stream_ops import PoolUnit

OUT_PIXELS = 48
SEED = 11


def run_pool(name: str, unit: PoolUnit) -> None:
    runner, top, out = build_block("pool", name, unit)
    rng = np.random.default_rng(SEED)
    windows = random_values(rng, unit.in_width, unit.in_signed, (OUT_PIXELS, unit.window, unit.channels))
    in_words = pack_beats(windows.reshape(-1, unit.channels), unit.lanes, unit.in_width)
    case = stream_case(
        in_words,
        pack_beats(unit.reference(windows), unit.lanes, unit.out_width),
        in_beats=unit.window * unit.cf,
        out_beats=unit.cf,
        ii=unit.cycles(out_pixels=1),
        span=in_words.size - 1 + unit.latency,
        seed=SEED,
    )
    run_case(runner, top, out / "run", case)


@pytest.mark.rtl
@pytest.mark.parametrize("name", POOL_UNITS)
def test_pool(name: str) -> None:
    run_pool(name, POOL_UNITS[name])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("name", POOL_UNITS_SLOW)
def test_pool_slow(name: str) -> None:
    run_pool(name, POOL_UNITS_SLOW[name])
