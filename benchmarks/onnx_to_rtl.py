"""Wall-clock time of the whole path for a 64-32-10 MLP: ONNX file -> `hwcomp
compile` -> `hwcomp simulate` of the digits test split (360 samples, every
output checked against the executor), run as the CLI commands a user types.

Three cache states (HWCOMP_CACHE points at a fresh directory for the first):
  cold      nothing cached: Verilator's runtime objects are compiled too
  warm      runtime objects cached, this design never built before
  repeat    the same design simulated again (its build is reused)

    python benchmarks/onnx_to_rtl.py      # prints a table, writes results/onnx_to_rtl.json
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "digits_mlp"))


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def one_pass(model: Path, calib: Path, test: Path, out: Path, env: dict) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    hw = [sys.executable, "-m", "hwcomp"]
    c = timed(hw + ["compile", str(model), "-o", str(out), "--calib", str(calib)], env)
    s = timed(hw + ["simulate", str(out), "--data", str(test)], env)
    sim = json.loads((out / "sim.json").read_text())
    assert sim["bit_exact"] and sim["samples"] == 360
    return {"compile_s": round(c, 2), "simulate_s": round(s, 2), "total_s": round(c + s, 2),
            "accuracy_rtl": sim["accuracy_rtl"], "ii_cycles": sim["ii_cycles"]}


def main() -> None:
    from train_mlp import build

    work = Path(tempfile.mkdtemp(prefix="hwcomp_bench_"))
    data = build(work / "model", [64, 32, 10])
    env = dict(os.environ, HWCOMP_CACHE=str(work / "cache"))
    rows = {}
    rows["cold"] = one_pass(data["onnx"], data["calib"], data["test"], work / "b1", env)
    # a different design (other folding) so nothing but the runtime objects can be reused
    data2 = build(work / "model2", [64, 32, 10], epochs=40)
    rows["warm"] = one_pass(data2["onnx"], data2["calib"], data2["test"], work / "b2", env)
    rows["repeat"] = one_pass(data2["onnx"], data2["calib"], data2["test"], work / "b3", env)
    print(f"{'cache':8} {'compile s':>10} {'simulate s':>11} {'total s':>8}")
    for k, r in rows.items():
        print(f"{k:8} {r['compile_s']:>10} {r['simulate_s']:>11} {r['total_s']:>8}")
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "onnx_to_rtl.json").write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
