"""`hwcomp estimate`: a build's real resources from Yosys and, on ECP5 / iCE40, its
clock rate from nextpnr, written to build/resources.json.

Steps (each a Yosys or nextpnr run, in build/synth/<device>/):
1. flat/: the whole design synthesized flattened with the device's flow: the
   totals, since that is what the chip holds;
2. hier/: the same flow keeping the hierarchy: per module, each instance in
   the top with its submodules. Nothing is optimized across a module boundary
   there, so the per-module sum (`per_module_total`) is near the flat total,
   not equal to it;
3. with `pnr`, pnr/: the design inside the pin shell (pnr_shell.py),
   synthesized again and placed and routed by nextpnr at the target clock.
A design whose synthesized cells exceed the device is refused before placing.
resources.json is written only when every step succeeded, in one rename; a
stale one is removed first, so an interrupted or failed run leaves none.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from hwcomp.design_file import DesignFile
from hwcomp.devices import Device, device
from hwcomp.errors import HwcompError
from hwcomp.outdir import read_manifest, write_atomic
from hwcomp.report.html_report import refresh_html_report
from hwcomp.synth.cells import RESOURCES, count_cells
from hwcomp.synth.nextpnr import place_and_route
from hwcomp.synth.pnr_shell import SHELL_PINS, SHELL_TOP, write_shell
from hwcomp.synth.yosys import SynthResult, synthesize

RESOURCES_FILE = "resources.json"
DEFAULT_DEVICE = "xc7z020"
DEFAULT_CLOCK_MHZ = 100.0
PER_MODULE_METHOD = ("hierarchy kept: a second Yosys run of the same flow without flattening; each instance in "
                     "the top counts its module's cells and its submodules'. Nothing is optimized across module "
                     "boundaries there, so their sum (per_module_total) is not the flattened total; "
                     "per_module_gap_percent says by how much")

# progress(label) -> a context manager around one long step (the CLI's shows a spinner and elapsed time).
Progress = Callable[[str], AbstractContextManager]


def estimate_build(build_dir: str | Path, device: str | None = None, pnr: bool = False,
                   clock_mhz: float = DEFAULT_CLOCK_MHZ, progress: Progress | None = None) -> dict:
    """Synthesize the build in `build_dir` for `device` (default: the compile's device, else
    xc7z020), with `pnr` also place and route it, write resources.json and return its contents."""
    root = Path(build_dir)
    if not root.is_dir():
        raise HwcompError(f"{root}: build directory not found")
    read_manifest(root)
    design = DesignFile.read(root / "design.json")
    out_file = root / RESOURCES_FILE
    out_file.unlink(missing_ok=True)  # whatever follows, a stale estimate must not pass for this one
    dev = _device(root, device)
    if not clock_mhz > 0:
        raise HwcompError(f"--clock must be a positive rate in MHz, got {clock_mhz:g}")
    if pnr and not dev.pnr:
        raise HwcompError(f"{dev.name}: no open place and route for {dev.vendor} devices (nextpnr covers "
                          "ECP5 and iCE40); run without --pnr, or choose an ECP5 or iCE40 device")
    step = progress or (lambda label: nullcontext())
    flow, work = dev.flow, root / "synth" / dev.name
    rtl, sources = root / "rtl", [root / s for s in design.sources]

    with step(f"synthesizing with {dev.synth} (flattened)"):
        flat = synthesize(rtl, design.top, sources, out_dir=work / "flat", synth=dev.synth)
    with step(f"synthesizing with {dev.synth}, hierarchy kept (per module)"):
        hier = synthesize(rtl, design.top, sources, out_dir=work / "hier", synth=dev.synth, flatten=False)
    total = count_cells(flat.cells, flow).as_dict()
    per_module = per_instance(hier, flow)
    module_sum = _sum(per_module.values())
    result = {
        **total, "device": dev.name, "top": design.top, "synth": dev.synth, "flow": flow,
        "per_module": per_module, "per_module_method": PER_MODULE_METHOD,
        "per_module_total": module_sum, "per_module_gap_percent": _gap(module_sum, total), "cells": flat.cells,
        "utilization": dev.utilization(total), "shortfall": _shortfall(total, dev),
        "yosys_seconds": round(flat.seconds + hier.seconds, 2),
        "yosys_warnings": list(dict.fromkeys(flat.warnings + hier.warnings)),
        "yosys_log": str(flat.log.relative_to(root.resolve())),
    }
    if pnr:
        if result["shortfall"]:
            raise HwcompError(f"{design.top} does not fit {dev.name}: {'; '.join(result['shortfall'])} "
                              f"(Yosys {dev.synth}); not placing and routing it")
        shell = write_shell(work / "pnr" / f"{SHELL_TOP}.v", design.top, design.s_tdata_width, design.m_tdata_width)
        with step(f"synthesizing the place-and-route shell with {dev.synth}"):
            shelled = synthesize(rtl, SHELL_TOP, [*sources, shell], out_dir=work / "pnr", synth=dev.synth,
                                 netlist=True)
        with step(f"placing and routing with {dev.pnr[0]} at {clock_mhz:g} MHz"):
            placed = place_and_route(dev, shelled.netlist, work / "pnr", clock_mhz)
        result["yosys_seconds"] = round(result["yosys_seconds"] + shelled.seconds, 2)
        result["yosys_warnings"] = list(dict.fromkeys(result["yosys_warnings"] + list(shelled.warnings)))
        result.update(fmax_mhz=placed.fmax_mhz, clock_mhz=clock_mhz, timing_met=placed.timing_met)
        details = {k: v for k, v in placed.as_dict().items() if k not in ("fmax_mhz", "clock_mhz", "timing_met")}
        for key in ("log", "report"):
            details[key] = str(Path(details[key]).relative_to(root.resolve()))
        result["pnr"] = {
            "tool": " ".join(dev.pnr), **details,
            "io": (f"the design inside {SHELL_TOP} ({SHELL_PINS} pins; TDATA shifted through one pin each way, "
                   "every other port registered; hwcomp/synth/pnr_shell.py): nextpnr's utilization includes "
                   f"its {design.s_tdata_width + design.m_tdata_width + 6} flip-flops and the output "
                   "register's multiplexers"),
        }
    write_atomic(out_file, json.dumps(result, indent=1) + "\n")
    refresh_html_report(root)   # the page shows the synthesized numbers beside the estimate
    return result


def per_instance(hier: SynthResult, flow: str) -> dict[str, dict]:
    """LUT/FF/DSP/bram18 of each submodule instance in the top (its whole subtree), and of the
    top's own cells under the top's name when they count anything."""
    memo: dict[str, Counter] = {}

    def subtree(module: str) -> Counter:
        if module not in memo:
            total = Counter()
            for cell, n in hier.modules[module].items():
                total.update({t: k * n for t, k in subtree(cell).items()} if cell in hier.modules else {cell: n})
            memo[module] = total
        return memo[module]

    out = {inst: count_cells(subtree(mod), flow).as_dict() for inst, mod in hier.instances.items()}
    glue = count_cells({c: n for c, n in hier.modules[hier.top].items() if c not in hier.modules}, flow).as_dict()
    if any(glue.values()):
        out[hier.top] = glue
    return out


def _device(root: Path, name: str | None) -> Device:
    if name is not None:
        return device(name)
    report = root / "report.json"
    if report.is_file():
        try:
            recorded = json.loads(report.read_text()).get("options", {}).get("device")
        except (OSError, ValueError, AttributeError) as e:
            raise HwcompError(f"{report}: cannot read ({e})") from None
        if recorded:
            return device(recorded)
    return device(DEFAULT_DEVICE)


def _sum(counts) -> dict:
    total = dict.fromkeys(RESOURCES, 0)
    for c in counts:
        for r in RESOURCES:
            total[r] += c[r]
    total["bram18"] = round(total["bram18"], 3)
    return total


def _gap(module_sum: dict, total: dict) -> dict:
    return {r: round(100 * (module_sum[r] - total[r]) / total[r], 1) if total[r] else None for r in RESOURCES}


def _shortfall(total: dict, dev: Device) -> list[str]:
    return [f"{r.upper()} {round(total[r], 2):g} of {round(cap, 2):g} ({round(total[r] - cap, 2):g} short)"
            for r, cap in dev.capacity.items() if total[r] > cap]


def format_estimate(r: dict) -> str:
    """The CLI's summary of a resources.json."""
    head = f"{'':<20}{'LUT':>8}{'FF':>8}{'DSP':>7}{'BRAM18':>8}"
    def row(name, c):
        return f"{name:<20}{c['lut']:>8,}{c['ff']:>8,}{c['dsp']:>7,}{c['bram18']:>8g}"
    util = r["utilization"]
    lines = [f"{r['top']} on {r['device']} ({r['synth']}, Yosys {r['yosys_seconds']:.1f} s)", head,
             *(row(k, v) for k, v in r["per_module"].items()),
             row("sum of modules", r["per_module_total"]), row("total (flattened)", r),
             f"{'of the device':<20}" + "".join(f" {100 * util[k]:>{w - 2}.1f}%" for k, w in
                                              (("lut", 8), ("ff", 8), ("dsp", 7), ("bram18", 8)))]
    if r["shortfall"]:
        lines.append(f"does not fit {r['device']}: {'; '.join(r['shortfall'])}")
    if "fmax_mhz" in r:
        verdict = "met" if r["timing_met"] else "NOT met"
        lines.append(f"Fmax {r['fmax_mhz']:.2f} MHz, target {r['clock_mhz']:g} MHz {verdict} "
                     f"(nextpnr {r['pnr']['nextpnr_seconds']:.1f} s); critical path:")
        lines += [f"  {ln}" for ln in r["pnr"]["critical_path"]]
    return "\n".join(lines)
