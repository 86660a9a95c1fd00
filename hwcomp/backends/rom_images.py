"""ROM images for $readmemh: the weight and bias memories of one MVU.

One line per ROM word, written as fixed-width lowercase hex (two's
complement), "\\n" line endings, no comments: same layer, same bytes. The
lane order is the one templates/hwcomp_mvu.v documents:

    weights  line nf*SF + sf, element p*SIMD + s = W[nf*PE + p, sf*SIMD + s]
    bias     line nf,         element p          = bias[nf*PE + p]

element i of a line occupies bits [i*width +: width] of the line's word.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwcomp.hw.design import MVULayer, ceil_div


def hex_words(elements: np.ndarray, width: int) -> list[str]:
    """[lines, elems] integers -> one hex word per line, element i at bits [i*width +: width]."""
    values = np.asarray(elements, dtype=np.int64)
    lines, elems = values.shape
    total = elems * width
    digits = ceil_div(total, 4)
    # Two's complement bits of every element, least significant first; bits
    # above 63 repeat the sign bit (int64 values, any width).
    shifts = np.minimum(np.arange(width, dtype=np.int64), 63)
    bits = (values[:, :, None] >> shifts) & 1
    bits = bits.reshape(lines, total)
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


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode("ascii"))
    return path
