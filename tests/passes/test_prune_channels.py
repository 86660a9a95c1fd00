"""Structured pruning (passes/channel_groups, channel_surgery, prune_channels):
dead channels go without changing any output, bit for bit; L1 ranking removes
the expected number of filters per layer or across layers; channels tied by
residual adds go together; what the analysis does not understand stays."""
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from prune_nets import NetBuilder, dyadic, dyadic_inputs, weights  # noqa: E402

from hwcomp import HwcompError, compile_model  # noqa: E402
from hwcomp.frontend.onnx import load_onnx  # noqa: E402
from hwcomp.ir.execute import execute  # noqa: E402
from hwcomp.ir.verify import verify  # noqa: E402
from hwcomp.passes.canonicalize import canonicalize  # noqa: E402
from hwcomp.ir.graph import Node  # noqa: E402
from hwcomp.passes.channel_groups import analyze, producer_bias, producer_weight  # noqa: E402
from hwcomp.passes.channel_surgery import remove_elements  # noqa: E402
from hwcomp.passes.prune_channels import l1_elements, prune_channels  # noqa: E402

SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def networks(draw, dead: bool = True, offsets: bool = True):
    """A random chain of blocks; with `dead`, each layer gets some zero and some constant channels;
    with `offsets`, also per-channel scale and shift (Mul, Add) and BatchNorms after a Relu."""
    n = (lambda: draw(st.integers(0, 3))) if dead else (lambda: 0)
    kinds = ["conv", "residual", "concat", "maxpool", "avgpool"] + (["affine", "batchnorm"] if offsets else [])
    b = NetBuilder(draw(st.integers(0, 2 ** 16)), draw(st.integers(1, 3)), draw(st.sampled_from([4, 6, 8])))
    b.conv_layer(draw(st.integers(2, 6)), draw(st.sampled_from([1, 3])), draw(st.booleans()), n(), n())
    for kind in draw(st.lists(st.sampled_from(kinds), max_size=3)):
        if kind == "conv":
            b.conv_layer(draw(st.integers(2, 6)), draw(st.sampled_from([1, 3])), draw(st.booleans()), n(), n())
        elif kind == "residual":
            b.residual(n())
        elif kind == "concat":
            b.concat(draw(st.integers(2, 4)), n())
        elif kind == "affine":
            b.affine()
        elif kind == "batchnorm":
            b.batchnorm()
        elif b.shape[2] >= 4:
            b.pool("max" if kind == "maxpool" else "avg")
    b.head(draw(st.sampled_from(["gap", "flat", "reshape"])), draw(st.sampled_from([0, 5])), n(), n(), 3)
    return b.model()


def _edit(b: NetBuilder, name: str, fn) -> None:
    for init in b.inits:
        if init.name == name:
            v = onnx.numpy_helper.to_array(init).copy()
            fn(v)
            init.CopyFrom(onnx.numpy_helper.from_array(v, init.name))


def canonical(tmp_path: Path, model: onnx.ModelProto):
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    return canonicalize(load_onnx(path))


def outputs(g, x):
    return execute(g, {g.inputs[0]: x})[g.outputs[0]]


def layer_channels(rec: dict) -> dict[str, tuple[int, int]]:
    return {l["name"]: (l["channels_before"], l["channels_after"]) for l in rec["layers"]}


@SETTINGS
@given(net=networks())
def test_dead_channels_go_and_outputs_stay_bit_exact(tmp_path, net):
    g = canonical(tmp_path, net.model)
    p = prune_channels(g)
    verify(p)
    x = dyadic_inputs(net.input_shape, 4, seed=1)
    assert np.array_equal(outputs(g, x), outputs(p, x))
    chans = layer_channels(p.meta["pruning"])
    for name, spec in net.layers.items():
        before, after = chans[name]
        assert before == spec.channels
        if spec.output:
            assert after == before
        # every zero channel goes; a constant one goes only where every reader folds it exactly
        assert before - len(spec.zero) - len(spec.const) <= after <= before - len(spec.zero), name
    rec = p.meta["pruning"]
    assert rec["dead_channels_removed"] == sum(b - a for b, a in chans.values())
    assert rec["macs_after"] <= rec["macs_before"] and rec["params_after"] <= rec["params_before"]


