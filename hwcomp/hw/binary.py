"""Binary (XNOR-popcount) matrix-vector unit: description, golden model, ROM images.

Numerics (docs/numerics_binary.md): bipolar +1 / -1 are bits, 1 = +1. For row r
over the N = cols valid columns,

    p[r] = #{ j < cols : W[r, j] == x[j] }       popcount of XNOR
    2 p[r] - N = sum_j (2W[r, j] - 1) (2x[j] - 1)  the bipolar dot product
    y[r] = 1 if p[r] >= T[r] else 0               threshold activation
    y[r] = p[r]                                   if popcount_out

Padded columns (cols..cols_p-1) never count: templates/hwcomp_xnor_mvu.v masks
them, and this model ignores them, whatever bits they hold. Padded rows are
computed like any other row (their outputs are dropped downstream).

The RTL is checked bit for bit against `xnor_reference`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.hw.design import Folded

# Cycles from a row fold's last step to its output word (as hwcomp_mvu), without
# the optional S1b register; xnor_latency adds it.
XNOR_LATENCY = 4


@dataclass(frozen=True, eq=False)
class XnorLayer(Folded):
    """One folded XNOR-popcount unit with per-row thresholds.

    Sizes with `_p` are padded: rows_p = NF*PE, cols_p = SF*SIMD. Padded
    weight bits may hold anything (they are masked); thresholds may be any
    integers (values <= 0 mean "always 1", values > cols "always 0").
    """

    name: str
    rows: int
    cols: int
    pe: int
    simd: int
    weights: np.ndarray       # uint8 0/1 [rows_p, cols_p], 1 = +1
    thresholds: np.ndarray    # int64 [rows_p]; ignored when popcount_out
    popcount_out: bool = False
    op_reg: int = 0           # weight and input words registered once more (S1b), for the clock

    @property
    def latency(self) -> int:
        """Cycles from a vector's last step firing to its last output word (nothing stalling)."""
        return XNOR_LATENCY + self.op_reg

    @property
    def count_width(self) -> int:
        """clog2(SF*SIMD + 1): bits of a row's popcount in the RTL."""
        return self.cols_p.bit_length()

    @property
    def thresh_width(self) -> int:
        """Bits of a stored (clamped) threshold, 0..cols+1."""
        return (self.cols + 1).bit_length()

    @property
    def out_width(self) -> int:
        return self.count_width if self.popcount_out else 1


def check_xnor_layer(layer: XnorLayer) -> None:
    w = np.asarray(layer.weights)
    if w.shape != (layer.rows_p, layer.cols_p):
        raise ValueError(f"{layer.name}: weights {w.shape}, want {(layer.rows_p, layer.cols_p)}")
    if not np.isin(w, (0, 1)).all():
        raise ValueError(f"{layer.name}: weights must be bits")
    if np.asarray(layer.thresholds).shape != (layer.rows_p,):
        raise ValueError(f"{layer.name}: thresholds must have {layer.rows_p} entries")


def clamped_thresholds(layer: XnorLayer) -> np.ndarray:
    """Thresholds clamped to [0, cols+1]: exact, since 0 <= p <= cols."""
    return np.clip(np.asarray(layer.thresholds, dtype=np.int64), 0, layer.cols + 1)


def popcounts(layer: XnorLayer, x_bits: np.ndarray) -> np.ndarray:
    """[samples, cols or cols_p] bits -> [samples, rows_p] agreements over the valid columns."""
    x = np.asarray(x_bits, dtype=np.int64)[:, : layer.cols]
    w = np.asarray(layer.weights, dtype=np.int64)[:, : layer.cols]
    agree = x[:, None, :] == w[None, :, :]
    return agree.sum(axis=2).astype(np.int64)


def xnor_reference(layer: XnorLayer, x_bits: np.ndarray) -> np.ndarray:
    """Golden model: [samples, cols or cols_p] bits -> [samples, rows_p] outputs.

    Outputs are bits (p >= T) or, with popcount_out, the popcounts p.
    Padded input columns are ignored; take [:, :rows] for the logical outputs.
    """
    p = popcounts(layer, x_bits)
    if layer.popcount_out:
        return p
    return (p >= np.asarray(layer.thresholds, dtype=np.int64)[None, :]).astype(np.int64)


