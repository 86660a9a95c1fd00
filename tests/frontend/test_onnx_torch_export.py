"""Models exported by torch.onnx (TorchScript exporter) at old, common and new
opsets import and agree with onnxruntime, for one sample and for a batch."""
from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest

from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = 1e-4
OPSETS = (9, 13, 17, 18)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(32, 24), nn.ReLU6(), nn.Linear(24, 16), nn.Tanh(), nn.Linear(16, 10), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.body(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, groups=2)
        self.c3 = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = self.bn(torch.relu(self.c1(x)))  # BN after ReLU, so export cannot fold it into c1
        x = nn.functional.max_pool2d(x, 2)
        x = torch.relu(self.c2(x))
        x = nn.functional.avg_pool2d(self.c3(x), 2, ceil_mode=True, count_include_pad=False)
        x = x.view(x.size(0), -1)
        return torch.softmax(self.fc(x), dim=1)


class GapCNN(nn.Module):
    """Global pooling + flatten + concat of two branches."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding=1, dilation=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.cat([torch.relu(self.a(x)), torch.sigmoid(self.b(x))], dim=1)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


MODELS = {"mlp": (MLP, (1, 4, 4)), "cnn": (CNN, (3, 16, 16)), "gap": (GapCNN, (3, 6, 6))}


def export(tmp_path, name, opset, dynamic):
    cls, sample = MODELS[name]
    torch.manual_seed(0)
    model = cls().eval()
    with torch.no_grad():  # non-trivial BN statistics
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / f"{name}{opset}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *sample),), str(path), opset_version=opset, dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None)
    return path


def rel_err(ours, ref):
    assert ours.shape == ref.shape
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", MODELS)
def test_dynamic_batch_export_agrees(tmp_path, name, opset):
    path = export(tmp_path, name, opset, dynamic=True)
    graph = load_onnx(path)
    assert graph.meta["dynamic_batch"] and graph.tensors["x"].shape[0] == 1
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        x = np.random.default_rng(batch).standard_normal((batch,) + graph.tensors["x"].shape[1:]).astype(np.float32)
        assert rel_err(execute(graph, {"x": x})["y"], session.run(["y"], {"x": x})[0]) <= TOL


@pytest.mark.parametrize("opset", (9, 17))
@pytest.mark.parametrize("name", MODELS)
def test_static_batch_one_export_runs_a_batch(tmp_path, name, opset):
    """A graph exported for batch 1 (Reshape targets spell the batch as 1) runs a
    batch of 7 exactly as 7 single runs."""
    path = export(tmp_path, name, opset, dynamic=False)
    graph = load_onnx(path)
    assert not graph.meta["dynamic_batch"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((7,) + graph.tensors["x"].shape[1:]).astype(np.float32)
    one_by_one = np.concatenate([session.run(["y"], {"x": x[i:i + 1]})[0] for i in range(7)])
    assert rel_err(execute(graph, {"x": x})["y"], one_by_one) <= TOL


def test_weights_are_constants_with_param_counts(tmp_path):
    graph = load_onnx(export(tmp_path, "mlp", 13, dynamic=True))
    torch_params = sum(p.numel() for p in MLP().parameters())
    assert sum(n.op.param_count(n, graph) for n in graph.nodes()) == torch_params
