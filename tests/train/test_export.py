"""export_qonnx: the QONNX node patterns, attributes and initializers of small
quantized models, the ONNX checker, and the exported graph run with numpy
Quant/BipolarQuant in onnx.reference (and by hwcomp's importer) against torch."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

torch = pytest.importorskip("torch")

from hwcomp.train import QONNX_DOMAIN, QuantAct, QuantConv2d, QuantLinear, export_qonnx  # noqa: E402
from hwcomp.train.qonnx_ref import qonnx_evaluator, quant_ref  # noqa: E402

nn = torch.nn


def _randomize_bn(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    return model.eval()


def tiny_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return _randomize_bn(nn.Sequential(OrderedDict([
        ("quant_in", QuantAct.input(bits=8, frac_bits=7)),
        ("fc1", QuantLinear(12, 16, bias=False, weight_bits=1)), ("bn1", nn.BatchNorm1d(16)),
        ("act1", QuantAct.bipolar()),
        ("fc2", QuantLinear(16, 5, weight_bits=3)), ("bn2", nn.BatchNorm1d(5)),
    ])), 1)


def tiny_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return _randomize_bn(nn.Sequential(OrderedDict([
        ("quant_in", QuantAct.input(bits=8, frac_bits=7)),
        ("conv1", QuantConv2d(1, 4, 3, padding=1, bias=False, weight_bits=2)), ("bn1", nn.BatchNorm2d(4)),
        ("act1", QuantAct.relu(2, 2.0)), ("pool", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc", QuantLinear(4 * 3 * 3, 3, weight_bits=1)),
    ])), 2)


def _inputs(shape, n=7, seed=0):
    # the input quantizer's range (unsigned 8 bits at scale 2^-7) and a little beyond
    return np.random.default_rng(seed).uniform(-0.2, 2.2, (n,) + shape).astype(np.float32)


def _export(model, tmp_path, shape):
    path = tmp_path / "m.onnx"
    proto = export_qonnx(model, path, torch.zeros((1,) + shape))
    loaded = onnx.load(str(path))
    assert loaded == proto
    return loaded


def _inits(proto):
    return {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _check_common(proto):
    onnx.checker.check_model(proto)
    assert proto.ir_version <= 10
    assert {o.domain: o.version for o in proto.opset_import} == {"": 13, QONNX_DOMAIN: 1}
    assert [i.name for i in proto.graph.input] == ["x"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert all(n.op_type not in ("Constant", "Identity") for n in proto.graph.node)
    assert all(i.data_type == onnx.TensorProto.FLOAT for i in proto.graph.initializer)
    for n in proto.graph.node:
        if n.op_type in ("Quant", "BipolarQuant"):
            assert n.domain == QONNX_DOMAIN
            assert all(i in _inits(proto) for i in n.input[1:])  # scale, zeropt, bitwidth are initializers


def _weight_quant(proto, layer: str):
    """The quantizer node of layer.weight and the node that consumes it."""
    (q,) = [n for n in proto.graph.node if n.input[0] == f"{layer}.weight"]
    (user,) = [n for n in proto.graph.node if q.output[0] in n.input]
    assert list(user.input).index(q.output[0]) == 1  # the weight input of Gemm / Conv
    return q, user


def _check_kbit(proto, q, bits, scale, signed=1, narrow=1):
    inits = _inits(proto)
    assert q.op_type == "Quant"
    assert _attrs(q) == {"signed": signed, "narrow": narrow, "rounding_mode": b"ROUND"}
    assert inits[q.input[1]].shape == scale.shape
    np.testing.assert_allclose(inits[q.input[1]], scale, rtol=1e-6)
    assert inits[q.input[2]].shape == () and inits[q.input[2]] == 0
    assert inits[q.input[3]].shape == () and inits[q.input[3]] == bits


def test_mlp_export_pattern(tmp_path):
    model = tiny_mlp()
    proto = _export(model, tmp_path, (12,))
    _check_common(proto)
    assert [n.op_type for n in proto.graph.node] == [
        "Quant", "BipolarQuant", "Gemm", "BatchNormalization", "BipolarQuant",
        "Quant", "Gemm", "BatchNormalization"]
    inits = _inits(proto)
    q_in = proto.graph.node[0]
    assert q_in.input[0] == "x"
    _check_kbit(proto, q_in, 8, np.float32(2 ** -7), signed=0, narrow=0)

    q, gemm = _weight_quant(proto, "fc1")
    assert q.op_type == "BipolarQuant" and len(q.input) == 2
    assert inits["fc1.weight"].shape == (16, 12)
    np.testing.assert_allclose(inits[q.input[1]], np.abs(inits["fc1.weight"]).mean(1, keepdims=True), rtol=1e-6)
    assert gemm.op_type == "Gemm" and _attrs(gemm)["transB"] == 1
    assert not inits[gemm.input[2]].any()  # bias-free layer: a zero bias keeps it a Gemm

    act = proto.graph.node[4]
    assert act.op_type == "BipolarQuant" and inits[act.input[1]] == 1.0

    q, gemm = _weight_quant(proto, "fc2")
    w = inits["fc2.weight"]
    _check_kbit(proto, q, 3, np.abs(w).max(1, keepdims=True) / 3)
    assert gemm.input[2] == "fc2.bias"
    bn = proto.graph.node[-1]
    assert bn.input[1:] == ["bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"]
    assert proto.graph.output[0].name == "logits"


def test_cnn_export_pattern(tmp_path):
    proto = _export(tiny_cnn(), tmp_path, (1, 6, 6))
    _check_common(proto)
    assert [n.op_type for n in proto.graph.node] == [
        "Quant", "Quant", "Conv", "BatchNormalization", "Quant", "MaxPool", "Flatten", "BipolarQuant", "Gemm"]
    inits = _inits(proto)
    q, conv = _weight_quant(proto, "conv1")
    w = inits["conv1.weight"]
    _check_kbit(proto, q, 2, np.abs(w).max((1, 2, 3), keepdims=True))  # ternary: qmax = 1
    assert q.input[1] == "conv1.weight_scale" and inits[q.input[1]].shape == (4, 1, 1, 1)
    assert conv.op_type == "Conv" and _attrs(conv)["pads"] == [1, 1, 1, 1]
    assert conv.input[0] == proto.graph.node[0].output[0]  # padding applies to the 8-bit codes
    act = proto.graph.node[4]
    _check_kbit(proto, act, 2, np.float32(2 / 3), signed=0, narrow=0)
    q, _ = _weight_quant(proto, "fc")
    assert q.op_type == "BipolarQuant" and inits[q.input[1]].shape == (3, 1)


@pytest.mark.parametrize("make, shape", [(tiny_mlp, (12,)), (tiny_cnn, (1, 6, 6))])
def test_reference_execution_matches_torch(tmp_path, make, shape):
    model = make()
    proto = _export(model, tmp_path, shape)
    x = _inputs(shape)
    got = qonnx_evaluator(proto).run(None, {"x": x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, shape", [(tiny_mlp, (12,)), (tiny_cnn, (1, 6, 6))])
def test_hwcomp_importer_reads_the_export(tmp_path, make, shape):
    from hwcomp.frontend.onnx import load_onnx
    from hwcomp.ir.execute import execute

    model = make()
    _export(model, tmp_path, shape)
    x = _inputs(shape, seed=1)
    (got,) = execute(load_onnx(tmp_path / "m.onnx"), {"x": x}).values()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_export_is_deterministic(tmp_path):
    a = export_qonnx(tiny_mlp(), tmp_path / "a.onnx", torch.zeros(1, 12))
    b = export_qonnx(tiny_mlp(), tmp_path / "b.onnx", torch.zeros(1, 12))
    assert a.SerializeToString() == b.SerializeToString()


def test_quant_reference_with_zero_point_and_rounding_modes():
    x = np.array([-1.0, 0.24, 0.26, 0.5, 3.0], np.float32)
    # unsigned 3-bit, scale 0.5, zero point 2: codes clip(round(x / 0.5 + 2), 0, 7)
    assert quant_ref(x, 0.5, 2.0, 3, signed=0).tolist() == [-1.0, 0.0, 0.5, 0.5, 2.5]
    assert quant_ref(x, 0.5, 0.0, 3, signed=1, rounding_mode="FLOOR").tolist() == [-1.0, 0.0, 0.0, 0.5, 1.5]
