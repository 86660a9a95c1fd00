"""Quantization-aware training of binary and 2-bit networks on scikit-learn's
8x8 digits, exported as QONNX (hwcomp.train).

    python train_binary.py --out out/    # writes w1a1_mlp.onnx, w2a2_cnn.onnx and
                                         # calib_{mlp,cnn}.npz, test_{mlp,cnn}.npz

(a) W1A1 MLP 64-256-256-10: 8-bit input, binary weights (per-row scale
    mean|W|), BatchNorm + bipolar activations, output BatchNorm (logits).
(b) W2A2 CNN: 8-bit input, ternary weights (2-bit narrow, per-channel scale
    max|W|), BatchNorm + 2-bit unsigned activations over [0, 2], max pooling.
    Convolutions only pad tensors whose code 0 means 0 (8-bit or 2-bit
    unsigned), never bipolar ones, so padding is exact in hardware.

Inputs are the pixels / 16 in [0, 1], quantized to unsigned 8 bits with scale
2^-7, which holds every k/16 exactly. Same split and seed as the other digits
examples. Each exported graph is run with onnx.reference (plus numpy Quant /
BipolarQuant) on the test split and compared with the torch model.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from hwcomp.train import QuantAct, QuantConv2d, QuantLinear, accuracy, export_qonnx, finetune
from hwcomp.train.qonnx_ref import qonnx_evaluator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_mlp"))
from train_mlp import digits_split  # noqa: E402

ACT_RANGE = 2.0  # 2-bit activations: codes 0..3 at scale 2/3 (BatchNorm output is ~N(0, 1))


def make_w1a1_mlp(hidden: int = 256) -> torch.nn.Sequential:
    """in8 -> [bin-Linear -> BN -> sign] x 2 -> bin-Linear -> BN (logits)."""
    return torch.nn.Sequential(OrderedDict([
        ("quant_in", QuantAct.input(bits=8, frac_bits=7)),
        ("fc1", QuantLinear(64, hidden, bias=False, weight_bits=1)), ("bn1", torch.nn.BatchNorm1d(hidden)),
        ("act1", QuantAct.bipolar()),
        ("fc2", QuantLinear(hidden, hidden, bias=False, weight_bits=1)), ("bn2", torch.nn.BatchNorm1d(hidden)),
        ("act2", QuantAct.bipolar()),
        ("fc3", QuantLinear(hidden, 10, bias=False, weight_bits=1)), ("bn3", torch.nn.BatchNorm1d(10)),
    ]))


def make_w2a2_cnn(c1: int = 16, c2: int = 32) -> torch.nn.Sequential:
    """in8 -> conv3x3(c1) -> BN -> act2 -> pool2 -> conv3x3(c2) -> BN -> act2 -> pool2 -> fc(10),
    all weights ternary."""
    return torch.nn.Sequential(OrderedDict([
        ("quant_in", QuantAct.input(bits=8, frac_bits=7)),
        ("conv1", QuantConv2d(1, c1, 3, padding=1, bias=False, weight_bits=2)), ("bn1", torch.nn.BatchNorm2d(c1)),
        ("act1", QuantAct.relu(2, ACT_RANGE)), ("pool1", torch.nn.MaxPool2d(2)),
        ("conv2", QuantConv2d(c1, c2, 3, padding=1, bias=False, weight_bits=2)), ("bn2", torch.nn.BatchNorm2d(c2)),
        ("act2", QuantAct.relu(2, ACT_RANGE)), ("pool2", torch.nn.MaxPool2d(2)),
        ("flatten", torch.nn.Flatten()), ("fc", QuantLinear(c2 * 2 * 2, 10, weight_bits=2)),
    ]))


def onnx_check(proto, model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> dict:
    """Run the exported graph on x; accuracy, argmax agreement with torch, max |diff|."""
    got = qonnx_evaluator(proto).run(None, {"x": x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    return {"onnx_accuracy": float((got.argmax(1) == y).mean()),
            "argmax_agree": float((got.argmax(1) == ref.argmax(1)).mean()),
            "max_abs_diff": float(np.abs(got - ref).max())}


def _build(name: str, model: torch.nn.Module, image: bool, out: Path, epochs: int, lr: float, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    xtr, xte, ytr, yte = digits_split()
    if image:
        xtr, xte = xtr.reshape(-1, 1, 8, 8), xte.reshape(-1, 1, 8, 8)
    t0 = time.perf_counter()
    finetune(model, xtr, ytr, epochs=epochs, lr=lr, seed=seed, log_every=10,
             log=lambda s: print(f"  {name}: {s}", flush=True))
    seconds = time.perf_counter() - t0
    acc = accuracy(model, xte, yte)
    tag = "mlp" if not image else "cnn"
    path = out / f"{name}.onnx"
    proto = export_qonnx(model, path, torch.zeros((1,) + xte.shape[1:]))
    np.savez(out / f"calib_{tag}.npz", x=xtr)
    np.savez(out / f"test_{tag}.npz", x=xte, y=yte)
    return {"onnx": path, "calib": out / f"calib_{tag}.npz", "test": out / f"test_{tag}.npz",
            "torch_accuracy": acc, "train_seconds": seconds, **onnx_check(proto, model, xte, yte)}


def build_mlp(out: Path, epochs: int = 60, seed: int = 0) -> dict:
    """Train and export the W1A1 MLP; paths, accuracies and training time."""
    torch.manual_seed(seed)
    return _build("w1a1_mlp", make_w1a1_mlp(), False, out, epochs, 1e-2, seed)


def build_cnn(out: Path, epochs: int = 60, seed: int = 0) -> dict:
    """Train and export the W2A2 CNN; paths, accuracies and training time."""
    torch.manual_seed(seed)
    return _build("w2a2_cnn", make_w2a2_cnn(), True, out, epochs, 1e-2, seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    a = ap.parse_args()
    builders = {"mlp": build_mlp, "cnn": build_cnn}
    for key in ("mlp", "cnn") if a.model == "both" else (a.model,):
        r = builders[key](a.out, a.epochs, a.seed)
        print(f"{r['onnx'].name}: torch test accuracy {r['torch_accuracy']:.4f} ({r['train_seconds']:.1f} s); "
              f"QONNX (onnx.reference) {r['onnx_accuracy']:.4f}, argmax agrees on {r['argmax_agree']:.4f}, "
              f"max |diff| {r['max_abs_diff']:.2g}")


if __name__ == "__main__":
    main()
