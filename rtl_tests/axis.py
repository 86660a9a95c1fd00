"""Valid/ready stream source and sink for cocotb 2.x, and a small TB class.

Handshakes are sampled in the ReadOnly phase before a rising edge, so what
the drivers see is exactly what the DUT's registers see at that edge. Gaps
(tvalid low) and stalls (tready low) come from a seeded random.Random, so a
failing run repeats exactly.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

PERIOD_NS = 10


def cycle_now() -> int:
    return int(get_sim_time("ns")) // PERIOD_NS


@dataclass
class Beat:
    data: int
    last: int | None                        # None when the port has no tlast
    cycle: int                              # cycle of the handshake


class StreamSource:
    """Drives s_axis_*: words in order, with random gaps between them."""

    def __init__(self, dut, prefix: str = "s_axis"):
        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.tlast = getattr(dut, f"{prefix}_tlast", None)
        self.idle()

    def idle(self) -> None:
        self.tvalid.value = 0
        self.tdata.value = 0
        if self.tlast is not None:
            self.tlast.value = 0

    async def send(self, words: list[int], lasts: list[int], p_valid: float, rng: random.Random) -> list[int]:
        """Send every word; return the handshake cycle of each."""
        cycles = []
        valid = False
        i = 0
        while i < len(words):
            if not valid and rng.random() < p_valid:
                # AXI: once tvalid is high it stays high until the handshake.
                self.tdata.value = words[i]
                if self.tlast is not None:
                    self.tlast.value = lasts[i]
                self.tvalid.value = 1
                valid = True
            await ReadOnly()
            fire = valid and int(self.tready.value) == 1
            cycle = cycle_now()
            await RisingEdge(self.clk)
            if fire:
                cycles.append(cycle)
                i += 1
                valid = False
                self.tvalid.value = 0
        return cycles


class StreamSink:
    """Drives m_axis_tready low at random; collects the words handed over."""

    def __init__(self, dut, prefix: str = "m_axis"):
        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.tlast = getattr(dut, f"{prefix}_tlast", None)
        self.tready.value = 0

    async def receive(self, count: int, p_ready: float, rng: random.Random, max_cycles: int) -> list[Beat]:
        beats: list[Beat] = []
        for _ in range(max_cycles):
            if len(beats) == count:
                break
            ready = rng.random() < p_ready
            self.tready.value = int(ready)
            await ReadOnly()
            if ready and int(self.tvalid.value) == 1:
                last = None if self.tlast is None else int(self.tlast.value)
                beats.append(Beat(int(self.tdata.value), last, cycle_now()))
            await RisingEdge(self.clk)
        else:
            raise AssertionError(f"timeout: {len(beats)} of {count} words after {max_cycles} cycles")
        self.tready.value = 0
        return beats


@dataclass
class Transfer:
    sent_cycles: list[int]
    beats: list[Beat] = field(default_factory=list)


class StreamTB:
    """Clock, reset, one source on s_axis and one sink on m_axis."""

    def __init__(self, dut):
        self.dut = dut
        self.source = StreamSource(dut)
        self.sink = StreamSink(dut)
        Clock(dut.clk, PERIOD_NS, unit="ns").start()

    async def reset(self, cycles: int = 3) -> None:
        self.source.idle()
        self.sink.tready.value = 0
        self.dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def transfer(self, words, lasts, out_count, p_valid, p_ready, seed, max_cycles) -> Transfer:
        """Send `words` while collecting `out_count` words, each side with its own random stream."""
        send = cocotb.start_soon(self.source.send(words, lasts, p_valid, random.Random(seed)))
        beats = await self.sink.receive(out_count, p_ready, random.Random(seed + 1), max_cycles)
        sent = await send
        return Transfer(sent, beats)
