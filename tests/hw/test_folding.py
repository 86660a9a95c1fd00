"""The one folder (hw/folder.py) and builder (hw/builder.py) on lowered graphs:
chains, convolutions and branches alike."""
from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from hwcomp.compile import float_pipeline, integer_graph
from hwcomp.errors import HwcompError
from hwcomp.hw.builder import build_design
from hwcomp.hw.folder import balanced_folding, explicit_folding, fold_at
from hwcomp.hw.window import DwcParams
from hwcomp.numerics import ceil_div
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.fold import fold
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.quantize import QuantConfig


def _init(name, shape, rng):
    return helper.make_tensor(name, TensorProto.FLOAT, shape, rng.normal(0, 0.3, shape).astype(np.float32).ravel())


def _save(tmp_path, nodes, inits, x_shape, y_shape, name):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), path)
    return path


def mlp(tmp_path, sizes):
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        inits += [_init(f"w{i}", [b, a], rng), _init(f"b{i}", [b], rng)]
        out = "y" if i == len(sizes) - 2 else f"h{i}"
        nodes.append(helper.make_node("Gemm", ["x" if i == 0 else prev, f"w{i}", f"b{i}"], [out], transB=1))
        if out != "y":
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            prev = f"r{i}"
    return _save(tmp_path, nodes, inits, [1, sizes[0]], [1, sizes[-1]], "mlp")


def residual_cnn(tmp_path):
    """conv -> relu -> (conv 3x3 -> relu) + skip -> maxpool -> concat with a 1x1 conv -> gap -> gemm."""
    rng = np.random.default_rng(1)
    inits = [_init("w0", [6, 1, 3, 3], rng), _init("w1", [6, 6, 3, 3], rng), _init("w2", [5, 6, 1, 1], rng),
             _init("w3", [4, 11], rng), _init("b3", [4], rng)]
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "w1"], ["c1"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Add", ["r1", "r0"], ["a"]),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w2"], ["c2"]), helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Concat", ["p", "r2"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    return _save(tmp_path, nodes, inits, [1, 1, 8, 8], [1, 4], "rescnn")


def lowered(path):
    g = float_pipeline(path)
    x = np.random.default_rng(2).uniform(0, 1, (16,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
    return run_to_fixed_point(integer_graph(g, x, QuantConfig.parse("w8a8")), [lower_to_hardware])


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("folding")
    return {"mlp": lowered(mlp(d, [64, 37, 23, 10])), "odd": lowered(mlp(d, [31, 7, 13])),
            "rescnn": lowered(residual_cnn(d))}


def units(graph):
    return [n for n in graph.nodes() if "weight" in n.params]


@pytest.mark.parametrize("name", ["mlp", "odd", "rescnn"])
@pytest.mark.parametrize("target", [8, 50, 300, 2000])
def test_every_stage_meets_the_target_and_ii_is_the_slowest_stage(graphs, name, target):
    g = graphs[name]
    try:
        f = fold_at(g, target)
    except HwcompError as e:
        assert target < 300 and "cannot be met" in str(e)   # every graph here reaches 300 cycles
        return
    design = build_design(fold(g, target))
    assert max(s.cycles for s in design.stages) == f.ii == design.expected_ii <= target


def test_fewest_lanes_for_one_layer(graphs):
    """A lone dense layer: the folder's PE*SIMD is the brute-force minimum meeting each target."""
    g = graphs["odd"]
    first = units(g)[0]
    rows, cols = first.params["weight"].shape
    for target in (1, 3, 7, 20, 100, rows * cols):
        best = min(pe * s for pe, s in itertools.product(range(1, rows + 1), range(1, cols + 1))
                   if ceil_div(rows, pe) * ceil_div(cols, s) <= target)
        knobs = fold_at(g, target).blocks[first.name]
        assert knobs["pe"] * knobs["simd"] <= best * 1.25


@pytest.mark.parametrize("name", ["mlp", "odd", "rescnn"])
def test_default_folding_is_balanced_and_deterministic(graphs, name):
    a, b = balanced_folding(graphs[name]), balanced_folding(graphs[name])
    assert a == b
    assert a.ideal_ii / a.ii >= 0.5


def test_explicit_folding_with_simd_unlike_the_previous_pe(graphs):
    g = graphs["mlp"]
    fold_list = [(5, 7), (3, 4), (2, 5)]   # SIMD never equals the PE before it, and divides nothing
    design = build_design(fold(g, pe_simd=fold_list))
    dwcs = design.units(DwcParams)
    assert [(d.in_lanes, d.out_lanes) for d in dwcs] == [(5, 4), (3, 5)]
    assert design.in_stream.lanes == 7
    by_name = {n.name: p for n, p in zip(units(g), fold_list)}
    assert explicit_folding(g, by_name) == explicit_folding(g, fold_list)


def test_explicit_folding_sets_window_lanes_to_the_unit_simd(graphs):
    g = graphs["rescnn"]
    fold_list = [(p, s) for p, s in zip((2, 5, 3, 1), (1, 4, 3, 5))]
    f = explicit_folding(g, fold_list)
    windows = [n for n in g.nodes() if n.op.name == "SlidingWindow"]
    feeding = {n.name: g.consumers(n.outputs[0])[0].name for n in windows}
    for w, unit in feeding.items():
        if unit in f.blocks and "simd" in f.blocks[unit]:
            assert f.blocks[w]["lanes"] == f.blocks[unit]["simd"]


@pytest.mark.parametrize("bad, message", [
    ([(1, 1)], "gives 1 layers but the model has 3"),
    ([(0, 1), (1, 1), (1, 1)], "PE must be 1..37"),
    ([(1, 65), (1, 1), (1, 1)], "SIMD 1..64"),
    ({"nope": (1, 1)}, "not layers of the model"),
])
def test_explicit_folding_errors(graphs, bad, message):
    with pytest.raises(HwcompError, match=message):
        explicit_folding(graphs["mlp"], bad)


def test_unreachable_target_names_the_block(graphs):
    with pytest.raises(HwcompError, match="target initiation interval 1 cycles cannot be met by"):
        fold_at(graphs["rescnn"], 1)
