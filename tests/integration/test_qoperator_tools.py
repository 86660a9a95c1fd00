"""onnxruntime's QOperator and dynamic quantization, and torch's own quantized export, made at test time.

A float MLP (Gemm), a float CNN (Conv, BatchNorm, MaxPool, Gemm) and one ending in global
average pooling are trained on digits,
exported with torch, and quantized by onnxruntime:
- quantize_static, QuantFormat.QOperator: QLinearConv, com.microsoft QGemm and
  QLinearGlobalAveragePool, MaxPool on codes;
  int8 activations per tensor and uint8 activations with per-channel weights;
- quantize_dynamic: DynamicQuantizeLinear + MatMulInteger / ConvInteger. hwcomp refuses the
  dynamic scales; `freeze_dynamic` replaces only DynamicQuantizeLinear by the static
  QuantizeLinear it would compute over the calibration set, the rest stays onnxruntime's;
- torch.ao eager quantization (fbgemm) exported by torch.onnx: QDQ with Casts, and a ReLU
  between two quantizers.

hwcomp's float executor and its integer graph must equal onnxruntime on every output value
of the test split (measured: 0 differing values in each model), and the RTL must be
bit-exact against the executor.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quant_tools as qt  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.compile import float_pipeline, integer_graph  # noqa: E402
from hwcomp.errors import HwcompError  # noqa: E402
from hwcomp.ir.execute import execute  # noqa: E402
from hwcomp.passes.quantize import QuantConfig  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MLP, CNN = (1, 64), (1, 1, 8, 8)
N_RTL = 64
# name -> (float model, how onnxruntime quantizes it, the ops it must write)
MODELS = {
    "mlp_qop_s8": ("mlp", ("qoperator", True, False), {"QGemm"}),
    "mlp_qop_u8_per_channel": ("mlp", ("qoperator", False, True), {"QGemm"}),
    "cnn_qop_s8": ("cnn", ("qoperator", True, False), {"QLinearConv", "QGemm", "MaxPool"}),
    "cnn_qop_u8_per_channel": ("cnn", ("qoperator", False, True), {"QLinearConv", "QGemm"}),
    "mlp_matmulinteger": ("mlp", ("dynamic", ["MatMul", "Gemm"]), {"MatMulInteger"}),
    "cnn_convinteger": ("cnn", ("dynamic", ["Conv", "MatMul", "Gemm"]), {"ConvInteger", "MatMulInteger"}),
    "mlp_torch_qdq": ("mlp", ("torch",), {"QuantizeLinear", "Cast", "DequantizeLinear", "Gemm"}),
    "gap_qop_u8_per_channel": ("gap", ("qoperator", False, True), {"QLinearConv", "QLinearGlobalAveragePool"}),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    pytest.importorskip("onnxruntime.quantization")
    return tmp_path_factory.mktemp("ort_qoperator")


@pytest.fixture(scope="module")
def digits():
    return qt.digits_split()


@pytest.fixture(scope="module")
def float_models(root):
    mlp = qt.float_mlp(seed=0)
    return {"mlp": qt.export_float(mlp, root / "mlp_fp32.onnx", MLP), "mlp_module": mlp,
            "cnn": qt.export_float(qt.float_cnn(seed=0), root / "cnn_fp32.onnx", CNN),
            "gap": qt.export_float(qt.float_gap_cnn(seed=0), root / "gap_fp32.onnx", CNN)}


def _shape(name: str) -> tuple:
    return MLP if name.startswith("mlp") else CNN


@pytest.fixture(scope="module")
def quantized(root, float_models, digits):
    """name -> {"path", "x", "ort"}: each model made once, with onnxruntime's outputs on the test split."""
    xtr, xte, _, _ = digits
    calib = xtr[np.random.default_rng(0).choice(len(xtr), 100, replace=False)]
    made = {}
    for name, (base, how, _) in MODELS.items():
        shape, out = _shape(name), root / f"{name}.onnx"
        if how[0] == "qoperator":
            path = qt.quantize_qoperator(float_models[base], out, calib, shape, signed=how[1], per_channel=how[2])
        elif how[0] == "torch":
            module, path = qt.torch_quantized(float_models["mlp_module"], calib, out)
            made[name + "_torch"] = module
        else:
            dyn = qt.quantize_dynamic(float_models[base], root / f"{name}_dynamic.onnx", how[1])
            path = qt.freeze_dynamic(dyn, out, calib, shape)
            made[name + "_dynamic"] = dyn
        x = xte.reshape((-1,) + shape[1:]).astype(np.float32)
        made[name] = {"path": path, "x": x, "ort": qt.ort_forward(path, x)}
    return made


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_writes_the_integer_ops(quantized, name):
    ops = {n.op_type for n in onnx.load(str(quantized[name]["path"])).graph.node}
    assert MODELS[name][2] <= ops, ops
    assert "DynamicQuantizeLinear" not in ops


