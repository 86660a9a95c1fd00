"""Lane counts that do not divide the channel count (issue 9 B): a binary CNN with
128-channel layers on 3 and 12 lanes, as found. A pixel's last beat then has tail
lanes, which the stream format requires to be zero: after a sliding window (or a
Flatten) the next unit reads them as weight columns inside its column range, where
an XNOR unit's padding weight bit 1 ignores only a 0 bit and a bipolar weight
multiplies by -1. Threshold units used to output out_base + K on their padded rows
(zero thresholds, acc 0), a 1 on binary layers: the RTL differed from the executor
(w1a1), and bipolar weights on the tail lanes overflowed the accumulator check (w1a2).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from hwcomp import compile_model, simulate_build
from hwcomp.compile import float_pipeline, hardware_pipeline
from hwcomp.hw.binary import xnor_layer, xnor_reference
from hwcomp.hw.blocks.mvu import check_layer
from hwcomp.hw.builder import build_design
from hwcomp.hw.design import MVULayer
from hwcomp.hw.numerics import accumulate, activate
from hwcomp.numerics import int_range
from hwcomp.passes.quantize import QuantConfig

C = 128
# (PE, SIMD) per layer; SIMD of a layer is the PE before it: the 3x3 window runs on 3
# lanes (CF 43, one tail lane), the max pool and the 1x1 window on 12 (CF 11, four).
FOLD = [(3, 1), (12, 3), (3, 12), (2, 3)]


class BinaryCNN(torch.nn.Module):
    """8x8 digits: 3x3 conv (1 -> C), 3x3 conv (C -> C), 2x2 max pool, 1x1 conv, classifier.
    No zero padding: 1-bit activations have no zero to pad with."""

    def __init__(self, relu: bool = True):
        super().__init__()
        self.c1, self.c2, self.c3 = torch.nn.Conv2d(1, C, 3), torch.nn.Conv2d(C, C, 3), torch.nn.Conv2d(C, C, 1)
        self.fc = torch.nn.Linear(C * 2 * 2, 10)
        self.act = torch.nn.ReLU() if relu else torch.nn.Identity()

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(self.act(self.c2(self.act(self.c1(x)))), 2)
        return self.fc(torch.flatten(self.act(self.c3(x)), 1))


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.data / 16).astype(np.float32).reshape(-1, 1, 8, 8), d.target


def _onnx(path, relu=True):
    torch.manual_seed(0)
    torch.onnx.export(BinaryCNN(relu).eval(), (torch.zeros(1, 1, 8, 8),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=13, dynamo=False)
    return path


def _inputs(unit: MVULayer, rng, n=64) -> np.ndarray:
    """Inputs anywhere in the unit's input type, on every padded column."""
    if unit.xnor:
        return rng.integers(0, 2, (n, unit.cols_p))
    lo, hi = int_range(unit.in_width, unit.in_signed)
    return rng.integers(lo, hi, (n, unit.cols_p), endpoint=True)


@pytest.mark.parametrize("bits, relu", [("w1a1", True), ("w1a2", True), ("w2a2", True), ("w2a2", False)])
def test_padded_rows_output_zero_tail_lanes(tmp_path, digits, bits, relu):
    """Every unit's padded rows (the next stream's tail lanes) output 0 on any input; without a
    ReLU the 2-bit codes are signed (out_base -1), so 0 is one threshold up."""
    hw = hardware_pipeline(float_pipeline(_onnx(tmp_path / "cnn.onnx", relu)), digits[0][:200],
                           QuantConfig.parse(bits), None, FOLD)
    units = build_design(hw).units(MVULayer)
    assert [u.rows_p - u.rows for u in units] == [1, 4, 1, 0]
    rng = np.random.default_rng(0)
    for u in units:
        check_layer(u)   # w1a2: the bipolar weights on tail lanes overflowed the accumulator
        x = _inputs(u, rng)
        y = xnor_reference(xnor_layer(u), x) if u.xnor else activate(u, accumulate(u, x))
        assert not np.asarray(y)[:, u.rows:].any(), f"{u.name}: nonzero tail lanes"
    if not relu:
        assert min(u.out_base for u in units if u.thresholds is not None) < 0


@pytest.mark.rtl
@pytest.mark.parametrize("bits", ["w1a1", "w1a2"])
def test_binary_cnn_on_lanes_that_do_not_divide_the_channels_is_bit_exact(tmp_path, digits, bits):
    x, y = digits
    out = tmp_path / "build"
    compile_model(_onnx(tmp_path / "cnn.onnx"), out, calib=x[:200], bits=bits, pe_simd=FOLD)
    sim = simulate_build(out, (x[:40], y[:40]))
    assert sim["samples"] == 40 and sim["mismatches"] == 0 and sim["bit_exact"]
