"""Train an MLP on scikit-learn's 8x8 digits and export it to ONNX.

    python train_mlp.py --hidden 32 --out out/    # writes model.onnx, calib.npz, test.npz
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def digits_split(seed: int = 0):
    """Pixels scaled to [0, 1]; 80/20 stratified split (360 test images)."""
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    return train_test_split(x, d.target.astype(np.int64), test_size=0.2, random_state=seed, stratify=d.target)


def make_mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def train(sizes: list[int], epochs: int = 60, seed: int = 0) -> tuple[torch.nn.Module, tuple]:
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # same weights on every machine and run
    xtr, xte, ytr, yte = digits_split()
    model = make_mlp(sizes)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    return model, (xtr, xte, ytr, yte)


def export(model: torch.nn.Module, n_in: int, path: Path, opset: int = 13) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # we choose the TorchScript exporter on purpose
        _export(model, n_in, path, opset)


def _export(model: torch.nn.Module, n_in: int, path: Path, opset: int) -> None:
    torch.onnx.export(model, (torch.zeros(1, n_in),), str(path), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset, dynamo=False)


def build(out: Path, sizes: list[int], epochs: int = 60) -> dict:
    """Train, export and write the data files; return paths and float test accuracy."""
    out.mkdir(parents=True, exist_ok=True)
    model, (xtr, xte, ytr, yte) = train(sizes, epochs)
    with torch.no_grad():
        acc = float((model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    export(model, sizes[0], out / "model.onnx")
    np.savez(out / "calib.npz", x=xtr)
    np.savez(out / "test.npz", x=xte, y=yte)
    return {"onnx": out / "model.onnx", "calib": out / "calib.npz", "test": out / "test.npz", "torch_accuracy": acc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", default="32", help="hidden layer sizes, comma separated (default 32)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    a = ap.parse_args()
    sizes = [64] + [int(h) for h in a.hidden.split(",") if h] + [10]
    r = build(a.out, sizes, a.epochs)
    print(f"torch test accuracy {r['torch_accuracy']:.4f}; wrote {r['onnx']}")


if __name__ == "__main__":
    main()
