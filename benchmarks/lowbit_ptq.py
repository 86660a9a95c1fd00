"""Post-training low-bit quantization (passes/lowbit) of float digits models, simulated in RTL.

Trains the 64-256-256-10 MLP of tests/integration/test_lowbit_rtl.py (examples/digits_mlp,
30 epochs) and the LeNet-style CNN of examples/digits_cnn, compiles each at several bit
widths with the training split as calibration and simulates the 360 test images in
Verilator, checked against the executor.

    python benchmarks/lowbit_ptq.py    # prints tables, writes results/lowbit_ptq.json
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "digits_mlp"))
sys.path.insert(0, str(ROOT / "examples" / "digits_cnn"))

import train_cnn  # noqa: E402
import train_mlp  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.errors import HwcompError  # noqa: E402
from hwcomp.passes.quantize import QuantConfig  # noqa: E402

MLP_SIZES = [64, 256, 256, 10]
MODELS = {  # name -> (train and export into a directory, [(label, bits)])
    "MLP 64-256-256-10": (lambda d: train_mlp.build(d, MLP_SIZES, epochs=30), [
        ("w8a8 (fixed point)", "w8a8"), ("w4a4", "w4a4"), ("w2a2", "w2a2"), ("w1a2", "w1a2"), ("w1a1", "w1a1"),
        ("w1a1, every layer binary (input 8 bits)", QuantConfig(1, 1, edge_bits=None, input_bits=8))]),
    "CNN (examples/digits_cnn)": (lambda d: train_cnn.build(d), [
        ("w8a8 (fixed point)", "w8a8"), ("w4a4", "w4a4"), ("w2a2", "w2a2"), ("w1a2", "w1a2"), ("w1a1", "w1a1")]),
}


def run(label, bits, data: dict, out: Path) -> dict:
    try:
        res = compile_model(data["onnx"], out, calib=data["calib"], bits=bits)
    except HwcompError as e:
        return {"bits": label, "error": str(e)}
    sim = simulate_build(out, data["test"])
    t = res.report["totals"]
    return {"bits": label, "weights": [l["weight_dtype"] for l in res.report["layers"]],
            "accuracy_float": sim["accuracy_float"], "accuracy_fixed": sim["accuracy_fixed"],
            "accuracy_rtl": sim["accuracy_rtl"], "mismatches": sim["mismatches"], "samples": sim["samples"],
            "ii_cycles": sim["ii_cycles"], "latency_cycles": sim["latency_cycles"],
            "weight_bits": t["weight_bits"], "storage_ratio": res.report["storage"]["ratio"]}


def print_table(name: str, rows: list[dict]) -> None:
    print(f"\n{name}")
    print("| bits | weights per layer | float | RTL | mismatches | II | latency | weight bits (storage vs float32) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['bits']} | refused: {r['error'].split(': ', 1)[-1]} ||||||")
            continue
        print(f"| {r['bits']} | {', '.join(r['weights'])} | {r['accuracy_float']:.4f} | {r['accuracy_rtl']:.4f} | "
              f"{r['mismatches']} / {r['samples']} | {r['ii_cycles']:g} | {r['latency_cycles']} | "
              f"{r['weight_bits']:,} ({r['storage_ratio']:g}x) |")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hwcomp_lowbit_"))
    results = {}
    for m, (name, (train, configs)) in enumerate(MODELS.items()):
        data = train(work / f"model{m}")
        results[name] = [run(label, bits, data, work / f"build{m}_{i}") for i, (label, bits) in enumerate(configs)]
        print_table(name, results[name])
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "lowbit_ptq.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
