"""Quantized models made with the real third-party tools, for test_quantized_tools.py.

Brevitas QAT MLPs exported as QONNX (Quant / BipolarQuant), and a float MLP
quantized by onnxruntime.quantization.quantize_static into QDQ form. Nothing
here is checked in as a file: every model is trained (a few seconds, seeded)
and exported at test time. brevitas, qonnx and onnxruntime are imported only
inside the functions that need them, so the test module can skip cleanly.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "digits_mlp"))
from train_mlp import digits_split  # noqa: E402  (same 80/20 split as the other digits tests)

__all__ = ["digits_split", "brevitas_mlp", "export_brevitas", "resave_external", "torch_forward",
           "qonnx_forward", "float_mlp", "export_float", "quantize_qdq", "ort_forward", "qdq_output_codes",
           "hwcomp_float_forward", "float_cnn", "quantize_qoperator", "quantize_dynamic", "freeze_dynamic",
           "torch_quantized", "clamp_qonnx_ir", "float_gap_cnn"]

ORT_MAX_IR = 10  # onnxruntime 1.31 loads IR <= 13; qonnx 1.0.0 stamps onnx.IR_VERSION (14 with onnx 1.23)


def clamp_qonnx_ir(monkeypatch) -> None:
    """Make qonnx's executor write models onnxruntime loads (for the calling test only)."""
    import qonnx.core.onnx_exec as onnx_exec
    import qonnx.util.basic as basic

    make = basic.qonnx_make_model

    def clamped(graph, **kw):
        m = make(graph, **kw)
        m.ir_version = min(m.ir_version, ORT_MAX_IR)
        return m

    monkeypatch.setattr(basic, "qonnx_make_model", clamped)
    monkeypatch.setattr(onnx_exec, "qonnx_make_model", clamped)


def _train(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int) -> None:
    """Seeded minibatch Adam; train mode, so BatchNorm running stats come from the digits."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            out = model(xt[idx])
            out = out.value if hasattr(out, "value") else out
            torch.nn.functional.cross_entropy(out, yt[idx]).backward()
            opt.step()
    model.eval()


def brevitas_mlp(act: str, seed: int = 0, epochs: int = 8) -> torch.nn.Module:
    """64 -> signed 8-bit input quant -> QuantLinear(64, 32, binary weights) -> BatchNorm1d
    -> act -> QuantLinear(32, 10, binary weights).

    act = "bipolar": binary activation (W1A1; exported as BipolarQuant);
    act = "relu2":   QuantReLU(bit_width=2), brevitas' default unsigned per-tensor float scale (W1A2).
    BatchNorm starts from a random affine transform and gets its running stats from a few
    epochs of quantization-aware training on digits (train mode, seeded).
    """
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFloat, SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    if act == "bipolar":
        activation = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
    elif act == "relu2":
        activation = qnn.QuantReLU(bit_width=2, return_quant_tensor=True)
    else:
        raise ValueError(act)
    model = torch.nn.Sequential(
        qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True),
        qnn.QuantLinear(64, 32, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
        torch.nn.BatchNorm1d(32),
        activation,
        qnn.QuantLinear(32, 10, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
    )
    bn = model[2]
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    xtr, _, ytr, _ = digits_split()
    _train(model, xtr, ytr, epochs, lr=1e-2, seed=seed)
    return model


def export_brevitas(model: torch.nn.Module, path: Path, dynamo: bool) -> Path:
    """brevitas.export.export_qonnx with a (1, 64) example; TorchScript (dynamo=False) or torch.export."""
    from brevitas.export import export_qonnx

    kwargs = {"dynamo": False, "keep_initializers_as_inputs": False} if not dynamo else {"dynamo": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.zeros(1, 64), export_path=str(path), **kwargs)
    return path


def resave_external(src: Path, dst: Path) -> Path:
    """Re-save src with every initializer in one external file next to dst."""
    model = onnx.load(str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst), save_as_external_data=True, all_tensors_to_one_file=True,
              location=dst.name + ".data", size_threshold=0)
    return dst


def torch_forward(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    return (out.value if hasattr(out, "value") else out).numpy()


def qonnx_forward(path: Path, x: np.ndarray) -> np.ndarray:
    """qonnx's own executor: ModelWrapper, batch size set to len(x), cleanup_model, execute_onnx.

    qonnx 1.0.0 runs each node as a single-node model stamped with onnx.IR_VERSION, which
    may be newer than onnxruntime accepts: the caller patches qonnx_make_model (see the test).
    """
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.util.cleanup import cleanup_model

    mw = ModelWrapper(str(path))
    mw = mw.transform(ChangeBatchSize(len(x)))
    mw = cleanup_model(mw)
    iname, oname = mw.graph.input[0].name, mw.graph.output[0].name
    return execute_onnx(mw, {iname: np.ascontiguousarray(x, dtype=np.float32)})[oname]


def float_mlp(seed: int = 0, epochs: int = 15) -> torch.nn.Module:
    """Plain float 64-32-10 MLP with ReLU, trained on digits (seeded)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    xtr, _, ytr, _ = digits_split()
    _train(model, xtr, ytr, epochs, lr=3e-3, seed=seed)
    return model


def float_cnn(seed: int = 0, epochs: int = 6) -> torch.nn.Module:
    """Float CNN on 1x8x8 digits: conv3x3(8)-BN-ReLU-maxpool, conv3x3(16)-ReLU-maxpool, linear(10)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))
    xtr, _, ytr, _ = digits_split()
    _train(model, xtr.reshape(-1, 1, 8, 8), ytr, epochs, lr=3e-3, seed=seed)
    return model


def float_gap_cnn(seed: int = 0, epochs: int = 20) -> torch.nn.Module:
    """Float CNN ending in global average pooling: conv3x3(16)-ReLU-maxpool, conv3x3(32)-ReLU, GAP, linear(10)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    xtr, _, ytr, _ = digits_split()
    _train(model, xtr.reshape(-1, 1, 8, 8), ytr, epochs, lr=3e-3, seed=seed)
    return model


