"""The folding `compile --device` and `--target-fps` pick for the example
models, with the estimate that decided it.

    .venv/bin/python benchmarks/device_fit.py

Compiles each trained example (run its demo first: examples/*/out/) into a
temporary directory per goal and writes benchmarks/results/device_fit.json
and the Markdown table for RESULTS.md.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from hwcomp import compile_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"digits MLP": ROOT / "examples/digits_mlp/out", "digits CNN": ROOT / "examples/digits_cnn/out",
          "digits ResNet": ROOT / "examples/digits_resnet/out"}
GOALS = {"default folding": {}, "--device xc7a35t": {"device": "xc7a35t"},
         "--device xc7z020": {"device": "xc7z020"}, "--device lfe5u-25f": {"device": "lfe5u-25f"},
         "--target-fps 100000": {"target_fps": 100_000}, "--target-fps 1000000": {"target_fps": 1_000_000}}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, d in MODELS.items():
            for goal, kw in GOALS.items():
                start = time.perf_counter()
                try:
                    rep = compile_model(d / "model.onnx", Path(tmp) / "b", calib=d / "calib.npz", **kw).report
                except Exception as e:   # an unmet goal is a result too
                    rows.append({"model": model, "goal": goal, "error": str(e)})
                    continue
                r, fit = rep["resources"], rep["fit"]
                rows.append({"model": model, "goal": goal, "ii": rep["totals"]["expected_ii_cycles"],
                             "lanes": rep["totals"]["lanes"], "device": r["device"],
                             **{k: r[k] for k in ("lut", "ff", "dsp", "bram18")},
                             "why": fit["why"] if fit else "default: 64 lanes on the largest layer",
                             "probes": len(fit["probes"]) if fit else 0,
                             "seconds": round(time.perf_counter() - start, 2)})
    (ROOT / "benchmarks/results/device_fit.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("| model | goal | II | lanes | device | LUT | FF | DSP | BRAM18 | why |")
    print("|---|---|--:|--:|---|--:|--:|--:|--:|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['goal']} | - | - | - | - | - | - | - | error: {r['error']} |")
        else:
            print(f"| {r['model']} | {r['goal']} | {r['ii']} | {r['lanes']} | {r['device']} | {r['lut']:,.0f} | "
                  f"{r['ff']:,.0f} | {r['dsp']} | {r['bram18']:g} | {r['why']} |")


if __name__ == "__main__":
    main()