def fold_batchnorm_sign(weights: np.ndarray, cols: int, gamma, beta, mean, var, eps: float = 1e-5):
    """Fold y = sign(BN(2p - N)) (sign(0) = +1, i.e. output 1 iff BN >= 0) into bits and thresholds.

    weights: [rows, cols_any] bits; the first `cols` columns are valid (N = cols).
    Returns (weights', thresholds): rows with gamma < 0 get their valid weight
    bits inverted (p' = N - p turns the decreasing condition into an
    increasing one), so that for every popcount p' of the returned weights,
    (p' >= T) equals BN(2p - N) >= 0 evaluated in float64 exactly as here.
    T is found by evaluating the BN at all N+1 possible popcounts.
    """
    w = np.array(weights, dtype=np.uint8, copy=True)
    rows = w.shape[0]
    n = cols
    gamma, beta, mean, var = (np.broadcast_to(np.asarray(a, dtype=np.float64), (rows,)) for a in (gamma, beta, mean, var))
    flip = gamma < 0
    w[flip, :cols] ^= 1
    q = np.arange(n + 1, dtype=np.float64)                       # popcount of the stored row
    sgn = np.where(flip, -1.0, 1.0)[:, None]
    y = sgn * (2 * q[None, :] - n)                               # bipolar dot product of the original row
    bn = gamma[:, None] * (y - mean[:, None]) / np.sqrt(var[:, None] + eps) + beta[:, None]
    ok = bn >= 0                                                 # nondecreasing in q along each row
    thresholds = np.where(ok.any(axis=1), ok.argmax(axis=1), n + 1).astype(np.int64)
    return w, thresholds


def bn_sign_reference(p: np.ndarray, cols: int, gamma, beta, mean, var, eps: float = 1e-5) -> np.ndarray:
    """sign(BN(2p - N)) as bits, p: [samples, rows] popcounts of the original weights."""
    y = 2 * np.asarray(p, dtype=np.float64) - cols
    bn = np.asarray(gamma) * (y - np.asarray(mean)) / np.sqrt(np.asarray(var) + eps) + np.asarray(beta)
    return (bn >= 0).astype(np.int64)


def xnor_layer(layer) -> XnorLayer:
    """The XnorLayer view of an MVULayer with xnor=True (hwcomp.hw.design)."""
    t = layer.thresholds
    return XnorLayer(layer.name, layer.rows, layer.cols, layer.pe, layer.simd,
                     np.asarray(layer.weights), np.zeros(layer.rows_p, np.int64) if t is None else np.asarray(t)[:, 0],
                     popcount_out=t is None, op_reg=layer.pipeline.op_reg)


# ---------------------------------------------------------------- ROM images and parameters

def xnor_weight_rows(layer: XnorLayer) -> np.ndarray:
    """NF*SF rows of PE*SIMD bits; row nf*SF+sf holds W[nf*PE+p, sf*SIMD+s] at p*SIMD+s."""
    w = np.asarray(layer.weights, dtype=np.int64).reshape(layer.nf, layer.pe, layer.sf, layer.simd)
    return w.transpose(0, 2, 1, 3).reshape(layer.nf * layer.sf, layer.pe * layer.simd)


def xnor_threshold_rows(layer: XnorLayer) -> np.ndarray:
    """NF rows of PE clamped thresholds (THRESH_W bits each)."""
    return clamped_thresholds(layer).reshape(layer.nf, layer.pe)


def xnor_parameters(layer: XnorLayer) -> tuple[tuple[str, int], ...]:
    """hwcomp_xnor_mvu's parameters (without the file names)."""
    return (("PE", layer.pe), ("SIMD", layer.simd), ("NF", layer.nf), ("SF", layer.sf),
            ("COLS", layer.cols), ("THRESH_W", layer.thresh_width), ("POPCOUNT_OUT", int(layer.popcount_out)),
            ("OP_REG", layer.op_reg))
