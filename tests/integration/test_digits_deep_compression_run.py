"""examples/digits_deep_compression/run.py: a short run (two epochs, 90% pruned,
a slice of the test split) compiles every build, each bit-exact, the
sparse units storing fewer weight bits than the dense ones, and report.json's
storage ratios consistent with its bit counts; the full run (slow, Verilator,
the whole test split) reaches 50x Huffman-coded at <= 1 point of loss."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

pytestmark = pytest.mark.rtl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_deep_compression"
# run.py by path under its own name: other examples have a run.py too
_spec = importlib.util.spec_from_file_location("digits_deep_compression_run", EXAMPLE / "run.py")
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

# 64-300-100-10: weights and biases of the three layers
FLOAT_PARAMETERS = 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
STORAGE_KEYS = ("total_bits", "float32_bits", "ratio", "huffman_total_bits", "huffman_ratio")


def _check_storage(st: dict) -> None:
    assert all(k in st for k in STORAGE_KEYS)
    assert st["float_parameters"] == FLOAT_PARAMETERS and st["float32_bits"] == 32 * FLOAT_PARAMETERS
    assert st["ratio"] == round(st["float32_bits"] / st["total_bits"], 3)
    assert st["huffman_ratio"] == round(st["float32_bits"] / st["huffman_total_bits"], 3)
    assert st["total_bits"] == sum(st["bits"].values()) == sum(e["total_bits"] for e in st["per_layer"])
    assert st["huffman_total_bits"] == sum(e["huffman_total_bits"] for e in st["per_layer"])


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("deep_compression")
    # Verilator, as the demo: its builds are cached by design (the seeded short run gives the
    # same designs every time), about 15 s warm, 95 s with every build new (2 loaded cores)
    return demo.run(out, limit=16, progress=None, log=None,
                    epochs=2, prune_epochs=1, share_epochs=1, schedule=(0.5, 0.9))


def test_short_run_every_build_bit_exact(short_run):
    builds = short_run["builds"]
    assert list(builds) == [b[0] for b in demo.BUILDS]
    for name, b in builds.items():
        assert b["bit_exact"] and b["mismatches"] == 0 and b["samples"] == 16, name
        assert b["ii_measured"] == b["ii_expected"], name
        _check_storage(b["storage"])
    for name in ("pruned sparse", "shared_k4 sparse"):
        assert len(builds[name]["sparse_layers"]) == 3, name
    assert not builds["base"]["sparse_layers"] and not builds["pruned dense"]["sparse_layers"]
    # auto picks among the layers on builds; the same choice is the same design, simulated once
    auto, on = builds["pruned auto"], builds["pruned sparse"]
    assert set(auto["sparse_layers"]) <= set(on["sparse_layers"])
    assert (auto["same_as"] == "pruned sparse") == (auto["sparse_layers"] == on["sparse_layers"])


def test_short_run_sparse_stores_fewer_weight_bits(short_run):
    b = short_run["builds"]
    assert b["pruned sparse"]["weight_bits"] < b["pruned dense"]["weight_bits"] < b["base"]["weight_bits"]
    assert b["shared_k4 sparse"]["weight_bits"] < b["shared_k4 dense"]["weight_bits"]
    # the codebook build stores K+1-bit indices (zero is a code) instead of 8-bit weights
    dense_k4 = b["shared_k4 dense"]["storage"]["bits"]
    assert dense_k4["weights"] == 0 and dense_k4["codebook"] > 0
    assert dense_k4["indices"] < b["pruned dense"]["storage"]["bits"]["weights"]
    assert b["pruned sparse"]["storage"]["ratio"] > b["pruned dense"]["storage"]["ratio"]


def test_short_run_tables(short_run):
    table = demo.format_storage_table(short_run["builds"]["pruned sparse"]["storage"])
    assert "Huffman total" in table and "/0/Gemm" in table and "x Huffman-coded" in table
    summary = demo.format_summary(short_run)
    assert all(name in summary for name in short_run["builds"])
    assert ">= 50x" in demo.verdict(short_run)


def test_reuses_fresh_outputs(short_run, tmp_path, monkeypatch):
    """out/ complete and newer than train.py is reused without training; else it trains."""
    import shutil

    src = Path(short_run["builds"]["base"]["dir"]).parents[1]
    for f in ("base.onnx", "pruned.onnx", "shared_k4.onnx", "shared_k5.onnx", "calib.npz", "test.npz",
              "summary.json"):
        shutil.copy(src / f, tmp_path / f)
    calls = []
    monkeypatch.setattr(demo.train, "build", lambda out, log=None, **kw: calls.append(kw) or {})
    lines = []
    data = demo.trained(tmp_path, log=lines.append)
    assert not calls and lines[0].startswith("reusing") and data["summary"]["sizes"] == [64, 300, 100, 10]
    demo.trained(tmp_path, retrain=True, log=None)
    (tmp_path / "shared_k5.onnx").unlink()
    demo.trained(tmp_path, log=None)
    assert calls == [{}, {}]


@pytest.mark.slow
def test_full_run_reaches_50x_huffman_bit_exact(tmp_path):
    r = demo.run(tmp_path, progress=None, log=None)
    builds = r["builds"]
    assert all(b["bit_exact"] and b["samples"] == 360 for b in builds.values())
    for name in ("pruned sparse", "shared_k4 sparse"):
        b = builds[name]
        assert b["loss_vs_base_float"] <= 0.01 and b["reaches_target"]["huffman"], name
        assert b["storage"]["huffman_ratio"] >= 50
    assert builds["pruned sparse"]["ii_measured"] < builds["pruned dense"]["ii_measured"]
