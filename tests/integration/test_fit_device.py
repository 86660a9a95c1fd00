"""compile --device / --target-fps: the folding comes from the resource model
(hw/fit.py with hw/resource_model.py), and report.json says why."""
import json
import subprocess
import sys

import pytest

from hwcomp import compile_model
from hwcomp.devices import device
from hwcomp.errors import HwcompError


def fitted(tmp_path, digits_mlp, name, **kw):
    return compile_model(digits_mlp["onnx"], tmp_path / name, calib=digits_mlp["calib"], **kw).report


def test_device_folds_for_the_fastest_design_within_the_budget(tmp_path, digits_mlp):
    rep = fitted(tmp_path, digits_mlp, "a35t", device="xc7a35t")
    fit, res, dev = rep["fit"], rep["resources"], device("xc7a35t")
    assert fit["mode"] == "device" and fit["ii"] == rep["totals"]["expected_ii_cycles"]
    assert all(res[k] <= 0.8 * dev.capacity[k] for k in ("lut", "ff", "dsp", "bram18"))
    assert {k: res[k] for k in fit["estimate"]} == fit["estimate"]   # the record is the report's estimate
    # the next faster folding tried did not fit, and the record names the resource
    faster = [p for p in fit["probes"] if p["ii"] < fit["ii"]]
    assert faster and not any(p["fits"] for p in faster) and "would need" in fit["why"]
    page = (tmp_path / "a35t" / "report.html").read_text(encoding="utf-8")
    assert "Chosen by the resource estimate: II" in page


def test_a_bigger_device_gets_a_faster_design_and_a_frame_rate_a_smaller_one(tmp_path, digits_mlp):
    small = fitted(tmp_path, digits_mlp, "a35t", device="xc7a35t")
    big = fitted(tmp_path, digits_mlp, "z020", device="xc7z020")
    rate = fitted(tmp_path, digits_mlp, "fps", device="xc7z020", target_fps=500_000, clock_mhz=100)
    ii = {n: r["totals"]["expected_ii_cycles"] for n, r in (("small", small), ("big", big), ("rate", rate))}
    assert ii["big"] < ii["small"] and ii["big"] < ii["rate"] <= 200   # 500,000 frames/s at 100 MHz
    assert rate["resources"]["lut"] < big["resources"]["lut"] and rate["fit"]["mode"] == "target_fps"
    assert rate["options"]["target_fps"] == 500_000 and "fewest lanes reaching" in rate["fit"]["why"]


def test_without_device_or_rate_the_default_folding_stands(tmp_path, digits_mlp):
    rep = fitted(tmp_path, digits_mlp, "plain")
    assert rep["fit"] is None and rep["resources"]["device"] == "xc7z020"
    ii = fitted(tmp_path, digits_mlp, "ii", device="xc7a35t", target_ii=64)
    assert ii["fit"] is None and ii["resources"]["device"] == "xc7a35t" and ii["totals"]["expected_ii_cycles"] <= 64


@pytest.mark.parametrize("kw, message", [
    ({"target_fps": 1000, "target_ii": 64}, "not both"),
    ({"max_util": 0.5}, "give --device too"),
    ({"device": "xc7a35t", "max_util": 0.0001}, r"does not fit xc7a35t at 0% .*short"),
    ({"target_fps": 1e12}, "the fastest folding takes"),
])
def test_goals_that_cannot_be_met_are_one_error(tmp_path, digits_mlp, kw, message):
    with pytest.raises(HwcompError, match=message):
        fitted(tmp_path, digits_mlp, "bad", **kw)
    assert not (tmp_path / "bad").exists()


def test_cli_prints_why_the_folding(tmp_path, digits_mlp):
    p = subprocess.run([sys.executable, "-m", "hwcomp", "compile", str(digits_mlp["onnx"]), "--calib",
                        str(digits_mlp["calib"]), "-o", str(tmp_path / "b"), "--device", "xc7a35t"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "folding: II" in p.stdout and "fastest folding within 80% of xc7a35t" in p.stdout
    assert json.loads((tmp_path / "b" / "report.json").read_text())["options"]["max_util"] == 0.8