@SETTINGS
@given(net=networks(dead=False), ratio=st.sampled_from([0.25, 0.5, 0.75]))
def test_l1_per_layer_removes_the_ratio_of_each_layer(tmp_path, net, ratio):
    g = canonical(tmp_path, net.model)
    p = prune_channels(g, ratio, "layer")
    verify(p)
    assert outputs(p, dyadic_inputs(net.input_shape, 2, seed=2)).shape == (2, 3)
    chans = layer_channels(p.meta["pruning"])
    tied: dict[int, list[str]] = {}
    for name, spec in net.layers.items():
        before, after = chans[name]
        assert after >= 1
        if spec.output:
            assert after == before
        elif spec.tied is None:
            assert after == before - math.floor(ratio * before), name
        else:
            tied.setdefault(spec.tied, []).append(name)
    for names in tied.values():
        # one residual stream: every layer on it keeps the same channels
        widths = {net.layers[n].channels for n in names}
        if len(widths) == 1:
            (c,) = widths
            assert {chans[n][1] for n in names} == {c - math.floor(ratio * c)}
    rec = p.meta["pruning"]
    assert rec["dead_channels_removed"] == 0
    if any(not s.output and s.tied is None and math.floor(ratio * s.channels) for s in net.layers.values()):
        assert rec["macs_after"] < rec["macs_before"]


@SETTINGS
@given(net=networks(dead=False), ratio=st.sampled_from([0.25, 0.5, 0.75]))
def test_l1_global_removes_the_ratio_of_all_groups(tmp_path, net, ratio):
    g = canonical(tmp_path, net.model)
    flow = analyze(g)
    groups = [r for r in flow.groups() if r not in flow.pinned_groups()]
    p = prune_channels(g, ratio, "global")
    verify(p)
    after = analyze(p)
    left = [r for r in after.groups() if r not in after.pinned_groups()]
    want = math.floor(ratio * len(groups))
    # at most the ratio (a layer never loses its last channel), exactly it when no layer runs out
    assert len(groups) - want <= len(left)
    if all(ch[1] > 1 for ch in layer_channels(p.meta["pruning"]).values()):
        assert len(left) == len(groups) - want


def silenced(g, flow, removed: set[int]):
    """The graph with each removed channel's filter and bias set to zero instead: in these nets
    (a Relu or an add of such channels after every producer) the channel is then exactly 0."""
    m = g.copy()
    for e in sorted(removed):
        name, c = flow.elements[e]
        node = m.node(name)
        w, b = np.array(producer_weight(m, node)), np.array(producer_bias(m, node))
        w[c], b[c] = 0, 0
        if node.op.name == "Dense":
            m.replace_node(name, Node(name, node.op, node.inputs, node.outputs, dict(node.attrs),
                                      {"weight": w, "bias": b}))
        else:
            wn, bn = m.add_constant(m.unique_name("w0"), w), m.add_constant(m.unique_name("b0"), b)
            m.replace_node(name, Node(name, node.op, (node.inputs[0], wn, bn), node.outputs, dict(node.attrs)))
    return m


@SETTINGS
@given(net=networks(dead=False, offsets=False), ratio=st.sampled_from([0.25, 0.5, 0.75]),
       scope=st.sampled_from(["layer", "global"]))
def test_removing_channels_equals_silencing_them(tmp_path, net, ratio, scope):
    """The surgery is exact: the pruned graph computes what the original computes with the
    removed filters zeroed, bit for bit, through BatchNorm, pools, adds, concats and flattens."""
    g = canonical(tmp_path, net.model)
    flow = analyze(g)
    removed = l1_elements(g, flow, ratio, scope)
    x = dyadic_inputs(net.input_shape, 3, seed=6)
    want = outputs(silenced(g, flow, removed), x)
    assert np.array_equal(outputs(remove_elements(g, flow, removed), x), want)
    assert np.array_equal(outputs(prune_channels(g, ratio, scope), x), want)


