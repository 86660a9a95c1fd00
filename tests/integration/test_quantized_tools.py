"""Quantized models made by the real tools at test time, imported by hwcomp and run in Verilator.

(a) Brevitas QAT MLPs exported as QONNX: W1A1 (binary weights, BatchNorm, binary
    activations) via the TorchScript exporter and re-saved with external data, and W1A2
    (QuantReLU 2-bit) via torch.export (dynamo). hwcomp's float executor must agree with the
    brevitas torch forward and with qonnx's own executor; the compiled design must be
    bit-exact in Verilator on 64 digits.
(b) A float 64-32-10 MLP quantized by onnxruntime.quantization.quantize_static (QDQ, int8,
    100 calibration digits): hwcomp vs onnxruntime on the same QDQ file, then Verilator.

Measured with brevitas 0.13.4, qonnx 1.0.0, onnxruntime 1.31.1, torch 2.13.0 (CPU):
    W1A1 / W1A2: float executor vs torch and vs qonnx, max |diff| ~1e-6 (output range ~3-7);
    the integer graph the RTL matches vs torch, max |diff| ~5e-7. Exact ties between logits
    are common in binary networks, so predictions are compared only where torch decides.
    QDQ int8 over the 360 test digits: argmax agreement 100%, output codes identical
    (0 of 3600 differ) for hwcomp's float executor and for its integer (hardware) graph.
    RTL accuracy on the 360 test digits 94.4% = fixed = float = onnxruntime's.
Each build is compiled and simulated once (module-scoped fixtures); three builds in all,
about 30-45 s of Verilator compile on 2 cores.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quant_tools as qt  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.ir.execute import execute  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:brevitas.*"),
    pytest.mark.filterwarnings("ignore:fast_hadamard_transform package not found:UserWarning"),
]
N_RTL = 64  # digits simulated per build

# name -> (activation, exporter uses torch.export, re-saved with external data)
BREVITAS = {"w1a1": ("bipolar", False, True), "w1a2": ("relu2", True, False)}


@pytest.fixture(scope="module")
def digits():
    return qt.digits_split()


@pytest.fixture(scope="module", params=sorted(BREVITAS))
def brevitas_model(request, tmp_path_factory, digits):
    """Trained brevitas MLP, its QONNX export(s) and the torch reference on the test split."""
    pytest.importorskip("brevitas")
    pytest.importorskip("onnxscript")
    name = request.param
    act, dynamo, external = BREVITAS[name]
    model = qt.brevitas_mlp(act, seed=0)
    root = tmp_path_factory.mktemp(f"brevitas_{name}")
    (root / "export").mkdir()
    exported = qt.export_brevitas(model, root / "export" / f"{name}.onnx", dynamo=dynamo)
    files = [exported]
    if external:
        # in its own directory, so the build can only find the weights through the external data
        files.append(qt.resave_external(exported, root / "external" / f"{name}.onnx"))
    _, xte, _, yte = digits
    return {"name": name, "model": model, "files": files, "compiled": files[-1], "external": external,
            "dynamo": dynamo, "x": xte, "y": yte, "ref": qt.torch_forward(model, xte)}


@pytest.fixture
def qonnx_exec(monkeypatch):
    """qonnx's executor with the IR-version clamp, patched for this test only."""
    pytest.importorskip("qonnx")
    qt.clamp_qonnx_ir(monkeypatch)
    return qt.qonnx_forward


def _tolerance(ref: np.ndarray) -> float:
    return 1e-4 * float(np.abs(ref).max())


def _same_predictions(got: np.ndarray, ref: np.ndarray, tol: float) -> None:
    """argmax agrees wherever the reference decides: binary networks often tie exactly, and
    float32 rounding (~1e-6) then picks either of the tied classes."""
    top2 = np.sort(ref, axis=1)[:, -2:]
    decided = top2[:, 1] - top2[:, 0] > 2 * tol
    assert decided.mean() > 0.5
    assert (got.argmax(1) == ref.argmax(1))[decided].all()


def test_brevitas_export_form(brevitas_model):
    """The exports really are QONNX (Quant + BipolarQuant), external data really external."""
    import onnx

    ops = {n.op_type for n in onnx.load(str(brevitas_model["files"][0]), load_external_data=False).graph.node}
    assert {"Quant", "BipolarQuant"} <= ops, ops
    if brevitas_model["external"]:
        path = brevitas_model["files"][-1]
        m = onnx.load(str(path), load_external_data=False)
        assert m.graph.initializer and all(
            t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer)
        assert (path.parent / (path.name + ".data")).is_file()


def test_brevitas_float_executor_matches_torch(brevitas_model):
    ref, x = brevitas_model["ref"], brevitas_model["x"]
    tol = _tolerance(ref)
    for path in brevitas_model["files"]:
        got = qt.hwcomp_float_forward(path, x)
        diff = float(np.abs(got - ref).max())
        assert got.shape == ref.shape and diff <= tol, f"{path.name}: max |diff| {diff:.3g} > {tol:.3g}"
        _same_predictions(got, ref, tol)


