"""How long the RTL simulation of the digits test split takes once the design is
built, and how it scales with the number of samples (no Python per cycle).

    python benchmarks/sim_throughput.py    # prints a table, writes results/sim_throughput.json
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "digits_mlp"))

from train_mlp import build  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hwcomp_bench_"))
    data = build(work / "model", [64, 32, 10])
    out = work / "build"
    compile_model(data["onnx"], out, calib=data["calib"])
    t = time.perf_counter()
    first = simulate_build(out, data["test"])
    build_and_sim = time.perf_counter() - t
    with np.load(data["test"]) as z:
        x, y = z["x"], z["y"]
    rows = []
    for reps in (1, 10, 30):
        xs, ys = np.tile(x, (reps, 1)), np.tile(y, reps)
        t = time.perf_counter()
        sim = simulate_build(out, (xs, ys))
        dt = time.perf_counter() - t
        assert sim["bit_exact"]
        rows.append({"samples": len(xs), "seconds": round(dt, 2), "samples_per_s": round(len(xs) / dt),
                     "cycles": sim["total_cycles"], "ii_cycles": sim["ii_cycles"]})
    print(f"first simulate (includes the Verilator build): {build_and_sim:.2f} s, bit_exact={first['bit_exact']}")
    print(f"{'samples':>8} {'seconds':>8} {'samples/s':>10} {'cycles':>9}")
    for r in rows:
        print(f"{r['samples']:>8} {r['seconds']:>8} {r['samples_per_s']:>10} {r['cycles']:>9}")
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "sim_throughput.json").write_text(json.dumps(
        {"first_simulate_with_build_s": round(build_and_sim, 2), "runs": rows}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