def chain(tmp_path, seed=0, pads1=1):
    """conv 3x3 (8) -> relu -> conv (6, pads pads1) -> relu -> flatten -> gemm (3)."""
    b = NetBuilder(seed, 2, 4)
    out, _ = b.conv(8, 3, 1, False, 0, 0)
    b.trunk, b.shape = out, [1, 8, 4, 4]
    out, _ = b.conv(6, 3, pads1, False, 0, 0)
    b.trunk, b.shape = out, [1, 6, 4 + 2 * pads1 - 2, 4 + 2 * pads1 - 2]
    b.head("flat", 0, 0, 0, 3)
    return b


def test_l1_keeps_the_largest_filters_and_their_columns(tmp_path):
    b = chain(tmp_path)
    g = canonical(tmp_path, b.model().model)
    p = prune_channels(g, 0.5, "layer")
    w0, w1 = (np.asarray(g.constants[g.node(n).inputs[1]]) for n in ("conv0", "conv1"))
    # the smallest go first; among equal norms the lower index
    keep0 = np.sort(np.argsort(np.abs(w0).sum(axis=(1, 2, 3)), kind="stable")[4:])
    keep1 = np.sort(np.argsort(np.abs(w1).sum(axis=(1, 2, 3)), kind="stable")[3:])
    assert np.array_equal(p.constants[p.node("conv0").inputs[1]], w0[keep0])
    assert np.array_equal(p.constants[p.node("conv1").inputs[1]], w1[keep1][:, keep0])
    # the classifier loses the 16 columns (4x4 pixels, NCHW flatten order) of every removed conv1 channel
    wd = g.node("out").params["weight"].reshape(3, 6, -1)
    assert np.array_equal(p.node("out").params["weight"], wd[:, keep1].reshape(3, -1))
    rec = p.meta["pruning"]
    assert rec["macs_after"] < rec["macs_before"] / 2 and rec["ranked_channels_removed"] == 7


def test_residual_channels_go_on_every_branch_ranked_together(tmp_path):
    b = NetBuilder(5, 2, 4)
    b.conv_layer(6, 3, False, 0, 0)
    b.residual(0)
    b.head("gap", 0, 0, 0, 3)
    # Channel 0: the largest filter of conv0, the smallest of conv2; ranked alone conv2 would drop it.
    _edit(b, "conv0_w", lambda w: w.__setitem__(0, w[0] * 4))
    _edit(b, "conv2_w", lambda w: w.__setitem__(0, np.sign(w[0]) / 8))
    _edit(b, "conv2_b", lambda v: v.__setitem__(slice(None), np.arange(1, 7) / 4))
    g = canonical(tmp_path, b.model().model)
    p = prune_channels(g, 0.5, "layer")
    w = {n: np.abs(np.asarray(g.constants[g.node(n).inputs[1]])).sum(axis=(1, 2, 3)) for n in ("conv0", "conv2")}
    score = (w["conv0"] / w["conv0"].mean() + w["conv2"] / w["conv2"].mean()) / 2
    keep = np.sort(np.argsort(score, kind="stable")[3:])
    assert 0 in keep
    assert np.array_equal(p.constants[p.node("conv0").inputs[1]], np.asarray(g.constants[g.node("conv0").inputs[1]])[keep])
    assert np.array_equal(p.constants[p.node("conv2").inputs[2]], np.asarray(g.constants[g.node("conv2").inputs[2]])[keep])
    # conv1 (inside the block) is pruned on its own: half of its 6
    assert layer_channels(p.meta["pruning"]) == {"conv0": (6, 3), "conv1": (6, 3), "conv2": (6, 3), "out": (3, 3)}


