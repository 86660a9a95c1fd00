"""Golden model of the matrix-vector unit's integer semantics (docs/numerics.md).

    acc = sum_j W[r, j] * x[j] + bias[r]          exact
    acc = max(acc, 0)                             if relu
    y   = (acc + 2^(shift-1)) >> shift            if requant and shift > 0
                                                  (arithmetic shift: round half up)
    y   = acc                                     if requant and shift == 0
    y   = clip(y, out_min, out_max)               if requant
    y   = acc                                     if not requant

with shift = row_shifts[r] on row r when the unit has row shifts (weights with
a format per row).

Optional modes (relu and requant off with thresholds):

    W[r, j] = 2 * bit - 1, 0 on padded columns    if weight_bipolar
    y = out_base + sum_k ((acc >= T[r, k]) XOR descending[r])   if thresholds

The RTL (templates/hwcomp_mvu.v) is checked bit for bit against this.
"""
from __future__ import annotations

import numpy as np

from hwcomp.hw.design import MVULayer
from hwcomp.numerics import int_range, relu_requant, threshold_activation  # noqa: F401 (re-exported)


def effective_weights(layer: MVULayer) -> np.ndarray:
    """The integer weights the unit multiplies by, [rows_p, cols_p] int64.

    Bipolar bits become -1 / +1 on the logical columns and 0 on the padded
    ones (the RTL masks those lanes); otherwise the weights as stored.
    """
    w = np.asarray(layer.weights, dtype=np.int64)
    if not layer.weight_bipolar:
        return w
    w = 2 * w - 1
    w[:, layer.cols:] = 0
    return w


def _fits_int64(layer: MVULayer) -> bool:
    lo, hi = int_range(layer.in_width, layer.in_signed)
    x_max = max(abs(lo), abs(hi))
    w_max = 1 << (layer.weight_width - 1)
    bias_max = int(np.abs(layer.bias).max(initial=0))
    return layer.cols_p * x_max * w_max + bias_max < (1 << 62)


def accumulate(layer: MVULayer, x_int: np.ndarray) -> np.ndarray:
    """Exact W x + b over the padded rows: [samples, cols or cols_p] -> [samples, rows_p].

    Inputs may have the logical column count (zero padded here) or the padded one.
    Values come back as int64, or as Python ints (object array) when int64 could overflow.
    """
    x = np.asarray(x_int)
    if x.ndim != 2 or x.shape[1] not in (layer.cols, layer.cols_p):
        raise ValueError(f"{layer.name}: expected inputs [samples, {layer.cols}], got {x.shape}")
    lo, hi = int_range(layer.in_width, layer.in_signed)
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        raise ValueError(f"{layer.name}: inputs outside [{lo}, {hi}]")
    dtype = np.int64 if _fits_int64(layer) else object
    padded = np.zeros((x.shape[0], layer.cols_p), dtype=dtype)
    padded[:, : x.shape[1]] = x.astype(dtype)
    weights = effective_weights(layer).astype(dtype)
    bias = np.asarray(layer.bias).astype(dtype)
    return padded @ weights.T + bias


def activate(layer: MVULayer, acc: np.ndarray) -> np.ndarray:
    """ReLU and requantization, or the threshold activation, applied to accumulator values."""
    if layer.thresholds is not None:
        return threshold_activation(acc, layer.thresholds, layer.descending, layer.out_base)
    return relu_requant(acc, layer.relu, layer.requant, layer.shifts, layer.out_min, layer.out_max)


def mvu_reference(layer: MVULayer, x_int: np.ndarray) -> np.ndarray:
    """[samples, cols] integer inputs -> [samples, rows] integer outputs, bit exact."""
    y = activate(layer, accumulate(layer, x_int))[:, : layer.rows]
    return y.astype(np.int64) if _fits_int64(layer) or layer.thresholds is not None else y


def accumulator_bounds(layer: MVULayer) -> tuple[int, int]:
    """Smallest and largest W x + b over every row and every input in range.

    Each partial product lies between W*x_min and W*x_max, so the row sum's
    extremes are the sums of the per-term extremes. Bipolar weights count as
    -1 / +1 (0 on padded columns), as the unit multiplies them.
    """
    x_lo, x_hi = int_range(layer.in_width, layer.in_signed)
    w = effective_weights(layer).astype(object)
    a, b = w * x_lo, w * x_hi
    lo = np.minimum(a, b).sum(axis=1) + np.asarray(layer.bias, dtype=object)
    hi = np.maximum(a, b).sum(axis=1) + np.asarray(layer.bias, dtype=object)
    return int(min(lo, default=0)), int(max(hi, default=0))
