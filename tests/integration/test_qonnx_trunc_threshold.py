"""QONNX Trunc and MultiThreshold models, imported by hwcomp and run in Verilator.

(a) A Brevitas CNN with two TruncAvgPool2d (FLOOR to 4-bit, ROUND to 5-bit codes), trained a
    few seeded epochs on the 8x8 digits and exported by brevitas.export.export_qonnx.
    hwcomp's float executor must equal qonnx's executor on every value (both Trunc
    outputs and the logits), and torch up to float32 rounding; the integer graph's
    pooled codes must equal qonnx's Trunc codes; the design must be bit-exact in Verilator.
(b) A MultiThreshold MLP written with onnx.helper (FINN writes MultiThreshold; it is not
    installed): qonnx's executor is the reference, likewise.

Measured with brevitas 0.13.4, qonnx 1.0.0, onnxruntime 1.31.1, torch 2.13.0 (CPU), on
the 360 test digits: (a) float executor == qonnx bit for bit (logits and both Trunc
outputs, 360 x 8x4x4 and 360 x 16x2x2), vs torch max |diff| ~6e-6 (logits up to ~16);
integer graph codes identical to qonnx's at both Trunc nodes; RTL 0 mismatches, accuracy
0.817 = torch's. (b) float executor == qonnx bit for bit; integer graph's hidden codes
identical; RTL 0 mismatches (accuracy 0.85). Two Verilator builds, one per model
(module-scoped fixtures).
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qonnx_pool_tools as pt  # noqa: E402
import quant_tools as qt  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.ir.execute import execute  # noqa: E402
from hwcomp.ops.window import AveragePoolReduce  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:brevitas.*"),
    pytest.mark.filterwarnings("ignore:fast_hadamard_transform package not found:UserWarning"),
]


@pytest.fixture
def qonnx_run(monkeypatch):
    """qonnx's executor with the IR-version clamp, patched for this test only."""
    pytest.importorskip("qonnx")
    qt.clamp_qonnx_ir(monkeypatch)
    return pt.qonnx_run


@pytest.fixture(scope="module")
def digits():
    return qt.digits_split()


@pytest.fixture(scope="module")
def trunc_cnn(tmp_path_factory, digits):
    pytest.importorskip("brevitas")
    model = pt.brevitas_trunc_cnn(seed=0)
    path = pt.export_trunc_cnn(model, tmp_path_factory.mktemp("trunc_cnn") / "trunc_cnn.onnx")
    _, xte, _, yte = digits
    x = pt.as_images(xte)
    return {"path": path, "x": x, "y": yte, "torch": qt.torch_forward(model, x)}


@pytest.fixture(scope="module")
def threshold_mlp(tmp_path_factory, digits):
    _, xte, _, yte = digits
    path = pt.threshold_mlp(tmp_path_factory.mktemp("threshold_mlp") / "threshold_mlp.onnx")
    return {"path": path, "x": xte, "y": yte}


def _codes(values: np.ndarray, scale: float) -> np.ndarray:
    return np.rint(np.asarray(values, np.float64) / scale).astype(np.int64)


# ---------------------------------------------------------------- Brevitas TruncAvgPool2d


def test_brevitas_exports_trunc_v2(trunc_cnn):
    model = onnx.load(str(trunc_cnn["path"]))
    truncs = [n for n in model.graph.node if n.op_type == "Trunc"]
    assert len(truncs) == 2 and all(len(n.input) == 6 for n in truncs)
    modes = [onnx.helper.get_attribute_value(a).decode() for n in truncs for a in n.attribute
             if a.name == "rounding_mode"]
    assert [m.upper() for m in modes] == ["FLOOR", "ROUND"]
    assert {(o.domain, o.version) for o in model.opset_import} >= {("qonnx.custom_op.general", 2)}


def test_trunc_float_executor_equals_qonnx_and_torch(trunc_cnn, qonnx_run):
    x = trunc_cnn["x"]
    want, want_truncs = qonnx_run(trunc_cnn["path"], x, "Trunc")
    got, got_truncs = pt.hwcomp_run(trunc_cnn["path"], x, "Trunc")
    assert len(got_truncs) == 2
    for a, b in zip(got_truncs, want_truncs):
        assert np.array_equal(a, b)
    assert np.array_equal(got, want)
    ref = trunc_cnn["torch"]
    assert float(np.abs(got - ref).max()) <= 1e-5 * float(np.abs(ref).max())
    assert float((ref.argmax(1) == trunc_cnn["y"]).mean()) >= 0.7  # a real classifier


