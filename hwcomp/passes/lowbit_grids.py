"""The grids of passes/lowbit: weight codes per output channel and activation ranges.

Weights (one scale per output row, zero point 0, so that passes/integerize
recovers integer codes exactly):
  1 bit   XNOR-Net: sign(W) (sign(0) = +1) times alpha[r] = mean |W[r]|, the
          scale that minimizes the squared error of sign(W) * alpha.
  k bits  narrow-range signed codes -(2^(k-1) - 1) .. 2^(k-1) - 1 (ternary at
          k = 2) times s[r] = clip[r] / (2^(k-1) - 1), clip[r] = the fraction of
          max |W[r]| that minimizes the squared rounding error of the row
          (uniform_clip). A symmetric mid-tread grid keeps 0 exact and a zero
          point of 0. DoReFa's grid is 2^k evenly spaced levels in [-1, 1], none
          of them 0 (not a symmetric integer code with zero point 0), on
          tanh(W) / max|tanh(W)|: a training-time reparametrization that, with
          no training to adapt to it, only squeezes the largest weights. So
          DoReFa-style here means uniform k-bit, not its exact grid.
Activations (one scale per tensor, from calibration values):
  k bits  unsigned codes 0 .. 2^k - 1 on [0, clip] when every calibration value
          is >= 0 (after ReLU), else narrow signed codes on [-clip, clip];
          clip minimizes the squared rounding error over the calibration values
          (uniform_clip), rounding half to even as FakeQuant does.
  1 bit   a sign: see sign_fit.
"""
from __future__ import annotations

import numpy as np

from hwcomp.ir.dtypes import BIPOLAR, Int

# Clip candidates, as fractions of the largest magnitude: the squared-error optimum
# of a uniform grid lies well inside (0, 1] for the bell-shaped values of a layer.
CLIP_FRACTIONS = np.linspace(0.05, 1.0, 96)
SMALLEST_SCALE = float(np.finfo(np.float32).tiny)  # for an all-zero row or tensor


def code_range(bits: int, signed: bool) -> tuple[int, int]:
    """The codes of a k-bit grid: narrow-range symmetric when signed (0 exact, zero point 0)."""
    if signed:
        top = (1 << (bits - 1)) - 1
        return -top, top
    return 0, (1 << bits) - 1


def uniform_clip(values: np.ndarray, qmin: int, qmax: int) -> np.ndarray:
    """Per row of `values` [R, N]: the clip level (a fraction of the row's max |value|)
    with the least squared error on the grid qmin..qmax. Rows of zeros get SMALLEST_SCALE."""
    values = np.asarray(values, np.float64)
    top = np.abs(values).max(axis=1)
    best_clip = np.maximum(top, SMALLEST_SCALE)
    best_err = np.full(len(values), np.inf)
    for frac in CLIP_FRACTIONS:  # one candidate at a time: memory stays at the size of `values`
        clip = np.maximum(top * frac, SMALLEST_SCALE)
        scale = clip[:, None] / max(qmax, -qmin)
        err = ((np.clip(np.round(values / scale), qmin, qmax) * scale - values) ** 2).sum(axis=1)
        better = err < best_err
        best_clip, best_err = np.where(better, clip, best_clip), np.where(better, err, best_err)
    return best_clip


def xnor_weights(w: np.ndarray) -> tuple[np.ndarray, dict]:
    """sign(W) * alpha per row: the float weights and their grid (bipolar codes)."""
    w = np.asarray(w, np.float64)
    alpha = np.maximum(np.abs(w).mean(axis=1), SMALLEST_SCALE)
    codes = np.where(w >= 0, 1.0, -1.0)
    return (codes * alpha[:, None]).astype(np.float32), {"dtype": BIPOLAR, "scale": alpha}


