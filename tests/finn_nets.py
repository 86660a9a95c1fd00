"""FINN's reference networks (brevitas_examples.bnn_pynq), as FINN's end-to-end
tests build them, for hwcomp's tests and benchmarks.

Nothing can be downloaded here, so the weights are brevitas' random initial
ones; the BatchNorm statistics are drawn at random too (seeded), so that
negative gammas and far-off means occur as in trained networks. Inputs are
sklearn's 8x8 digits scaled up to the networks' input sizes (28x28 grey for
the FC nets, 32x32 RGB for CNV), in [0, 1] as FINN feeds them.

FINN_FOLDING is the (PE, SIMD) per MVAU that FINN's test_end2end_bnn_pynq
sets (fold_tfc, fold_lfc, fold_cnv_large for w1a1, fold_cnv_small otherwise);
SFC is folded there by a target-fps search, so it has no fixed folding.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

NETWORKS = ("tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a", "sfc_1w2a", "sfc_2w2a",
            "lfc_1w1a", "lfc_1w2a", "cnv_1w1a", "cnv_1w2a", "cnv_2w2a")
FAST = tuple(n for n in NETWORKS if n[:3] in ("tfc", "sfc"))

_FOLD_TFC = [(16, 49), (8, 8), (8, 8), (10, 8)]
_FOLD_LFC = [(32, 49), (64, 32), (32, 64), (10, 8)]
_FOLD_CNV_LARGE = [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (5, 1)]
_FOLD_CNV_SMALL = [(8, 3), (16, 16), (8, 16), (8, 16), (4, 8), (1, 8), (1, 2), (2, 2), (5, 1)]


def finn_folding(name: str) -> list[tuple[int, int]] | None:
    if name.startswith("tfc"):
        return _FOLD_TFC
    if name.startswith("lfc"):
        return _FOLD_LFC
    if name.startswith("cnv"):
        return _FOLD_CNV_LARGE if name == "cnv_1w1a" else _FOLD_CNV_SMALL
    return None


def input_shape(name: str) -> tuple[int, ...]:
    return (1, 3, 32, 32) if name.startswith("cnv") else (1, 1, 28, 28)


def build(name: str, seed: int = 0):
    """The brevitas model, in eval mode, with seeded random BatchNorm statistics."""
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, _ = model_with_cfg(name, pretrained=False)
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n = m.num_features
            m.weight.data = torch.randn(n, generator=gen)
            m.bias.data = torch.randn(n, generator=gen) * 0.5
            m.running_mean.data = torch.randn(n, generator=gen) * 2
            m.running_var.data = torch.rand(n, generator=gen) * 4 + 0.5
    return model.eval()


def export(name: str, path: Path, dynamo: bool, seed: int = 0) -> Path:
    """brevitas.export.export_qonnx through TorchScript (dynamo=False) or torch.export."""
    import torch
    from brevitas.export import export_qonnx

    model = build(name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.rand(input_shape(name)), export_path=str(path), dynamo=dynamo)
    return path


def images(name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n digits at the network's input size, in [0, 1], with their labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images[:n] / 16.0, d.target[:n]
    if name.startswith("cnv"):
        big = np.kron(x, np.ones((4, 4)))                         # 32x32
        return np.repeat(big[:, None], 3, axis=1).astype(np.float32), y
    big = np.pad(np.kron(x, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))  # 28x28
    return big[:, None].astype(np.float32), y


def torch_forward(name: str, x: np.ndarray, seed: int = 0) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = build(name, seed)(torch.from_numpy(x))
    return (out.value if hasattr(out, "value") else out).numpy()
