"""Structured pruning demo: train a small residual CNN on digits, prune whole
filters by L1 norm with fine-tuning (hwcomp.train), compile the unpruned and
the pruned ONNX (the compiler removes the dead channels, through the residual
adds), simulate both in Verilator and print MACs, parameters, accuracy,
lanes and II side by side.

    python examples/digits_pruned_cnn/run.py [--out DIR] [--scope layer|global]

Three foldings per model: the default one (the fastest; the stem's sliding
window, one pixel per cycle over 9 taps, bounds its II whatever the pruning),
the fewest lanes reaching one II target (lanes follow MACs), and one lane per
layer (PE = SIMD = 1: the II follows the largest layer's MACs). The default
designs run the whole test split; the other two a slice of it, enough to
measure the II and check every output.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hwcomp import compile_model, simulate_build  # noqa: E402
from train_pruned import build  # noqa: E402

TARGET_II = 2304     # 1/16 of a block conv's MACs before pruning: the lane-count folding
MODELS = ("base", "pruned")


def say(msg: str) -> None:
    print(f"  {msg}", flush=True)


FOLDINGS = ("default", "target_ii", "one_lane")


def folding_options(name: str, report: dict, target_ii: int) -> dict:
    """compile_model options of a folding (one lane per layer needs the unit count)."""
    return {"default": {}, "target_ii": {"target_ii": target_ii},
            "one_lane": {"pe_simd": [(1, 1)] * len(report["layers"])}}[name]


def measure(onnx_path: Path, data: dict, out: Path, target_ii: int, slice_samples: int, progress,
            foldings=FOLDINGS) -> dict:
    """Compile and simulate one model at the given foldings (the default one always)."""
    res, sims = {}, {}
    first = compile_model(onnx_path, out / "default", calib=data["calib"], progress=progress)
    for name in ("default", *(f for f in foldings if f != "default")):
        r = first if name == "default" else compile_model(onnx_path, out / name, calib=data["calib"],
                                                          **folding_options(name, first.report, target_ii))
        res[name] = r.report
        sims[name] = simulate_build(out / name, data["test"], limit=None if name == "default" else slice_samples,
                                    progress=progress if name == "default" else None)
    rep, sim = res["default"], sims["default"]
    prune = rep.get("pruning", {})
    return {
        "macs": rep["totals"]["macs"], "params": prune.get("params_after"),
        "dead_channels_removed": prune.get("dead_channels_removed"),
        "layers": [(l["name"], l["rows"], l["cols"]) for l in rep["layers"]],
        "accuracy_float": sim["accuracy_float"], "accuracy_fixed": sim["accuracy_fixed"],
        "accuracy_rtl": sim["accuracy_rtl"],
        "samples": {k: s["samples"] for k, s in sims.items()},
        "mismatches": {k: s["mismatches"] for k, s in sims.items()},
        "bit_exact": all(s["bit_exact"] for s in sims.values()),
        "lanes": {k: r["totals"]["lanes"] for k, r in res.items()},
        "ii_expected": {k: r["totals"]["expected_ii_cycles"] for k, r in res.items()},
        "ii_measured": {k: s["ii_cycles"] for k, s in sims.items()},
        "bottleneck": {k: r["totals"]["bottleneck"] for k, r in res.items()},
    }


def run(out: Path, *, target_ii: int = TARGET_II, slice_samples: int = 32, foldings=FOLDINGS, progress=say,
        log=print, **build_options) -> dict:
    """Train and prune (build_options go to train_pruned.build), compile and simulate both models."""
    log = log or (lambda _msg: None)
    data = build(out, log=log, **build_options)
    results = {"summary": data["summary"], "target_ii": target_ii}
    for m in MODELS:
        log(f"compiling and simulating {m}.onnx")
        results[m] = measure(data[m], data, out / f"build_{m}", target_ii, slice_samples, progress, foldings)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def _ratio(a, b) -> str:
    return f"{b / a:.3f}" if a else "n/a"


def format_table(r: dict) -> str:
    b, p = r["base"], r["pruned"]
    rows = [("", "unpruned", "pruned", "pruned/unpruned")]

    def num(label, x, y):
        rows.append((label, f"{x:,}", f"{y:,}", _ratio(x, y)))

    num("MACs", b["macs"], p["macs"])
    num("parameters", b["params"], p["params"])
    for k in ("float", "fixed", "rtl"):
        rows.append((f"accuracy {k if k != 'rtl' else 'RTL'}", f"{b['accuracy_' + k]:.4f}", f"{p['accuracy_' + k]:.4f}",
                     f"{p['accuracy_' + k] - b['accuracy_' + k]:+.4f}"))
    per_folding = [", ".join(f"{x['mismatches'][k]} ({x['samples'][k]})" for k in x["lanes"]) for x in (b, p)]
    rows.append(("mismatches (samples) per folding", *per_folding, ""))
    names = {"default": "default folding", "target_ii": f"II target {r['target_ii']}", "one_lane": "PE=SIMD=1"}
    for k, label in names.items():
        if k not in b["lanes"]:
            continue
        num(f"lanes, {label}", b["lanes"][k], p["lanes"][k])
        num(f"II measured, {label}", int(b["ii_measured"][k]), int(p["ii_measured"][k]))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  " + row[0].ljust(w[0]) + "  " + "  ".join(c.rjust(w[i + 1]) for i, c in enumerate(row[1:]))
                     for row in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--scope", choices=("layer", "global"), default="layer", help="filter ranking of hwcomp.train")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print("1. training a residual CNN on load_digits, pruning filters by L1 norm with fine-tuning (torch)")
    r = run(a.out, scope=a.scope, log=lambda m: print(f"  {m}", flush=True))
    print(f"\nresults ({a.out}, {time.perf_counter() - t0:.1f} s)")
    print(format_table(r))
    return 0 if r["base"]["bit_exact"] and r["pruned"]["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
