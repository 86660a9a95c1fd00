"""examples/digits_binary/train_binary.py: a short run writes the QONNX files
and data the other examples write, and the exported graphs agree with torch;
the full run (slow) reaches the accuracy targets."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "digits_binary"))
import train_binary  # noqa: E402


@pytest.mark.parametrize("build, n_in", [(train_binary.build_mlp, (64,)), (train_binary.build_cnn, (1, 8, 8))])
def test_short_run_writes_agreeing_qonnx(tmp_path, build, n_in):
    r = build(tmp_path, epochs=2)
    assert r["onnx"].exists() and r["argmax_agree"] == 1.0
    assert r["onnx_accuracy"] == pytest.approx(r["torch_accuracy"])
    test = np.load(r["test"])
    assert test["x"].shape == (360,) + n_in and test["y"].shape == (360,)
    assert np.load(r["calib"])["x"].shape == (1437,) + n_in


@pytest.mark.slow
@pytest.mark.parametrize("build, target", [(train_binary.build_mlp, 0.975), (train_binary.build_cnn, 0.965)])
def test_full_run_reaches_target(tmp_path, build, target):
    r = build(tmp_path)
    assert r["torch_accuracy"] >= target and r["argmax_agree"] == 1.0
