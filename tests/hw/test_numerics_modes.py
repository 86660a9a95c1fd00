"""The low-bit modes of the golden model (docs/numerics.md, "Low-bit matrix-vector
units"), value by value, and the IR op agreeing with it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwcomp.hw.numerics import (accumulate, accumulator_bounds, effective_weights, int_range, mvu_reference,
                                threshold_activation)
from hwcomp.ir.dtypes import Fixed
from hwcomp.ir.graph import Node
from hwcomp.ops.mvu import MatrixVectorUnit


def spec_code(acc: int, thresholds: list[int], descending: bool, base: int) -> int:
    """The rule in plain Python."""
    return base + sum(int((acc >= t) != descending) for t in thresholds)


def test_threshold_rule_value_by_value() -> None:
    t = np.array([[-3, 0, 4], [-3, 0, 4], [2, 2, 9]])
    desc = np.array([False, True, False])
    acc = np.repeat(np.arange(-6, 11)[:, None], 3, axis=1)
    got = threshold_activation(acc, t, desc, -2)
    want = [[spec_code(int(a), t[r].tolist(), bool(desc[r]), -2) for r in range(3)] for a in acc[:, 0]]
    assert got.dtype == np.int64 and got.tolist() == want
    # Ascending rows count up from base, descending rows down from base + K; ties count as passed.
    assert got[:, 0].tolist() == [-2] * 3 + [-1] * 3 + [0] * 4 + [1] * 7
    assert got[:, 1].tolist() == [1] * 3 + [0] * 3 + [-1] * 4 + [-2] * 7


def test_threshold_default_is_ascending_and_object_accumulators_work() -> None:
    big = 1 << 70
    acc = np.array([[-big, big]], dtype=object)
    t = np.array([[0], [0]])
    assert threshold_activation(acc, t, None, 0).tolist() == [[0, 1]]


def test_threshold_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="do not match"):
        threshold_activation(np.zeros((2, 3)), np.zeros((2, 1)), None, 0)


def test_bipolar_weights_are_plus_minus_one(dense_layer) -> None:
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, size=(5, 7))
    layer = dataclasses.replace(dense_layer("l", bits, [3, -1, 0, 2, 5], pe=2, simd=3, weight_width=1,
                                            in_width=8, acc_width=13), weight_bipolar=True)
    x = rng.integers(0, 256, size=(6, 7))
    assert np.array_equal(mvu_reference(layer, x), x @ (2 * bits - 1).T + [3, -1, 0, 2, 5])


def test_bipolar_padded_columns_count_zero(dense_layer) -> None:
    # cols 7 -> cols_p 9: the padded weight bits (0 = -1) are masked, so junk
    # in the padded input lanes changes nothing; padded row 5 computes -sum(x).
    bits = np.ones((5, 7), dtype=np.int64)
    layer = dataclasses.replace(dense_layer("l", bits, pe=2, simd=3, weight_width=1, in_width=4, acc_width=8),
                                weight_bipolar=True)
    w = effective_weights(layer)
    assert w[:5, :7].min() == 1 and not w[:, 7:].any() and (w[5, :7] == -1).all()
    x = np.full((1, 9), 15)
    assert accumulate(layer, x)[0].tolist() == [105] * 5 + [-105]


def test_bipolar_accumulator_bounds(dense_layer) -> None:
    bits = np.array([[1, 1, 0], [0, 0, 0]])
    layer = dataclasses.replace(dense_layer("l", bits, [1, 0], in_width=3, in_signed=True, weight_width=1,
                                            acc_width=6), weight_bipolar=True)
    x_lo, x_hi = int_range(3, True)
    # Row 0: +x +x -x + 1; row 1: -x -x -x.
    assert accumulator_bounds(layer) == (min(2 * x_lo - x_hi + 1, -3 * x_hi), max(2 * x_hi - x_lo + 1, -3 * x_lo))
    assert accumulator_bounds(layer) == (-10, 12)


def threshold_layer(dense_layer, weights, thresholds, descending=None, base=0, **kw):
    layer = dense_layer("l", weights, **kw)
    t = np.zeros((layer.rows_p, np.shape(thresholds)[1]), dtype=np.int64)
    t[: layer.rows] = thresholds
    d = None
    if descending is not None:
        d = np.zeros(layer.rows_p, dtype=bool)
        d[: layer.rows] = descending
    return dataclasses.replace(layer, thresholds=t, descending=d, out_base=base)


def test_mvu_reference_applies_thresholds_to_the_exact_accumulator(dense_layer) -> None:
    rng = np.random.default_rng(2)
    w = rng.integers(-2, 2, size=(5, 6))
    t = np.sort(rng.integers(-8, 9, size=(5, 3)), axis=1)
    desc = np.array([False, True, False, True, False])
    layer = threshold_layer(dense_layer, w, t, desc, -2, pe=2, simd=4, in_width=2, weight_width=2,
                            acc_width=8)
    x = rng.integers(0, 4, size=(20, 6))
    acc = x @ w.T
    want = [[spec_code(int(acc[i, r]), t[r].tolist(), bool(desc[r]), -2) for r in range(5)] for i in range(20)]
    assert mvu_reference(layer, x).tolist() == want


def op_node(weight, bias, attrs: dict, params: dict) -> Node:
    base = dict(pe=1, simd=1, relu=False, requant=False, shift=0, out_dtype=Fixed(4, 0, True))
    return Node("mvu", MatrixVectorUnit, ("x",), ("y",), {**base, **attrs},
                {"weight": np.asarray(weight), "bias": np.asarray(bias), **params})


def test_op_execute_matches_the_golden_model(dense_layer) -> None:
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(4, 5))
    t = np.sort(rng.integers(-30, 30, size=(4, 2)), axis=1)
    desc = np.array([True, False, False, True])
    layer = threshold_layer(dense_layer, bits, t, desc, -1, pe=4, simd=2, in_width=3, weight_width=1,
                            acc_width=8)
    layer = dataclasses.replace(layer, weight_bipolar=True)
    node = op_node(bits, np.zeros(4, dtype=np.int64), {"weight_bipolar": True, "out_base": -1},
                   {"thresholds": t, "descending": desc})
    x = rng.integers(0, 8, size=(2, 3, 5))           # leading axes are kept
    (y,) = MatrixVectorUnit.execute(node, [x], None)
    assert y.shape == (2, 3, 4)
    assert np.array_equal(y.reshape(6, 4), mvu_reference(layer, x.reshape(6, 5)))


def test_op_execute_default_is_unchanged() -> None:
    w, b = np.array([[1, -2], [3, 0]]), np.array([1, -1])
    node = op_node(w, b, {"relu": True, "requant": True, "shift": 1}, {})
    x = np.array([[3, 1], [0, 2]])
    (y,) = MatrixVectorUnit.execute(node, [x], None)
    acc = np.maximum(x @ w.T + b, 0)
    assert np.array_equal(y, np.clip((acc + 1) >> 1, -8, 7))
