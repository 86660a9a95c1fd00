"""hwcomp_swu against swu_reference: bit exact over back-to-back images under
random gaps and stalls, and cycles per image within 5% of swu_cycles."""
from __future__ import annotations

import pytest

from cases_window import CYCLE_TOLERANCE, SWU_CASES, SWU_CASES_SLOW, SwuCase, run_window_case, swu_stream_case
from sim_builds import BUILD_ROOT, TEMPLATES, build, safe_name

from hwcomp.backends.verilog import parameter_literals

SEED = 3


def run_swu(case: SwuCase) -> None:
    name = safe_name(f"swu_{case.name}")
    runner = build(name, [TEMPLATES / "hwcomp_fifo.v", TEMPLATES / "hwcomp_swu.v"], "hwcomp_swu",
                   dict(parameter_literals(case.params)))
    stream = swu_stream_case(case, SEED)
    measured = run_window_case(runner, "hwcomp_swu", BUILD_ROOT / name / "run", stream)
    assert abs(measured["measured"] - stream["ii"]) <= CYCLE_TOLERANCE * stream["ii"], measured


@pytest.mark.rtl
@pytest.mark.parametrize("case", SWU_CASES, ids=lambda c: c.name)
def test_swu(case: SwuCase) -> None:
    run_swu(case)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("case", SWU_CASES_SLOW, ids=lambda c: c.name)
def test_swu_slow(case: SwuCase) -> None:
    run_swu(case)