def test_brevitas_float_executor_matches_qonnx(brevitas_model, qonnx_exec):
    x = brevitas_model["x"]
    for path in brevitas_model["files"]:
        want = qonnx_exec(path, x)
        got = qt.hwcomp_float_forward(path, x)
        diff = float(np.abs(got - want).max())
        tol = _tolerance(want)
        assert diff <= tol, f"{path.name}: hwcomp vs qonnx max |diff| {diff:.3g} > {tol:.3g}"
        assert float(np.abs(want - brevitas_model["ref"]).max()) <= tol  # qonnx agrees with torch too


@pytest.fixture(scope="module")
def brevitas_build(brevitas_model, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"build_{brevitas_model['name']}") / "build"
    res = compile_model(brevitas_model["compiled"], out)
    x, y = brevitas_model["x"][:N_RTL], brevitas_model["y"][:N_RTL]
    return res, simulate_build(out, (x, y))


@pytest.mark.rtl
def test_brevitas_model_bit_exact_in_rtl(brevitas_model, brevitas_build):
    res, sim = brevitas_build
    assert sim["samples"] == N_RTL
    assert sim["mismatches"] == 0 and sim["bit_exact"], sim["first_mismatches"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    # The integer graph (which the RTL matched word for word, then the host-side dequantize)
    # computes the brevitas model: same outputs as torch up to float32 rounding.
    ref = brevitas_model["ref"][:N_RTL]
    hw = res.hw_graph
    got = execute(hw, {hw.inputs[0]: brevitas_model["x"][:N_RTL]})[hw.outputs[0]].reshape(ref.shape)
    tol = _tolerance(ref)
    diff = float(np.abs(got - ref).max())
    assert diff <= tol, f"hardware graph vs torch: max |diff| {diff:.3g} > {tol:.3g}"
    _same_predictions(got, ref, tol)
    assert "bipolar" in {layer["weight_dtype"] for layer in res.report["layers"]}


# ---------------------------------------------------------------- onnxruntime QDQ


@pytest.fixture(scope="module")
def qdq_model(tmp_path_factory, digits):
    pytest.importorskip("onnxruntime.quantization")
    xtr, xte, ytr, yte = digits
    root = tmp_path_factory.mktemp("ort_qdq")
    fp32 = qt.export_float(qt.float_mlp(seed=0), root / "mlp_fp32.onnx")
    calib = xtr[np.random.default_rng(0).choice(len(xtr), 100, replace=False)]
    path = qt.quantize_qdq(fp32, root / "mlp_qdq.onnx", calib)
    return {"path": path, "x": xte, "y": yte, "ort": qt.ort_forward(path, xte)}


def _agreement(path: Path, got: np.ndarray, want: np.ndarray) -> tuple[float, int, int]:
    """argmax agreement, max |code difference|, number of differing output codes."""
    dcode = np.abs(qt.qdq_output_codes(path, got) - qt.qdq_output_codes(path, want))
    return float((got.argmax(1) == want.argmax(1)).mean()), int(dcode.max()), int((dcode != 0).sum())


def test_qdq_float_executor_matches_onnxruntime(qdq_model):
    """Measured: argmax agreement 1.0, max code difference 0 (0 of 3600 codes)."""
    import onnx

    path, x, want = qdq_model["path"], qdq_model["x"], qdq_model["ort"]
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops, ops
    got = qt.hwcomp_float_forward(path, x)
    agree, max_lsb, n_diff = _agreement(path, got, want)
    msg = f"argmax agreement {agree:.4f}, max code diff {max_lsb} LSB, {n_diff}/{want.size} codes differ"
    assert agree >= 0.99 and max_lsb <= 1, msg
    assert float((want.argmax(1) == qdq_model["y"]).mean()) >= 0.9  # the quantized model is a real classifier


@pytest.fixture(scope="module")
def qdq_build(qdq_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("build_qdq") / "build"
    # 255 thresholds per output make each PE lane large in Verilator (about 5 min to build at
    # the default 42 lanes); at II 256 the build takes seconds. The test split adds < 1 s.
    res = compile_model(qdq_model["path"], out, target_ii=256)
    return res, simulate_build(out, (qdq_model["x"], qdq_model["y"]))


@pytest.mark.rtl
def test_qdq_model_bit_exact_in_rtl(qdq_model, qdq_build):
    res, sim = qdq_build
    assert sim["samples"] == len(qdq_model["x"]) == 360
    assert sim["mismatches"] == 0 and sim["bit_exact"], sim["first_mismatches"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    ort_acc = float((qdq_model["ort"].argmax(1) == qdq_model["y"]).mean())
    assert abs(sim["accuracy_rtl"] - ort_acc) <= 0.01, (sim["accuracy_rtl"], ort_acc)
    # the integer graph the RTL was checked against, vs onnxruntime on every test digit
    hw = res.hw_graph
    got = execute(hw, {hw.inputs[0]: qdq_model["x"]})[hw.outputs[0]].reshape(qdq_model["ort"].shape)
    agree, max_lsb, n_diff = _agreement(qdq_model["path"], got, qdq_model["ort"])
    msg = f"hw graph vs onnxruntime: argmax agreement {agree:.4f}, max {max_lsb} LSB, {n_diff} codes differ"
    assert agree >= 0.99 and max_lsb <= 1, msg
