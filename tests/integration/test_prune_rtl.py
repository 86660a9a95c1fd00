"""Structured pruning end to end: a residual CNN with dead channels on both
branches of its add, pruned (dead channels, then a quarter by L1 norm, tied
through the add), compiled and simulated in Verilator, bit-exact against the
executor. One build."""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "passes"))
from prune_nets import NetBuilder, dyadic_inputs  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.report.compile_report import format_compile_report  # noqa: E402

pytestmark = pytest.mark.rtl


def test_residual_cnn_pruned_through_its_add_is_bit_exact(tmp_path):
    b = NetBuilder(11, 1, 8)
    b.conv_layer(8, 3, True, 2, 0)          # conv0: 2 zero channels, BatchNorm folded in
    b.residual(1)                           # conv1 (1 zero), conv2 (zero where conv0 is): tied by the add
    b.pool("max")
    b.head("flat", 12, 2, 1, 4)             # fc0: 2 zero neurons, 1 constant (folded into out's bias)
    net = b.model()
    path = tmp_path / "rescnn.onnx"
    onnx.save(net.model, path)
    x = dyadic_inputs(net.input_shape, 48, seed=3)
    out = tmp_path / "build"
    res = compile_model(path, out, calib=x, prune_structured=0.25)
    rec = json.loads((out / "report.json").read_text())["pruning"]
    chans = {l["name"]: (l["channels_before"], l["channels_after"]) for l in rec["layers"]}
    # conv0 and conv2 (tied) 2 each, conv1 1, fc0 3 (2 zero, 1 constant folded into the bias of out)
    assert rec["dead_channels_removed"] == 2 + 2 + 1 + 3
    # dead first (8 -> 6 on the residual stream), then floor(0.25 * 6) = 1 more on both branches
    assert chans["conv0"] == chans["conv2"] == (8, 5)
    assert chans["conv1"] == (8, 8 - 1 - 1) and chans["fc0"] == (12, 12 - 3 - 2) and chans["out"] == (4, 4)
    assert rec["macs_after"] < 0.6 * rec["macs_before"]
    assert "pruning (L1 0.25, layer scope)" in format_compile_report(res.report)
    sim = simulate_build(out, (x, None), stall_prob=0.2, seed=5)
    assert sim["samples"] == 48 and sim["bit_exact"]
