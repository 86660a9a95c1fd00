"""passes/lowbit: post-training binarization and low-bit grids on an inline MLP,
compiled exactly by integerize and lowering."""
import numpy as np
import pytest

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import BIPOLAR, FLOAT32, Int
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ir.verify import verify
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.norm import BatchNormalization
from hwcomp.ops.quantizers import FakeQuant, MultiThreshold
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.fold_batchnorm import fold_batchnorm
from hwcomp.passes.integerize import integerize
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.lowbit import lowbit
from hwcomp.passes.lowbit_grids import sign_fit, uniform_clip
from hwcomp.passes.quantize import QuantConfig


def mlp(sizes, seed=0, relu=True, batchnorm=False) -> Graph:
    """Dense [-> BatchNorm] [-> Relu] between layers; names fc<i>, bn<i>, relu<i>."""
    rng = np.random.default_rng(seed)
    g = Graph("mlp")
    g.inputs, prev = ["x"], "x"
    g.tensors["x"] = TensorType((1, sizes[0]), FLOAT32)

    def add(name, op, ins, out, width, attrs=None, params=None):
        g.add_node(Node(name, op, ins, [out], attrs or {}, params or {}))
        g.tensors[out] = TensorType((1, width), FLOAT32)
        return out

    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32)
        bias = rng.normal(0, 0.1, b).astype(np.float32)
        prev = add(f"fc{i}", Dense, [prev], f"h{i}", b, {}, {"weight": w, "bias": bias})
        if i == len(sizes) - 2:
            break
        if batchnorm:
            gamma = rng.choice([-1.5, 0.7, 2.0], b)  # negative gammas flip the folded weights' signs
            stats = [gamma, rng.normal(0, 0.2, b), rng.normal(0, 0.2, b), rng.uniform(0.5, 2, b)]
            names = [g.add_constant(f"bn{i}_{k}", v.astype(np.float32)) for k, v in zip("gbmv", stats)]
            prev = add(f"bn{i}", BatchNormalization, [prev] + names, f"n{i}", b, {"epsilon": 1e-5})
        if relu:
            prev = add(f"relu{i}", Relu, [prev], f"r{i}", b)
    g.outputs = [prev]
    verify(g)
    return g


def snapshot(g: Graph):
    return ([(n.name, n.op, n.inputs, n.outputs, dict(n.attrs), {k: v.copy() for k, v in n.params.items()})
             for n in g.nodes()], dict(g.tensors), dict(g.constants), list(g.outputs))


def same(a, b) -> bool:
    (na, ta, ca, oa), (nb, tb, cb, ob) = a, b
    def same_node(x, y):
        return x[:5] == y[:5] and x[5].keys() == y[5].keys() and all(np.array_equal(x[5][k], y[5][k]) for k in x[5])

    return (ta == tb and oa == ob and ca.keys() == cb.keys() and len(na) == len(nb)
            and all(same_node(x, y) for x, y in zip(na, nb)))


@pytest.fixture(scope="module")
def calib():
    return np.random.default_rng(1).uniform(0, 1, (300, 16)).astype(np.float32)


def run(g, x):
    return execute(g, {"x": x})[g.outputs[0]]


def layer(g, name) -> Node:
    return g.node(name)


def quantizer_of(g, tensor_reader: str) -> Node:
    """The FakeQuant feeding layer `tensor_reader`."""
    return g.producer(layer(g, tensor_reader).inputs[0])


@pytest.mark.parametrize("spec", ["w1a1", "w2a2", "w4a4"])
def test_pass_does_not_edit_its_input(spec, calib):
    g = mlp([16, 12, 12, 5])
    before = snapshot(g)
    lowbit(g, {"x": calib}, QuantConfig.parse(spec))
    assert same(before, snapshot(g))


def test_xnor_weights_are_sign_times_channel_mean(calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig.parse("w1a2"))
    w = layer(g, "fc1").params["weight"].astype(np.float64)
    alpha = np.abs(w).mean(axis=1)
    want = (np.where(w >= 0, 1.0, -1.0) * alpha[:, None]).astype(np.float32)
    got = layer(q, "fc1")
    assert np.array_equal(got.params["weight"], want)
    assert got.attrs["weight_grid"]["dtype"] == BIPOLAR
    assert np.allclose(got.attrs["weight_grid"]["scale"], alpha, rtol=1e-12)


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_kbit_weights_are_narrow_symmetric_codes_per_channel(bits, calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig(bits, 4))
    node = layer(q, "fc1")
    grid = node.attrs["weight_grid"]
    top = (1 << (bits - 1)) - 1
    assert grid["dtype"] == Int(bits)
    codes = node.params["weight"].astype(np.float64) / grid["scale"][:, None]
    assert np.allclose(codes, np.round(codes), atol=1e-5)
    codes = np.round(codes)
    assert codes.min() >= -top and codes.max() <= top
    assert np.all(np.abs(codes).max(axis=1) == top)          # the clip never exceeds the largest weight
    # the chosen clip rounds no worse than clipping at max |W| of the row
    w = layer(g, "fc1").params["weight"].astype(np.float64)
    err = ((codes * grid["scale"][:, None] - w) ** 2).sum(axis=1)
    s_max = np.abs(w).max(axis=1, keepdims=True) / top
    err_max = ((np.clip(np.round(w / s_max), -top, top) * s_max - w) ** 2).sum(axis=1)
    assert np.all(err <= err_max + 1e-12)


