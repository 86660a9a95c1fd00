"""examples/digits_pruned_cnn: a short run (no RTL) prunes the residual CNN to
a quarter of its MACs, the residual stream tied through its adds, and the
compiled design has the fewer channels and lanes; the full run (slow, RTL)
keeps the accuracy within 1 point and both designs are bit-exact, the II at
one lane per layer falling with the largest layer's MACs."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from hwcomp import compile_model  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_pruned_cnn"
sys.path.insert(0, str(EXAMPLE))
from train_pruned import INNER, STREAM, build  # noqa: E402

# run.py by path under its own name: other examples have a run.py too
_spec = importlib.util.spec_from_file_location("digits_pruned_cnn_run", EXAMPLE / "run.py")
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)


def test_short_run_prunes_through_the_adds_and_compiles_smaller(tmp_path):
    data = build(tmp_path, epochs=2, prune_epochs=1, log=None)
    kept = data["summary"]["steps"][-1]["filters_kept"]
    assert kept == {n: 4 for n in STREAM + INNER}   # half of 8 filters, the stream tied
    reports = {m: compile_model(data[m], tmp_path / m, calib=data["calib"]).report for m in ("base", "pruned")}
    base, pruned = (reports[m]["totals"] for m in ("base", "pruned"))
    assert pruned["macs"] <= 0.5 * base["macs"] and pruned["lanes"] < base["lanes"]
    rec = reports["pruned"]["pruning"]
    assert rec["ranked_channels_removed"] == 0   # every removed channel was dead (the compiler ranks nothing)
    chans = {layer["name"]: layer["channels_after"] for layer in rec["layers"]}
    assert sorted(chans.values()) == [4, 4, 4, 4, 4, 10]   # the stem, four block convs and the fc's 10 classes


@pytest.mark.slow
@pytest.mark.rtl
def test_full_run_keeps_accuracy_and_is_bit_exact(tmp_path):
    r = demo.run(tmp_path, foldings=("default", "one_lane"), slice_samples=16, progress=None, log=None)
    b, p = r["base"], r["pruned"]
    assert p["macs"] <= 0.5 * b["macs"] and p["lanes"]["default"] < b["lanes"]["default"]
    assert b["bit_exact"] and p["bit_exact"] and p["samples"]["default"] == 360
    for k in ("float", "rtl"):
        assert p[f"accuracy_{k}"] >= b[f"accuracy_{k}"] - 0.01
    # one lane per layer: the II is the largest layer's MACs, a block conv with half its inputs and outputs
    assert p["ii_measured"]["one_lane"] == b["ii_measured"]["one_lane"] / 4
    assert "PE=SIMD=1" in demo.format_table(r)
