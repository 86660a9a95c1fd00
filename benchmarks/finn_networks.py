"""FINN's reference networks through hwcomp: II and lanes with hwcomp's default
folding and with the folding FINN's end-to-end test sets, beside FINN's own
cycle estimate for that folding.

    .venv/bin/python benchmarks/finn_networks.py [--sim N] [--nets tfc_1w1a,cnv_2w2a]

FINN's number is its MVAU cycle formula, (MH/PE) * (MW/SIMD) * output pixels,
maximised over the layers, at the (PE, SIMD) of test_end2end_bnn_pynq; FINN is
not installed here, so it is computed, not measured. With --sim N, each build
is also simulated in Verilator on N digits and the measured II recorded (and
bit-exactness checked). Writes benchmarks/results/finn_networks.json and
prints the Markdown table for RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import finn_nets as fn  # noqa: E402
from hwcomp.compile import compile_model  # noqa: E402
from hwcomp.hw.design import ceil_div  # noqa: E402
from hwcomp.simulate import simulate_build  # noqa: E402


def finn_formula(report: dict, folding) -> int:
    return max(ceil_div(l["rows"], pe) * ceil_div(l["cols"], simd) * l["pixels"]
               for l, (pe, simd) in zip(report["layers"], folding))


def run(name: str, folding, root: Path, sim: int, target_ii: int | None = None) -> dict:
    model = root / f"{name}.onnx"
    if not model.exists():
        fn.export(name, model, dynamo=False)
    out = root / f"build_{name}_{'finn' if folding else 'default'}_{target_ii}"
    t = time.time()
    res = compile_model(model, out, pe_simd=folding, target_ii=target_ii)
    row = {"expected_ii": res.report["totals"]["expected_ii_cycles"], "lanes": res.report["totals"]["lanes"],
           "ideal_ii": res.report["totals"]["ideal_ii_cycles"], "compile_s": round(time.time() - t, 2)}
    if folding:
        row["finn_formula_ii"] = finn_formula(res.report, folding)
        row["finn_lanes"] = sum(pe * simd for pe, simd in folding)
    if sim:
        x, y = fn.images(name, sim)
        t = time.time()
        s = simulate_build(out, (x, y))
        row.update(measured_ii=s["ii_cycles"], bit_exact=s["bit_exact"], sim_s=round(time.time() - t, 1))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", type=int, default=0, help="simulate N samples per build")
    ap.add_argument("--nets", default=",".join(fn.NETWORKS))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.nets.split(","):
            entry = {"default": run(name, None, Path(tmp), args.sim)}
            if fn.finn_folding(name):
                entry["finn_folding"] = f = run(name, fn.finn_folding(name), Path(tmp), args.sim)
                # hwcomp's own folder asked for FINN's II: how many lanes it needs for it
                entry["hwcomp_at_finn_ii"] = run(name, None, Path(tmp), args.sim, target_ii=f["finn_formula_ii"])
            results[name] = entry
            print(name, json.dumps(entry), flush=True)
    out = ROOT / "benchmarks" / "results" / "finn_networks.json"
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print("\n| network | default II / lanes | FINN's folding: II / lanes | FINN's II (formula) / lanes |"
          " hwcomp --target-ii FINN's II: II / lanes | measured II (default / FINN folding) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, e in results.items():
        d, f, h = e["default"], e.get("finn_folding"), e.get("hwcomp_at_finn_ii")
        meas = f"{d.get('measured_ii', '-')} / {f.get('measured_ii', '-') if f else '-'}"
        if f:
            print(f"| {name} | {d['expected_ii']} / {d['lanes']} | {f['expected_ii']} / {f['lanes']} | "
                  f"{f['finn_formula_ii']} / {f['finn_lanes']} | {h['expected_ii']} / {h['lanes']} | {meas} |")
        else:
            print(f"| {name} | {d['expected_ii']} / {d['lanes']} | - | target-fps search | - | {meas} |")


if __name__ == "__main__":
    main()
