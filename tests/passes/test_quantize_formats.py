"""Fixed-point formats of post-training quantization: a weight format per output
row, the logits layer with one format, and activation formats chosen by squared
error; the lowered units (a requantization shift per row) compute the same integers."""
import numpy as np
import pytest
import torch

from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.dtypes import FLOAT32
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ir.verify import verify
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.quant import Quantize, Requantize
from hwcomp.ops.shape import Concat
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.canonicalize import canonicalize
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.quantize import (ROW_SHIFT_MAX, QuantConfig, TensorStats, activation_type, observe,
                                    quantize, quantize_weights)
from hwcomp.passes.streamline_transposes import to_channels_last


def mlp(weights: list[np.ndarray]) -> Graph:
    """x -> Dense -> Relu -> ... -> Dense (logits), with the given float weights."""
    rng = np.random.default_rng(0)
    g = Graph("mlp")
    g.inputs, prev = ["x"], "x"
    g.tensors["x"] = TensorType((1, weights[0].shape[1]), FLOAT32)
    for i, w in enumerate(weights):
        g.add_node(Node(f"fc{i}", Dense, [prev], [f"h{i}"], {},
                        {"weight": w.astype(np.float32), "bias": rng.normal(0, 0.1, len(w)).astype(np.float32)}))
        g.tensors[f"h{i}"] = TensorType((1, len(w)), FLOAT32)
        prev = f"h{i}"
        if i < len(weights) - 1:
            g.add_node(Node(f"relu{i}", Relu, [prev], [f"r{i}"]))
            g.tensors[f"r{i}"] = TensorType((1, len(w)), FLOAT32)
            prev = f"r{i}"
    g.outputs = [prev]
    verify(g)
    return g


def uneven_rows(rows: int, cols: int, seed: int) -> np.ndarray:
    """Rows whose magnitudes span a factor of about 100: one format for all wastes bits on most."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (rows, cols)) * np.geomspace(0.02, 2.0, rows)[:, None]


@pytest.fixture(scope="module")
def calib():
    return np.random.default_rng(1).uniform(0, 1, (200, 12)).astype(np.float32)


def dense_nodes(g: Graph) -> list[Node]:
    return [n for n in g.nodes() if n.op is Dense]


def test_each_row_gets_the_most_fractional_bits_that_hold_it() -> None:
    w = uneven_rows(9, 12, seed=3)
    q, wt, shift = quantize_weights(w, 8, per_channel=True)
    frac = wt.frac - shift
    assert (shift >= 0).all() and shift.max() > 2
    # Every row uses the top half of the code range, and rounding is within half a step of its scale.
    assert (np.abs(q).max(axis=1) >= 64).all() and (np.abs(q) <= 127).all()
    assert (np.abs(q * 2.0 ** -frac[:, None] - w) <= 2.0 ** -frac[:, None] / 2 + 1e-12).all()
    one, wt1, shift1 = quantize_weights(w, 8, per_channel=False)
    assert not shift1.any() and wt1.frac == frac.min()
    # One format: the large row fixes the step, the small rows keep few distinct codes.
    assert len(np.unique(one[0])) < len(np.unique(q[0]))


def test_row_formats_are_capped_and_zero_rows_take_the_finest() -> None:
    w = np.array([[1.0, -0.5], [1e-9, 0.0], [0.0, 0.0]])
    q, wt, shift = quantize_weights(w, 8, per_channel=True)
    assert shift.tolist() == [ROW_SHIFT_MAX, 0, 0]
    assert q[2].tolist() == [0, 0] and wt.frac == 6 + ROW_SHIFT_MAX


def test_hidden_layers_get_row_shifts_and_logits_one_format(calib) -> None:
    g = mlp([uneven_rows(15, 12, 1), uneven_rows(9, 15, 2), uneven_rows(5, 9, 4)])
    q = quantize(g, {"x": calib}, QuantConfig(8, 8))
    hidden, logits = dense_nodes(q)[:-1], dense_nodes(q)[-1]
    assert all("row_shift" in d.params for d in hidden)
    assert "row_shift" not in logits.params
    old = quantize(g, {"x": calib}, QuantConfig(8, 8, per_channel=False, act_mse=False))
    assert not any("row_shift" in d.params for d in dense_nodes(old))
    x = calib[:100]
    ref = execute(g, {"x": x})[g.outputs[0]]
    err = {name: float(np.square(execute(m, {"x": x})[m.outputs[0]] - ref).mean()) for name, m in
           (("per_row", q), ("per_layer", old))}
    assert err["per_row"] < err["per_layer"] / 2, err


def test_lowering_gives_a_shift_per_row_and_the_same_integers(calib) -> None:
    g = mlp([uneven_rows(15, 12, 1), uneven_rows(9, 15, 2), uneven_rows(5, 9, 4)])
    q = quantize(g, {"x": calib}, QuantConfig(8, 8))
    low = run_to_fixed_point(q, [lower_to_hardware])
    units = [n for n in low.nodes() if n.op is MatrixVectorUnit]
    for d, u in zip(dense_nodes(q)[:-1], units):
        shifts = u.params["row_shifts"]
        # The unit's own shift per row: the common shift less the row's shift onto the common point.
        assert u.attrs["shift"] == 0 and shifts.tolist() == (
            d.attrs["acc_dtype"].frac - q.tensors[u.outputs[0]].dtype.frac - d.params["row_shift"]).tolist()
        # Each row accumulates on its own scale, so the unit's accumulator is narrower.
        assert u.attrs["acc_dtype"].width < d.attrs["acc_dtype"].width
    x = calib[:60]
    a, b = execute(q, {"x": x}, keep_all=True), execute(low, {"x": x}, keep_all=True)
    for u in units:
        assert np.array_equal(a[u.outputs[0]], b[u.outputs[0]]), u.name
    assert np.array_equal(a[q.outputs[0]], b[low.outputs[0]])


def test_activation_format_has_the_least_squared_error() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.exponential(0.3, 50000), [20.0]])  # one outlier
    stats = observe(identity_graph(len(x)), {"x": x[None].astype(np.float32)}, (8,))["x"]
    by_max = stats.max_frac(8)
    chosen = activation_type(stats, 8)
    assert not chosen.signed and chosen.frac > by_max
    errs = {f: float(np.square(np.clip(np.rint(x * 2.0 ** f), 0, 255) * 2.0 ** -f - x).sum())
            for f in range(by_max, by_max + 4)}
    assert chosen.frac == min(errs, key=errs.get)
    assert activation_type(TensorStats(stats.lo, stats.hi, {}), 8).frac == by_max
    # Exactly representable values (pixels k/16): the format holding the maximum has no error.
    px = (np.arange(17) / 16).astype(np.float32)
    st = observe(identity_graph(len(px)), {"x": px[None]}, (8,))["x"]
    assert activation_type(st, 8).frac == st.max_frac(8) == 7


def identity_graph(n: int) -> Graph:
    """x -> Relu: observe() records x (a graph input) and the ReLU's output."""
    g = Graph("id")
    g.inputs = ["x"]
    g.tensors["x"] = TensorType((1, n), FLOAT32)
    g.add_node(Node("relu", Relu, ["x"], ["y"]))
    g.tensors["y"] = TensorType((1, n), FLOAT32)
    g.outputs = ["y"]
    verify(g)
    return g


