"""cocotb tests for blocks with several valid/ready inputs and outputs
(hwcomp_add, hwcomp_fork, hwcomp_concat).

The pytest side (cases_stream.multi_case) writes a case file and points
HWCOMP_CASE at it: for every source port the words to send, for every sink
port the exact words expected, the number of images they hold and the cycle
model. Every port has its own random generator and probability, so gaps and
stalls are independent per port. The measured cycles per image are written
next to the case file (measured.json).
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from statistics import median

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from axis import PERIOD_NS, StreamSink, StreamSource

# Per profile: probabilities of tvalid for the sources and of tready for the
# sinks, port i taking entry i (the last entry repeats). Together they cover
# every port gapped or stalled alone, all of them at once, and one slow sink
# next to a fast one.
STALL_PROFILES = (
    ((0.6,), (0.6,)),
    ((1.0,), (0.25, 1.0)),
    ((1.0, 0.3), (1.0, 0.2)),
    ((0.3, 1.0), (1.0,)),
    ((0.8, 0.5), (0.5, 0.8)),
)
TOLERANCE = 0.05


def load_case() -> dict:
    with open(os.environ["HWCOMP_CASE"]) as f:
        return json.load(f)


def pick(probs: tuple[float, ...], i: int) -> float:
    return probs[min(i, len(probs) - 1)]


class MultiStreamTB:
    """Clock, reset, a source per input port and a sink per output port."""

    def __init__(self, dut, case: dict):
        self.dut = dut
        self.sources = [StreamSource(dut, p["port"]) for p in case["sources"]]
        self.sinks = [StreamSink(dut, p["port"]) for p in case["sinks"]]
        Clock(dut.clk, PERIOD_NS, unit="ns").start()

    async def reset(self, cycles: int = 3) -> None:
        for s in self.sources:
            s.idle()
        for s in self.sinks:
            s.tready.value = 0
        self.dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def transfer(self, case: dict, p_valid, p_ready, seed: int):
        """Run every source and sink at once; return the sources' handshake cycles
        and the sinks' beats."""
        slowest = min(min(p_valid), min(p_ready))
        words = max(len(p["words"]) for p in case["sources"] + case["sinks"])
        limit = int(4 * words / slowest) + 500
        sends = [
            cocotb.start_soon(src.send(p["words"], [0] * len(p["words"]), pick(p_valid, i),
                                       random.Random(seed * 100 + i)))
            for i, (src, p) in enumerate(zip(self.sources, case["sources"]))
        ]
        receives = [
            cocotb.start_soon(sink.receive(len(p["words"]), pick(p_ready, i), random.Random(seed * 100 + 50 + i),
                                           limit))
            for i, (sink, p) in enumerate(zip(self.sinks, case["sinks"]))
        ]
        beats = [await r for r in receives]
        sent = [await s for s in sends]
        return sent, beats


def check_outputs(case: dict, all_beats) -> None:
    for p, beats in zip(case["sinks"], all_beats):
        got, want = [b.data for b in beats], p["words"]
        assert len(got) == len(want), f"{p['port']}: {len(got)} words, want {len(want)}"
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        if bad:
            i = bad[0]
            raise AssertionError(f"{p['port']}: {len(bad)} wrong words; first is word {i}: "
                                 f"got {got[i]:#x}, want {want[i]:#x}")


def image_interval(beats, images: int) -> float:
    """Median cycles between the starts of consecutive images, second half of the run."""
    per = len(beats) // images
    starts = [b.cycle for b in beats[::per]]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    return median(gaps[len(gaps) // 2:])


@cocotb.test()
async def full_rate(dut):
    """No gaps, no stalls: exact outputs; cycles per image within 5% of the cycle model."""
    case = load_case()
    tb = MultiStreamTB(dut, case)
    await tb.reset()
    sent, beats = await tb.transfer(case, (1.0,), (1.0,), case["seed"])
    check_outputs(case, beats)

    model = case["cycles_per_image"]
    measured = {p["port"]: image_interval(b, case["images"]) for p, b in zip(case["sinks"], beats)}
    span = max(b[-1].cycle for b in beats) - min(c[0] for c in sent)
    Path(os.environ["HWCOMP_CASE"]).with_name("measured.json").write_text(
        json.dumps({"cycles_per_image": measured, "model": model, "span": span, "span_model": case["span"]}))
    for port, cycles in measured.items():
        assert abs(cycles - model) <= TOLERANCE * model, f"{port}: {cycles} cycles per image, model {model}"
    assert span == case["span"], f"first input to last output took {span} cycles, want {case['span']}"


@cocotb.test()
async def random_stalls(dut):
    """Independent random tvalid gaps and tready stalls: nothing lost, duplicated or changed."""
    case = load_case()
    tb = MultiStreamTB(dut, case)
    for k, (p_valid, p_ready) in enumerate(STALL_PROFILES):
        await tb.reset()
        _, beats = await tb.transfer(case, p_valid, p_ready, case["seed"] * 10 + k)
        check_outputs(case, beats)
