"""simulate_build: run a compiled design in Verilator (or Icarus) over a data
set and check every output word against the IR executor; write sim.json."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from hwcomp.compile import load_npz, shape_batch
from hwcomp.design_file import DesignFile
from hwcomp.errors import HwcompError
from hwcomp.hw.design import pack_pixels, unpack_pixels
from hwcomp.ir.execute import execute
from hwcomp.ir.serialize import load_graph
from hwcomp.outdir import read_manifest, write_atomic
from hwcomp.report.html_report import refresh_html_report
from hwcomp.sim.build_cache import SIMULATORS, check_simulator
from hwcomp.sim.stream import run_stream


def accuracy(out: np.ndarray, y: np.ndarray | None) -> float | None:
    if y is None:
        return None
    pred = np.asarray(out).reshape(len(out), -1).argmax(axis=1)
    return float((pred == np.asarray(y).reshape(-1)).mean())


def simulate_build(build_dir: str | Path, data: str | Path | tuple[np.ndarray, np.ndarray | None],
                   stall_prob: float = 0.0, seed: int = 1, limit: int | None = None,
                   progress: Callable[[str], None] | None = None,
                   simulator: str = SIMULATORS[0]) -> dict:
    say = progress or (lambda _m: None)
    check_simulator(simulator)
    root = Path(build_dir).resolve()
    read_manifest(root)
    d = DesignFile.read(root / "design.json")
    report = json.loads((root / "report.json").read_text())
    fg, hw = load_graph(root / "ir" / "float"), load_graph(root / "ir" / "hw")
    if isinstance(data, tuple):
        x, y = data
        source = "data"
    else:
        x, y = load_npz(Path(data))
        source = str(data)
    x = shape_batch(fg, x, source)
    if limit:
        x, y = x[:limit], (y[:limit] if y is not None else None)
    if y is not None and len(y) != len(x):
        raise HwcompError(f"{source}: {len(x)} samples in 'x' but {len(y)} labels in 'y'")
    say(f"executing the IR on {len(x)} samples")
    float_out = execute(fg, {fg.inputs[0]: x})[fg.outputs[0]]
    ref = execute(hw, {hw.inputs[0]: x}, keep_all=True)
    hw_in, hw_out = ref[d.hw_input].reshape(len(x), -1), ref[d.hw_output].reshape(len(x), -1)
    words = pack_pixels(hw_in, d.in_pixels, d.in_lanes, d.in_width)
    say(f"simulating {len(x)} samples in {simulator}")
    # Between the last input and the first output beat, one image crosses every layer:
    # no top-level handshake for that long is normal, not a deadlock.
    idle = 1_000_000 + 4 * sum(b["cycles"] for b in report["layers"] + report["blocks"])
    res = run_stream(root / "rtl", d.top, [root / s for s in d.sources], words, d.out_beats,
                     d.s_tdata_width, d.m_tdata_width, stall_prob=stall_prob, seed=seed,
                     idle_timeout_cycles=idle, simulator=simulator,
                     work_dir=root / "sim_build" / simulator,  # one per simulator: runs may overlap
                     progress=lambda done, total: say(f"RTL: {done}/{total} samples"))
    rtl = unpack_pixels(res.out_words, d.out_pixels, d.out_lanes, d.out_width, d.out_signed,
                        d.out_elems)
    bad = np.flatnonzero((rtl != hw_out).any(axis=1))
    # The RTL result continues through the host part of the graph (dequantize, softmax).
    rtl_final = execute(hw, {hw.inputs[0]: x, d.hw_output: rtl.reshape(ref[d.hw_output].shape)})[hw.outputs[0]]
    ideal = report["totals"]["ideal_ii_cycles"]
    result = {
        "samples": int(len(x)),
        "mismatches": int(len(bad)),
        "first_mismatches": [int(i) for i in bad[:10]],
        "bit_exact": bool(len(bad) == 0),
        "accuracy_float": accuracy(float_out, y),
        "accuracy_fixed": accuracy(ref[hw.outputs[0]], y),
        "accuracy_rtl": accuracy(rtl_final, y),
        "latency_cycles": res.latency_cycles,
        "ii_cycles": res.ii_cycles,
        "ideal_ii_cycles": ideal,
        "expected_ii_cycles": report["totals"]["expected_ii_cycles"],
        "pe_utilization": round(ideal / res.ii_cycles, 4) if res.ii_cycles else None,
        "total_cycles": res.total_cycles,
        "stall_prob": stall_prob,
        "seed": seed,
        "simulator": simulator,
    }
    # atomic: an interrupted run leaves the previous sim.json (or none), never half of one
    write_atomic(root / "sim.json", json.dumps(result, indent=1, sort_keys=True) + "\n")
    refresh_html_report(root)
    return result
