import pytest

from hwcomp.cli import main
from hwcomp.sim.selftest import run_selftest


@pytest.mark.rtl
def test_selftest_simulates_a_generated_design_exactly(capsys):
    r = run_selftest(vectors=8)
    assert r.mismatches == 0 and r.vectors == 8 and r.cache.name == "sim"
    assert main(["selftest"]) == 0
    assert capsys.readouterr().out.strip().endswith("ok")