def test_first_and_last_layers_and_input_stay_8_bit(calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig.parse("w1a1"))
    assert [layer(q, f"fc{i}").attrs["weight_grid"]["dtype"] for i in range(3)] == [Int(8), BIPOLAR, Int(8)]
    fq = quantizer_of(q, "fc0")
    assert fq.op is FakeQuant and fq.inputs == ("x",)
    assert (fq.attrs["qmin"], fq.attrs["qmax"], fq.attrs["bipolar"]) == (0, 255, False)  # calibration is >= 0
    assert float(fq.params["scale"]) * 255 <= calib.max() * (1 + 1e-6)


def test_edge_bits_none_quantizes_first_and_last_like_the_others(calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig(2, 3, edge_bits=None))
    assert [layer(q, f"fc{i}").attrs["weight_grid"]["dtype"] for i in range(3)] == [Int(2)] * 3
    assert quantizer_of(q, "fc0").attrs["qmax"] == 7


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_multibit_activation_after_relu_is_unsigned_on_a_calibrated_clip(bits, calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig(4, bits))
    fq = quantizer_of(q, "fc1")
    assert fq.inputs == ("r0",) and (fq.attrs["qmin"], fq.attrs["qmax"]) == (0, (1 << bits) - 1)
    # calibrated on the graph with the layers before it quantized: the input quantizer and fc0's grid
    values = execute(q, {"x": calib}, keep_all=True)["r0"].astype(np.float64).reshape(1, -1)
    clip = float(fq.params["scale"]) * fq.attrs["qmax"]
    assert clip == pytest.approx(uniform_clip(values, 0, (1 << bits) - 1)[0], rel=1e-6)
    assert 0 < clip <= values.max()


def test_activation_without_relu_gets_signed_codes(calib):
    g = mlp([16, 12, 5], relu=False)
    q = lowbit(g, {"x": calib}, QuantConfig(2, 3))
    fq = quantizer_of(q, "fc1")
    assert fq.inputs == ("h0",) and (fq.attrs["qmin"], fq.attrs["qmax"]) == (-3, 3)


def test_sign_replaces_relu_and_next_bias_absorbs_the_offset(calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig(1, 1))
    assert not any(n.op is Relu for n in q.nodes())
    fq = quantizer_of(q, "fc1")
    centre = q.producer(fq.inputs[0])
    assert fq.attrs["bipolar"] and centre.op is Add and centre.inputs[0] == "h0"
    # alpha * sign(h0 - tau) + beta feeds fc1: W (alpha s + beta) + b
    vals = execute(q, {"x": calib}, keep_all=True)
    tau = -q.constants[centre.inputs[1]].astype(np.float64)
    fitted_tau, alpha, beta = sign_fit(vals["h0"].astype(np.float64), np.maximum(vals["h0"], 0).astype(np.float64))
    assert np.allclose(tau, fitted_tau, rtol=1e-6) and float(fq.params["scale"]) == pytest.approx(alpha, rel=1e-6)
    w = layer(q, "fc1").params["weight"].astype(np.float64)
    b_float = layer(g, "fc1").params["bias"].astype(np.float64)
    assert np.allclose(layer(q, "fc1").params["bias"], b_float + beta * w.sum(axis=1), rtol=1e-5, atol=1e-6)
    s = np.where(vals["h0"] - tau.astype(np.float32) >= 0, 1.0, -1.0)
    want = (alpha * s + beta) @ w.T + b_float
    assert np.allclose(vals["h1"], want, rtol=1e-4, atol=1e-4)


def test_sign_fit_splits_two_clusters_and_keeps_a_constant_channel():
    rng = np.random.default_rng(0)
    x = np.stack([np.concatenate([rng.normal(-2, 0.1, 500), rng.normal(3, 0.1, 500)]), np.full(1000, 0.5)], axis=1)
    tau, alpha, beta = sign_fit(x, np.maximum(x, 0))
    assert tau[0] == (x[:500, 0].max() + x[500:, 0].min()) / 2 and tau[1] < 0.5
    # channel 0: y is 0 or ~3; channel 1: y is 0.5 on both sides (no split)
    assert alpha == pytest.approx((3.0 / 2 + 0) / 2, rel=0.05) and beta == pytest.approx((1.5 + 0.5) / 2, rel=0.05)


