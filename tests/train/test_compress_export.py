"""Export of pruned and shared models: the ONNX initializers hold the pruned
weights as exact zeros and at most 2^K distinct non-zero values per shared
layer, for float models (torch.onnx.export), quantized ones (export_qonnx)
and models pruned with torch.nn.utils.prune; hwcomp compiles the result."""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

torch = pytest.importorskip("torch")

from torch.nn.utils import prune as torch_prune  # noqa: E402

from hwcomp.train import (QuantAct, QuantLinear, bake_torch_prune, export_qonnx, finetune,  # noqa: E402
                          magnitude_prune, make_permanent, prune_filters, share_weights)
from tiny_classifiers import blobs, mlp  # noqa: E402

nn = torch.nn


def export_float(model, path, n_in):
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter, on purpose
        torch.onnx.export(model, (torch.zeros(1, n_in),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, dynamo=False)
    return onnx.load(str(path))


def gemm_weights(proto) -> list[np.ndarray]:
    """The weight initializer of every Gemm, as its [out, in] matrix, in graph order."""
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    out = []
    for n in proto.graph.node:
        if n.op_type == "Gemm":
            w = inits[n.input[1]]
            trans_b = {a.name: a.i for a in n.attribute}.get("transB", 0)
            out.append(w if trans_b else w.T)
    return out


def test_pruned_and_shared_float_mlp_exports_exact_values(tmp_path):
    x, y = blobs()
    model = mlp(h=24)
    finetune(model, x, y, epochs=5, lr=1e-2, log=None)
    magnitude_prune(model, 0.7)
    share_weights(model, 3)
    finetune(model, x, y, epochs=2, lr=1e-2, log=None)
    make_permanent(model)
    want = [model[0].weight.detach().numpy(), model[2].weight.detach().numpy()]
    got = gemm_weights(export_float(model, tmp_path / "m.onnx", 8))
    assert len(got) == 2
    for w, g in zip(want, got):
        assert np.array_equal(g, w)  # bit for bit, zeros included
        assert (g == 0).sum() == round(0.7 * g.size)
        assert len(np.unique(g[g != 0])) <= 8


def test_pruned_quant_mlp_exports_zeros_through_qonnx_and_compiles(tmp_path):
    from hwcomp import compile_model
    from hwcomp.frontend.onnx import load_onnx
    from hwcomp.ir.execute import execute

    torch.manual_seed(0)
    x, y = blobs()
    model = nn.Sequential(QuantAct.input(), QuantLinear(8, 16, weight_bits=4), nn.ReLU(),
                          QuantAct.relu(4, 2.0), QuantLinear(16, 3, weight_bits=4))
    finetune(model, x, y, epochs=3, lr=1e-2, log=None)
    dead = prune_filters(model, 0.25)["1"]  # all-zero rows: their weight scale is the clamp 1e-8
    magnitude_prune(model, 0.5)
    finetune(model, x, y, epochs=2, lr=1e-2, log=None)
    make_permanent(model)
    proto = export_qonnx(model, tmp_path / "q.onnx", torch.zeros(1, 8))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    for name, layer in (("1.weight", model[1]), ("4.weight", model[4])):
        assert np.array_equal(inits[name], layer.weight.detach().numpy())
        assert (inits[name] == 0).sum() == layer.weight.numel() // 2
    assert len(dead) == 4 and not inits["1.weight"][dead].any() and not inits["1.bias"][dead].any()
    (got,) = execute(load_onnx(tmp_path / "q.onnx"), {"x": x}).values()
    with torch.no_grad():
        np.testing.assert_allclose(got, model(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-5)
    np.savez(tmp_path / "calib.npz", x=x)
    compile_model(tmp_path / "q.onnx", tmp_path / "build", calib=tmp_path / "calib.npz")
    assert (tmp_path / "build" / "report.json").exists()


@pytest.mark.parametrize("bake", [True, False])
def test_torch_prune_models_export_their_zeros(tmp_path, bake):
    model = mlp(h=20)
    torch_prune.l1_unstructured(model[0], "weight", amount=0.6)
    torch_prune.ln_structured(model[0], "weight", amount=0.25, n=1, dim=0)  # a PruningContainer
    torch_prune.random_unstructured(model[2], "weight", amount=0.5)
    want = [model[0].weight.detach().numpy().copy(), model[2].weight.detach().numpy().copy()]
    if bake:  # hwcomp's way; without it the exporter folds weight_orig * weight_mask itself
        assert bake_torch_prune(model) == ["0.weight", "2.weight"]
        assert set(model.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    got = gemm_weights(export_float(model, tmp_path / "p.onnx", 8))
    for w, g in zip(want, got):
        assert np.array_equal(g, w) and (g == 0).any()
    assert (~got[0].any(1)).sum() == 5  # the structured part: whole rows


def test_make_permanent_bakes_torch_prune_too():
    model = mlp()
    torch_prune.l1_unstructured(model[2], "weight", amount=0.5)
    magnitude_prune(model, 0.25, layers=["0"])
    make_permanent(model)
    assert set(model.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert int((model[2].weight == 0).sum()) == 24 and int((model[0].weight == 0).sum()) == 32


def test_exported_compressed_model_compiles(tmp_path):
    from hwcomp import compile_model

    x, y = blobs()
    model = mlp(h=16)
    finetune(model, x, y, epochs=5, lr=1e-2, log=None)
    prune_filters(model, 0.25)
    magnitude_prune(model, 0.6)
    share_weights(model, 2)
    finetune(model, x, y, epochs=2, lr=1e-2, log=None)
    make_permanent(model)
    export_float(model, tmp_path / "c.onnx", 8)
    np.savez(tmp_path / "calib.npz", x=x)
    res = compile_model(tmp_path / "c.onnx", tmp_path / "build", calib=tmp_path / "calib.npz")
    assert (tmp_path / "build" / "report.json").exists() and list((tmp_path / "build" / "rtl").glob("*.v"))
    assert res.report["layers"]
