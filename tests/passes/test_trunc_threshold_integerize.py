"""integerize with QONNX Trunc and MultiThreshold, on small ONNX models written here.

Average pooling of codes followed by a Trunc becomes one integer pool whose scale step
is the truncation: its codes must equal the float graph's Trunc codes on every value,
for every rounding mode, Trunc v1 and v2, a left shift, padded windows and a global
pool. MultiThreshold is the model-input quantizer (on the host) and an activation
quantizer after a layer; a Trunc can be one too. Malformed patterns fail naming the node.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.compile import float_pipeline, integer_graph
from hwcomp.errors import HwcompError
from hwcomp.hw.stream_ops import Scale, rounding_shift
from hwcomp.ir.execute import execute
from hwcomp.ops.threshold_quant import ThresholdCodes
from hwcomp.ops.trunc import ROUNDING
from hwcomp.ops.window import AveragePoolReduce, GlobalPoolReduce
from hwcomp.passes.act_quantizers import code_spec
from hwcomp.passes.quantize import QuantConfig
from hwcomp.passes.trunc_pool import _ROUNDING, _ROUNDING_NONNEGATIVE

QONNX = "qonnx.custom_op.general"
ACT_SCALE = 0.5


class Model:
    """Nodes and initializers of an ONNX model, written with onnx.helper."""

    def __init__(self) -> None:
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, value) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op, inputs, domain="", name=None, **attrs) -> str:
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], domain=domain, name=name or f"n{self.n}", **attrs))
        return out

    def quant(self, x, scale, bits, signed, narrow=0, name=None) -> str:
        return self.node("Quant", [x, self.const(np.float32(scale)), self.const(np.float32(0)),
                                   self.const(np.float32(bits))], QONNX, name, signed=signed, narrow=narrow,
                         rounding_mode="ROUND")

    def trunc(self, x, scale, out_scale, out_bits, mode, v2=True, in_bits=8, signed=0, zero=0.0) -> str:
        ins = [x, self.const(np.float32(scale)), self.const(np.float32(zero)), self.const(np.float32(in_bits))]
        if v2:
            ins.append(self.const(np.float32(out_scale)))
        ins.append(self.const(np.float32(out_bits)))
        attrs = {"signed": signed, "narrow": 0} if v2 else {}
        return self.node("Trunc", ins, QONNX, "trunc", rounding_mode=mode, **attrs)

    def thresholds(self, x, t, out_scale, out_bias, layout, name) -> str:
        return self.node("MultiThreshold", [x, self.const(np.asarray(t, np.float32))], QONNX, name,
                         out_scale=out_scale, out_bias=out_bias, out_dtype="UINT4", data_layout=layout)

    def save(self, path, x_shape, y, y_shape):
        graph = helper.make_graph(self.nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                                  [helper.make_tensor_value_info(y, TensorProto.FLOAT, y_shape)], self.inits)
        model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 13),
                                                                       helper.make_opsetid(QONNX, 2)])
        onnx.save(model, str(path))
        return path


def _weights(rng, shape, bits=4):
    top = (1 << (bits - 1)) - 1
    return (rng.integers(-top, top + 1, shape) * 0.25).astype(np.float32), 0.25


def conv_pool_trunc(path, mode="FLOOR", v2=True, kernel=2, pads=0, global_pool=False, gain=1.0,
                    trunc_scale=None, out_bits=4, signed_act=False, zero=0.0, seed=0):
    """x [1, 2, 6, 6] -> Quant(int8) -> Conv(3x3, pad 1, 4 channels, int4) [-> Relu] -> Quant(3-bit act)
    -> AveragePool (or GlobalAveragePool) [-> Mul gain] -> Trunc -> Flatten -> MatMul(int4) -> [1, 5].

    The Trunc is what Brevitas writes: scale = act scale * gain / K, input bits = 3 + ceil(log2 K),
    output scale = scale * 2^(in - out)."""
    rng = np.random.default_rng(seed)
    m = Model()
    x = m.quant("x", 1 / 64, 8, 1)
    w, s = _weights(rng, (4, 2, 3, 3))
    h = m.node("Conv", [x, m.quant(m.const(w), s, 4, 1, 1)], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = m.quant(h if signed_act else m.node("Relu", [h]), ACT_SCALE, 3, int(signed_act))
    if global_pool:
        p, count, side = m.node("GlobalAveragePool", [h]), 36, 1
    else:
        p = m.node("AveragePool", [h], kernel_shape=[kernel, kernel], strides=[kernel if not pads else 1] * 2,
                   pads=[pads] * 4, count_include_pad=1)
        count, side = kernel * kernel, (6 + 2 * pads - kernel) // (kernel if not pads else 1) + 1
    if gain != 1.0:
        p = m.node("Mul", [p, m.const(np.float32(gain))])
    in_bits = 3 + int(np.ceil(np.log2(count)))
    scale = trunc_scale if trunc_scale is not None else np.float32(ACT_SCALE * gain / count)
    out_scale = np.float32(scale) * np.float32(2.0 ** (in_bits - out_bits))
    t = m.trunc(p, scale, out_scale, out_bits, mode, v2, in_bits, signed=int(signed_act), zero=zero)
    flat = m.node("Flatten", [t])
    w2, s2 = _weights(rng, (4 * side * side, 5))
    y = m.node("MatMul", [flat, m.quant(m.const(w2), s2, 4, 1, 1)])
    return m.save(path, [1, 2, 6, 6], y, [1, 5]), t


def _inputs(n=48, seed=1):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, (n, 2, 6, 6)).astype(np.float32)


def _trunc_codes_agree(path, trunc_out, pool_op=AveragePoolReduce):
    """The integer pool's codes equal the float graph's Trunc codes on every value; the logits agree."""
    g = float_pipeline(path)
    ig = integer_graph(g, None, QuantConfig())
    x = _inputs()
    fl = execute(g, {"x": x}, keep_all=True)
    it = execute(ig, {"x": x}, keep_all=True)
    (pool,) = [n for n in ig.nodes() if n.op is pool_op]
    trunc = g.producer(trunc_out)
    out_scale = float(trunc.params["out_scale"])
    want = np.rint(fl[trunc_out].astype(np.float64) / out_scale) + float(trunc.params["out_zero"])
    got = np.transpose(it[pool.outputs[0]], (0, 3, 1, 2))
    assert np.array_equal(got, want), f"{int((got != want).sum())} of {want.size} codes differ"
    assert np.unique(got).size > 3   # the data exercises the codes
    y_float, y_int = fl[g.outputs[0]], it[ig.outputs[0]].reshape(fl[g.outputs[0]].shape)
    assert np.allclose(y_int, y_float, rtol=0, atol=1e-5 * np.abs(y_float).max())
    return pool


@pytest.mark.parametrize("mode", ["FLOOR", "ROUND", "CEIL", "HALF_UP", "HALF_DOWN", "UP", "DOWN"])
def test_pool_and_trunc_become_one_integer_pool(tmp_path, mode):
    path, t = conv_pool_trunc(tmp_path / "m.onnx", mode=mode, out_bits=3)
    pool = _trunc_codes_agree(path, t)
    assert pool.attrs["shift"] == 2 and pool.attrs["rounding"] == {**_ROUNDING, **_ROUNDING_NONNEGATIVE}[mode]


@pytest.mark.parametrize("opts", [
    {"v2": False},                                  # Trunc v1: no clip, codes span the sums
    {"kernel": 3, "pads": 1},                       # 3x3 window, stride 1, padded taps counted
    {"out_bits": 8},                                # ts = 2^-3: a left shift (mult 8), no rounding
    {"gain": 4.0, "mode": "ROUND"},                 # AveragePool -> Mul(K) -> Trunc
    {"signed_act": True, "mode": "ROUND"},          # signed codes: sums below zero
    {"signed_act": True, "mode": "FLOOR", "out_bits": 3},
])
def test_pool_and_trunc_variants(tmp_path, opts):
    path, t = conv_pool_trunc(tmp_path / "m.onnx", **opts)
    _trunc_codes_agree(path, t)


def test_global_pool_and_trunc(tmp_path):
    path, t = conv_pool_trunc(tmp_path / "m.onnx", global_pool=True, mode="ROUND", out_bits=6)
    pool = _trunc_codes_agree(path, t, GlobalPoolReduce)
    # 36 pixels: scale s / 36, in bits 3 + 6, out 6: a 3-bit shift of the sum
    assert (pool.attrs["mult"], pool.attrs["shift"]) == (1, 3)


@pytest.mark.parametrize("opts, message", [
    ({"trunc_scale": 0.1}, "Trunc's scale 0.1 is not the pooled codes' scale over the window"),
    ({"zero": 1.0}, "zero points must be 0"),
    ({"signed_act": True, "mode": "HALF_UP"}, "rounding_mode HALF_UP of a sum that can be negative"),
])
def test_pool_and_trunc_errors_name_the_trunc(tmp_path, opts, message):
    path, _ = conv_pool_trunc(tmp_path / "m.onnx", **opts)
    with pytest.raises(HwcompError) as e:
        integer_graph(float_pipeline(path), None, QuantConfig())
    assert message in str(e.value) and "node 'trunc' (Trunc)" in str(e.value)


def test_trunc_on_codes_without_a_pool_is_refused(tmp_path):
    m = Model()
    x = m.quant("x", 0.5, 4, 0)
    t = m.trunc(x, 0.5, 2.0, 2, "FLOOR")
    y = m.node("MatMul", [t, m.quant(m.const(np.full((4, 3), 0.5, np.float32)), 0.5, 4, 1, 1)])
    path = m.save(tmp_path / "m.onnx", [1, 4], y, [1, 3])
    with pytest.raises(HwcompError, match=r"node 'trunc' \(Trunc\): supported: a Trunc after average pooling"):
        integer_graph(float_pipeline(path), None, QuantConfig())


def threshold_mlp(path, seed=0, tail_trunc=False):
    """x [1, 8] -> MultiThreshold (input, 4 levels) -> MatMul(int4) -> Relu -> MultiThreshold
    (per channel, 5 levels with ties, out_scale 0.25, out_bias -0.5) or a Trunc v2 -> MatMul -> [1, 3]."""
    rng = np.random.default_rng(seed)
    m = Model()
    x = m.thresholds("x", [[-0.6, -0.2, 0.2, 0.6]], 0.5, -1.0, "NC", "mt_in")
    w, s = _weights(rng, (8, 6))
    h = m.node("Relu", [m.node("MatMul", [x, m.quant(m.const(w), s, 4, 1, 1)])])
    if tail_trunc:
        q = m.trunc(h, 0.125, 0.5, 3, "ROUND")
    else:
        t = np.sort(rng.integers(0, 12, (6, 5)) * 0.25, axis=1)
        t[1, 2] = t[1, 1]
        q = m.thresholds(h, t, 0.25, -0.5, "NC", "mt_hidden")
    w2, s2 = _weights(rng, (6, 3))
    y = m.node("MatMul", [q, m.quant(m.const(w2), s2, 4, 1, 1)])
    return m.save(path, [1, 8], y, [1, 3]), q


@pytest.mark.parametrize("tail_trunc", [False, True])
def test_thresholds_and_trunc_after_a_layer(tmp_path, tail_trunc):
    path, q = threshold_mlp(tmp_path / "m.onnx", tail_trunc=tail_trunc)
    g = float_pipeline(path)
    ig = integer_graph(g, None, QuantConfig())
    assert ig.nodes()[0].op is ThresholdCodes
    x = np.random.default_rng(2).uniform(-1, 1, (256, 8)).astype(np.float32)
    x[:16] = np.array([-0.6, -0.2, 0.2, 0.6] * 2, np.float32)   # inputs on the input thresholds
    fl, it = execute(g, {"x": x}, keep_all=True), execute(ig, {"x": x}, keep_all=True)
    spec = code_spec(g.producer(q))
    want = np.rint(fl[q].astype(np.float64) / spec.scale + spec.zero)
    (mt,) = [n for n in ig.nodes() if n.op.name == "MultiThreshold"]
    assert np.array_equal(it[mt.outputs[0]], want)
    assert np.unique(want).size >= 4
    y_float, y_int = fl[g.outputs[0]], it[ig.outputs[0]]
    assert np.allclose(y_int, y_float, rtol=0, atol=1e-5 * np.abs(y_float).max())


# ---------------------------------------------------------------- the rounding table


@pytest.mark.parametrize("mode", sorted(ROUNDING))
@pytest.mark.parametrize("shift", [1, 2, 3])
def test_pool_rounding_equals_the_trunc_rounding(mode, shift):
    """The shift rounding chosen for a QONNX mode equals it on S / 2^k: on every integer S,
    or on S >= 0 for the modes symmetric about zero."""
    sums = np.arange(-70, 71)
    if mode in _ROUNDING_NONNEGATIVE:
        sums = sums[sums >= 0]
    rounding = {**_ROUNDING, **_ROUNDING_NONNEGATIVE}[mode]
    want = ROUNDING[mode]((sums / 2 ** shift).astype(np.float32))
    got = Scale(1, shift, 10, True, -512, 511, rounding=rounding).apply(sums)
    assert np.array_equal(got, want)
    assert np.array_equal(rounding_shift(sums.astype(object), shift, rounding).astype(np.int64), want)