def export_float(model: torch.nn.Module, path: Path, shape: tuple = (1, 64)) -> Path:
    """TorchScript exporter, opset 13, dynamic batch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(*shape),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
                          dynamo=False)
    return path


def quantize_qdq(fp32: Path, out: Path, calib: np.ndarray) -> Path:
    """onnxruntime.quantization: quant_pre_process, then quantize_static in QDQ format with
    signed 8-bit activations and weights (per-tensor, MinMax), one calibration sample per batch."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_name(out.stem + "_pre.onnx")
    quant_pre_process(str(fp32), str(pre))
    quantize_static(str(pre), str(out), _reader(calib, (1, 64)), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=False)
    return out


def _reader(calib: np.ndarray, shape: tuple):
    """onnxruntime CalibrationDataReader over the samples, one per batch."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": c.reshape(shape).astype(np.float32)} for c in calib])

        def get_next(self):
            return next(self.it, None)

    return Reader()


def quantize_qoperator(fp32: Path, out: Path, calib: np.ndarray, shape: tuple, signed: bool,
                       per_channel: bool) -> Path:
    """onnxruntime.quantization.quantize_static in QOperator format (QLinearConv, QGemm, ...),
    int8 weights, int8 or uint8 activations."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_name(out.stem + "_pre.onnx")
    quant_pre_process(str(fp32), str(pre))
    act = QuantType.QInt8 if signed else QuantType.QUInt8
    quantize_static(str(pre), str(out), _reader(calib, shape), quant_format=QuantFormat.QOperator,
                    activation_type=act, weight_type=QuantType.QInt8, per_channel=per_channel)
    return out


def quantize_dynamic(fp32: Path, out: Path, op_types: list[str]) -> Path:
    """onnxruntime.quantization.quantize_dynamic: DynamicQuantizeLinear + MatMulInteger / ConvInteger."""
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize_dynamic

    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_name(out.stem + "_pre.onnx")
    quant_pre_process(str(fp32), str(pre))
    ort_quantize_dynamic(str(pre), str(out), op_types_to_quantize=op_types, weight_type=QuantType.QInt8)
    return out


def freeze_dynamic(dyn: Path, out: Path, calib: np.ndarray, shape: tuple) -> Path:
    """The dynamic model with each DynamicQuantizeLinear replaced by a QuantizeLinear whose
    scale and zero point are what DynamicQuantizeLinear computes over the whole calibration
    set (uint8, range widened to include 0). Everything else is onnxruntime's output."""
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    m = onnx.load(str(dyn))
    dql = [n for n in m.graph.node if n.op_type == "DynamicQuantizeLinear"]
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    for n in dql:
        probe.graph.output.append(helper.make_tensor_value_info(n.input[0], onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [n.input[0] for n in dql]
    seen = sess.run(names, {"x": calib.reshape((-1,) + tuple(shape[1:])).astype(np.float32)})
    nodes = []
    for n in m.graph.node:
        if n.op_type != "DynamicQuantizeLinear":
            nodes.append(n)
            continue
        v = seen[names.index(n.input[0])]
        lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
        scale = np.float32((hi - lo) / 255.0)
        zp = np.uint8(np.clip(np.rint(-lo / scale), 0, 255))
        m.graph.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), n.output[1]),
                                    numpy_helper.from_array(np.array(zp, np.uint8), n.output[2])])
        nodes.append(helper.make_node("QuantizeLinear", [n.input[0], n.output[1], n.output[2]], [n.output[0]],
                                      name=n.name))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, str(out))
    return out


def torch_quantized(model: torch.nn.Module, calib: np.ndarray, path: Path) -> tuple[torch.nn.Module, Path]:
    """torch.ao eager post-training quantization (fbgemm, per-tensor uint8 activations, per-channel
    int8 weights) of a Sequential, exported by the TorchScript exporter as QDQ (with Casts)."""
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare

    q = torch.nn.Sequential(QuantStub(), *list(model), DeQuantStub()).eval()
    q.qconfig = get_default_qconfig("fbgemm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare(q)
        prepared(torch.from_numpy(calib.astype(np.float32)))
        q = convert(prepared)
        torch.onnx.export(q, (torch.zeros(1, 64),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, dynamo=False)
    return q, path


def ort_forward(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def qdq_output_codes(path: Path, y: np.ndarray) -> np.ndarray:
    """Integer codes of a QDQ model's output: the DequantizeLinear producing the graph output
    gives (scale, zero point); code = round(y / scale) + zp."""
    from onnx import numpy_helper

    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = m.graph.output[0].name
    (dq,) = [n for n in m.graph.node if out in n.output]
    assert dq.op_type == "DequantizeLinear", dq.op_type
    scale = float(inits[dq.input[1]])
    zp = int(inits[dq.input[2]]) if len(dq.input) > 2 and dq.input[2] else 0
    return np.rint(np.asarray(y, dtype=np.float64) / scale).astype(np.int64) + zp


def hwcomp_float_forward(path: Path, x: np.ndarray) -> np.ndarray:
    """hwcomp's float IR executor on the ONNX file."""
    from hwcomp.compile import float_pipeline
    from hwcomp.ir.execute import execute

    g = float_pipeline(Path(path))
    return execute(g, {g.inputs[0]: np.ascontiguousarray(x, dtype=np.float32)})[g.outputs[0]]
