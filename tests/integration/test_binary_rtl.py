"""Issue 4's acceptance runs: a W1A1 MLP and a W2A2 CNN trained with
hwcomp.train on digits, exported as QONNX, compiled to XNOR / threshold units
and simulated over the whole test split in Verilator."""
import sys
from pathlib import Path

import pytest

from hwcomp import compile_model, simulate_build

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "digits_binary"))

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("which, floor", [("mlp", 0.97), ("cnn", 0.96)])
def test_low_bit_digits_networks_are_bit_exact_and_accurate(tmp_path, which, floor):
    import train_binary

    data = (train_binary.build_mlp if which == "mlp" else train_binary.build_cnn)(tmp_path / "model")
    res = compile_model(data["onnx"], tmp_path / "build")
    sim = simulate_build(tmp_path / "build", data["test"])
    assert sim["mismatches"] == 0 and sim["bit_exact"]
    assert sim["samples"] == 360
    assert sim["accuracy_rtl"] >= floor, sim
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    assert sim["ii_cycles"] == sim["ideal_ii_cycles"]  # PE utilization 1.0
    kinds = {layer["weight_dtype"] for layer in res.report["layers"]}
    assert kinds == ({"bipolar"} if which == "mlp" else {"int<2>"})
    # binary layers store one bit per weight (2 for int<2>), padding to the folding included
    width = 1 if which == "mlp" else 2
    for layer in res.report["layers"]:
        assert layer["float_weight_bits"] == 32 * layer["rows"] * layer["cols"]
        assert layer["weight_bits"] == layer["nf"] * layer["pe"] * layer["sf"] * layer["simd"] * width
