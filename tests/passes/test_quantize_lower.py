"""PTQ, lowering and folding on an inline MLP: exact integer semantics, close to
float, inputs never edited, and the lowered graph computes the same integers."""
import numpy as np
import pytest

from hwcomp.ir.dtypes import FLOAT32, Fixed
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.serialize import load_graph, save_graph
from hwcomp.ir.tensor import TensorType
from hwcomp.ir.verify import verify
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.fold import fold
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.quantize import QuantConfig, quantize


def mlp(sizes, seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph("mlp")
    g.inputs, prev = ["x"], "x"
    g.tensors["x"] = TensorType((1, sizes[0]), FLOAT32)
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32)
        bias = rng.normal(0, 0.1, b).astype(np.float32)
        g.add_node(Node(f"fc{i}", Dense, [prev], [f"h{i}"], {}, {"weight": w, "bias": bias}))
        g.tensors[f"h{i}"] = TensorType((1, b), FLOAT32)
        prev = f"h{i}"
        if i < len(sizes) - 2:
            g.add_node(Node(f"relu{i}", Relu, [prev], [f"r{i}"]))
            g.tensors[f"r{i}"] = TensorType((1, b), FLOAT32)
            prev = f"r{i}"
    g.outputs = [prev]
    verify(g)
    return g


def snapshot(g: Graph):
    return [(n.name, n.op, n.inputs, n.outputs, dict(n.attrs), {k: v.copy() for k, v in n.params.items()})
            for n in g.nodes()], dict(g.tensors)


def same(a, b):
    (na, ta), (nb, tb) = a, b
    return ta == tb and all(x[:5] == y[:5] and all(np.array_equal(x[5][k], y[5][k]) for k in x[5])
                            for x, y in zip(na, nb)) and len(na) == len(nb)


@pytest.fixture(scope="module")
def calib():
    return np.random.default_rng(1).uniform(0, 1, (200, 64)).astype(np.float32)


@pytest.mark.parametrize("sizes", [[64, 32, 10], [64, 37, 23, 10]])
def test_quantized_graph_is_close_to_float_and_exact_in_integers(sizes, calib):
    g = mlp(sizes)
    before = snapshot(g)
    q = quantize(g, {"x": calib}, QuantConfig(8, 8))
    assert same(before, snapshot(g)), "quantize edited its input"
    x = calib[:50]
    ref = execute(g, {"x": x})[g.outputs[0]]
    got = execute(q, {"x": x})[q.outputs[0]]
    assert got.dtype == np.float32
    assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max()
    # every fixed tensor holds integers inside its type's range
    vals = execute(q, {"x": x}, keep_all=True)
    for name, t in q.tensors.items():
        if t.dtype.is_fixed:
            v = vals[name]
            assert v.dtype == np.int64 and v.min() >= t.dtype.min_int and v.max() <= t.dtype.max_int, name


def test_first_dense_accumulator_matches_hand_computation(calib):
    g = mlp([64, 32, 10])
    q = quantize(g, {"x": calib}, QuantConfig(8, 8))
    dense = next(n for n in q.nodes() if n.op is Dense)
    xt: Fixed = q.tensors[dense.inputs[0]].dtype
    x = calib[:20]
    xq = xt.quantize(x)
    # Each row on its own scale, shifted onto the common binary point (a weight format per row).
    acc = (xq @ dense.params["weight"].T + dense.params["bias"]) << dense.params.get("row_shift", 0)
    got = execute(q, {"x": x}, keep_all=True)[dense.outputs[0]]
    assert np.array_equal(got, acc)
    assert not xt.signed and dense.attrs["weight_dtype"].width == 8


@pytest.mark.parametrize("sizes", [[64, 32, 10], [64, 37, 23, 10], [16, 5]])
def test_lowering_keeps_integers_and_folding_annotates(sizes, calib):
    g = mlp(sizes)
    q = quantize(g, {"x": calib[:, : sizes[0]]}, QuantConfig(8, 8))
    before = snapshot(q)
    low = run_to_fixed_point(q, [lower_to_hardware])
    assert same(before, snapshot(q))
    units = [n for n in low.nodes() if n.op is MatrixVectorUnit]
    assert len(units) == len(sizes) - 1
    assert [u.attrs["requant"] for u in units] == [True] * (len(units) - 1) + [False]
    x = calib[:30, : sizes[0]]
    assert np.array_equal(execute(q, {"x": x})[q.outputs[0]], execute(low, {"x": x})[low.outputs[0]])
    folded = fold(low)
    for a, b in zip(units, [n for n in folded.nodes() if n.op is MatrixVectorUnit]):
        assert "pe" not in a.attrs and b.attrs["pe"] >= 1 and b.attrs["simd"] >= 1


def test_serialize_roundtrip_is_exact_and_deterministic(tmp_path, calib):
    g = fold(run_to_fixed_point(quantize(mlp([64, 32, 10]), {"x": calib}), [lower_to_hardware]))
    a = save_graph(g, tmp_path / "a")
    b = save_graph(g, tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    back = load_graph(tmp_path / "a")
    x = calib[:10]
    assert np.array_equal(execute(g, {"x": x})[g.outputs[0]], execute(back, {"x": x})[back.outputs[0]])
    assert back.tensors == g.tensors
