"""Sparse units end to end (--sparse): pruned digits models compiled with sparse units,
simulated bit exact against the executor (full rate and under back-pressure), with the
measured II equal to the cycle model; and a dense model's design unchanged by auto."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from hwcomp import compile_model, simulate_build

pytestmark = pytest.mark.rtl


def _prune(module: torch.nn.Module, zeros: float, seed: int) -> None:
    """Zero the given share of every weight tensor, at random positions (seeded)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() > 1:
                p.mul_((torch.rand(p.shape, generator=g) >= zeros).to(p.dtype))


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 48), torch.nn.ReLU(), torch.nn.Linear(48, 30),
                                       torch.nn.ReLU(), torch.nn.Linear(30, 10))

    def forward(self, x):
        return self.net(x)


class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 12, 3, padding=1)
        self.c2 = torch.nn.Conv2d(12, 16, 3)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        return self.fc(torch.flatten(torch.relu(self.c2(x)), 1))


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.data / 16).astype(np.float32), d.target


def _export(model, shape, path, zeros: float | None):
    torch.manual_seed(0)
    m = model().eval()
    if zeros is not None:
        _prune(m, zeros, seed=1)
    torch.onnx.export(m, (torch.zeros(shape),), str(path), input_names=["x"], output_names=["y"],
                      opset_version=13, dynamo=False)
    return path


def _sparse_layers(out) -> list[dict]:
    return [l for l in json.loads((out / "report.json").read_text())["layers"] if "sparse" in l]


def test_pruned_mlp_sparse_on_bit_exact(tmp_path, digits):
    x, y = digits
    onnx = _export(MLP, (1, 64), tmp_path / "mlp.onnx", zeros=0.8)
    out = tmp_path / "build"
    compile_model(onnx, out, calib=x[:200], sparse="on")
    layers = _sparse_layers(out)
    assert len(layers) == 3 and all(0.1 < l["sparse"]["density"] < 0.3 for l in layers)
    totals = json.loads((out / "report.json").read_text())["totals"]
    assert totals["lanes"] == sum(l["pe"] for l in layers)           # one multiplier per lane
    assert totals["macs"] == sum(l["sparse"]["nonzeros"] for l in layers)
    sim = simulate_build(out, (x[:40], y[:40]))
    assert sim["bit_exact"] and sim["mismatches"] == 0
    assert sim["ii_cycles"] == sim["expected_ii_cycles"]
    stalled = simulate_build(out, (x[:40], y[:40]), stall_prob=0.5, seed=3)
    assert stalled["bit_exact"]


def test_pruned_cnn_sparse_on_bit_exact(tmp_path, digits):
    """Convolutions reach the sparse unit as sliding-window vectors, as they reach the dense one."""
    x, y = digits
    onnx = _export(CNN, (1, 1, 8, 8), tmp_path / "cnn.onnx", zeros=0.8)
    out = tmp_path / "build"
    xi = x.reshape(-1, 1, 8, 8)
    compile_model(onnx, out, calib=xi[:200], sparse="on")
    assert len(_sparse_layers(out)) == 3
    sim = simulate_build(out, (xi[:12], y[:12]))
    assert sim["bit_exact"] and sim["ii_cycles"] == sim["expected_ii_cycles"]


def test_auto_keeps_dense_model_design(tmp_path, digits):
    """A dense model: auto builds no sparse unit, and the RTL is the same bytes as with off."""
    x, _ = digits
    onnx = _export(MLP, (1, 64), tmp_path / "mlp.onnx", zeros=None)
    outs = {}
    for mode in ("auto", "off"):
        outs[mode] = tmp_path / mode
        compile_model(onnx, outs[mode], calib=x[:200], sparse=mode)
    assert not _sparse_layers(outs["auto"])
    files = sorted(p.name for p in (outs["off"] / "rtl").iterdir())
    assert files == sorted(p.name for p in (outs["auto"] / "rtl").iterdir())
    for f in files:
        assert (outs["off"] / "rtl" / f).read_bytes() == (outs["auto"] / "rtl" / f).read_bytes(), f


