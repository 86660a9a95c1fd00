"""Fit and check the analytic resource model (hwcomp/hw/resource_model.py)
against Yosys synth_xilinx (xc7).

    python benchmarks/resource_model.py --fit     # per-block sweeps, least squares, writes
                                                  # hwcomp/hw/resource_fit.py + results/resource_fit.json
    python benchmarks/resource_model.py --check   # whole designs: estimate vs synthesis,
                                                  # results/resource_check.json + the RESULTS.md table

The sweep: the example designs and FINN's TFC networks compiled at several
foldings (half and four times the default II) at the default clock target,
and at their default folding at 50 MHz (CLOCKS: fewer register stages), each
design built with build_design's clock_mhz as the compile built it; every block
instance of them synthesized alone (a wrapper top around the module with its
parameters and its own memory images). Instances are deduplicated and cached
by a hash of the module, its parameters, its memory images and the library
sources ($HWCOMP_CACHE, default ~/.cache/hwcomp, under resource_sweep/), so a
rerun after an RTL change synthesizes only what changed.

Fit: per block kind, non-negative least squares of LUT and FF over the
kind's terms (rows weighted by 1/sqrt of the measured count), after taking off what the model counts exactly (LUT RAM,
logic-mapped RAM bits, inner FIFOs' estimates). DSP and block RAM are not
fitted: the sweep checks them instance by instance.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hwcomp.backends.rom_images import image_lines, write_image  # noqa: E402
from hwcomp.backends.verilog import literal, port_names  # noqa: E402
from hwcomp.devices import device  # noqa: E402
from hwcomp.hw import resource_fit  # noqa: E402
from hwcomp.hw.blocks import block_of_unit  # noqa: E402
from hwcomp.hw.builder import build_design  # noqa: E402
from hwcomp.hw.pipeline import DEFAULT_CLOCK_MHZ  # noqa: E402
from hwcomp.hw.resource_model import estimate, price  # noqa: E402
from hwcomp.hw.resource_terms import fifo, structure_of  # noqa: E402
from hwcomp.resources import templates_dir  # noqa: E402
from hwcomp.synth.cells import count_cells  # noqa: E402
from hwcomp.synth.yosys import synthesize  # noqa: E402

EXAMPLES = ROOT.parents[0] / "main" / "examples" if not (ROOT / "examples/digits_mlp/out").exists() \
    else ROOT / "examples"
DEVICE = device("xc7z020")
SYNTH = DEVICE.synth
RESULTS = ROOT / "benchmarks" / "results"
FIT_MODULE = ROOT / "hwcomp" / "hw" / "resource_fit.py"
# Kinds fitted first: others contain them (their estimate is taken off the others' targets).
FIT_ORDER = ("fifo",)
II_FACTORS = (0.5, 4)
# Clock targets the sweep builds at: the default first (every folding), then a lower one
# (fewer register stages, hw/pipeline.py) at each design's default folding.
CLOCKS = (DEFAULT_CLOCK_MHZ, 50.0)
# Modules synthesized behind a 2-word hwcomp_fifo, as every design feeds them (a unit's output
# FIFO): ABC maps a width converter's landing multiplexers into up to twice the LUTs when
# they read LUT RAM instead of ports. The FIFO's own estimate is taken off the target.
FED_BY_FIFO = ("hwcomp_dwc",)


def cache_dir() -> Path:
    base = Path(os.environ.get("HWCOMP_CACHE", Path.home() / ".cache" / "hwcomp"))
    d = base / "resource_sweep"
    d.mkdir(parents=True, exist_ok=True)
    return d


# ---------------------------------------------------------------- designs

def example_designs() -> dict[str, tuple]:
    """name -> (onnx, calib, compile kwargs): the check set (common.md's example models + TFC-w1a1)."""
    import finn_nets as fn

    e = EXAMPLES
    d = {
        "digits MLP (w8a8)": (e / "digits_mlp/out/model.onnx", e / "digits_mlp/out/calib.npz", {}),
        "digits CNN (w8a8)": (e / "digits_cnn/out/model.onnx", e / "digits_cnn/out/calib.npz", {}),
        "digits ResNet (w8a8)": (e / "digits_resnet/out/model.onnx", e / "digits_resnet/out/calib.npz", {}),
        "binary MLP (W1A1)": (e / "digits_binary/out/mlp/w1a1_mlp.onnx", e / "digits_binary/out/mlp/calib_mlp.npz",
                              {}),
        "W2A2 CNN": (e / "digits_binary/out/cnn/w2a2_cnn.onnx", e / "digits_binary/out/cnn/calib_cnn.npz", {}),
    }
    d["FINN TFC-w1a1 (FINN folding)"] = (finn_model("tfc_1w1a"), None, {"pe_simd": fn.finn_folding("tfc_1w1a")})
    return d


def finn_model(name: str) -> Path:
    import finn_nets as fn

    path = cache_dir() / f"{name}.onnx"
    if not path.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn.export(name, path, dynamo=False)
    return path


def compile_design(onnx, calib, kwargs, out: Path):
    from hwcomp.compile import compile_model

    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compile_model(onnx, out, calib=calib, **kwargs)
    # The design the compile wrote: built at its clock target (the units' register stages).
    return res, build_design(res.hw_graph, clock_mhz=res.report["options"]["clock_mhz"])


def sweep_designs():
    """(label, onnx, calib, kwargs) of every design whose blocks the fit uses: every
    folding at the default clock, the default foldings at the lower clocks too."""
    import finn_nets as fn
    from inline_models import residual_cnn

    base = [(name, onnx, calib, kw) for name, (onnx, calib, kw) in example_designs().items()]
    base.append(("FINN TFC-w2a2", finn_model("tfc_2w2a"), None, {"pe_simd": fn.finn_folding("tfc_2w2a")}))
    base.append(("FINN TFC-w1a1 default", finn_model("tfc_1w1a"), None, {}))
    # The blocks no example uses (concat, global average pooling), in tests' inline CNN.
    base.append(("inline residual CNN", residual_cnn(cache_dir()), None, {}))
    out = []
    for clock in CLOCKS:
        for name, onnx, calib, kw in base:
            at = f" at {clock:g} MHz"
            out.append((name + at, onnx, calib, {**kw, "clock_mhz": clock}))
            if clock == DEFAULT_CLOCK_MHZ and "pe_simd" not in kw and "TFC" not in name:
                out += [(f"{name} ii x{f}{at}", onnx, calib, {"target_ii": f, "clock_mhz": clock})
                        for f in II_FACTORS]
    return out


# ---------------------------------------------------------------- one instance alone

def wrapper(stage, hdl) -> str:
    ins, outs = block_of_unit(stage.unit).ports(stage.unit)
    in_names, out_names = port_names(stage)
    fed = hdl.module in FED_BY_FIFO
    ports, conns, feeds = ["input wire clk", "input wire rst"], [".clk(clk)", ".rst(rst)"], []
    for names, widths, d_in in ((in_names, ins, True), (out_names, outs, False)):
        for n, w in zip(names, widths):
            i, o = ("input", "output") if d_in else ("output", "input")
            ports += [f"{i} wire [{w - 1}:0] {n}_tdata", f"{i} wire {n}_tvalid", f"{o} wire {n}_tready"]
            x = f"{n}_f" if fed and d_in else n
            conns += [f".{n}_tdata({x}_tdata)", f".{n}_tvalid({x}_tvalid)", f".{n}_tready({x}_tready)"]
            if fed and d_in:
                feeds.append(f"wire [{w - 1}:0] {x}_tdata;\nwire {x}_tvalid, {x}_tready;\n"
                             f"hwcomp_fifo #(.WIDTH({w}), .DEPTH(2)) u_{n}_fifo (.clk(clk), .rst(rst), "
                             f".s_axis_tdata({n}_tdata), .s_axis_tvalid({n}_tvalid), .s_axis_tready({n}_tready), "
                             f".m_axis_tdata({x}_tdata), .m_axis_tvalid({x}_tvalid), .m_axis_tready({x}_tready));\n")
    params = ",\n    ".join(f".{k}({literal(v)})" for k, v in hdl.params)
    return ("`default_nettype none\nmodule sweep_top #(parameter MEM_DIR = \"./\") (\n    "
            + ",\n    ".join(ports) + "\n);\n" + "".join(feeds) + f"{hdl.module} #(\n    {params}\n) u_unit (\n    "
            + ",\n    ".join(conns) + "\n);\nendmodule\n")


def feeding_fifos(stage):
    """The FIFOs the wrapper puts in front of the stage (FED_BY_FIFO), as structures."""
    if block_of_unit(stage.unit).hdl(stage.unit, "u").module not in FED_BY_FIFO:
        return ()
    return tuple(fifo(w, 2) for w in block_of_unit(stage.unit).ports(stage.unit)[0])


def instance_key(stage) -> str:
    block = block_of_unit(stage.unit)
    hdl = block.hdl(stage.unit, "u")
    h = hashlib.sha256()
    h.update(SYNTH.encode())
    h.update(b"fed by a FIFO" if hdl.module in FED_BY_FIFO else b"")
    h.update(repr([(k, literal(v)) for k, v in hdl.params]).encode())
    for src in hdl.sources:
        h.update((templates_dir() / src).read_bytes())
    for image in block.memories(stage.unit, "u"):
        h.update("\n".join(image_lines(image)).encode())
    return h.hexdigest()[:24]


def synth_instance(stage) -> dict:
    """Cell counts (lut, ff, dsp, bram18) of the stage's module synthesized alone; cached."""
    key = instance_key(stage)
    hit = cache_dir() / f"{key}.json"
    if hit.exists():
        return json.loads(hit.read_text())
    block = block_of_unit(stage.unit)
    hdl = block.hdl(stage.unit, "u")
    work = cache_dir() / f"work_{key}"
    rtl = work / "rtl"
    rtl.mkdir(parents=True, exist_ok=True)
    sources = list(dict.fromkeys(("hwcomp_fifo.v",) * (hdl.module in FED_BY_FIFO) + hdl.sources))
    for src in sources:
        shutil.copyfile(templates_dir() / src, rtl / src)
    for image in block.memories(stage.unit, "u"):
        write_image(rtl, image)
    (rtl / "sweep_top.v").write_text(wrapper(stage, hdl))
    r = synthesize(rtl, "sweep_top", sources=sources + ["sweep_top.v"], out_dir=work / "synth", synth=SYNTH)
    row = {**count_cells(r.cells, "xc7").as_dict(), "cells": r.cells, "seconds": round(r.seconds, 2),
           "module": hdl.module}
    hit.write_text(json.dumps(row))
    shutil.rmtree(work, ignore_errors=True)
    return row


# ---------------------------------------------------------------- fit

def collect(say) -> list[tuple[object, dict]]:
    """(stage, measured) for every distinct block instance of the sweep designs."""
    seen, rows = set(), []
    tmp = cache_dir() / "builds"
    for label, onnx, calib, kw in sweep_designs():
        kw = dict(kw)
        if "target_ii" in kw:   # a factor of the design's default II
            res, _ = compile_design(onnx, calib, {"clock_mhz": kw["clock_mhz"]}, tmp / "probe")
            kw["target_ii"] = max(1, int(res.report["totals"]["expected_ii_cycles"] * kw["target_ii"]))
        try:
            _, design = compile_design(onnx, calib, kw, tmp / "sweep")
        except Exception as e:  # a folding the compiler refuses is no sweep point
            say(f"  {label}: skipped ({e})")
            continue
        for stage in design.stages:
            key = instance_key(stage)
            if key in seen:
                continue
            seen.add(key)
            t = time.time()
            rows.append((stage, synth_instance(stage)))
            say(f"  {label}: {stage.name} {rows[-1][1]['module']} -> "
                f"{ {k: rows[-1][1][k] for k in ('lut', 'ff', 'dsp', 'bram18')} } ({time.time() - t:.1f} s)")
    return rows


def structure_of_stage(stage):
    block = block_of_unit(stage.unit)
    return structure_of(block.hdl(stage.unit, "u"), block.memories(stage.unit, "u"))


def _design_matrix(priced, terms):
    return np.array([[p.get(t, 0.0) for t in terms] for p in priced], dtype=float)


def fit_kind(kind: str, points: list) -> dict:
    """NNLS of LUT and FF over the kind's terms; errors over the points."""
    from scipy.optimize import nnls

    structs = [(structure_of_stage(s), m) for s, m in points]
    priced = [price(st, DEVICE) for st, _ in structs]
    child = []
    for (st, _), (stage, _) in zip(structs, points):
        lut = ff = 0.0
        for c in st.children + feeding_fifos(stage):
            e = estimate(c, DEVICE)
            lut, ff = lut + e.lut, ff + e.ff
        child.append((lut, ff))
    out = {"points": len(points)}
    for res in ("lut", "ff"):
        terms = sorted({t for p in priced for t in (p.lut_terms if res == "lut" else p.ff_terms)})
        a = _design_matrix([p.lut_terms if res == "lut" else p.ff_terms for p in priced], terms)
        exact = np.array([(p.lut_exact if res == "lut" else p.ff_exact) + c[0 if res == "lut" else 1]
                          for p, c in zip(priced, child)])
        y = np.array([m[res] for _, m in structs], dtype=float)
        # Rows weighted by 1/sqrt(size): the big instances do not drown the small ones' error.
        w = 1 / np.sqrt(np.maximum(y, 10))
        coef, _ = nnls(a * w[:, None], (y - exact) * w)
        pred = a @ coef + exact
        rel = np.abs(pred - y) / np.maximum(y, 1)
        out[res] = {t: round(float(c), 5) for t, c in zip(terms, coef)}
        out[f"{res}_mean_rel_err"] = round(float(rel.mean()), 4)
        out[f"{res}_max_rel_err"] = round(float(rel.max()), 4)
    mism = [(s.name, p.dsp, m["dsp"], p.bram18 + sum(estimate(c, DEVICE).bram18 for c in st.children), m["bram18"])
            for (s, m), p, (st, _) in zip(points, priced, structs)]
    out["dsp_bram_mismatches"] = [{"stage": n, "dsp_model": a, "dsp_synth": b, "bram18_model": c, "bram18_synth": d}
                                  for n, a, b, c, d in mism if a != b or abs(c - d) > 1e-6]
    return out


def write_fit_module(coeffs: dict) -> None:
    lines = ['"""Fitted coefficients of the resource model (hw/resource_model.py), per block kind.',
             "", f"Written by benchmarks/resource_model.py --fit against Yosys `{SYNTH}`; do not edit.", '"""',
             "", f"FLOW = {SYNTH.split()[-1]!r}", "", "COEFFICIENTS = {"]
    for kind in sorted(coeffs):
        c = coeffs[kind]
        lines.append(f"    {kind!r}: {{")
        for res in ("lut", "ff"):
            lines.append(f"        {res!r}: {{" + ", ".join(f"{t!r}: {v!r}" for t, v in sorted(c[res].items()))
                         + "},")
        lines.append("    },")
    lines.append("}")
    FIT_MODULE.write_text("\n".join(lines) + "\n")


def run_fit(say) -> dict:
    t0 = time.time()
    rows = collect(say)
    by_kind: dict[str, list] = {}
    for stage, m in rows:
        st = structure_of_stage(stage)
        by_kind.setdefault(st.kind, []).append((stage, m))
        # Inner FIFOs are no sweep points of their own: the standalone FIFOs are.
    kinds = [k for k in FIT_ORDER if k in by_kind] + sorted(k for k in by_kind if k not in FIT_ORDER)
    report = {}
    for kind in kinds:
        report[kind] = fit_kind(kind, by_kind[kind])
        resource_fit.COEFFICIENTS[kind] = {"lut": report[kind]["lut"], "ff": report[kind]["ff"]}
        say(f"{kind}: {report[kind]['points']} points, LUT mean/max rel err {report[kind]['lut_mean_rel_err']}/"
            f"{report[kind]['lut_max_rel_err']}, FF {report[kind]['ff_mean_rel_err']}/{report[kind]['ff_max_rel_err']}, "
            f"DSP/BRAM mismatches {len(report[kind]['dsp_bram_mismatches'])}")
    write_fit_module({k: resource_fit.COEFFICIENTS[k] for k in kinds})
    out = {"synth": SYNTH, "instances": len(rows), "seconds": round(time.time() - t0, 1), "kinds": report}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "resource_fit.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


# ---------------------------------------------------------------- check

def synth_design(build: Path, top: str) -> dict:
    """Whole-design synth_xilinx counts of a build, cached by its RTL's hash."""
    h = hashlib.sha256(SYNTH.encode())
    for f in sorted((build / "rtl").iterdir()):
        h.update(f.name.encode() + f.read_bytes())
    hit = cache_dir() / f"design_{h.hexdigest()[:24]}.json"
    if hit.exists():
        return json.loads(hit.read_text())
    r = synthesize(build / "rtl", top, out_dir=build / "synth_xc7", synth=SYNTH)
    row = {**count_cells(r.cells, "xc7").as_dict(), "cells": r.cells, "seconds": round(r.seconds, 2)}
    hit.write_text(json.dumps(row))
    return row


# Foldings no sweep point has (twice the default II): how the fit does outside its points.
OUT_OF_SAMPLE = (("digits MLP (w8a8)", 2), ("digits CNN (w8a8)", 2), ("W2A2 CNN", 2))


def check_designs():
    """(label, onnx, calib, kwargs, factor of the default II or None)."""
    designs = example_designs()
    out = [(name, *d, None) for name, d in designs.items()]
    return out + [(f"{name} at 2x the default II (not in the fit)", *designs[name][:2], {}, f)
                  for name, f in OUT_OF_SAMPLE]


def run_check(say) -> dict:
    from finn_estimate import tfc_estimate

    rows = {}
    for name, onnx, calib, kw, factor in check_designs():
        build = cache_dir() / "builds" / "check"
        if factor is not None:
            res, _ = compile_design(onnx, calib, kw, build)
            kw = {"target_ii": res.report["totals"]["expected_ii_cycles"] * factor}
        res, _ = compile_design(onnx, calib, kw, build)
        est = res.report["resources"]
        syn = synth_design(build, res.report["top"])
        row = {"estimate": {k: est[k] for k in ("lut", "ff", "dsp", "bram18")},
               "synth": {k: syn[k] for k in ("lut", "ff", "dsp", "bram18")}, "synth_seconds": syn["seconds"],
               "folding": [(l["pe"], l["simd"]) for l in res.report["layers"]]}
        for k in ("lut", "ff"):
            row[f"{k}_rel_err"] = round((est[k] - syn[k]) / syn[k], 4)
        row["dsp_match"] = est["dsp"] == syn["dsp"]
        row["bram_match"] = abs(est["bram18"] - syn["bram18"]) < 1e-6
        if "TFC" in name:
            row["finn_estimate"] = tfc_estimate(res.report, kw["pe_simd"])
        rows[name] = row
        say(f"{name}: estimate {row['estimate']} synth {row['synth']}")
    out = {"synth": SYNTH, "device": DEVICE.name, "designs": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "resource_check.json").write_text(json.dumps(out, indent=1) + "\n")
    print(check_table(out))
    return out


def check_table(out: dict) -> str:
    lines = ["| design | LUT est / synth (err) | FF est / synth (err) | DSP est / synth | BRAM18 est / synth |",
             "|---|--:|--:|--:|--:|"]
    for name, r in out["designs"].items():
        e, s = r["estimate"], r["synth"]
        lines.append(f"| {name} | {e['lut']:,} / {s['lut']:,} ({100 * r['lut_rel_err']:+.1f}%) | "
                     f"{e['ff']:,} / {s['ff']:,} ({100 * r['ff_rel_err']:+.1f}%) | {e['dsp']} / {s['dsp']} | "
                     f"{e['bram18']:g} / {s['bram18']:g} |")
    for name, r in out["designs"].items():
        if "finn_estimate" in r:
            f = r["finn_estimate"]
            lines.append(f"| {name}: FINN's own estimate (MVAU formulas) | {f['lut']:,} | — | {f['dsp']} | "
                         f"{f['bram18']:g} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if not (a.fit or a.check):
        ap.error("give --fit, --check or both")
    say = lambda m: print(m, flush=True)  # noqa: E731
    if a.fit:
        run_fit(say)
    if a.check:
        run_check(say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
