"""QOperator import: what is refused, and with which message (small models built here; the
models onnxruntime.quantization writes are in tests/integration/test_qoperator_tools.py)."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute


def _save(tmp_path, nodes, inits, out_type=TensorProto.FLOAT, extra_inputs=(), ms=False):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]), *extra_inputs],
        [helper.make_tensor_value_info("y", out_type, [1, 4])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)] + [helper.make_opsetid("com.microsoft", 1)] * ms, ir_version=8)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def _qlinear_matmul(y_scale=np.float32(0.1), a_is_weight=False):
    w = np.arange(-8, 8, dtype=np.int8).reshape(4, 4)
    inputs = ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if a_is_weight:
        inputs = ["w", "ws", "wz", "xq", "xs", "xz", "ys", "yz"]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="quant_x"),
             helper.make_node("QLinearMatMul", inputs, ["yq"], name="mm"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dequant_y")]
    inits = {"xs": np.float32(0.05), "xz": np.int8(3), "w": w, "ws": np.float32(0.02), "wz": np.int8(0),
             "ys": y_scale, "yz": np.int8(-5)}
    return nodes, inits


def test_qlinear_matmul_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = _save(tmp_path, *_qlinear_matmul())
    x = np.random.default_rng(0).uniform(-6, 6, (256, 4)).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = np.concatenate([sess.run(None, {"x": r[None]})[0] for r in x])
    g = load_onnx(path)
    got = np.concatenate([execute(g, {"x": r[None]})["y"] for r in x])
    np.testing.assert_array_equal(got, want)


def test_zero_scale_is_named(tmp_path):
    path = _save(tmp_path, *_qlinear_matmul(y_scale=np.float32(0)))
    with pytest.raises(HwcompError, match=r"node 'mm' \(QLinearMatMul\): y_scale must be positive"):
        load_onnx(path)


def test_non_constant_scale_is_named(tmp_path):
    nodes, inits = _qlinear_matmul()
    del inits["ws"]
    path = _save(tmp_path, nodes, inits, extra_inputs=[helper.make_tensor_value_info("ws", TensorProto.FLOAT, [])])
    with pytest.raises(HwcompError, match=r"node 'mm' \(QLinearMatMul\): b_scale \(input 4, 'ws'\) must be a constant"):
        load_onnx(path)


def test_weights_must_be_the_constant_operand(tmp_path):
    path = _save(tmp_path, *_qlinear_matmul(a_is_weight=True))
    with pytest.raises(HwcompError, match=r"node 'mm' \(QLinearMatMul\): b \(the weights\) \(input 3, 'xq'\) must be a constant"):
        load_onnx(path)


def test_unsupported_op_on_codes_is_named(tmp_path):
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="quant_x"),
             helper.make_node("QLinearAveragePool", ["xq", "xs", "xz", "xs", "xz"], ["yq"], name="avg",
                              domain="com.microsoft", kernel_shape=[1]),
             helper.make_node("DequantizeLinear", ["yq", "xs", "xz"], ["y"], name="dequant_y")]
    path = _save(tmp_path, nodes, {"xs": np.float32(0.05), "xz": np.uint8(3)}, ms=True)
    with pytest.raises(HwcompError, match=r"node 'avg' \(com.microsoft.QLinearAveragePool\).*"
                                          r"\(onnxruntime QOperator\): QLinearConv"):
        load_onnx(path)


def test_dynamic_quantize_linear_is_refused(tmp_path):
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dyn"),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["y"], name="dequant_y")]
    path = _save(tmp_path, nodes, {})
    with pytest.raises(HwcompError, match=r"node 'dyn' \(DynamicQuantizeLinear\): dynamic quantization .*"
                                          r"quantize_static"):
        load_onnx(path)


def test_integer_result_must_be_cast_to_float(tmp_path):
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="quant_x"),
             helper.make_node("MatMulInteger", ["xq", "w"], ["acc"], name="mmi"),
             helper.make_node("Add", ["acc", "b"], ["y"], name="add_int")]
    inits = {"xs": np.float32(0.05), "xz": np.uint8(3), "w": np.ones((4, 4), np.uint8), "b": np.ones(4, np.int32)}
    path = _save(tmp_path, nodes, inits, out_type=TensorProto.INT32)
    with pytest.raises(HwcompError, match=r"node 'add_int' \(Add\): reads the int32 result 'acc'"):
        load_onnx(path)


def test_quantize_linear_adds_the_zero_point_after_rounding(tmp_path):
    """ONNX: round(x / s) + z. Adding z first, in float32, rounds 0.49999997 + 11 up to 11.5 -> 12."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("DequantizeLinear", ["q", "s", "z0"], ["y"], name="dequant")]
    path = _save(tmp_path, nodes, {"s": np.float32(1), "z": np.uint8(11), "z0": np.uint8(0)})
    x = np.full((1, 4), np.nextafter(np.float32(0.5), np.float32(0)), np.float32)
    got = execute(load_onnx(path), {"x": x})["y"]
    np.testing.assert_array_equal(got, np.full((1, 4), 11, np.float32))