def test_a_dead_channel_on_one_branch_of_an_add_stays(tmp_path):
    b = NetBuilder(6, 2, 4)
    b.conv_layer(4, 3, False, 0, 0)
    b.trunk_zero = set()
    mid, _ = b.conv(4, 3, 1, False, 0, 0)
    out_b, _ = b.conv(4, 3, 1, False, 0, 0, force_zero={1}, relu=False, src=mid, src_channels=4)
    s = b._t("add")
    b.nodes.append(helper.make_node("Add", [out_b, b.trunk], [s]))
    b.trunk = s
    b.head("gap", 0, 0, 0, 3)
    g = canonical(tmp_path, b.model().model)
    p = prune_channels(g)
    assert layer_channels(p.meta["pruning"])["conv2"] == (4, 4)


def test_global_scope_ignores_each_layers_scale(tmp_path):
    b = chain(tmp_path, seed=3)
    m = b.model().model
    g = canonical(tmp_path, m)
    scaled = g.copy()
    c = scaled.node("conv0").inputs[1]
    scaled.constants[c] = np.asarray(scaled.constants[c]) * 64   # conv0's filters all far larger than conv1's
    a, s = prune_channels(g, 0.5, "global"), prune_channels(scaled, 0.5, "global")
    assert layer_channels(a.meta["pruning"]) == layer_channels(s.meta["pruning"])
    assert a.meta["pruning"]["ranked_channels_removed"] == math.floor(0.5 * 14)


def _deterministic(tmp_path, head_pads: int | None):
    """conv0 (4; channel 1 a constant 0.75 after its Relu, channel 2 zero) -> then either a conv with
    `head_pads` padding or (None) the classifier straight away."""
    b = NetBuilder(7, 2, 4)
    out, layer = b.conv(4, 3, 1, False, 0, 0)
    layer.zero, layer.const = {2}, {1}
    b.trunk, b.shape = out, [1, 4, 4, 4]
    _edit(b, "conv0_w", lambda w: w[1:3].fill(0))
    _edit(b, "conv0_b", lambda v: v.__setitem__(slice(1, 3), (0.75, -0.5)))
    if head_pads is not None:
        out, _ = b.conv(3, 3, head_pads, False, 0, 0)
        side = 4 + 2 * head_pads - 2
        b.trunk, b.shape = out, [1, 3, side, side]
    b.head("flat", 0, 0, 0, 3)
    return b.model()


@pytest.mark.parametrize("head_pads, kept", [(1, 3), (0, 2), (None, 2)])
def test_a_constant_channel_folds_only_where_that_is_exact(tmp_path, head_pads, kept):
    net = _deterministic(tmp_path, head_pads)
    g = canonical(tmp_path, net.model)
    p = prune_channels(g)
    assert layer_channels(p.meta["pruning"])["conv0"] == (4, kept)
    x = dyadic_inputs(net.input_shape, 3, seed=4)
    assert np.array_equal(outputs(g, x), outputs(p, x))


def test_channels_nothing_reads_and_the_cascade_they_start(tmp_path):
    """conv0's channel 0 is dead (zero filter, negative bias, Relu); no filter of conv1 reads
    conv0's channel 3 (its weights are zero: unused); conv1's filter 2 reads only channel 0, so
    once that is gone filter 2 is all zero, its bias negative: dead in the next round."""
    b = chain(tmp_path, seed=8)

    def conv0_w(w):
        w[0] = 0

    def conv0_b(v):
        v[0] = -0.25

    def conv1_w(w):
        w[:, 3] = 0
        w[2] = 0
        w[2, 0, 1, 1] = 0.5

    def conv1_b(v):
        v[2] = -0.5

    for name, fn in (("conv0_w", conv0_w), ("conv0_b", conv0_b), ("conv1_w", conv1_w), ("conv1_b", conv1_b)):
        _edit(b, name, fn)
    net = b.model()
    g = canonical(tmp_path, net.model)
    p = prune_channels(g)
    assert layer_channels(p.meta["pruning"]) == {"conv0": (8, 6), "conv1": (6, 5), "out": (3, 3)}
    x = dyadic_inputs(net.input_shape, 3, seed=5)
    assert np.array_equal(outputs(g, x), outputs(p, x))


