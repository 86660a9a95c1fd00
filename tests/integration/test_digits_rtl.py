"""ONNX -> Verilog -> Verilator over the whole digits test split, checked against the executor."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwcomp import compile_model, simulate_build
from hwcomp.outdir import read_manifest

pytestmark = pytest.mark.rtl
ROOT = Path(__file__).resolve().parents[2]


def check_quality(sim, min_util=0.9):
    assert sim["samples"] == 360
    assert sim["mismatches"] == 0 and sim["bit_exact"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    assert abs(sim["accuracy_fixed"] - sim["accuracy_float"]) <= 0.01
    assert sim["pe_utilization"] >= min_util
    assert sim["ii_cycles"] == sim["expected_ii_cycles"]


def test_digits_mlp_w8a8_bit_exact_over_test_split(tmp_path, digits_mlp):
    out = tmp_path / "build"
    compile_model(digits_mlp["onnx"], out, calib=digits_mlp["calib"])
    sim = simulate_build(out, digits_mlp["test"])
    check_quality(sim)
    assert json.loads((out / "sim.json").read_text()) == sim


def test_odd_widths_bit_exact_under_backpressure(tmp_path, digits_odd_mlp):
    out = tmp_path / "build"
    compile_model(digits_odd_mlp["onnx"], out, calib=digits_odd_mlp["calib"])
    check_quality(simulate_build(out, digits_odd_mlp["test"]))
    stalled = simulate_build(out, digits_odd_mlp["test"], stall_prob=0.5, seed=7)
    assert stalled["bit_exact"] and stalled["total_cycles"] > 0


def test_cli_simulate_exit_status_and_sim_json(tmp_path, digits_mlp):
    out = tmp_path / "build"
    compile_model(digits_mlp["onnx"], out, calib=digits_mlp["calib"], pe_simd=[(4, 8), (2, 4)])
    p = subprocess.run([sys.executable, "-m", "hwcomp", "simulate", str(out), "--data", str(digits_mlp["test"]),
                        "--limit", "50"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    sim = json.loads((out / "sim.json").read_text())
    assert sim["samples"] == 50 and sim["bit_exact"] and sim["ii_cycles"] == 64
    # report.html now shows the simulation, and the manifest holds the page's new hash
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Not simulated yet" not in page and f"{100 * sim['accuracy_rtl']:.1f}%" in page
    assert read_manifest(out)["files"]["report.html"] == hashlib.sha256(page.encode()).hexdigest()


def test_demo_example_runs(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_mlp" / "run.py"), "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bit-exact" in p.stdout and "PE utilization" in p.stdout