@pytest.mark.parametrize("name", sorted(MODELS))
def test_float_executor_equals_onnxruntime(quantized, name):
    """Every output value equal (the rewrite keeps onnxruntime's integer arithmetic)."""
    m = quantized[name]
    got = qt.hwcomp_float_forward(m["path"], m["x"]).reshape(m["ort"].shape)
    diff = int((got != m["ort"]).sum())
    assert diff == 0, f"{diff} of {got.size} values differ, max {np.abs(got - m['ort']).max()}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_integer_graph_equals_onnxruntime(quantized, digits, name):
    m = quantized[name]
    ig = integer_graph(float_pipeline(m["path"]), None, QuantConfig())
    got = execute(ig, {ig.inputs[0]: m["x"]})[ig.outputs[0]].reshape(m["ort"].shape)
    diff = int((got != m["ort"]).sum())
    assert diff == 0, f"{diff} of {got.size} values differ, max {np.abs(got - m['ort']).max()}"
    accuracy = float((m["ort"].argmax(1) == digits[3]).mean())
    assert accuracy >= 0.85, accuracy  # real classifiers, not noise


def test_torch_export_close_to_torch(quantized):
    """torch's fbgemm kernels requantize in their own way: measured 5 of 3600 values one
    output step away from onnxruntime (and hwcomp), none further."""
    import torch

    m = quantized["mlp_torch_qdq"]
    want = quantized["mlp_torch_qdq_torch"](torch.from_numpy(m["x"])).numpy()
    step = float(np.abs(np.diff(np.unique(want))).min())
    got = qt.hwcomp_float_forward(m["path"], m["x"])
    assert np.abs(got - want).max() <= step * 1.001
    assert float((got.argmax(1) == want.argmax(1)).mean()) >= 0.99


@pytest.mark.parametrize("name", ["mlp_matmulinteger", "cnn_convinteger"])
def test_dynamic_quantization_is_refused(quantized, tmp_path, name):
    path = quantized[name + "_dynamic"]
    with pytest.raises(HwcompError, match=r"node '.*' \(DynamicQuantizeLinear\): dynamic quantization"):
        compile_model(path, tmp_path / "build")
    assert not (tmp_path / "build" / "report.json").exists()


@pytest.mark.rtl
@pytest.mark.parametrize("name", ["cnn_qop_s8", "mlp_torch_qdq", "gap_qop_u8_per_channel"])
def test_rtl_bit_exact(quantized, digits, tmp_path, name):
    """cnn_qop_s8 pads convolutions whose zero point is -128 with that code; mlp_torch_qdq
    thresholds each accumulator through quantize -> ReLU -> quantize at once; the global
    average pool of gap_qop_u8_per_channel is a depthwise sum with thresholds."""
    m = quantized[name]
    # mlp_torch_qdq has 255 thresholds per output: at the default folding its build alone takes
    # about 5 minutes in Verilator, at II 256 seconds
    compile_model(m["path"], tmp_path / "build", target_ii=256 if name == "mlp_torch_qdq" else None)
    sim = simulate_build(tmp_path / "build", (m["x"][:N_RTL], digits[3][:N_RTL]))
    assert sim["samples"] == N_RTL
    assert sim["mismatches"] == 0 and sim["bit_exact"], sim["first_mismatches"]
    ort_acc = float((m["ort"][:N_RTL].argmax(1) == digits[3][:N_RTL]).mean())
    assert sim["accuracy_rtl"] == ort_acc
