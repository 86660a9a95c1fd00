"""ROM images for $readmemh: a block's memory images (hw/blocks) as hex lines.

One line per ROM word, written as fixed-width lowercase hex (two's
complement), "\\n" line endings, no comments: same image, same bytes. Line i
holds row i of each field side by side, element j of a field at bits
[offset + j*width +: width], the first field at offset 0. The MVU's layouts
(templates/hwcomp_mvu.v documents them):

    weights  line nf*SF + sf, element p*SIMD + s = W[nf*PE + p, sf*SIMD + s]
    bias     line nf,         element p          = bias[nf*PE + p]
    thresh   line nf,         element p*K + k    = clamped T[nf*PE + p, k],
             then PE one-bit elements: element p = descending[nf*PE + p]
    shift    line nf,         element p          = row_shifts[nf*PE + p] (unsigned)
    codebook line i,          the weight of index i (with a codebook, the weights
             image holds each weight's index, unsigned, instead of the weight)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwcomp.hw.binary import xnor_threshold_rows, xnor_weight_rows
from hwcomp.hw.blocks.base import MemoryImage
from hwcomp.hw.blocks.mvu import (bias_image, clamped_thresholds, codebook_image, shift_image,  # noqa: F401
                                  threshold_image, weight_image)
from hwcomp.hw.design import MVULayer
from hwcomp.numerics import ceil_div


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


def image_lines(image: MemoryImage) -> list[str]:
    return _hex_lines(np.concatenate([_bit_fields(v, w) for v, w in image.fields], axis=1))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode("ascii"))
    return path


def write_image(outdir: Path, image: MemoryImage) -> Path:
    return write_lines(Path(outdir) / image.file, image_lines(image))


def weight_lines(layer: MVULayer) -> list[str]:
    return image_lines(weight_image(layer, layer.name))


def bias_lines(layer: MVULayer) -> list[str]:
    return image_lines(bias_image(layer, layer.name))


def threshold_lines(layer: MVULayer) -> list[str]:
    return image_lines(threshold_image(layer, layer.name))


def shift_lines(layer: MVULayer) -> list[str]:
    return image_lines(shift_image(layer, layer.name))


def codebook_lines(layer: MVULayer) -> list[str]:
    return image_lines(codebook_image(layer, layer.name))


def xnor_weight_lines(layer) -> list[str]:
    """An XnorLayer's weight ROM (hw/binary.py)."""
    return hex_words(xnor_weight_rows(layer), 1)


def xnor_threshold_lines(layer) -> list[str]:
    return hex_words(xnor_threshold_rows(layer), layer.thresh_width)