def _conv_then(tmp_path, tail: str):
    """conv (4 channels, channel 0 dead) -> relu -> `tail` op -> output, or -> the graph output."""
    rng = np.random.default_rng(9)
    w, bias = weights(rng, (4, 1, 3, 3)), dyadic(rng, (4,), 0, 4, False)
    w[0], bias[0] = 0, 0
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv0"),
             helper.make_node("Relu", ["c"], ["r" if tail else "y"])]
    if tail:
        nodes.append(helper.make_node(tail, ["r"], ["y"], size=3) if tail == "LRN" else
                     helper.make_node(tail, ["r"], ["y"]))
    inits = [helper.make_tensor(n, TensorProto.FLOAT, v.shape, v.ravel()) for n, v in (("w", w), ("b", bias))]
    gr = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])], inits)
    return canonical(tmp_path, helper.make_model(gr, opset_imports=[helper.make_opsetid("", 13)], ir_version=10))


@pytest.mark.parametrize("tail", ["", "LRN", "Sigmoid"])
def test_outputs_and_ops_it_does_not_understand_keep_their_channels(tmp_path, tail):
    g = _conv_then(tmp_path, tail)
    p = prune_channels(g)
    assert layer_channels(p.meta["pruning"]) == {"conv0": (4, 4)}


@pytest.mark.parametrize("ratio", [1.0, 1.5, -0.1, float("nan"), "0.5", True])
def test_a_bad_ratio_is_one_clear_error(tmp_path, ratio):
    g = canonical(tmp_path, chain(tmp_path).model().model)
    with pytest.raises(HwcompError, match=r"structured pruning ratio .*supported a fraction of the channels in \[0, 1\)"):
        prune_channels(g, ratio)


def test_a_bad_scope_is_one_clear_error(tmp_path):
    g = canonical(tmp_path, chain(tmp_path).model().model)
    with pytest.raises(HwcompError, match="pruning scope 'net': supported layer or global"):
        prune_channels(g, 0.5, "net")
    path = tmp_path / "m.onnx"
    onnx.save(chain(tmp_path).model().model, path)
    with pytest.raises(HwcompError, match="structured pruning ratio 2"):
        compile_model(path, tmp_path / "build", prune_structured=2)
    assert not (tmp_path / "build").exists()


def test_the_cli_reports_a_bad_ratio_in_one_line(tmp_path, capsys):
    from hwcomp.cli import main

    path = tmp_path / "m.onnx"
    onnx.save(chain(tmp_path).model().model, path)
    assert main(["compile", str(path), "-o", str(tmp_path / "b"), "--prune-structured", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hwcomp: error: structured pruning ratio 1.0")


def test_ratio_zero_is_dead_channels_only(tmp_path):
    g = canonical(tmp_path, chain(tmp_path).model().model)
    p = prune_channels(g, 0.0)
    assert p.meta["pruning"]["ranked_channels_removed"] == 0
    assert layer_channels(p.meta["pruning"]) == {"conv0": (8, 8), "conv1": (6, 6), "out": (3, 3)}


def test_compile_reports_pruning_and_the_cli_prints_it(tmp_path, capsys):
    import json

    from hwcomp.cli import main

    path = tmp_path / "m.onnx"
    onnx.save(chain(tmp_path).model().model, path)
    x = dyadic_inputs((1, 2, 4, 4), 16, seed=7)
    np.savez(tmp_path / "calib.npz", x=x)
    assert main(["compile", str(path), "-o", str(tmp_path / "b"), "--calib", str(tmp_path / "calib.npz"),
                 "--prune-structured", "0.5", "--prune-scope", "global"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("pruning"))
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    rec = rep["pruning"]
    assert rec["ratio"] == 0.5 and rec["scope"] == "global" and rec["ranked_channels_removed"] == 7
    assert line.startswith(f"pruning (L1 0.5, global scope): {rec['macs_before']:,} -> {rec['macs_after']:,} MACs")
    assert rep["totals"]["macs"] == rec["macs_after"]   # the hardware computes the pruned layers
    assert {l["name"]: l["channels_after"] for l in rec["layers"]}["out"] == 3