def test_trunc_integer_graph_codes_equal_qonnx(trunc_cnn, qonnx_run):
    from hwcomp.compile import float_pipeline, integer_graph
    from hwcomp.passes.quantize import QuantConfig

    x = trunc_cnn["x"]
    _, want_truncs = qonnx_run(trunc_cnn["path"], x, "Trunc")
    g = float_pipeline(trunc_cnn["path"])
    ig = integer_graph(g, None, QuantConfig())
    pools = [n for n in ig.nodes() if n.op is AveragePoolReduce]
    assert [p.attrs["rounding"] for p in pools] == ["floor", "half_even"]
    assert [str(ig.tensors[p.outputs[0]].dtype) for p in pools] == ["uint<4>", "uint<5>"]
    values = execute(ig, {ig.inputs[0]: x}, keep_all=True)
    out_scales = [float(n.params["out_scale"]) for n in g.nodes() if n.op.name == "Trunc"]
    for pool, want, scale in zip(pools, want_truncs, out_scales):
        got = np.transpose(values[pool.outputs[0]], (0, 3, 1, 2))
        assert np.array_equal(got, _codes(want, scale))


@pytest.fixture(scope="module")
def trunc_build(trunc_cnn, tmp_path_factory):
    out = tmp_path_factory.mktemp("build_trunc") / "build"
    res = compile_model(trunc_cnn["path"], out)
    # Verilator time is the compile; simulating the whole test split adds < 1 s
    return res, simulate_build(out, (trunc_cnn["x"], trunc_cnn["y"]))


@pytest.mark.rtl
def test_trunc_cnn_bit_exact_in_rtl(trunc_cnn, trunc_build):
    res, sim = trunc_build
    assert sim["samples"] == len(trunc_cnn["x"]) == 360
    assert sim["mismatches"] == 0 and sim["bit_exact"], sim["first_mismatches"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    hw = res.hw_graph
    ref = trunc_cnn["torch"]
    got = execute(hw, {hw.inputs[0]: trunc_cnn["x"]})[hw.outputs[0]].reshape(ref.shape)
    assert float(np.abs(got - ref).max()) <= 1e-5 * float(np.abs(ref).max())


# ---------------------------------------------------------------- MultiThreshold


def test_threshold_float_executor_equals_qonnx(threshold_mlp, qonnx_run):
    x = threshold_mlp["x"]
    want, want_mts = qonnx_run(threshold_mlp["path"], x, "MultiThreshold")
    got, got_mts = pt.hwcomp_run(threshold_mlp["path"], x, "MultiThreshold")
    assert len(got_mts) == 2 and all(np.array_equal(a, b) for a, b in zip(got_mts, want_mts))
    assert np.array_equal(got, want)
    assert float((want.argmax(1) == threshold_mlp["y"]).mean()) >= 0.7


def test_threshold_integer_graph_codes_equal_qonnx(threshold_mlp, qonnx_run):
    from hwcomp.compile import float_pipeline, integer_graph
    from hwcomp.passes.quantize import QuantConfig

    x = threshold_mlp["x"]
    want, (_, want_hidden) = qonnx_run(threshold_mlp["path"], x, "MultiThreshold")
    ig = integer_graph(float_pipeline(threshold_mlp["path"]), None, QuantConfig())
    assert [n.op.name for n in ig.nodes()] == ["ThresholdCodes", "Dense", "MultiThreshold", "Dense",
                                               "DequantizeAffine"]
    values = execute(ig, {ig.inputs[0]: x}, keep_all=True)
    hidden = values[ig.nodes()[2].outputs[0]]
    assert np.array_equal(hidden, _codes(want_hidden + 1.5, 0.5))   # out_scale 0.5, out_bias -1.5
    got = values[ig.outputs[0]]
    assert float(np.abs(got - want).max()) <= 1e-5 * float(np.abs(want).max())


@pytest.fixture(scope="module")
def threshold_build(threshold_mlp, tmp_path_factory):
    out = tmp_path_factory.mktemp("build_threshold") / "build"
    compile_model(threshold_mlp["path"], out)
    return simulate_build(out, (threshold_mlp["x"], threshold_mlp["y"]))


@pytest.mark.rtl
def test_threshold_mlp_bit_exact_in_rtl(threshold_mlp, threshold_build):
    sim = threshold_build
    assert sim["samples"] == len(threshold_mlp["x"])
    assert sim["mismatches"] == 0 and sim["bit_exact"], sim["first_mismatches"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
