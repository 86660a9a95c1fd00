"""Conv/MaxPool -> channels-last window ops, transposes cancelled: same float results."""
import numpy as np
import pytest
import torch

from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute
from hwcomp.ops.shape import Transpose
from hwcomp.ops.window import PoolReduce, SlidingWindow
from hwcomp.passes.canonicalize import canonicalize
from hwcomp.passes.streamline_transposes import to_channels_last


class LeNet(torch.nn.Module):
    def __init__(self, c1=6, c2=13, k=3, stride=1, pad=1, groups=1):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, c1, k, stride=stride, padding=pad)
        self.bn = torch.nn.BatchNorm2d(c1)
        self.c2 = torch.nn.Conv2d(c1, c2, 3, padding=1, groups=groups)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(c2 * 2 * 2 if stride == 1 else c2 * 1 * 1, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.c1(x)))
        x = self.pool(torch.relu(self.c2(x)))
        x = self.pool(x)
        return self.fc(x.flatten(1))


def export(model, path, opset=13):
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), input_names=["x"], output_names=["y"],
                      opset_version=opset, dynamo=False)
    return path


@pytest.mark.parametrize("kw", [{}, {"k": 5, "pad": 2}, {"c1": 7, "groups": 1}, {"c1": 6, "c2": 12, "groups": 3}])
def test_channels_last_matches_float(tmp_path, kw):
    torch.manual_seed(0)
    m = LeNet(**kw)
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2)
    g = canonicalize(load_onnx(export(m, tmp_path / "m.onnx")))
    h = to_channels_last(g)
    x = np.random.default_rng(0).uniform(0, 1, (5, 1, 8, 8)).astype(np.float32)
    ref = execute(g, {"x": x})["y"]
    got = execute(h, {"x": x})["y"]
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()
    ops = [n.op for n in h.nodes()]
    assert ops.count(Transpose) == 1 and ops[0] is Transpose  # only the input's NCHW -> NHWC is left
    assert ops.count(SlidingWindow) == 4 and ops.count(PoolReduce) == 2
    with torch.no_grad():
        assert np.abs(m(torch.from_numpy(x)).numpy() - got).max() <= 1e-4 * np.abs(ref).max()


class ResFire(torch.nn.Module):
    """A residual block (fan-out + Add) and a SqueezeNet-style fire module (Concat)."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.a = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.b = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.e1 = torch.nn.Conv2d(6, 4, 1)
        self.e3 = torch.nn.Conv2d(6, 5, 3, padding=1)
        self.fc = torch.nn.Linear(9 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.b(torch.relu(self.a(x))))
        x = torch.cat([torch.relu(self.e1(x)), torch.relu(self.e3(x))], 1)
        return self.fc(torch.flatten(torch.nn.functional.max_pool2d(x, 2), 1))


def test_branches_and_joins_leave_one_transpose(tmp_path):
    torch.manual_seed(1)
    g = canonicalize(load_onnx(export(ResFire(), tmp_path / "r.onnx")))
    h = to_channels_last(g)
    x = np.random.default_rng(2).uniform(0, 1, (3, 1, 8, 8)).astype(np.float32)
    ref, got = execute(g, {"x": x})["y"], execute(h, {"x": x})["y"]
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max()
    assert [n.op for n in h.nodes()].count(Transpose) == 1
