"""examples/digits_deep_compression/train.py: a short run writes the ONNX
files and data, with exact zeros and at most 2^K distinct non-zero values per
layer in the initializers; the full run (slow) prunes to 97.5% at <= 1 point
of test accuracy and keeps it through weight sharing."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

pytest.importorskip("torch")
pytest.importorskip("sklearn")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "digits_deep_compression"))
import train as deep_compression  # noqa: E402


def _weights(path):
    proto = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    return [inits[n.input[1]] for n in proto.graph.node if n.op_type == "Gemm"]


def test_short_run_writes_exact_sparse_shared_onnx(tmp_path):
    r = deep_compression.build(tmp_path, epochs=2, prune_epochs=1, share_epochs=1, schedule=(0.5, 0.9), log=None)
    sizes = [w.size for w in _weights(r["base"])]
    assert sizes == [64 * 300, 300 * 100, 100 * 10]
    pruned = _weights(r["pruned"])
    assert sum(int((w == 0).sum()) for w in pruned) == round(0.9 * sum(sizes))  # one global threshold, exact
    for k in (4, 5):
        for w, p in zip(_weights(r[f"shared_k{k}"]), pruned):
            assert np.array_equal(w == 0, p == 0)  # sharing keeps the pruned zeros, adds none
            assert len(np.unique(w[w != 0])) <= 2 ** k
    test = np.load(r["test"])
    assert test["x"].shape == (360, 64) and np.load(r["calib"])["x"].shape == (1437, 64)
    steps = [rec["step"] for rec in r["summary"]["records"]]
    assert steps == ["float", "prune 0.500", "prune 0.900", "share K=4", "share K=5"]


@pytest.mark.slow
def test_full_run_keeps_accuracy_at_high_sparsity(tmp_path):
    records = deep_compression.build(tmp_path, log=None)["summary"]["records"]
    base, pruned, k4, k5 = records[0], records[-3], records[-2], records[-1]
    assert pruned["total_density"] == pytest.approx(0.025, abs=1e-4)
    for rec in (pruned, k4, k5):
        assert rec["test_acc"] >= base["test_acc"] - 0.01
    assert k4["storage"]["ratio"] >= 50
