"""Deep Compression's training pipeline on scikit-learn's 8x8 digits: train a
64-300-100-10 ReLU MLP (the digits analogue of LeNet-300-100), prune it
iteratively with fine-tuning, share its weights by k-means at K bits with
codebook fine-tuning, and export ONNX (hwcomp.train).

    python train.py --out out/    # writes base.onnx, pruned.onnx, shared_k4.onnx,
                                  # shared_k5.onnx, calib.npz, test.npz, summary.json

Same split and scaling as the other digits examples (pixels / 16, 80/20
stratified, seed 0). Pruning uses one global magnitude threshold over the
three layers (a per-layer uniform sparsity starves the 100x10 output layer)
on a fixed schedule of rising sparsity, fine-tuning after every step; the
schedule was fixed beforehand, the script selects nothing on the test split.
Every step is seeded (threads = 1), so a run gives the same files byte for byte.

The storage figure printed at the end is a Deep Compression style estimate
made here (K-bit codebook indices, relative row indices of the best width per
layer with a padding entry per longer gap, one pointer per column, float32
codebooks and biases),
not hwcomp's storage report.
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

from hwcomp.train import (accuracy, distinct_values, finetune, iterative_prune, layer_density, make_permanent,
                          share_weights, total_density)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits_mlp"))
from train_mlp import digits_split, make_mlp  # noqa: E402

SIZES = [64, 300, 100, 10]
SCHEDULE = (0.5, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975)
REL_INDEX_BITS = range(2, 9)  # the storage estimate takes the best relative index width per layer


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter, on purpose
        torch.onnx.export(model, (torch.zeros(1, SIZES[0]),), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, dynamo=False)


def layer_storage_bits(w: np.ndarray, bias: np.ndarray, index_bits: int | None, rel_bits: int) -> dict:
    """Bits of one layer stored column by column (compressed column storage of
    W[out, in]): per non-zero an index_bits codebook index (a 32-bit float with
    no sharing) and a rel_bits gap to the previous non-zero of its column, with
    a padding entry whenever a gap does not fit; a pointer per column; the
    codebook and the float32 bias."""
    entries = 0
    for col in w.T:
        rows = np.flatnonzero(col)
        gaps = np.diff(np.concatenate([[-1], rows])) - 1  # zeros skipped before each non-zero
        entries += len(rows) + int(np.sum(gaps // 2 ** rel_bits))
    value_bits = 32 if index_bits is None else index_bits
    pointer_bits = int(np.ceil(np.log2(entries + 1))) * (w.shape[1] + 1)
    codebook_bits = 0 if index_bits is None else 32 * 2 ** index_bits
    bits = {"rel_index_bits": rel_bits, "nonzeros": int(np.count_nonzero(w)), "entries": entries,
            "weights": entries * (value_bits + rel_bits), "pointers": pointer_bits,
            "codebook": codebook_bits, "bias": 32 * bias.size}
    bits["total"] = bits["weights"] + pointer_bits + codebook_bits + bits["bias"]
    return bits


def storage_estimate(model: torch.nn.Sequential, index_bits: int | None) -> dict:
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    per_layer = [min((layer_storage_bits(m.weight.detach().numpy(), m.bias.detach().numpy(), index_bits, r)
                      for r in REL_INDEX_BITS), key=lambda b: b["total"]) for m in layers]
    float32 = 32 * sum(m.weight.numel() + m.bias.numel() for m in layers)
    total = sum(p["total"] for p in per_layer)
    return {"layers": per_layer, "total_bits": total, "float32_bits": float32, "ratio": float32 / total}


def _step_record(name: str, model, data, seconds: float, **extra) -> dict:
    xtr, xte, ytr, yte = data
    return {"step": name, "test_acc": accuracy(model, xte, yte), "train_acc": accuracy(model, xtr, ytr),
            "density": layer_density(model), "total_density": total_density(model),
            "empty_rows": empty_rows(model), "seconds": seconds, **extra}


def empty_rows(model: torch.nn.Sequential) -> dict[str, int]:
    """Neurons whose incoming weights are all pruned (a constant relu(bias): the
    compiler can fold them into the next layer's bias)."""
    return {n: int((~m.weight.detach().any(1)).sum()) for n, m in model.named_children()
            if isinstance(m, torch.nn.Linear)}


def build(out: Path, *, epochs: int = 60, prune_epochs: int = 30, share_epochs: int = 20,
          schedule=SCHEDULE, bits=(4, 5), seed: int = 0, log=print) -> dict:
    """Train, prune, share and export; return the records of every step and the file paths."""
    out.mkdir(parents=True, exist_ok=True)
    log = log or (lambda _msg: None)
    data = digits_split()
    xtr, xte, ytr, yte = data
    records = []

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = make_mlp(SIZES)
    finetune(model, xtr, ytr, epochs=epochs, lr=3e-3, weight_decay=1e-4, seed=seed, log=None)
    records.append(_step_record("float", model, data, time.perf_counter() - t0))
    export_onnx(model, out / "base.onnx")
    log(f"float MLP {'-'.join(map(str, SIZES))}: test acc {records[-1]['test_acc']:.4f} "
        f"({records[-1]['seconds']:.1f} s)")

    t0 = time.perf_counter()
    steps = iterative_prune(model, xtr, ytr, list(schedule), scope="global", epochs=prune_epochs, lr=3e-3,
                            seed=seed + 1, eval_data=(xte, yte), log=None)
    for s in steps:
        records.append({"step": f"prune {s['sparsity']:.3f}", "test_acc": s["eval_acc"], "train_acc": s["train_acc"],
                        "density": s["density"], "total_density": s["total_density"], "seconds": s["seconds"]})
        log(f"pruned to {1 - s['total_density']:.3f}: test acc {s['eval_acc']:.4f}  density per layer "
            + ", ".join(f"{d:.4f}" for d in s["density"].values()) + f"  ({s['seconds']:.1f} s)")
    make_permanent(model)
    records[-1]["empty_rows"] = empty_rows(model)
    export_onnx(model, out / "pruned.onnx")
    pruned_state = {k: v.clone() for k, v in model.state_dict().items()}
    log(f"iterative pruning: {time.perf_counter() - t0:.1f} s")

    files = {"base": out / "base.onnx", "pruned": out / "pruned.onnx"}
    for k in bits:
        t0 = time.perf_counter()
        model.load_state_dict(pruned_state)
        share_weights(model, k)
        before = accuracy(model, xte, yte)
        finetune(model, xtr, ytr, epochs=share_epochs, lr=1e-3, seed=seed + 100 + k, log=None)
        make_permanent(model)
        files[f"shared_k{k}"] = out / f"shared_k{k}.onnx"
        export_onnx(model, files[f"shared_k{k}"])
        rec = _step_record(f"share K={k}", model, data, time.perf_counter() - t0, test_acc_before_finetune=before,
                           distinct_values=distinct_values(model), storage=storage_estimate(model, k))
        records.append(rec)
        log(f"shared K={k}: test acc {before:.4f} -> {rec['test_acc']:.4f} after codebook fine-tuning, "
            f"distinct non-zero values {list(rec['distinct_values'].values())}, "
            f"estimated storage {rec['storage']['ratio']:.1f}x vs float32 ({rec['seconds']:.1f} s)")
    model.load_state_dict(pruned_state)
    records[len(steps)]["storage"] = storage_estimate(model, None)

    np.savez(out / "calib.npz", x=xtr)
    np.savez(out / "test.npz", x=xte, y=yte)
    summary = {"sizes": SIZES, "schedule": list(schedule), "records": records}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {**files, "calib": out / "calib.npz", "test": out / "test.npz", "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--epochs", type=int, default=60, help="float training epochs")
    ap.add_argument("--prune-epochs", type=int, default=30, help="fine-tuning epochs after each pruning step")
    ap.add_argument("--share-epochs", type=int, default=20, help="codebook fine-tuning epochs")
    a = ap.parse_args()
    t0 = time.perf_counter()
    build(a.out, epochs=a.epochs, prune_epochs=a.prune_epochs, share_epochs=a.share_epochs)
    print(f"wrote {a.out} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