@pytest.mark.parametrize("spec", ["w1a1", "w2a1", "w1a2", "w2a2", "w3a4", "w4a4"])
def test_integerized_and_lowered_forms_compute_the_quantized_graph(spec, calib):
    g = mlp([16, 12, 12, 5])
    q = lowbit(g, {"x": calib}, QuantConfig.parse(spec))
    ig = integerize(q)
    low = run_to_fixed_point(ig, [lower_to_hardware])
    x = np.random.default_rng(5).uniform(0, 1, (200, 16)).astype(np.float32)
    ref, got = run(q, x), run(ig, x)
    assert np.allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    assert np.array_equal(run(low, x), got)
    units = [n for n in low.nodes() if n.op is MatrixVectorUnit]
    assert len(units) == 3 and not any(n.op in (MultiThreshold, Dense) for n in low.nodes())
    assert (units[1].attrs.get("kind") == "xnor") == (spec == "w1a1")


def test_unfolded_batchnorm_ends_in_thresholds_like_a_folded_one(calib):
    g = mlp([16, 12, 12, 5], batchnorm=True)
    folded = run_to_fixed_point(g, [fold_batchnorm])
    assert not any(n.op is BatchNormalization for n in folded.nodes())
    x = np.random.default_rng(6).uniform(0, 1, (200, 16)).astype(np.float32)
    for spec in ("w1a1", "w2a2"):
        cfg = QuantConfig.parse(spec)
        with_bn, without = integerize(lowbit(g, {"x": calib}, cfg)), integerize(lowbit(folded, {"x": calib}, cfg))
        assert not any(n.op is BatchNormalization for n in with_bn.nodes())
        a, b = run(with_bn, x), run(without, x)
        # the same function; float32 rounding of the folded weights could flip a code right at a
        # threshold, hence not a strict equality
        assert np.mean(np.abs(a - b).max(axis=1) <= 1e-5) >= 0.99


def test_codes_of_a_folded_layer_follow_the_batchnorm_sign(calib):
    g = mlp([16, 12, 12, 5], batchnorm=True)
    folded = run_to_fixed_point(g, [fold_batchnorm])
    gamma = g.constants["bn1_g"]
    plain = lowbit(g, {"x": calib}, QuantConfig(1, 2))
    merged = lowbit(folded, {"x": calib}, QuantConfig(1, 2))
    wp, wm = layer(plain, "fc1"), layer(merged, "fc1")
    assert np.array_equal(np.sign(wm.params["weight"]), np.sign(wp.params["weight"]) * np.sign(gamma)[:, None])
    mul = np.abs(gamma / np.sqrt(g.constants["bn1_v"] + 1e-5))
    assert np.allclose(wm.attrs["weight_grid"]["scale"], wp.attrs["weight_grid"]["scale"] * mul, rtol=1e-5)


@pytest.mark.parametrize("spec", ["w0a1", "w1a0", "w1a5", "w1a8", "w17a8", "w8", "8a8", "x1a1", "w1a1b"])
def test_bad_bit_specs_give_one_clear_error(spec):
    with pytest.raises(HwcompError) as e:
        QuantConfig.parse(spec)
    msg = str(e.value)
    assert "\n" not in msg and "w<W>a<A>" in msg and "1..4" in msg and "2..16" in msg


@pytest.mark.parametrize("spec, low", [("w1a1", True), ("w2a2", True), ("w4a4", True), ("w1a4", True),
                                       ("w8a8", False), ("w4a8", False), ("w8a4", False), ("w16a2", False)])
def test_low_bit_rule(spec, low):
    assert QuantConfig.parse(spec).low_bit is low


def test_graph_with_a_layer_input_used_elsewhere_is_refused(calib):
    g = mlp([16, 12, 5])
    g.outputs = ["r0", "h1"]  # r0 feeds fc1 and is a model output
    with pytest.raises(HwcompError, match="model output"):
        lowbit(g, {"x": calib}, QuantConfig(2, 2))


def test_a_one_bit_model_input_is_refused(calib):
    with pytest.raises(HwcompError, match="1-bit model input"):
        lowbit(mlp([16, 12, 5]), {"x": calib}, QuantConfig(1, 1, edge_bits=None))
    q = lowbit(mlp([16, 12, 5]), {"x": calib}, QuantConfig(1, 1, edge_bits=None, input_bits=8))
    assert [layer(q, f"fc{i}").attrs["weight_grid"]["dtype"] for i in range(2)] == [BIPOLAR, BIPOLAR]
