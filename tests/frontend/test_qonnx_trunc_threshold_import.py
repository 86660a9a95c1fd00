"""QONNX Trunc and MultiThreshold at import: hwcomp's float32 references equal qonnx's own
execution (its CustomOp classes, run node by node on the same inputs), and each malformed
parameter is one clear error naming the node."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute
from hwcomp.ops.trunc import ROUNDING

QONNX = "qonnx.custom_op.general"


def _save(tmp_path, node, inits, shape, name="m.onnx"):
    graph = helper.make_graph(
        [node], "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 2)],
                              ir_version=10)
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _qonnx(path, x, version=None):
    """qonnx's CustomOp for the single node, executed on the file's initializers."""
    pytest.importorskip("qonnx")
    from qonnx.custom_op.registry import getCustomOp

    model = onnx.load(str(path))
    ctx = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    ctx["x"] = x
    node = model.graph.node[0]
    getCustomOp(node, onnx_opset_version=version).execute_node(ctx, model.graph)
    return ctx[node.output[0]]


def _hwcomp(path, x):
    g = load_onnx(path)
    return execute(g, {"x": x})["y"]


# ---------------------------------------------------------------- Trunc

TRUNC_SHAPE = (2, 3, 8, 8)

def _trunc(tmp_path, v2=True, scale=0.125, zero=0.0, in_bits=8.0, out_scale=1.0, out_bits=4.0, **attrs):
    inits = {"s": np.float32(scale), "z": np.float32(zero), "ib": np.float32(in_bits), "ob": np.float32(out_bits)}
    inputs = ["x", "s", "z", "ib", "ob"]
    if v2:
        inits["os"] = np.float32(out_scale)
        inputs = ["x", "s", "z", "ib", "os", "ob"]
    node = helper.make_node("Trunc", inputs, ["y"], domain=QONNX, name="t0", **attrs)
    return _save(tmp_path, node, inits, TRUNC_SHAPE)


def _sums(rng, scale, lo, hi):
    """x = S * scale for integer S in [lo, hi], as a pool of codes produces (every tie included)."""
    n = int(np.prod(TRUNC_SHAPE))
    s = np.concatenate([np.arange(lo, hi + 1), rng.integers(lo, hi + 1, n - (hi - lo + 1))])
    return (rng.permutation(s).reshape(TRUNC_SHAPE) * np.float32(scale)).astype(np.float32)


@pytest.mark.parametrize("mode", sorted(ROUNDING))
@pytest.mark.parametrize("signed, narrow", [(0, 0), (1, 0), (1, 1)])
def test_trunc_v2_equals_qonnx(tmp_path, mode, signed, narrow):
    # scale 1/8, output scale 1 (ts = 8, a 3-bit right shift); sums beyond the 4-bit range clip
    path = _trunc(tmp_path, rounding_mode=mode, signed=signed, narrow=narrow)
    x = _sums(np.random.default_rng(1), 0.125, -80 * signed, 140)
    want = _qonnx(path, x, version=2)
    got = _hwcomp(path, x)
    assert got.dtype == np.float32 and np.array_equal(got, want)


@pytest.mark.parametrize("mode", ["FLOOR", "ROUND", "HALF_UP", "UP"])
def test_trunc_v1_equals_qonnx(tmp_path, mode):
    # five inputs: ts = 2^(in - out), no clipping, output at the input scale
    path = _trunc(tmp_path, v2=False, scale=0.25, zero=0.0, in_bits=7.0, out_bits=4.0, rounding_mode=mode)
    x = _sums(np.random.default_rng(2), 0.25, -64, 63)
    assert np.array_equal(_hwcomp(path, x), _qonnx(path, x, version=1))


def test_trunc_off_grid_inputs_and_a_left_shift_equal_qonnx(tmp_path):
    # x not on the scale's grid (the first rounding matters), output scale / scale = 1/4 (left shift)
    path = _trunc(tmp_path, scale=0.3, zero=0.0, out_scale=0.075, out_bits=8.0, signed=1, rounding_mode="ROUND")
    x = np.random.default_rng(3).normal(0, 3, TRUNC_SHAPE).astype(np.float32)
    assert np.array_equal(_hwcomp(path, x), _qonnx(path, x, version=2))


@pytest.mark.parametrize("kwargs, message", [
    ({"out_bits": 2.5}, "output bit width must be one integer"),
    ({"out_bits": 0.0}, "output bit width 0 is not supported; supported: 1..32"),
    ({"out_bits": 33.0}, "output bit width 33 is not supported; supported: 1..32"),
    ({"in_bits": 0.0}, "input bit width 0 is not supported; supported: 1..64"),
    ({"scale": 0.0}, "scale must be positive"),
    ({"out_scale": -1.0}, "scale must be positive"),
    ({"rounding_mode": "STOCHASTIC"}, "rounding_mode 'STOCHASTIC' is not supported"),
    ({"signed": 2}, "signed and narrow must be 0 or 1"),
])
def test_malformed_trunc_parameters_name_the_node(tmp_path, kwargs, message):
    with pytest.raises(HwcompError) as e:
        load_onnx(_trunc(tmp_path, **kwargs))
    text = str(e.value)
    assert message in text and "node 't0' (Trunc)" in text and "m.onnx" in text


def test_trunc_needs_constant_parameters_and_five_or_six_inputs(tmp_path):
    relu = helper.make_node("Relu", ["x"], ["s"])
    node = helper.make_node("Trunc", ["x", "s", "z", "ib", "os", "ob"], ["y"], domain=QONNX, name="ta")
    graph = helper.make_graph(
        [relu, node], "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.float32(v), k) for k, v in (("z", 0), ("ib", 8), ("os", 1), ("ob", 4))])
    path = tmp_path / "c.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 2)],
                                ir_version=10), path)
    with pytest.raises(HwcompError, match=r"node 'ta' \(Trunc\): scale \(input 1, 's'\) must be a constant"):
        load_onnx(path)
    node = helper.make_node("Trunc", ["x", "s", "z", "ib"], ["y"], domain=QONNX, name="tb")
    with pytest.raises(HwcompError, match=r"node 'tb' \(Trunc\): Trunc takes 5 inputs .* got 4"):
        load_onnx(_save(tmp_path, node, {"s": np.float32(1), "z": np.float32(0), "ib": np.float32(8)}, (1, 4)))


# ---------------------------------------------------------------- MultiThreshold

def _multithreshold(tmp_path, thresholds, shape, **attrs):
    attrs = {"out_dtype": "UINT4", **attrs}
    node = helper.make_node("MultiThreshold", ["x", "t"], ["y"], domain=QONNX, name="mt0", **attrs)
    return _save(tmp_path, node, {"t": thresholds}, shape)


@pytest.mark.parametrize("shape, layout, per_channel", [
    ((2, 3, 4, 5), "", True),         # rank 4 without a layout: NCHW, as qonnx guesses
    ((2, 4, 5, 3), "NHWC", True),
    ((6, 3), "NC", True),
    ((2, 5, 3), "", True),            # rank 3: NWC
    ((2, 3, 4, 5), "NCHW", False),    # one row for every channel
])
def test_multithreshold_equals_qonnx(tmp_path, shape, layout, per_channel):
    rng = np.random.default_rng(4)
    rows = 3 if per_channel else 1
    t = np.sort(rng.integers(-8, 8, (rows, 7)).astype(np.float32) / 4, axis=1)   # ties within rows
    attrs = {"data_layout": layout} if layout else {}
    path = _multithreshold(tmp_path, t, shape, out_scale=0.3, out_bias=-0.7, **attrs)
    # x on the thresholds' grid: every comparison at equality happens
    x = (rng.integers(-10, 10, shape) / 4).astype(np.float32)
    want = _qonnx(path, x)
    got = _hwcomp(path, x)
    assert got.dtype == np.float32 and np.array_equal(got, want)


def test_multithreshold_integer_thresholds_equal_qonnx(tmp_path):
    # FINN writes integer thresholds for integer inputs; the comparison must not round them
    t = np.array([[-3, 0, 2], [1, 1, 5]], np.int64)
    path = _multithreshold(tmp_path, t, (4, 2), data_layout="NC")
    x = np.arange(-8, 8, dtype=np.float32).reshape(8, 2)[:4] + np.float32(0.5)
    assert np.array_equal(_hwcomp(path, x), _qonnx(path, x))


@pytest.mark.parametrize("thresholds, attrs, message", [
    (np.array([[0.0, 1.0, 0.5], [0, 1, 2], [0, 1, 2]], np.float32), {}, "thresholds must ascend in each row; rows [0]"),
    (np.zeros((2, 3), np.float32), {}, "thresholds have 2 rows for 3 channels"),
    (np.zeros((3,), np.float32), {}, "thresholds must be a numeric [channels, K] matrix"),
    (np.array([[0.0, np.nan]], np.float32), {}, "initializer 't' holds NaN"),
    (np.zeros((1, 2), np.float32), {"out_scale": 0.0}, "out_scale must be finite and non-zero"),
    (np.zeros((1, 2), np.float32), {"data_layout": "NHWTC"}, "data_layout 'NHWTC' puts channels on axis 4"),
])
def test_malformed_multithreshold_names_the_node(tmp_path, thresholds, attrs, message):
    with pytest.raises(HwcompError) as e:
        load_onnx(_multithreshold(tmp_path, thresholds, (2, 3, 4, 5), **attrs))
    text = str(e.value)
    assert message in text and "node 'mt0' (MultiThreshold)" in text and "m.onnx" in text


def test_multithreshold_needs_constant_thresholds(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["t"]),
             helper.make_node("MultiThreshold", ["x", "t"], ["y"], domain=QONNX, name="mt1", out_dtype="UINT2")]
    graph = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "c.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)],
                                ir_version=10), path)
    with pytest.raises(HwcompError, match=r"node 'mt1' \(MultiThreshold\): thresholds \(input 1, 't'\) must be "
                                          r"a constant"):
        load_onnx(path)
