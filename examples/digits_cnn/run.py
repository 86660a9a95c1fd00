"""CNN demo: train a LeNet-style CNN on digits, export ONNX, compile to Verilog
(sliding windows, matrix-vector units, max pooling), simulate the whole test
split in Verilator and print float / fixed / RTL results.

    python examples/digits_cnn/run.py [--bits w8a8] [--stall 0.0]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from train_cnn import build  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.report.compile_report import format_compile_report  # noqa: E402
from hwcomp.report.sim_report import format_sim_table  # noqa: E402


def say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", default="w8a8")
    ap.add_argument("--ii", type=int, help="target initiation interval")
    ap.add_argument("--stall", type=float, default=0.0, help="random stream stall probability")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print("1. training a LeNet-style CNN on load_digits (torch) and exporting ONNX")
    data = build(a.out)
    print(f"2. compiling {data['onnx'].name} ({a.bits})")
    build_dir = a.out / "build"
    res = compile_model(data["onnx"], build_dir, calib=data["calib"], bits=a.bits, target_ii=a.ii, progress=say)
    print(format_compile_report(res.report))
    print("3. simulating the test split in Verilator (RTL) and checking every output against the IR")
    sim = simulate_build(build_dir, data["test"], stall_prob=a.stall, progress=say)
    print(f"\nresults ({build_dir}, {time.perf_counter() - t0:.1f} s)")
    print(format_sim_table(sim, res.report))
    return 0 if sim["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
