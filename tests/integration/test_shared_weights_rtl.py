"""--share-weights end to end: units with a codebook, bit-exact in Verilator under
stalls, and the storage report counting K-bit indices and the codebook."""
import numpy as np
import pytest

from hwcomp import compile_model, simulate_build
from inline_models import residual_cnn


def check_codebook_storage(report: dict, bits: int) -> None:
    per_module = {e["module"]: e for e in report["storage"]["per_layer"]}
    for l in report["layers"]:
        e = per_module[l["module"]]
        w_w = int(l["weight_dtype"].split("<")[1].split(",")[0])   # fixed<W,F,s>: W-bit signed weights
        entries, rest = divmod(e["bits"]["codebook"], w_w)         # 2^CB_W codebook lines of W bits
        cb_w = entries.bit_length() - 1
        # 2^K non-zero values, and 0 when the layer or its padding has zeros: at most K + 1 bits
        assert rest == 0 and entries == 1 << cb_w and 1 <= cb_w <= bits + 1 < w_w
        assert e["bits"]["weights"] == 0
        assert e["bits"]["indices"] == l["nf"] * l["pe"] * l["sf"] * l["simd"] * cb_w
        assert l["weight_bits"] == e["bits"]["indices"] + e["bits"]["codebook"]


@pytest.mark.rtl
def test_shared_mlp_with_padding_is_bit_exact_under_stalls(tmp_path, digits_odd_mlp):
    # PE and SIMD dividing nothing: padded rows and columns hold index of 0
    res = compile_model(digits_odd_mlp["onnx"], tmp_path / "b", calib=digits_odd_mlp["calib"], share_weights=3,
                        pe_simd=[(5, 6), (4, 5), (3, 4)])
    check_codebook_storage(res.report, 3)
    with np.load(digits_odd_mlp["test"]) as t:
        x, y = t["x"][:60], t["y"][:60]
    sim = simulate_build(tmp_path / "b", (x, y), stall_prob=0.3, seed=4)
    assert sim["bit_exact"] and sim["samples"] == 60


@pytest.mark.rtl
def test_shared_residual_cnn_is_bit_exact(tmp_path):
    x = np.random.default_rng(1).uniform(0, 1, (12, 1, 8, 8)).astype(np.float32)
    res = compile_model(residual_cnn(tmp_path), tmp_path / "b", calib=x, share_weights=2)
    check_codebook_storage(res.report, 2)
    sim = simulate_build(tmp_path / "b", (x, None), stall_prob=0.2, seed=3)
    assert sim["bit_exact"]