def uniform_weights(w: np.ndarray, bits: int) -> tuple[np.ndarray, dict]:
    """k-bit narrow symmetric codes per row: the float weights and their grid."""
    w = np.asarray(w, np.float64)
    qmin, qmax = code_range(bits, signed=True)
    scale = uniform_clip(w, qmin, qmax) / qmax
    codes = np.clip(np.round(w / scale[:, None]), qmin, qmax)
    return (codes * scale[:, None]).astype(np.float32), {"dtype": Int(bits), "scale": scale}


def quantize_weights(w: np.ndarray, bits: int) -> tuple[np.ndarray, dict]:
    return xnor_weights(w) if bits == 1 else uniform_weights(w, bits)


def activation_grid(values: np.ndarray, bits: int) -> tuple[dict, float]:
    """FakeQuant attrs and per-tensor scale of a k-bit (k >= 2) activation quantizer."""
    v = np.asarray(values, np.float64).reshape(1, -1)
    signed = bool(v.min() < 0) if v.size else False
    qmin, qmax = code_range(bits, signed)
    clip = float(uniform_clip(v, qmin, qmax)[0]) if v.size else 1.0
    return {"qmin": qmin, "qmax": qmax, "rounding": "ROUND", "bipolar": False}, clip / max(qmax, -qmin)


def _stumps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of x, y [M, C]: the threshold tau splitting y into the groups x >= tau and
    x < tau whose means (m_pos, m_neg) leave the least squared error, over every split
    between distinct values of x. A column of one value cannot split: both means are the
    mean of y."""
    m, cols = x.shape[0], np.arange(x.shape[1])
    if m < 2:
        return x[0].copy(), y[0].copy(), y[0].copy()
    order = np.argsort(x, axis=0, kind="stable")
    xs, ys = np.take_along_axis(x, order, 0), np.take_along_axis(y, order, 0)
    total = ys.sum(axis=0)
    left = np.cumsum(ys, axis=0)[:-1]                    # row i: sum of y over the i + 1 smallest x
    n_left = np.arange(1, m)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        # least squared error <=> largest sum over the two groups of (group sum)^2 / size
        score = left ** 2 / n_left + (total - left) ** 2 / (m - n_left)
    score[xs[1:] == xs[:-1]] = -np.inf                   # no split inside a run of equal x
    best = np.argmax(score, axis=0)
    split = np.isfinite(score[best, cols])
    n_neg = best + 1
    s_neg = left[best, cols]
    # midway between the two values around the split: far from both, so float32 rounding of the
    # same pre-activation computed another way (integerize's exact accumulator) never moves it
    # across; a column that cannot split sits well above tau (always +1)
    hi_x = xs[np.minimum(best + 1, m - 1), cols]
    tau = np.where(split, (xs[best, cols] + hi_x) / 2, xs[0] - 1 - np.abs(xs[0]))
    m_neg = np.where(split, s_neg / n_neg, total / m)
    m_pos = np.where(split, (total - s_neg) / np.maximum(m - n_neg, 1), total / m)
    return tau, m_pos, m_neg


def sign_fit(pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, float, float]:
    """A 1-bit activation y ~ alpha * sign(x - tau[c]) + beta, fitted on calibration data.

    x (`pre` [M, C], channels last) is what the sign reads, y (`post`) the float
    activation it replaces. Per channel, tau is the split of x whose two groups
    of y have the least squared error around their means m+ (x >= tau) and m-
    (x < tau): a BatchNorm before BinaryNet's sign shifts its threshold the same
    way. The codes scale is one per tensor, alpha = mean over channels of
    (m+ - m-) / 2, and so is beta = mean of (m+ + m-) / 2, which the next layers'
    biases absorb. At tau = 0 after a ReLU this is a step of height m+.
    """
    x, y = np.asarray(pre, np.float64), np.asarray(post, np.float64)
    tau, m_pos, m_neg = _stumps(x, y)
    alpha = max(float(np.mean(m_pos - m_neg)) / 2, SMALLEST_SCALE)
    return tau, alpha, float(np.mean(m_pos + m_neg)) / 2
