"""Degenerate ranges (issue 10, item 2): an all-zero layer, a constant activation, a
zero calibration range and all-zero calibration data give a valid design at every
quantization mode, never a math exception or a numpy warning (RuntimeWarnings are
errors here). Before the fix a CNN whose first layer is all zero failed in the
back end with 'shift 14 outside [0, acc_width]': its next layer's accumulator was
1 bit wide with 21 fractional bits."""
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inline_models import mlp, residual_cnn  # noqa: E402

from hwcomp.compile import compile_model  # noqa: E402
from hwcomp.simulate import simulate_build  # noqa: E402

QONNX = "qonnx.custom_op.general"
BITS = ["w8a8", "w4a4", "w2a2", "w1a1"]  # fixed point, low-bit grids, binary


def _t(name, value):
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def _save(tmp_path, name, nodes, inits, x_shape, y_shape, domains=()):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))], inits)
    opsets = [helper.make_opsetid("", 13)] + [helper.make_opsetid(d, 1) for d in domains]
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(g, opset_imports=opsets, ir_version=8), str(path))
    return path


def plain_cnn(tmp_path, w0_scale: float, b0: float):
    """conv3x3(4) -> relu -> maxpool -> conv3x3(6) -> relu -> flatten -> gemm(3); the first
    layer's weights scaled (0: all zero) and its bias set (0 with zero weights: a zero layer;
    non-zero: a constant activation)."""
    rng = np.random.default_rng(0)
    inits = [_t("w0", rng.normal(0, .3, (4, 1, 3, 3)) * w0_scale), _t("b0", np.full(4, b0)),
             _t("w1", rng.normal(0, .3, (6, 4, 3, 3))), _t("w2", rng.normal(0, .3, (3, 24))), _t("b2", np.zeros(3))]
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c0"], ["r0"]),
             helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p0", "w1"], ["c1"]), helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Flatten", ["r1"], ["f"]), helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1)]
    return _save(tmp_path, f"cnn_{w0_scale}_{b0}", nodes, inits, [1, 1, 8, 8], [1, 3])


def _edited(path, out, edit):
    """A copy of the model with each initializer passed through edit(name, array)."""
    m = onnx.load(str(path))
    for init in m.graph.initializer:
        init.CopyFrom(numpy_helper.from_array(edit(init.name, numpy_helper.to_array(init).copy()), init.name))
    onnx.save(m, str(out))
    return out


def _compile(path, out, bits, calib):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", "no calibration data")
        return compile_model(path, out, calib=calib, bits=bits)


CALIB = {"random": None, "zeros": 0.0, "constant": 0.5}


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("case", ["zero_layer", "constant_activation", "negative_constant", "all_zero"])
def test_degenerate_mlp(tmp_path, bits, case):
    edits = {
        "zero_layer": lambda n, a: a * 0 if n == "w0" else a,
        "constant_activation": lambda n, a: a * 0 if n == "w0" else np.abs(a) + 1 if n == "b0" else a,
        "negative_constant": lambda n, a: a * 0 if n == "w0" else -np.abs(a) - 1 if n == "b0" else a,
        "all_zero": lambda n, a: a * 0,
    }
    path = _edited(mlp(tmp_path, [8, 6, 5, 4]), tmp_path / f"{case}.onnx", edits[case])
    for name, value in CALIB.items():
        calib = None if value is None else np.full((8, 8), value, np.float32)
        res = _compile(path, tmp_path / f"b_{name}", bits, calib)
        assert (res.out_dir / "hwcomp.json").is_file()


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("w0, b0", [(0.0, 0.0), (0.0, 1.0), (0.0, -1.0)], ids=["zero", "constant", "dead"])
def test_degenerate_cnn(tmp_path, bits, w0, b0):
    path = plain_cnn(tmp_path, w0, b0)
    for name, value in CALIB.items():
        calib = None if value is None else np.full((8, 1, 8, 8), value, np.float32)
        assert (_compile(path, tmp_path / f"b_{name}", bits, calib).out_dir / "hwcomp.json").is_file()


@pytest.mark.parametrize("zero", ["w0", "w1", "all"])
def test_degenerate_residual_cnn(tmp_path, zero):
    path = _edited(residual_cnn(tmp_path), tmp_path / f"res_{zero}.onnx",
                   lambda n, a: a * 0 if zero in (n, "all") else a)
    for name, value in CALIB.items():
        calib = None if value is None else np.full((8, 1, 8, 8), value, np.float32)
        assert (_compile(path, tmp_path / f"b_{name}", "w8a8", calib).out_dir / "hwcomp.json").is_file()


@pytest.mark.parametrize("w0, b0, act_bits", [(0.0, 0.0, 2.0), (0.0, 0.7, 2.0), (0.0, -0.7, 4.0), (1.0, 0.0, 1.0)])
def test_degenerate_qonnx(tmp_path, w0, b0, act_bits):
    """A trained-quantized model with a zero layer or constant activations: its thresholds
    come from a one-point accumulator range."""
    rng = np.random.default_rng(0)
    inits = [_t("w0", rng.normal(0, .3, (6, 8)) * w0), _t("b0", np.full(6, b0)), _t("w1", rng.normal(0, .3, (4, 6))),
             _t("b1", np.zeros(4)), _t("s_in", 1 / 16), _t("s_w", 0.25), _t("s_a", 0.25), _t("z", 0.0),
             _t("bi", 8.0), _t("bw", 2.0), _t("ba", act_bits)]
    q = dict(domain=QONNX, narrow=0, rounding_mode="ROUND")
    nodes = [helper.make_node("Quant", ["x", "s_in", "z", "bi"], ["xq"], signed=1, **q),
             helper.make_node("Quant", ["w0", "s_w", "z", "bw"], ["w0q"], signed=1, **q),
             helper.make_node("Gemm", ["xq", "w0q", "b0"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Quant", ["r", "s_a", "z", "ba"], ["rq"], signed=0, **q),
             helper.make_node("Quant", ["w1", "s_w", "z", "bw"], ["w1q"], signed=1, **q),
             helper.make_node("Gemm", ["rq", "w1q", "b1"], ["y"], transB=1)]
    path = _save(tmp_path, "qmlp", nodes, inits, [1, 8], [1, 4], [QONNX])
    assert (_compile(path, tmp_path / "b", "w8a8", None).out_dir / "hwcomp.json").is_file()


@pytest.mark.rtl
@pytest.mark.parametrize("make", ["zero_first_layer", "zero_residual_branch"])
def test_degenerate_designs_simulate_bit_exact(tmp_path, make):
    """The designs that used to fail (a 1-bit accumulator shifted by 14) are valid RTL."""
    path = plain_cnn(tmp_path, 0.0, 0.0) if make == "zero_first_layer" else \
        _edited(residual_cnn(tmp_path), tmp_path / "res.onnx", lambda n, a: a * 0 if n == "w0" else a)
    _compile(path, tmp_path / "b", "w8a8", np.zeros((8, 1, 8, 8), np.float32))
    x = np.random.default_rng(1).uniform(0, 1, (6, 1, 8, 8)).astype(np.float32)
    assert simulate_build(tmp_path / "b", (x, None))["bit_exact"]
