"""Bulk RTL simulation of a streaming design: many vectors, no Python per cycle.

`run_stream` renders the Verilog testbench (templates/sim/stream_tb.v.j2)
around the design's AXI4-Stream top, gets a simulator from the build cache,
writes the input beats to files, runs cocotb + Verilator (or Icarus) once, and
reads the output beats and cycle stamps back. Both simulators run the same
testbench and the same cocotb module.

The simulator runs in a work directory holding links to every non-Verilog
file of the design directory, so `$readmemh("w0.mem", ...)` with a plain file
name finds the design's memory files there, read fresh on every run.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from hwcomp.resources import templates_dir
from hwcomp.sim.build_cache import SIM_TOP, SIMULATORS, SimBuild, build_simulator, check_simulator
from hwcomp.sim.errors import DeadlockError, SimulationError

log = logging.getLogger(__name__)

COCOTB_MODULE = "hwcomp.sim.stream_cocotb"
VERILOG_SUFFIXES = (".v", ".sv", ".vh", ".svh")
FILE_PREFIX = "hwcomp_tb_"            # every file the testbench reads or writes
CHUNK_BYTES = 1 << 21                 # target size of one in-memory data chunk
MAX_CHUNK_BEATS = 1 << 16
RUN_CHUNK_BEATS: int | None = None    # tests set a small value to exercise chunk reloads
DEFAULT_IDLE_TIMEOUT = 1_000_000      # cycles without any handshake = deadlock
PROGRESS_INTERVAL_S = 0.5
LOG_INTERVAL_S = 10.0
# How each simulator's run log starts a warning or error line (a $readmem problem).
LOG_PROBLEM_PREFIXES = {"verilator": ("%Warning", "%Error"), "icarus": ("WARNING:", "ERROR:")}

Progress = Callable[[int, int], None]   # (vectors done, vectors total)


@dataclass(frozen=True, eq=False)
class StreamResult:
    """Outputs and timing of one run. Cycles count from reset release; a beat's
    cycle is the clock edge that completes its handshake."""

    out_words: np.ndarray          # object [samples, out_beats], python ints
    latency_cycles: int            # first input beat accepted -> first output beat
    ii_cycles: float | None        # steady-state cycles per vector (None below 2 vectors)
    total_cycles: int              # reset release -> last output beat
    in_cycles: np.ndarray          # int64 [samples, 2]: first, last accepted beat of each input
    out_cycles: np.ndarray         # int64 [samples, 2]: first, last beat of each output
    build: SimBuild                # which simulator ran, and whether this call built it
    sim_seconds: float             # wall time of the simulation itself


def run_stream(
    design_dir: Path,
    top: str,
    sources: Sequence[Path],
    in_words: np.ndarray,
    out_beats: int,
    s_width: int,
    m_width: int,
    stall_prob: float = 0.0,
    seed: int = 1,
    work_dir: Path | None = None,
    progress: Progress | None = None,
    idle_timeout_cycles: int = DEFAULT_IDLE_TIMEOUT,
    simulator: str = SIMULATORS[0],
) -> StreamResult:
    """Stream `in_words` ([samples, in_beats] TDATA words) through `top`.

    `sources` are Verilog files (relative to `design_dir` or absolute).
    `stall_prob` is the probability, per cycle, of a tvalid gap on the input
    and, independently, of a tready stall on the output; keep it 0 when
    measuring II. `work_dir` keeps the run's files (default: a temporary
    directory, removed after a successful run). Raises DeadlockError when no
    handshake happens for `idle_timeout_cycles` cycles. `simulator` is
    "verilator" or "icarus" (slower; a second opinion on the same testbench).
    """
    check_simulator(simulator)
    design_dir = Path(design_dir).resolve()
    in_words = np.asarray(in_words, dtype=object)
    _check_args(in_words, out_beats, s_width, m_width, stall_prob, idle_timeout_cycles)
    samples, in_beats = in_words.shape
    depth = _chunk_beats(max(s_width, m_width))
    tb_text = render_testbench(top, s_width, m_width, in_beats, out_beats, depth)
    chunk = min(depth, RUN_CHUNK_BEATS or depth)
    build = build_simulator([design_dir / s for s in sources], tb_text, simulator)

    keep = work_dir is not None
    work = Path(work_dir).resolve() if keep else Path(tempfile.mkdtemp(prefix="hwcomp-sim-"))
    _prepare_work_dir(work, design_dir)
    _write_chunks(work, "in", in_words.reshape(-1), s_width, chunk)
    plusargs = [
        f"+vectors={samples}",
        f"+stall_seed={seed & 0xFFFFFFFF}",  # not +seed: cocotb reads that one
        f"+gap={_threshold(stall_prob)}",
        f"+stall={_threshold(stall_prob)}",
        f"+idle_limit={idle_timeout_cycles}",
        f"+chunk={chunk}",
    ]
    start = time.perf_counter()
    _simulate(build, work, plusargs, samples, progress)
    sim_seconds = time.perf_counter() - start
    _check_memory_files(work, design_dir, simulator)

    result = _read_result(work, samples, in_beats, out_beats, idle_timeout_cycles, build, sim_seconds)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def render_testbench(top: str, s_width: int, m_width: int, in_beats: int, out_beats: int,
                     chunk_beats: int) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "sim")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("stream_tb.v.j2").render(
        top=top, s_width=s_width, m_width=m_width, in_beats=in_beats,
        out_beats=out_beats, chunk_beats=chunk_beats,
    )


def ii_from_stamps(out_cycles: np.ndarray) -> float | None:
    """Median gap between consecutive vectors' last output beats, over the
    second half of the run (the first vectors include pipeline fill)."""
    ends = out_cycles[:, 1]
    if len(ends) < 2:
        return None
    diffs = np.diff(ends)
    steady = diffs[len(diffs) // 2:] if len(diffs) >= 4 else diffs
    return float(np.median(steady))


# ---- helpers ----

def _check_args(in_words: np.ndarray, out_beats: int, s_width: int, m_width: int,
                stall_prob: float, idle_timeout_cycles: int) -> None:
    if in_words.ndim != 2 or in_words.shape[0] < 1 or in_words.shape[1] < 1:
        raise SimulationError(f"in_words must be [samples >= 1, in_beats >= 1], got shape {in_words.shape}")
    if out_beats < 1 or s_width < 1 or m_width < 1:
        raise SimulationError("out_beats, s_width and m_width must be positive")
    if not 0.0 <= stall_prob < 1.0:
        raise SimulationError(f"stall_prob must be in [0, 1), got {stall_prob}")
    if idle_timeout_cycles < 1:
        raise SimulationError("idle_timeout_cycles must be positive")
    lo, hi = in_words.min(), in_words.max()
    if lo < 0 or hi >> s_width:
        raise SimulationError(f"input words must fit in {s_width} unsigned bits, got range [{lo}, {hi}]")


def _chunk_beats(width: int) -> int:
    """Beats per data file: big enough that reloads are rare, small enough
    that the two chunk memories stay a few MB whatever the width."""
    beats = CHUNK_BYTES // max(1, (width + 7) // 8)
    return max(256, min(MAX_CHUNK_BEATS, 1 << (beats.bit_length() - 1)))


def _threshold(prob: float) -> int:
    return int(round(prob * 65536))


def _prepare_work_dir(work: Path, design_dir: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob(FILE_PREFIX + "*"):
        old.unlink()
    if work == design_dir:
        return
    for f in design_dir.iterdir():  # memory files, and folders that may hold them
        if f.suffix not in VERILOG_SUFFIXES and not f.name.startswith((FILE_PREFIX, ".")) and f != work:
            link = work / f.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(f)


def _write_chunks(work: Path, kind: str, words: np.ndarray, width: int, chunk: int) -> None:
    fmt = f"0{(width + 3) // 4}x"
    for k, start in enumerate(range(0, len(words), chunk)):
        text = "\n".join(format(int(w), fmt) for w in words[start:start + chunk])
        (work / f"{FILE_PREFIX}{kind}_{k}.hex").write_text(text + "\n")


def _simulate(build: SimBuild, work: Path, plusargs: list[str], samples: int,
              progress: Progress | None) -> None:
    """Run the simulator in a thread; poll its per-vector stamps for progress."""
    from cocotb_tools.runner import get_runner

    failure: list[BaseException] = []

    def run() -> None:
        try:
            get_runner(build.simulator).test(
                test_module=COCOTB_MODULE,
                hdl_toplevel=SIM_TOP,
                hdl_toplevel_lang="verilog",
                build_dir=build.directory,
                test_dir=work,
                plusargs=plusargs,
                extra_env={"COCOTB_LOG_LEVEL": "WARNING"},
                log_file=work / f"{FILE_PREFIX}sim.log",
                results_xml=str(work / f"{FILE_PREFIX}results.xml"),
            )
        except BaseException as e:  # noqa: BLE001 -- re-raised in the caller's thread
            failure.append(e)

    thread = threading.Thread(target=run, name="hwcomp-sim", daemon=True)
    thread.start()
    stamps = work / f"{FILE_PREFIX}out_cyc.txt"
    counter = _LineCounter(stamps)
    last_log = time.monotonic()
    reported = -1
    while thread.is_alive():
        thread.join(PROGRESS_INTERVAL_S)
        done = counter.count()
        if progress is not None and done != reported:
            progress(done, samples)
            reported = done
        elif time.monotonic() - last_log > LOG_INTERVAL_S:
            log.info("RTL simulation: %d of %d vectors", done, samples)
            last_log = time.monotonic()
    if failure:
        raise SimulationError(
            f"simulation failed ({failure[0]!r}): {_tail(work / f'{FILE_PREFIX}sim.log')}"
        ) from failure[0]
    if progress is not None and counter.count() != reported:
        progress(counter.count(), samples)


class _LineCounter:
    """Counts lines of a file another process appends to, reading only new bytes."""

    def __init__(self, path: Path):
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.lines
        self.offset += len(data)
        self.lines += data.count(b"\n")
        return self.lines


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"no log at {path}"
    return f"log {path}:\n" + "\n".join(text[-lines:])


def _check_memory_files(work: Path, design_dir: Path, simulator: str) -> None:
    """Verilator and Icarus only warn about a missing, short or oversized
    $readmemh file and run on with zeros; a simulation with wrong weights must
    not pass quietly. (The testbench reads its own chunks with an exact range,
    so every such message is about the design.)"""
    try:
        log_text = (work / f"{FILE_PREFIX}sim.log").read_text(errors="replace")
    except OSError:
        return
    problems = [ln.strip() for ln in log_text.splitlines()
                if ln.startswith(LOG_PROBLEM_PREFIXES[simulator]) and "$readmem" in ln]
    if problems:
        raise SimulationError(
            f"memory file problem: {' | '.join(problems[:5])} (memory files are found by "
            f"plain name in the design directory {design_dir}; run files: {work})"
        )


def _read_words(work: Path, kind: str, count: int) -> list[int]:
    words: list[int] = []
    k = 0
    while len(words) < count:
        path = work / f"{FILE_PREFIX}{kind}_{k}.hex"
        # Icarus' $writememh adds "// 0x<address>" comment lines; Verilator's does not.
        words.extend(int(tok, 16) for line in path.read_text().splitlines()
                     if not line.startswith("//") for tok in line.split())
        k += 1
    return words


def _read_stamps(path: Path) -> np.ndarray:
    return np.array(path.read_text().split(), dtype=np.int64).reshape(-1, 2)


def _read_result(work: Path, samples: int, in_beats: int, out_beats: int, idle_limit: int,
                 build: SimBuild, sim_seconds: float) -> StreamResult:
    summary = work / f"{FILE_PREFIX}summary.txt"
    if not summary.exists():
        raise SimulationError(
            f"simulation ended without a summary; {_tail(work / f'{FILE_PREFIX}sim.log')}"
        )
    status, cycles, beats_in, beats_out, tlast_errors = summary.read_text().split()
    cycles, beats_in, beats_out, tlast_errors = map(int, (cycles, beats_in, beats_out, tlast_errors))
    if status != "ok":
        raise DeadlockError(
            f"deadlock: no AXI4-Stream handshake for {idle_limit} cycles (stopped at cycle {cycles}); "
            f"received {beats_out} of {samples * out_beats} output beats "
            f"({beats_out // out_beats} of {samples} vectors); the design accepted "
            f"{beats_in} of {samples * in_beats} input beats (run files: {work})",
            beats_in=beats_in, beats_out=beats_out, cycles=cycles,
        )
    if tlast_errors:
        raise SimulationError(
            f"m_axis_tlast misplaced on {tlast_errors} of {beats_out} output beats "
            f"(expected on every {out_beats}th beat); run files: {work}"
        )
    words = _read_words(work, "out", samples * out_beats)
    out_words = np.empty((samples, out_beats), dtype=object)
    out_words.reshape(-1)[:] = words
    in_cycles = _read_stamps(work / f"{FILE_PREFIX}in_cyc.txt")
    out_cycles = _read_stamps(work / f"{FILE_PREFIX}out_cyc.txt")
    return StreamResult(
        out_words=out_words,
        latency_cycles=int(out_cycles[0, 0] - in_cycles[0, 0]),
        ii_cycles=ii_from_stamps(out_cycles),
        total_cycles=cycles,
        in_cycles=in_cycles,
        out_cycles=out_cycles,
        build=build,
        sim_seconds=sim_seconds,
    )
