"""Real architectures nobody here wrote, from onnx's shipped light models:
SqueezeNet compiled with 8-bit fixed point and simulated in RTL (bit-exact
check of every output), ResNet-50 compiled through every pass to a report.

The shipped light models generate every weight with ConstantOfShape(0.02),
which makes the networks degenerate (SqueezeNet's 1000 outputs come out all
equal), so the weights are first replaced by random He-normal ones
(`randomize_weights`, the same as the light-model tests use).

    python benchmarks/real_models.py    # prints a table, writes results/real_models.json
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "frontend"))

from test_onnx_light_models import randomize_weights  # noqa: E402

from hwcomp import compile_model, simulate_build  # noqa: E402
from hwcomp.sim.toolchain import ensure_verilator  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def prepare(name: str, work: Path) -> Path:
    model = randomize_weights(onnx.load(str(LIGHT / f"light_{name}.onnx")), seed=0)
    path = work / f"{name}_random.onnx"
    onnx.save(model, str(path))
    return path


def lint(build: Path) -> bool:
    """verilator --lint-only -Wall over the generated sources: True when silent."""
    d = json.loads((build / "design.json").read_text())
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", d["top"]] + [str(build / s) for s in d["sources"]]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=build / "rtl")
    return p.returncode == 0 and "%Warning" not in p.stderr


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hwcomp_real_"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3, 224, 224)).astype(np.float32)
    results = {}
    for name, images in (("squeezenet", 2), ("resnet50", 0)):
        path = prepare(name, work)
        t = time.perf_counter()
        res = compile_model(path, work / f"{name}_build", calib=x[:8], progress=print)
        entry = {"compile_s": round(time.perf_counter() - t, 1), "totals": res.report["totals"],
                 "layers": len(res.report["layers"]), "blocks": len(res.report["blocks"])}
        if images:
            entry["lint_clean"] = lint(work / f"{name}_build")
            t = time.perf_counter()
            sim = simulate_build(work / f"{name}_build", (x[8:8 + images], None), progress=print)
            entry["simulate_s"] = round(time.perf_counter() - t, 1)
            entry["sim"] = {k: sim[k] for k in ("samples", "mismatches", "bit_exact", "latency_cycles", "ii_cycles",
                                                "ideal_ii_cycles", "pe_utilization", "total_cycles")}
        results[name] = entry
        print(json.dumps(entry, indent=1))
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "real_models.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
