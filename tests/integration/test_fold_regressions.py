"""Regressions of issue 9 end to end: foldings that divide nothing and SIMD
unlike the PE before it, on an MLP, a CNN and a residual/concat network;
every output checked against the executor, measured II against the cycle model."""
import numpy as np
import pytest
import torch

from hwcomp import compile_model, simulate_build
from hwcomp.hw.folder import Walk

pytestmark = pytest.mark.rtl


class Residual(torch.nn.Module):
    """conv -> (3x3 conv + skip) -> max pool -> concat with a 1x1 branch -> classifier."""

    def __init__(self):
        super().__init__()
        self.c0 = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.c1 = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.c2 = torch.nn.Conv2d(6, 5, 1)
        self.fc = torch.nn.Linear(11 * 4 * 4, 4)

    def forward(self, x):
        a = torch.relu(self.c0(x))
        p = torch.nn.functional.max_pool2d(torch.relu(self.c1(a)) + a, 2)
        return self.fc(torch.flatten(torch.cat([p, torch.relu(self.c2(p))], 1), 1))


def _export(model, shape, path):
    torch.onnx.export(model.eval(), (torch.zeros(shape),), str(path), input_names=["x"], output_names=["y"],
                      opset_version=13, dynamo=False)
    return path


def _check(tmp_path, model, shape, fold=None, target_ii=None, samples=6):
    torch.manual_seed(0)
    path = _export(model, shape, tmp_path / "model.onnx")
    x = np.random.default_rng(0).uniform(0, 1, (samples,) + shape[1:]).astype(np.float32)
    res = compile_model(path, tmp_path / "build", calib=x, pe_simd=fold, target_ii=target_ii)
    sim = simulate_build(tmp_path / "build", (x, None))
    assert sim["bit_exact"], sim["first_mismatches"]
    assert abs(sim["ii_cycles"] - sim["expected_ii_cycles"]) <= 0.02 * sim["expected_ii_cycles"]
    return res.report


def test_simd_that_divides_no_input_width(tmp_path):
    """784 inputs on 66 lanes (the old default folding): the chain check refused it."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 13), torch.nn.ReLU(), torch.nn.Linear(13, 10))
    rep = _check(tmp_path, model, (1, 784), fold=[(5, 66), (3, 4)], samples=4)
    assert [(l["pe"], l["simd"]) for l in rep["layers"]] == [(5, 66), (3, 4)]
    assert any(b["kind"] == "DwcBlock" for b in rep["blocks"])   # 5 lanes -> 4


def test_cnn_fold_with_simd_unlike_previous_pe(tmp_path):
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 7, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Conv2d(7, 10, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(10 * 2 * 2, 5))
    rep = _check(tmp_path, model, (1, 3, 8, 8), fold=[(3, 2), (4, 5), (2, 3)])
    assert [(l["pe"], l["simd"]) for l in rep["layers"]] == [(3, 2), (4, 5), (2, 3)]


def test_branches_with_explicit_fold_and_window_lanes_dividing_nothing(tmp_path):
    _check(tmp_path, Residual(), (1, 1, 8, 8), fold=[(4, 1), (5, 4), (3, 5), (2, 7)])


def test_branches_at_a_target_ii(tmp_path):
    rep = _check(tmp_path, Residual(), (1, 1, 8, 8), target_ii=700)
    assert rep["totals"]["expected_ii_cycles"] <= 700


def test_default_folding_walks_a_bounded_number_of_times(tmp_path, monkeypatch):
    """The default folding of a 9-layer CNN took 96-114 s (an exhaustive search);
    it now walks the design once per target tried, a few dozen times at most."""
    walks = []
    original = Walk.run

    def counted(self):
        walks.append(self.t)
        return original(self)

    monkeypatch.setattr(Walk, "run", counted)
    layers, c = [], 1
    for k, out in enumerate([16, 32, 32, 64, 64, 128, 128, 128, 128]):
        layers += [torch.nn.Conv2d(c, out, 3, padding=1), torch.nn.ReLU()] + ([torch.nn.MaxPool2d(2)] if k in (1, 4) else [])
        c = out
    model = torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(128 * 4 * 4, 10))
    path = _export(model, (1, 1, 16, 16), tmp_path / "cnn9.onnx")
    x = np.random.default_rng(0).uniform(0, 1, (4, 1, 16, 16)).astype(np.float32)
    compile_model(path, tmp_path / "build", calib=x)
    assert 1 <= len(walks) <= 40, walks
