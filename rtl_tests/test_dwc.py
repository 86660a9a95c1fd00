"""hwcomp_dwc against dwc_reference: bit exact under random gaps and stalls
(garbage in the input tail lanes), and cycles per vector within 5% of dwc_cycles."""
from __future__ import annotations

import pytest

from cases_window import CYCLE_TOLERANCE, DWC_CASES, DWC_CASES_SLOW, DwcCase, dwc_stream_case, run_window_case
from sim_builds import BUILD_ROOT, TEMPLATES, build, safe_name

from hwcomp.backends.verilog import parameter_literals

SEED = 5


def run_dwc(case: DwcCase) -> None:
    name = safe_name(case.name)
    runner = build(name, [TEMPLATES / "hwcomp_fifo.v", TEMPLATES / "hwcomp_dwc.v"], "hwcomp_dwc",
                   dict(parameter_literals(case.params)))
    stream = dwc_stream_case(case, SEED)
    measured = run_window_case(runner, "hwcomp_dwc", BUILD_ROOT / name / "run", stream)
    assert abs(measured["measured"] - stream["ii"]) <= CYCLE_TOLERANCE * stream["ii"], measured


@pytest.mark.rtl
@pytest.mark.parametrize("case", DWC_CASES, ids=lambda c: c.name)
def test_dwc(case: DwcCase) -> None:
    run_dwc(case)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("case", DWC_CASES_SLOW, ids=lambda c: c.name)
def test_dwc_slow(case: DwcCase) -> None:
    run_dwc(case)
