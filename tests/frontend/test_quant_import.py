"""Quantizers at import: QONNX Quant/BipolarQuant and ONNX Q/DQ semantics, and
one clear error per malformed quantization parameter."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute
from hwcomp.passes.canonicalize import canonicalize

QONNX = "qonnx.custom_op.general"


def _save(tmp_path, nodes, inits, shape=(1, 6), name="q.onnx", out_shape=None):
    graph = helper.make_graph(
        nodes, "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape or shape))],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)],
                              ir_version=8)
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _quant(tmp_path, scale=0.25, zero=0.0, bits=3.0, **attrs):
    inits = {"s": np.float32(scale), "z": np.float32(zero), "b": np.float32(bits)}
    attrs = {"signed": 1, "narrow": 0, "rounding_mode": "ROUND", **attrs}
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX, name="q0", **attrs)
    return _save(tmp_path, [node], inits)


def test_quant_semantics_signed_narrow_rounding(tmp_path):
    x = np.array([[-2.0, -0.3, 0.125, 0.375, 0.9, 5.0]], np.float32)
    g = load_onnx(_quant(tmp_path, narrow=1))
    y = execute(g, {"x": x})["y"]
    # codes: round half even of x / 0.25, clipped to -3..3 (narrow 3-bit)
    assert y.tolist() == [[-0.75, -0.25, 0.0, 0.5, 0.75, 0.75]]
    g = load_onnx(_quant(tmp_path, signed=0, rounding_mode="FLOOR"))
    assert execute(g, {"x": x})["y"].tolist() == [[0.0, 0.0, 0.0, 0.25, 0.75, 1.75]]


def test_bipolar_quant_maps_zero_to_plus_one(tmp_path):
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain=QONNX)
    g = load_onnx(_save(tmp_path, [node], {"s": np.float32(0.5)}))
    x = np.array([[-1.0, -0.0, 0.0, 2.0, -3.0, 1e-9]], np.float32)
    assert execute(g, {"x": x})["y"].tolist() == [[-0.5, 0.5, 0.5, 0.5, -0.5, 0.5]]


def test_signed_one_bit_quant_is_bipolar(tmp_path):
    g = load_onnx(_quant(tmp_path, scale=0.5, bits=1.0))
    x = np.array([[-1.0, -0.0, 0.0, 2.0, -3.0, 1e-9]], np.float32)
    assert execute(g, {"x": x})["y"].tolist() == [[-0.5, 0.5, 0.5, 0.5, -0.5, 0.5]]


def test_qdq_pair_fuses_into_one_quantizer(tmp_path):
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    path = _save(tmp_path, nodes, {"s": np.float32(0.1), "z": np.uint8(128)})
    g = canonicalize(load_onnx(path))
    assert [n.op.name for n in g.nodes()] == ["FakeQuant"]
    x = np.array([[-20.0, -1.04, 0.05, 0.15, 3.3, 20.0]], np.float32)
    assert np.allclose(execute(g, {"x": x})["y"], [[-12.8, -1.0, 0.0, 0.2, 3.3, 12.7]], atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"scale": 0.0}, "scale must be positive"),
    ({"scale": -0.5}, "scale must be positive"),
    ({"scale": np.inf}, "initializer 's' holds +Inf"),  # refused as a non-finite constant first
    ({"bits": 0.0}, "bit width 0 is not supported; supported: 1..32"),
    ({"bits": 33.0}, "bit width 33 is not supported; supported: 1..32"),
    ({"bits": 2.5}, "bit width must be one integer"),
    ({"zero": 0.5}, "zero point must be an integer"),
    ({"zero": 9.0}, "zero point must be an integer within the codes -4..3"),
    ({"rounding_mode": "STOCHASTIC"}, "rounding_mode 'STOCHASTIC' is not supported"),
])
def test_malformed_quant_parameters_name_the_node(tmp_path, kwargs, message):
    with pytest.raises(HwcompError) as e:
        load_onnx(_quant(tmp_path, **kwargs))
    text = str(e.value)
    assert message in text and "node 'q0' (Quant)" in text and "q.onnx" in text


def test_non_constant_scale_is_an_error(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["s"]),
             helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX, name="qa", signed=1)]
    path = _save(tmp_path, nodes, {"z": np.float32(0), "b": np.float32(4)})
    with pytest.raises(HwcompError, match=r"node 'qa' \(Quant\): scale \(input 1, 's'\) must be a constant"):
        load_onnx(path)


def test_quantize_linear_negative_scale(tmp_path):
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="ql"),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    path = _save(tmp_path, nodes, {"s": np.float32(-0.1), "z": np.int8(0)})
    with pytest.raises(HwcompError, match=r"node 'ql' \(QuantizeLinear\): scale must be positive and finite"):
        load_onnx(path)
