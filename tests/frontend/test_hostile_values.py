"""NaN and Inf in weights, constants and data (issue 10, item 2): one HwcompError naming
the tensor and the nodes that read it (or the node that computed it), before any math."""
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.compile import compile_model
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx

QONNX = "qonnx.custom_op.general"


def _model(tmp_path, nodes, inits, x_shape=(1, 4), y_shape=(1, 3), domains=(), name="m.onnx"):
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))], inits)
    opsets = [helper.make_opsetid("", 13)] + [helper.make_opsetid(d, 1) for d in domains]
    path = tmp_path / name
    onnx.save(helper.make_model(g, opset_imports=opsets, ir_version=8), str(path))
    return path


def _t(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def _weights(bad=None, index=(1, 2)):
    w = np.random.default_rng(0).normal(0, 0.3, (3, 4)).astype(np.float32)
    if bad is not None:
        w[index] = bad
    return w


def _gemm(tmp_path, w, b=np.zeros(3), **kw):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)]
    return _model(tmp_path, nodes, [_t("w", w), _t("b", b)], **kw)


def _error(path, **kw) -> str:
    with pytest.raises(HwcompError) as e:
        load_onnx(path, **kw)
    text = str(e.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("bad, kind", [(np.nan, "NaN"), (np.inf, "+Inf"), (-np.inf, "-Inf")])
def test_non_finite_initializer_names_tensor_and_readers(tmp_path, bad, kind):
    text = _error(_gemm(tmp_path, _weights(bad)))
    assert f"initializer 'w' holds {kind} (1 of 12 values, first at index (1, 2))" in text
    assert "read by node 'fc' (Gemm)" in text and "m.onnx" in text


def test_every_reader_is_named(tmp_path):
    nodes = [helper.make_node("Mul", ["x", "s"], ["a"], name="scale_a"),
             helper.make_node("Add", ["a", "s"], ["y"], name="shift_b")]
    text = _error(_model(tmp_path, nodes, [_t("s", [1.0, np.nan, 2.0, 3.0])], y_shape=(1, 4)))
    assert "initializer 's' holds NaN" in text and "node 'scale_a' (Mul)" in text and "node 'shift_b' (Add)" in text


def test_double_beyond_float32_is_infinite(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)]
    w = _weights().astype(np.float64)
    w[0, 0] = 1e300
    text = _error(_model(tmp_path, nodes, [_t("w", w, np.float64)]))
    assert "initializer 'w' holds +Inf" in text


@pytest.mark.parametrize("attr", ["value", "value_float", "value_floats"])
def test_constant_node_value(tmp_path, attr):
    value = {"value": _t("v", [[0.0, 1.0, np.nan]]), "value_float": np.inf, "value_floats": [1.0, -np.inf, 0.0]}[attr]
    nodes = [helper.make_node("Constant", [], ["c"], name="const", **{attr: value}),
             helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "c"], ["y"], name="bias_add")]
    text = _error(_model(tmp_path, nodes, [_t("w", np.ones((4, 3)))]))
    assert "node 'const' (Constant): constant 'c' holds" in text and "read by node 'bias_add' (Add)" in text


def test_folded_division_by_zero_names_the_node(tmp_path):
    nodes = [helper.make_node("Div", ["one", "zero"], ["inf"], name="div0"),
             helper.make_node("Mul", ["x", "inf"], ["y"], name="use")]
    text = _error(_model(tmp_path, nodes, [_t("one", [1.0]), _t("zero", [0.0])], y_shape=(1, 4)))
    assert "node 'div0' (Div): its output 'inf', computed at import from constants, holds +Inf" in text
    assert "read by node 'use' (Mul)" in text


def test_folded_foreign_op_names_the_node(tmp_path):
    """Sqrt has no hwcomp op: onnx's reference evaluator folds it, and its NaN is refused there."""
    nodes = [helper.make_node("Sqrt", ["neg"], ["root"], name="sqrt0"),
             helper.make_node("Mul", ["x", "root"], ["y"], name="use")]
    text = _error(_model(tmp_path, nodes, [_t("neg", [1.0, -1.0, 4.0, 9.0])], y_shape=(1, 4)))
    assert "node 'sqrt0' (Sqrt): its output 'root'" in text and "holds NaN" in text and "node 'use'" in text


