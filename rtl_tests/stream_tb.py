"""cocotb tests for any block with one s_axis input and one m_axis output.

The pytest side (test_*.py) writes a case file (see cases.StreamCase) and
points HWCOMP_CASE at it: the input words, the exact expected output words,
and the cycle model to hold the block to.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from axis import StreamTB

# (p_valid, p_ready): random tvalid gaps and tready stalls, alone and together.
STALL_PROFILES = ((0.6, 0.6), (1.0, 0.25), (0.3, 1.0))


def load_case() -> dict:
    with open(os.environ["HWCOMP_CASE"]) as f:
        return json.load(f)


def input_lasts(case: dict) -> list[int]:
    beats = case["in_beats"]
    return [int(i % beats == beats - 1) for i in range(len(case["in_words"]))]


def check_outputs(case: dict, beats) -> None:
    got = [b.data for b in beats]
    want = case["out_words"]
    assert len(got) == len(want), f"{len(got)} words, want {len(want)}"
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    if bad:
        i = bad[0]
        raise AssertionError(f"{len(bad)} wrong words; first is word {i}: got {got[i]:#x}, want {want[i]:#x}")
    if case["check_tlast"]:
        per = case["out_beats"]
        lasts = [b.last for b in beats]
        assert lasts == [int(i % per == per - 1) for i in range(len(beats))], f"tlast pattern {lasts}"


def max_cycles(case: dict, slowdown: float) -> int:
    return int(len(case["in_words"]) * case["ii"] * slowdown) + 200


@cocotb.test()
async def full_rate(dut):
    """No gaps, no stalls: exact outputs, and cycles match the cycle model."""
    case = load_case()
    tb = StreamTB(dut)
    await tb.reset()
    t = await tb.transfer(case["in_words"], input_lasts(case), len(case["out_words"]),
                          1.0, 1.0, case["seed"], max_cycles(case, 2))
    check_outputs(case, t.beats)

    # Steady state: consecutive output vectors start exactly `ii` cycles apart.
    per = case["out_beats"]
    starts = [b.cycle for b in t.beats[::per]]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    steady = gaps[len(gaps) // 2:]
    assert steady and all(g == case["ii"] for g in steady), f"vector intervals {gaps}, want {case['ii']}"
    if case.get("span") is not None:
        span = t.beats[-1].cycle - t.sent_cycles[0]
        assert span == case["span"], f"first input to last output took {span} cycles, want {case['span']}"


@cocotb.test()
async def random_stalls(dut):
    """Random tvalid gaps and tready stalls: nothing lost, duplicated or changed."""
    case = load_case()
    tb = StreamTB(dut)
    for k, (p_valid, p_ready) in enumerate(STALL_PROFILES):
        await tb.reset()
        t = await tb.transfer(case["in_words"], input_lasts(case), len(case["out_words"]),
                              p_valid, p_ready, case["seed"] * 10 + k,
                              max_cycles(case, 4 / min(p_valid, p_ready)))
        check_outputs(case, t.beats)


@cocotb.test()
async def capacity(dut):
    """With the sink stalled, the block accepts exactly `capacity` words (FIFOs only)."""
    case = load_case()
    if case.get("capacity") is None:
        return
    tb = StreamTB(dut)
    await tb.reset()
    src = tb.source
    accepted = 0
    src.tvalid.value = 1
    for _ in range(case["capacity"] + 5):
        src.tdata.value = case["in_words"][accepted % len(case["in_words"])]
        await ReadOnly()
        accepted += int(src.tready.value)
        await RisingEdge(dut.clk)
    src.idle()
    assert accepted == case["capacity"], f"accepted {accepted} words, capacity {case['capacity']}"