def test_input_format_by_max_when_asked(calib) -> None:
    g = mlp([uneven_rows(7, 12, 1), uneven_rows(3, 7, 2)])
    q = quantize(g, {"x": calib}, QuantConfig(8, 8, act_mse=False))
    quant = next(n for n in q.nodes() if n.op is Quantize)
    assert quant.attrs["dtype"].frac == 7  # max 1.0 in 8 unsigned bits


class _AddPoolConcat(torch.nn.Module):
    """conv -> (conv + skip) -> max pool -> concat with a 1x1 branch -> fc: the concat's type
    reaches back through the pool to the add (tests/integration/test_fold_regressions.py)."""

    def __init__(self):
        super().__init__()
        self.c0 = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.c1 = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.c2 = torch.nn.Conv2d(6, 5, 1)
        self.fc = torch.nn.Linear(11 * 4 * 4, 4)

    def forward(self, x):
        a = torch.relu(self.c0(x))
        p = torch.nn.functional.max_pool2d(torch.relu(self.c1(a)) + a, 2)
        return self.fc(torch.flatten(torch.cat([p, torch.relu(self.c2(p))], 1), 1))


def test_residual_add_takes_the_type_a_later_concat_needs(tmp_path) -> None:
    """With formats by squared error the add's own best format differed from the concat's; the
    add must produce the concat's type itself (a Requantize of an activation has no block)."""
    torch.manual_seed(0)
    path = tmp_path / "r.onnx"
    torch.onnx.export(_AddPoolConcat().eval(), (torch.zeros(1, 1, 8, 8),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=13, dynamo=False)
    g = to_channels_last(canonicalize(load_onnx(path)))
    x = np.random.default_rng(0).uniform(0, 1, (6, 1, 8, 8)).astype(np.float32)
    q = quantize(g, {"x": x}, QuantConfig(8, 8))
    producers = q.producers()
    add = next(n for n in q.nodes() if n.op is ResidualAdd)
    concat = next(n for n in q.nodes() if n.op is Concat)
    assert not [n for n in q.nodes() if n.op is Requantize and producers[n.inputs[0]].op is not Relu]
    assert q.tensors[add.outputs[0]].dtype == q.tensors[concat.outputs[0]].dtype


@pytest.mark.parametrize("per_channel", [False, True])
def test_weights_above_the_integer_range_take_a_negative_frac(per_channel):
    """Found by make fuzz (a w2a8 CNN's logits layer): weights near 3 at 2 bits need a
    negative frac; the weight type was floored at frac 0, which shifted every row and left
    the logits layer, which must keep one format, with a row shift."""
    w = np.array([[2.9, -3.1], [1.2, 0.4], [3.0, 0.1]])
    codes, wt, shift = quantize_weights(w, 2, per_channel)
    assert wt.frac - int(shift.max()) < 0  # the coarsest row's format is above the integers
    if not per_channel:
        assert not shift.any()
    assert int(shift.min()) == 0  # the finest row sits on the type's own binary point
    step = 2.0 ** -(wt.frac - shift)[:, None]
    assert np.all(np.abs(codes * step - w) <= step)  # within a step (saturation included)
