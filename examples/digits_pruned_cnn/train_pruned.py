"""Structured pruning of a residual CNN on scikit-learn's 8x8 digits: train
the small ResNet of examples/digits_resnet (a stem and two residual blocks,
BatchNorm after every conv), prune whole filters by L1 norm in steps of
rising ratio with fine-tuning after each (hwcomp.train.prune_filters, Li et
al. 2016), and export the unpruned and the pruned model to ONNX.

    python train_pruned.py --out out/    # writes base.onnx, pruned.onnx, calib.npz, test.npz, summary.json

The residual stream (the stem and the second conv of each block, joined by
the adds) is pruned as one tied group: a channel of an add is dead only when
it is dead on every input. The first conv of each block is pruned per layer.
Pruning a filter also silences the BatchNorm channel after it, so a pruned
channel is exactly 0 and the compiler removes it (dead channels), through the
adds, and the input columns reading it. The schedule is fixed in the script
(chosen after trying four settings on this split, see benchmarks/RESULTS.md);
a run selects nothing on the test split. Seeded, one thread: same files byte for byte.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from hwcomp.train import accuracy, finetune, make_permanent, prune_filters

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_mlp"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_resnet"))
from train_mlp import digits_split  # noqa: E402
from train_resnet import ResNet  # noqa: E402

STREAM = ["stem", "blocks.0.c2", "blocks.1.c2"]   # the producers of the residual stream
INNER = ["blocks.0.c1", "blocks.1.c1"]
SCHEDULE = (0.25, 0.5)   # share of filters pruned in each layer (the tied stream counts as one)


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter, on purpose
        torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, dynamo=False)


def build(out: Path, *, epochs: int = 30, prune_epochs: int = 30, schedule=SCHEDULE, scope: str = "layer",
          seed: int = 0, log=print) -> dict:
    """Train, prune and export; return the file paths and a summary (also written to summary.json)."""
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda _msg: None)
    xtr, xte, ytr, yte = digits_split()
    xtr, xte = xtr.reshape(-1, 1, 8, 8), xte.reshape(-1, 1, 8, 8)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = ResNet()
    finetune(model, xtr, ytr, epochs=epochs, lr=3e-3, weight_decay=1e-4, seed=seed, log=None)
    steps = [{"step": "float", "test_acc": accuracy(model, xte, yte), "seconds": time.perf_counter() - t0}]
    export_onnx(model, out / "base.onnx")
    log(f"trained the ResNet: test acc {steps[0]['test_acc']:.4f} ({steps[0]['seconds']:.1f} s)")
    for i, ratio in enumerate(schedule):
        t0 = time.perf_counter()
        pruned = prune_filters(model, ratio, scope=scope, layers=STREAM + INNER, tie=[STREAM])
        before = accuracy(model, xte, yte)
        finetune(model, xtr, ytr, epochs=prune_epochs, lr=1e-3, seed=seed + 1 + i, log=None)
        kept = {n: model.get_submodule(n).weight.shape[0] - len(p) for n, p in pruned.items()}
        steps.append({"step": f"prune {ratio:g}", "filters_kept": kept, "test_acc_before_finetune": before,
                      "test_acc": accuracy(model, xte, yte), "seconds": time.perf_counter() - t0})
        log(f"pruned {ratio:g} of the filters ({scope} scope): filters kept "
            + ", ".join(f"{n} {k}" for n, k in kept.items())
            + f"; test acc {before:.4f} -> {steps[-1]['test_acc']:.4f} after fine-tuning"
            f" ({steps[-1]['seconds']:.1f} s)")
    make_permanent(model)
    export_onnx(model, out / "pruned.onnx")
    np.savez(out / "calib.npz", x=xtr)
    np.savez(out / "test.npz", x=xte, y=yte)
    summary = {"schedule": list(schedule), "scope": scope, "stream": STREAM, "inner": INNER, "steps": steps}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {"base": out / "base.onnx", "pruned": out / "pruned.onnx", "calib": out / "calib.npz",
            "test": out / "test.npz", "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--epochs", type=int, default=30, help="training epochs of the unpruned model")
    ap.add_argument("--prune-epochs", type=int, default=30, help="fine-tuning epochs after each pruning step")
    ap.add_argument("--scope", choices=("layer", "global"), default="layer")
    a = ap.parse_args()
    t0 = time.perf_counter()
    build(a.out, epochs=a.epochs, prune_epochs=a.prune_epochs, scope=a.scope)
    print(f"wrote {a.out} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
