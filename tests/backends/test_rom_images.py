"""ROM image layout: the lane order documented in templates/hwcomp_mvu.v."""
from __future__ import annotations

import numpy as np

from hwcomp.backends.rom_images import bias_lines, hex_words, weight_lines, write_lines


def test_hex_words_twos_complement_lsb_lane_first() -> None:
    # element 0 in the low bits: [1, -1, 2] at 4 bits -> 0x2f1
    assert hex_words(np.array([[1, -1, 2]]), 4) == ["2f1"]
    # 3 x 3 bits = 9 bits -> 3 hex digits, top bits zero
    assert hex_words(np.array([[-1, 0, -1]]), 3) == ["1c7"]


def test_hex_words_wider_than_64_bits_sign_extends() -> None:
    assert hex_words(np.array([[-2]]), 70) == ["3f" + "f" * 15 + "e"]
    assert hex_words(np.array([[5, -1]]), 40) == ["ffffffffff0000000005"]


def test_weight_lines_fold_order(dense_layer) -> None:
    # 3x5 weights, PE 2, SIMD 2 -> NF 2, SF 3, padded to 4x6.
    w = np.arange(15).reshape(3, 5) % 8 - 4
    layer = dense_layer("l", w, pe=2, simd=2)
    lines = weight_lines(layer)
    assert len(lines) == layer.nf * layer.sf == 6
    wp = np.asarray(layer.weights)
    for nf in range(layer.nf):
        for sf in range(layer.sf):
            word = int(lines[nf * layer.sf + sf], 16)
            for p in range(layer.pe):
                for s in range(layer.simd):
                    v = (word >> ((p * layer.simd + s) * 4)) & 0xF
                    v = v - 16 if v >= 8 else v
                    assert v == wp[nf * layer.pe + p, sf * layer.simd + s]


def test_bias_lines_use_accumulator_width(dense_layer) -> None:
    layer = dense_layer("l", np.zeros((3, 2)), [5, -1, 300], pe=2, acc_width=12)
    # line nf holds bias[nf*PE + p] at [p*12 +: 12]
    assert bias_lines(layer) == ["fff005", "00012c"]


def test_files_are_byte_stable(tmp_path) -> None:
    path = write_lines(tmp_path / "x.mem", ["0a", "ff"])
    assert path.read_bytes() == b"0a\nff\n"
