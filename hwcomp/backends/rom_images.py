"""ROM images for $readmemh: the weight, bias and threshold memories of one MVU.

One line per ROM word, written as fixed-width lowercase hex (two's
complement), "\\n" line endings, no comments: same layer, same bytes. The
lane order is the one templates/hwcomp_mvu.v documents:

    weights  line nf*SF + sf, element p*SIMD + s = W[nf*PE + p, sf*SIMD + s]
    bias     line nf,         element p          = bias[nf*PE + p]
    thresh   line nf,         element p*K + k    = clamped T[nf*PE + p, k],
             then PE one-bit elements: element p = descending[nf*PE + p]

element i of a line occupies bits [i*width +: width] of the line's word (the
descending bits follow the PE*K thresholds of width ACC_W + 1).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwcomp.hw.design import MVULayer, ceil_div
from hwcomp.hw.numerics import int_range


def hex_words(elements: np.ndarray, width: int) -> list[str]:
    """[lines, elems] integers -> one hex word per line, element i at bits [i*width +: width]."""
    return _hex_lines(_bit_fields(elements, width))


def _bit_fields(elements: np.ndarray, width: int) -> np.ndarray:
    """[lines, elems] integers -> [lines, elems*width] bits, element i's LSB at column i*width."""
    values = np.asarray(elements, dtype=np.int64)
    lines, elems = values.shape
    # Two's complement bits of every element, least significant first; bits
    # above 63 repeat the sign bit (int64 values, any width).
    shifts = np.minimum(np.arange(width, dtype=np.int64), 63)
    bits = (values[:, :, None] >> shifts) & 1
    return bits.reshape(lines, elems * width)


def _hex_lines(bits: np.ndarray) -> list[str]:
    """[lines, total] bits, LSB first -> one fixed-width lowercase hex word per line."""
    lines, total = bits.shape
    digits = ceil_div(total, 4)
    bits = np.concatenate([bits, np.zeros((lines, digits * 4 - total), dtype=np.int64)], axis=1)
    # Group into nibbles, most significant nibble first.
    nibbles = bits.reshape(lines, digits, 4) @ np.array([1, 2, 4, 8], dtype=np.int64)
    nibbles = nibbles[:, ::-1]
    alphabet = np.array(list("0123456789abcdef"))
    return ["".join(row) for row in alphabet[nibbles]]


def weight_lines(layer: MVULayer) -> list[str]:
    w = np.asarray(layer.weights, dtype=np.int64).reshape(layer.nf, layer.pe, layer.sf, layer.simd)
    w = w.transpose(0, 2, 1, 3).reshape(layer.nf * layer.sf, layer.pe * layer.simd)
    return hex_words(w, layer.weight_width)


def bias_lines(layer: MVULayer) -> list[str]:
    b = np.asarray(layer.bias, dtype=np.int64).reshape(layer.nf, layer.pe)
    return hex_words(b, layer.acc_width)


def clamped_thresholds(layer: MVULayer) -> np.ndarray:
    """Thresholds clamped to [acc_lo, acc_hi + 1] of the accumulator type, [rows_p, K] int64.

    Exact: every accumulator lies in [acc_lo, acc_hi], so acc >= T is the same
    for T and its clamped value; acc_hi + 1 ("never") fits ACC_W + 1 bits.
    """
    lo, hi = int_range(layer.acc_width, True)
    return np.clip(np.asarray(layer.thresholds, dtype=np.int64), lo, hi + 1)


def threshold_lines(layer: MVULayer) -> list[str]:
    """NF lines: per row of the fold its K clamped thresholds (ACC_W + 1 bits), then PE descending bits."""
    k = layer.thresh_k
    t = clamped_thresholds(layer).reshape(layer.nf, layer.pe * k)
    desc = np.zeros(layer.rows_p, dtype=np.int64) if layer.descending is None else layer.descending
    d = np.asarray(desc, dtype=np.int64).reshape(layer.nf, layer.pe)
    return _hex_lines(np.concatenate([_bit_fields(t, layer.acc_width + 1), _bit_fields(d, 1)], axis=1))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode("ascii"))
    return path
