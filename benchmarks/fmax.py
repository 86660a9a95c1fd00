"""Clock rate of every example design, placed and routed on ECP5-85k.

Compiles each example (from its trained model in examples/*/out) into a temp
directory at the clock target, then runs what `hwcomp estimate build/
--device lfe5u-85f --pnr --clock MHZ` runs (hwcomp.synth.estimate): Yosys
`synth_ecp5`, and nextpnr-ecp5 on the design inside the twelve-pin shell
(hwcomp/synth/pnr_shell.py), so the benchmark and the command measure the same
way. Records Fmax, the LUT / FF / DSP / EBR use and the first lines of the
critical path into results/fmax.json and prints a Markdown table.

    python benchmarks/fmax.py [--clock 100] [--only mlp,cnn] [--tag shell] [--examples DIR]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from hwcomp import compile_model
from hwcomp.synth.estimate import estimate_build

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "lfe5u-85f"
# name -> (model, calibration data, compile options the demo uses), under examples/
DESIGNS = {
    "mlp": ("digits_mlp/out/model.onnx", "digits_mlp/out/calib.npz", {"bits": "w8a8"}),
    "cnn": ("digits_cnn/out/model.onnx", "digits_cnn/out/calib.npz", {"bits": "w8a8"}),
    # At its default folding (II 576) the ResNet has 267 multiplier lanes, more than the
    # 156 MULT18X18D of an ECP5-85k: compiled for the device (--device lfe5u-85f), the
    # fastest folding within 80% of it.
    "resnet": ("digits_resnet/out/model.onnx", "digits_resnet/out/calib.npz", {"bits": "w8a8", "device": DEVICE}),
    "w1a1_mlp": ("digits_binary/out/mlp/w1a1_mlp.onnx", "digits_binary/out/mlp/calib_mlp.npz", {}),
    "w2a2_cnn": ("digits_binary/out/cnn/w2a2_cnn.onnx", "digits_binary/out/cnn/calib_cnn.npz", {}),
}
RESULTS = ROOT / "benchmarks/results/fmax.json"


def compile_design(examples: Path, name: str, work: Path, clock: float) -> Path:
    model, calib, opts = DESIGNS[name]
    compile_model(examples / model, work / name, calib=examples / calib, clock_mhz=clock, **opts)
    return work / name


def measure(examples: Path, name: str, work: Path, clock: float) -> dict:
    t0 = time.monotonic()
    build = compile_design(examples, name, work, clock)
    r = estimate_build(build, device=DEVICE, pnr=True, clock_mhz=clock)
    report = json.loads((build / "report.json").read_text())
    return {"design": name, "top": r["top"], "clock_target_mhz": clock, "fmax_mhz": r["fmax_mhz"],
            "timing_met": r["timing_met"], "options": report.get("options", {}),
            "ii_cycles": report["totals"]["expected_ii_cycles"],
            **{k: r[k] for k in ("lut", "ff", "dsp", "bram18")}, "pnr_utilization": r["pnr"]["utilization"],
            "critical_path": r["pnr"]["critical_path"], "seconds": round(time.monotonic() - t0, 1)}


def table(rows: list[dict]) -> str:
    out = ["| design | II | target MHz | Fmax MHz | LUT | FF | DSP | EBR (18 Kb) | critical path starts at |",
           "|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        start = r["critical_path"][0].strip() if r["critical_path"] else ""
        out.append(f"| {r['design']} | {r['ii_cycles']} | {r['clock_target_mhz']:g} | {r['fmax_mhz']} | {r['lut']} | {r['ff']} | "
                   f"{r['dsp']} | {r['bram18']:g} | {start} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clock", type=float, default=100.0, help="clock target, MHz")
    ap.add_argument("--only", default=",".join(DESIGNS), help="designs, comma separated")
    ap.add_argument("--examples", type=Path, default=ROOT / "examples",
                    help="the examples folder holding the trained models (examples/*/out)")
    ap.add_argument("--tag", default="shell", help="key under which results/fmax.json keeps this run")
    ap.add_argument("--keep", type=Path, help="build into this folder and keep it (logs, netlists)")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwcomp_fmax_") as tmp:
        work = a.keep or Path(tmp)
        for name in a.only.split(","):
            rows.append(measure(a.examples, name, work, a.clock))
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
