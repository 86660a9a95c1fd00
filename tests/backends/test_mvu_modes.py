"""The backend's side of bipolar weights and the threshold activation: checks,
parameters, the threshold ROM image and the files written."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwcomp.backends.rom_images import clamped_thresholds, threshold_lines, weight_lines
from hwcomp.backends.verilog import parameter_literals, top_context, write_verilog
from hwcomp.hw.blocks.mvu import check_layer
from hwcomp.hw.design import chain_design
from hwcomp.hw.numerics import accumulate, activate, int_range, threshold_activation


def thresholded(layer, thresholds, descending=None, base=0, out_width=2, out_signed=False):
    lo, hi = int_range(out_width, out_signed)
    return dataclasses.replace(layer, thresholds=np.asarray(thresholds), descending=descending, out_base=base,
                               out_width=out_width, out_signed=out_signed, out_min=lo, out_max=hi)


@pytest.fixture
def layer(dense_layer):
    """3x4, PE 2, SIMD 2 (rows_p 4), acc_width 8, three thresholds per row, codes 0..3."""
    w = np.array([[1, -2, 0, 1], [0, 1, 1, 1], [-1, -1, 1, 0]])
    t = [[-5, 0, 5], [-1, 1, 2], [0, 0, 7], [0, 0, 0]]
    return thresholded(dense_layer("l", w, pe=2, simd=2, in_width=2, weight_width=2, acc_width=8), t)


@pytest.fixture
def bipolar(dense_layer):
    """5x7 bipolar layer, PE 2, SIMD 3: padded columns in the last column fold."""
    bits = np.random.default_rng(0).integers(0, 2, size=(5, 7))
    return dataclasses.replace(dense_layer("b", bits, pe=2, simd=3, weight_width=1, in_width=8, acc_width=12),
                               weight_bipolar=True)


def test_valid_layers_pass(layer, bipolar) -> None:
    check_layer(layer)
    check_layer(bipolar)
    check_layer(thresholded(bipolar, np.zeros((6, 1), dtype=np.int64), out_width=1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(thresholds=np.zeros((3, 3), dtype=np.int64)), r"thresholds \(3, 3\) must be \[rows_p, K\]"),
        (dict(thresholds=np.zeros((4, 0), dtype=np.int64)), "K >= 1"),
        (dict(thresholds=np.zeros(4, dtype=np.int64)), r"must be \[rows_p, K\]"),
        (dict(thresholds=np.zeros((4, 3))), "must be integers"),
        (dict(thresholds=np.array([[-5, 0, 5], [2, 1, 3], [0, 0, 0], [0, 0, 0]])), "row 1 are not ascending"),
        (dict(descending=np.zeros(3, dtype=bool)), "descending must be 4 booleans"),
        (dict(descending=np.array([0, 2, 0, 0])), "descending must be 4 booleans"),
        (dict(relu=True), "relu and requant must be False"),
        (dict(requant=True), "relu and requant must be False"),
        (dict(shift=1), "shift 0"),
        (dict(out_base=1), r"output codes \[1, 4\]"),
        (dict(out_base=-1), r"output codes \[-1, 2\]"),
        (dict(out_max=2), r"output codes \[0, 3\]"),
    ],
)
def test_bad_threshold_layers_are_refused(layer, change, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_layer(dataclasses.replace(layer, **change))


def test_padded_threshold_rows_may_hold_anything(layer) -> None:
    t = np.array(layer.thresholds)
    t[3] = [9, -9, 0]
    check_layer(dataclasses.replace(layer, thresholds=t))


def test_mode_fields_need_thresholds(layer) -> None:
    plain = dataclasses.replace(layer, thresholds=None, out_width=8, out_signed=True)
    check_layer(plain)
    with pytest.raises(ValueError, match="need thresholds"):
        check_layer(dataclasses.replace(plain, out_base=1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(weight_width=2), "bipolar weights are single bits"),
        (dict(weights=np.pad(np.full((5, 7), -1), ((0, 1), (0, 2)))), "must be bits 0 / 1"),
        (dict(acc_width=11), "overflows acc_width"),     # 7 * 255 = 1785 needs 12 bits
    ],
)
def test_bad_bipolar_layers_are_refused(bipolar, change, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_layer(dataclasses.replace(bipolar, **change))


def test_mode_parameters(layer, bipolar) -> None:
    p = dict(parameter_literals(thresholded(layer, layer.thresholds, base=-2, out_width=2, out_signed=True)))
    assert (p["THRESH_K"], p["OUT_BASE"], p["OUT_W"], p["REQUANT"], p["RELU"]) == ("3", "-2", "2", "0", "0")
    assert "W_BIPOLAR" not in p
    p = dict(parameter_literals(bipolar))
    assert (p["W_BIPOLAR"], p["COLS"], p["W_W"]) == ("1", "7", "1")
    assert "THRESH_K" not in p


def test_bipolar_weight_lines_are_bits(bipolar) -> None:
    lines = weight_lines(bipolar)
    assert len(lines) == 9 and all(len(line) == 2 for line in lines)       # 2*3 bits per word
    w = np.asarray(bipolar.weights)
    assert int(lines[0], 16) == sum(int(w[p, s]) << (p * 3 + s) for p in range(2) for s in range(3))


def test_threshold_lines_layout(layer) -> None:
    desc = np.array([False, True, True, False])
    lines = threshold_lines(dataclasses.replace(layer, descending=desc))
    # Per line: PE*K = 6 thresholds of 9 bits, then 2 descending bits: 56 bits, 14 digits.
    assert len(lines) == 2 and all(len(line) == 14 for line in lines)
    t = np.asarray(layer.thresholds)
    for nf, line in enumerate(lines):
        word = int(line, 16)
        for p in range(2):
            for k in range(3):
                v = (word >> ((p * 3 + k) * 9)) & 0x1FF
                assert v - (v >> 8 << 9) == t[nf * 2 + p, k]
            assert (word >> (54 + p)) & 1 == desc[nf * 2 + p]


def test_thresholds_are_clamped_exactly(layer) -> None:
    # acc_width 8: accumulators in [-128, 127]; thresholds clamp to [-128, 128].
    t = np.array([[-1000, -128, 127], [128, 129, 1 << 40], [-129, 0, 0], [0, 0, 0]])
    wide = dataclasses.replace(layer, thresholds=t)
    c = clamped_thresholds(wide)
    assert c[:2].tolist() == [[-128, -128, 127], [128, 128, 128]] and c[2, 0] == -128
    acc = np.repeat(np.arange(-128, 128)[:, None], 4, axis=1)
    assert np.array_equal(threshold_activation(acc, t, None, 0), threshold_activation(acc, c, None, 0))
    # The stored (ACC_W + 1)-bit two's complement holds the clamped values.
    word = int(threshold_lines(wide)[0], 16)
    assert [(word >> (i * 9)) & 0x1FF for i in range(6)] == [0x180, 0x180, 0x07F, 0x080, 0x080, 0x080]


def test_padded_rows_carry_their_codes(layer) -> None:
    # The unit computes padded row 3 too (acc = 0 there): its code is what the RTL emits.
    acc = accumulate(layer, np.zeros((1, 4), dtype=np.int64))
    assert activate(layer, acc)[0].tolist() == [2, 1, 2, 3]


def test_threshold_design_writes_its_rom(layer, dense_layer, tmp_path) -> None:
    # 4 -> 3 codes (uint2) -> 2 logits.
    nxt = dense_layer("fc2", [[1, -1, 1], [0, 1, 1]], pe=1, simd=2, in_width=2, acc_width=6, fifo_depth=2)
    first = dataclasses.replace(layer, name="fc1")
    design = chain_design("thr", (first, nxt), in_elems=4, out_elems=2)
    files = write_verilog(design, tmp_path)
    names = [f.name for f in files]
    assert "fc1_thresh.mem" in names and "fc2_thresh.mem" not in names
    assert (tmp_path / "fc1_thresh.mem").read_text().splitlines() == threshold_lines(first)
    instances = {i.name: dict(i.params) for i in top_context(design).instances}
    params = instances["u_fc1"]
    assert params["THRESH_FILE"] == '{MEM_DIR, "fc1_thresh.mem"}' and params["THRESH_K"] == "3"
    assert "THRESH_FILE" not in instances["u_fc2"]
