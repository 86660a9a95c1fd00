"""Shared driver of the image demos: train (torch), export ONNX, compile,
simulate the whole digits test split in Verilator, print the results."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

from hwcomp import compile_model, simulate_build
from hwcomp.report.compile_report import format_compile_report
from hwcomp.report.sim_report import format_sim_table


def say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def run_demo(build: Callable[[Path], dict], what: str, default_out: Path, description: str) -> int:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--bits", default="w8a8")
    ap.add_argument("--ii", type=int, help="target initiation interval")
    ap.add_argument("--stall", type=float, default=0.0, help="random stream stall probability")
    ap.add_argument("--out", type=Path, default=default_out)
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"1. training {what} on load_digits (torch) and exporting ONNX")
    data = build(a.out)
    print(f"2. compiling {data['onnx'].name} ({a.bits}, unless the model carries its own quantizers)")
    build_dir = a.out / "build"
    res = compile_model(data["onnx"], build_dir, calib=data["calib"], bits=a.bits, target_ii=a.ii, progress=say)
    print(format_compile_report(res.report))
    print("3. simulating the test split in Verilator (RTL) and checking every output against the IR")
    sim = simulate_build(build_dir, data["test"], stall_prob=a.stall, progress=say)
    print(f"\nresults ({build_dir}, {time.perf_counter() - t0:.1f} s)")
    print(format_sim_table(sim, res.report))
    return 0 if sim["bit_exact"] else 1
