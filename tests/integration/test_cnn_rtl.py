"""Convolutional networks: ONNX -> sliding windows + matrix-vector units + pooling
-> Verilator, every output checked against the executor."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hwcomp import compile_model, simulate_build

pytestmark = pytest.mark.rtl
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits_cnn(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "examples" / "digits_cnn"))
    from train_cnn import build

    return build(tmp_path_factory.mktemp("digits_cnn"), epochs=25)


def test_digits_cnn_bit_exact_over_test_split(tmp_path, digits_cnn):
    out = tmp_path / "build"
    compile_model(digits_cnn["onnx"], out, calib=digits_cnn["calib"])
    sim = simulate_build(out, digits_cnn["test"])
    assert sim["samples"] == 360 and sim["bit_exact"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    assert abs(sim["accuracy_fixed"] - sim["accuracy_float"]) <= 0.01
    assert sim["pe_utilization"] >= 0.85
    assert abs(sim["ii_cycles"] - sim["expected_ii_cycles"]) <= 0.05 * sim["expected_ii_cycles"]


class OddCNN(torch.nn.Module):
    """Odd channel counts (3, 7, 13), kernels 3 and 5, stride 2, padding, max pooling."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 7, 5, stride=1, padding=2)
        self.c2 = torch.nn.Conv2d(7, 13, 3, stride=2, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(13 * 2 * 2, 5)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = self.pool(torch.relu(self.c2(x)))
        return self.fc(torch.flatten(x, 1))


def test_odd_cnn_bit_exact_under_stalls(tmp_path):
    torch.manual_seed(3)
    model = OddCNN().eval()
    path = tmp_path / "odd.onnx"
    torch.onnx.export(model, (torch.zeros(1, 3, 9, 7),), str(path), input_names=["x"], output_names=["y"],
                      opset_version=13, dynamo=False)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 3, 9, 7)).astype(np.float32)
    out = tmp_path / "build"
    compile_model(path, out, calib=x)
    clean = simulate_build(out, (x, None))
    assert clean["bit_exact"] and clean["samples"] == 40
    stalled = simulate_build(out, (x, None), stall_prob=0.4, seed=11)
    assert stalled["bit_exact"]


def test_cnn_demo_example_runs(tmp_path):
    import subprocess

    p = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_cnn" / "run.py"), "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bit-exact" in p.stdout and "PE utilization" in p.stdout


class AvgCNN(torch.nn.Module):
    """Average pooling (2x2) and a global average pool before the classifier."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.pool = torch.nn.AvgPool2d(2)
        self.c2 = torch.nn.Conv2d(6, 7, 3, padding=1)
        self.gap = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(7, 4)

    def forward(self, x):
        x = self.pool(torch.relu(self.c1(x)))
        return self.fc(torch.flatten(self.gap(torch.relu(self.c2(x))), 1))


def test_average_and_global_pooling_bit_exact(tmp_path):
    torch.manual_seed(5)
    path = tmp_path / "avg.onnx"
    torch.onnx.export(AvgCNN().eval(), (torch.zeros(1, 3, 8, 8),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=13, dynamo=False)
    x = np.random.default_rng(1).uniform(-1, 1, (30, 3, 8, 8)).astype(np.float32)
    res = compile_model(path, tmp_path / "build", calib=x)
    kinds = {b["kind"] for b in res.report["blocks"]}
    assert {"WindowBlock", "PoolBlock", "GlobalPoolBlock"} <= kinds   # besides FIFOs and width converters
    assert kinds <= {"WindowBlock", "PoolBlock", "GlobalPoolBlock", "FifoBlock", "DwcBlock"}
    sim = simulate_build(tmp_path / "build", (x, None), stall_prob=0.3, seed=2)
    assert sim["bit_exact"] and sim["samples"] == 30


@pytest.fixture(scope="module")
def digits_resnet(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "examples" / "digits_resnet"))
    from train_resnet import build

    return build(tmp_path_factory.mktemp("digits_resnet"), epochs=15)


def test_digits_resnet_bit_exact_over_test_split(tmp_path, digits_resnet):
    out = tmp_path / "build"
    res = compile_model(digits_resnet["onnx"], out, calib=digits_resnet["calib"])
    assert sum(b["kind"] == "AddBlock" for b in res.report["blocks"]) == 2
    sim = simulate_build(out, digits_resnet["test"])
    assert sim["samples"] == 360 and sim["bit_exact"]
    assert sim["accuracy_rtl"] == sim["accuracy_fixed"]
    assert abs(sim["accuracy_fixed"] - sim["accuracy_float"]) <= 0.01
    assert sim["pe_utilization"] >= 0.85
    stalled = simulate_build(out, digits_resnet["test"], stall_prob=0.4, seed=9, limit=60)
    assert stalled["bit_exact"]


class FireRes(torch.nn.Module):
    """Odd channels through a residual add, then a fire-style concat of 1x1 and 3x3 branches."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 7, 3, padding=1)
        self.a = torch.nn.Conv2d(7, 7, 3, padding=1)
        self.e1 = torch.nn.Conv2d(7, 5, 1)
        self.e3 = torch.nn.Conv2d(7, 13, 3, padding=1, stride=1)
        self.fc = torch.nn.Linear(18 * 3 * 3, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.a(x))
        x = torch.cat([torch.relu(self.e1(x)), torch.relu(self.e3(x))], 1)
        return self.fc(torch.flatten(torch.nn.functional.max_pool2d(x, 2), 1))


def test_branches_with_odd_channels_bit_exact_under_stalls(tmp_path):
    torch.manual_seed(4)
    path = tmp_path / "fire.onnx"
    torch.onnx.export(FireRes().eval(), (torch.zeros(1, 3, 7, 6),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=13, dynamo=False)
    x = np.random.default_rng(3).uniform(-1, 1, (30, 3, 7, 6)).astype(np.float32)
    res = compile_model(path, tmp_path / "build", calib=x)
    kinds = {b["kind"] for b in res.report["blocks"]}
    assert {"ForkBlock", "AddBlock", "ConcatBlock"} <= kinds
    for stall in (0.0, 0.4):
        assert simulate_build(tmp_path / "build", (x, None), stall_prob=stall, seed=4)["bit_exact"]


def test_resnet_demo_example_runs(tmp_path):
    import subprocess

    p = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_resnet" / "run.py"), "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bit-exact" in p.stdout


class GroupedCNN(torch.nn.Module):
    """Depthwise (groups = channels) and grouped convolutions, 7x7 and 1x1 kernels, stride 2."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 6, 7, stride=2, padding=3)
        self.dw = torch.nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.gc = torch.nn.Conv2d(6, 9, 1, groups=3)
        self.fc = torch.nn.Linear(9 * 5 * 5, 3)

    def forward(self, x):
        x = torch.relu(self.gc(torch.relu(self.dw(torch.relu(self.c1(x))))))
        return self.fc(torch.flatten(x, 1))


def test_grouped_and_depthwise_convolution_bit_exact(tmp_path):
    torch.manual_seed(6)
    path = tmp_path / "grouped.onnx"
    torch.onnx.export(GroupedCNN().eval(), (torch.zeros(1, 3, 9, 9),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=13, dynamo=False)
    x = np.random.default_rng(6).uniform(-1, 1, (20, 3, 9, 9)).astype(np.float32)
    compile_model(path, tmp_path / "build", calib=x)
    assert simulate_build(tmp_path / "build", (x, None), stall_prob=0.3, seed=6)["bit_exact"]