def test_constant_of_shape_nan_value(tmp_path):
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["c"], name="fill", value=_t("v", [np.nan])),
             helper.make_node("Add", ["x", "c"], ["y"], name="use")]
    text = _error(_model(tmp_path, nodes, [_t("shape", [1, 4], np.int64)], y_shape=(1, 4)))
    assert "node 'fill' (ConstantOfShape)" in text and "holds NaN" in text


@pytest.mark.parametrize("attr, value", [("alpha", np.nan), ("beta", np.inf)])
def test_non_finite_float_attribute(tmp_path, attr, value):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1, **{attr: value})]
    text = _error(_model(tmp_path, nodes, [_t("w", _weights()), _t("b", np.zeros(3))]))
    assert f"node 'fc' (Gemm): attribute '{attr}'" in text and "finite" in text


def _multithreshold(tmp_path, thresholds):
    nodes = [helper.make_node("MultiThreshold", ["x", "t"], ["y"], name="mt", domain=QONNX, out_scale=1.0,
                              out_bias=0.0, data_layout="NC")]
    return _model(tmp_path, nodes, [_t("t", thresholds)], y_shape=(1, 4), domains=[QONNX])


def test_infinite_thresholds_are_accepted_nan_is_not(tmp_path):
    """A MultiThreshold threshold at +-inf is never / always passed: meaningful, so accepted."""
    g = load_onnx(_multithreshold(tmp_path, [[-np.inf, 0.0, 1.0, np.inf]]))
    assert [n.op.name for n in g.nodes()] == ["ThresholdQuant"]
    text = _error(_multithreshold(tmp_path, [[-1.0, np.nan, 1.0, 2.0]]))
    assert "initializer 't' holds NaN" in text and "node 'mt' (MultiThreshold)" in text


def test_undecodable_initializer(tmp_path):
    """raw_data shorter than its dims: refused by name (the checker only looks at small tensors)."""
    w = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 4000])
    w.raw_data = b"\0" * 100
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)]
    text = _error(_model(tmp_path, nodes, [w], x_shape=(1, 4000)))
    assert "initializer 'w'" in text and ("cannot decode" in text or "too small" in text)


def test_nan_weights_through_the_cli(tmp_path):
    path = _gemm(tmp_path, _weights(np.nan))
    p = subprocess.run([sys.executable, "-m", "hwcomp", "compile", str(path), "-o", str(tmp_path / "b")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("hwcomp: error:")]
    assert len(errors) == 1 and "initializer 'w' holds NaN" in errors[0] and "node 'fc' (Gemm)" in errors[0]
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("calib, message", [
    (np.array([[0.0, np.nan, 1.0, 2.0]] * 3, np.float32),
     "3 values are NaN or Inf (as float32), the first at index (0, 1)"),
    (np.array([[0.0, 1.0, 1e39, 2.0]], np.float64), "NaN or Inf (as float32)"),
    (np.zeros((0, 4), np.float32), "no samples"),
    (np.array([["a", "b", "c", "d"]]), "dtype <U1"),
])
def test_bad_calibration_data(tmp_path, calib, message):
    with pytest.raises(HwcompError, match="calibration data") as e:
        compile_model(_gemm(tmp_path, _weights()), tmp_path / "b", calib=calib)
    assert message in str(e.value)
    assert not (tmp_path / "b").exists()


def test_float32_overflow_during_calibration_names_the_node(tmp_path):
    """Finite weights whose products overflow float32: the executor names the node."""
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], name="fc0", transB=1),
             helper.make_node("Gemm", ["h", "w2"], ["y"], name="fc1", transB=1)]
    path = _model(tmp_path, nodes, [_t("w", np.full((4, 4), 1e30)), _t("w2", np.full((3, 4), 1e30))])
    with pytest.raises(HwcompError) as e:
        compile_model(path, tmp_path / "b", calib=np.ones((4, 4), np.float32))
    assert "node 'fc1' (Dense) computes Inf" in str(e.value) and "float32" in str(e.value)


def test_bias_beyond_any_accumulator(tmp_path):
    """|b| = 1e30 beside weights of 0.1 needs ~2^120 accumulator steps: refused by name."""
    with pytest.raises(HwcompError) as e:
        compile_model(_gemm(tmp_path, _weights(), b=[0.0, 1e30, 0.0]), tmp_path / "b",
                      calib=np.ones((4, 4), np.float32) * 1e-3)
    assert "layer 'fc'" in str(e.value) and "62" in str(e.value)