def test_auto_picks_sparse_on_a_pruned_model(tmp_path, digits):
    x, _ = digits
    onnx = _export(MLP, (1, 64), tmp_path / "mlp.onnx", zeros=0.9)
    out = tmp_path / "build"
    compile_model(onnx, out, calib=x[:200], sparse="auto")
    assert len(_sparse_layers(out)) >= 2
    # The default is off until the sparse unit has a resource model.
    compile_model(onnx, tmp_path / "default", calib=x[:200])
    assert not _sparse_layers(tmp_path / "default")


def test_fitting_to_a_device_keeps_auto_dense_and_refuses_on(tmp_path, digits):
    """The sparse unit has no resource model yet: --device fitting builds dense units under
    auto, and says why it cannot fit with --sparse on."""
    from hwcomp import HwcompError

    x, _ = digits
    onnx = _export(MLP, (1, 64), tmp_path / "mlp.onnx", zeros=0.9)
    compile_model(onnx, tmp_path / "auto", calib=x[:200], device="xc7z020")
    assert not _sparse_layers(tmp_path / "auto")
    with pytest.raises(HwcompError, match="no resource model"):
        compile_model(onnx, tmp_path / "on", calib=x[:200], device="xc7z020", sparse="on")


def test_torch_nn_utils_prune_model_compiles_to_sparse_units(tmp_path, digits):
    """Issue 12's done-when: a model pruned by torch.nn.utils.prune alone (l1_unstructured,
    made permanent with prune.remove, exported by torch; no hwcomp.train) compiles to sparse
    units under auto and on, bit exact in RTL. auto picks every layer here, so both builds
    are the same design and share one Verilator build."""
    from torch.nn.utils import prune

    x, y = digits
    torch.manual_seed(0)
    m = MLP().eval()
    linears = [l for l in m.net if isinstance(l, torch.nn.Linear)]
    for layer in linears:
        prune.l1_unstructured(layer, "weight", amount=0.85)
        prune.remove(layer, "weight")
    onnx_path = tmp_path / "torch_pruned.onnx"
    torch.onnx.export(m, (torch.zeros(1, 64),), str(onnx_path), input_names=["x"], output_names=["y"],
                      opset_version=13, dynamo=False)
    zeros = [int((l.weight == 0).sum()) for l in linears]
    assert zeros == [round(0.85 * l.weight.numel()) for l in linears]
    reports = {}
    for mode in ("auto", "on"):
        reports[mode] = compile_model(onnx_path, tmp_path / mode, calib=x[:200], sparse=mode).report
        storage = {e["name"]: e for e in reports[mode]["storage"]["per_layer"]}
        layers = _sparse_layers(tmp_path / mode)
        assert [l["name"] for l in layers] == [l["name"] for l in reports[mode]["layers"]]   # every layer sparse
        for layer, z, lin in zip(layers, zeros, linears):
            e = storage[layer["name"]]
            assert e["kind"] == "SparseMvuBlock" and layer["module"].startswith("spmvu")
            # the stored non-zeros are what survived torch's pruning and the quantizer's rounding
            assert e["weights"] == lin.weight.numel() and e["nonzero"] == layer["sparse"]["nonzeros"]
            assert 0 < e["nonzero"] <= e["weights"] - z
            # the layer's weight bits are the storage report's count of its values, indices and map
            b = e["bits"]
            assert layer["weight_bits"] == b["weights"] + b["indices"] + b["pointers"] and b["codebook"] == 0
            assert (layer["sparse"]["value_bits"], layer["sparse"]["index_bits"], layer["sparse"]["pointer_bits"]) \
                == (b["weights"], b["indices"], b["pointers"])
    assert [(l["pe"], l["sparse"]["entries"]) for l in reports["auto"]["layers"]] == \
        [(l["pe"], l["sparse"]["entries"]) for l in reports["on"]["layers"]]
    for mode in ("auto", "on"):
        sim = simulate_build(tmp_path / mode, (x[:40], y[:40]))
        assert sim["bit_exact"] and sim["mismatches"] == 0 and sim["ii_cycles"] == sim["expected_ii_cycles"]
