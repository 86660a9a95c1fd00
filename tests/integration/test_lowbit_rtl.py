"""A float digits MLP quantized after training with --bits w1a1 / w2a2 / w4a4 (passes/lowbit),
compiled to XNOR and threshold units and simulated in Verilator: bit-exact against the executor.

Accuracies on this model (64-256-256-10, 360 test images; benchmarks/RESULTS.md): float 0.978,
w1a1 0.958, w2a2 0.975, w4a4 0.975. Only what holds with a wide margin is asserted: binarization
without fine-tuning may lose much more on other models and seeds."""
import json

import pytest

from hwcomp import compile_model, simulate_build

pytestmark = pytest.mark.rtl

SPECS = ("w1a1", "w2a2", "w4a4")


@pytest.fixture(scope="module")
def wide_mlp(tmp_path_factory):
    from train_mlp import build  # examples/digits_mlp, on sys.path through conftest.py

    return build(tmp_path_factory.mktemp("digits_wide"), [64, 256, 256, 10], epochs=30)


@pytest.fixture(scope="module")
def builds(tmp_path_factory, wide_mlp):
    """One compile and one Verilator run per bit width, shared by the tests below."""
    out = {}
    for spec in SPECS:
        d = tmp_path_factory.mktemp(spec) / "build"
        compile_model(wide_mlp["onnx"], d, calib=wide_mlp["calib"], bits=spec)
        out[spec] = (json.loads((d / "report.json").read_text()), simulate_build(d, wide_mlp["test"]))
    return out


@pytest.mark.parametrize("spec", SPECS)
def test_rtl_is_bit_exact_against_the_executor(builds, spec):
    report, sim = builds[spec]
    assert sim["samples"] == 360
    assert sim["mismatches"] == 0 and sim["bit_exact"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    assert sim["ii_cycles"] == report["totals"]["expected_ii_cycles"]


def test_accuracy_after_post_training_quantization(builds):
    acc = {spec: builds[spec][1]["accuracy_rtl"] for spec in SPECS}
    float_acc = builds["w4a4"][1]["accuracy_float"]
    print(f"float {float_acc:.4f} " + " ".join(f"{s} {a:.4f}" for s, a in acc.items()))
    assert acc["w4a4"] >= float_acc - 0.02   # measured: 0.003 under float
    assert acc["w2a2"] >= float_acc - 0.05   # measured: 0.003 under float
    assert acc["w1a1"] >= 0.5                # far above chance (0.1); measured 0.958


def test_report_shows_low_bit_weights_and_storage(builds):
    dtypes = {spec: [l["weight_dtype"] for l in builds[spec][0]["layers"]] for spec in SPECS}
    assert dtypes == {"w1a1": ["int<8>", "bipolar", "int<8>"], "w2a2": ["int<8>", "int<2>", "int<8>"],
                      "w4a4": ["int<8>", "int<4>", "int<8>"]}
    hidden = {spec: builds[spec][0]["layers"][1] for spec in SPECS}
    assert [hidden[s]["float_weight_bits"] // hidden[s]["weight_bits"] for s in SPECS] == [32, 16, 8]
    assert all(builds[s][0]["options"]["quantization"] == "low-bit" for s in SPECS)
    assert builds["w1a1"][0]["layers"][1]["input"].startswith("bipolar")
