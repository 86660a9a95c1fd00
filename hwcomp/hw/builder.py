"""Lowered graph + folding -> Design: the one builder for every design.

It walks the hardware region in topological order and asks each node's block
to add its stages. Streams carry channels-last pixels: C channels as
padded / lanes beats, channel c at `slots[c]` (concats leave gaps), tail lanes
zero. The builder places what joins blocks: a fork where a tensor is read
twice (its output buffers hold one image of beats each, so neither branch can
stall the other into a deadlock), a width converter wherever a block reads
its input at other lanes than the producer writes, FIFOs where blocks ask.

The folder (hw/folding.py) drives the same builder with `plan_only` (no
weights are laid out) and tries knob values node by node, rolling back the
ones it rejects, so the cycles it balances are the cycles of the stages that
will be built.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.numerics import ceil_div

from .blocks import block_of_op
from .blocks.base import Block
from .blocks.feature_maps import pixels
from .blocks.plumbing import DwcBlock, FifoBlock, ForkBlock
from .design import Design, FifoUnit, Stage, Stream
from .folding import Folding
from .pipeline import DEFAULT_CLOCK_MHZ, fifo_out_reg
from .region import hardware_region, region_io
from .stream_ops import ForkUnit
from .window import DwcParams


def top_name(graph_name: str) -> str:
    """A legal Verilog module name derived from the model name."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", graph_name).strip("_").lower() or "model"
    if not base[0].isalpha():
        base = "m_" + base
    return f"hwcomp_{base}"


@dataclass(frozen=True)
class Flow:
    """What a stream carries."""
    stream: str
    lanes: int
    width: int
    signed: bool
    slots: tuple[int, ...]   # where each logical channel sits in the padded pixel
    padded: int              # elements per pixel, a multiple of lanes
    vectors: int             # vectors per image
    window: int = 1          # pixels per vector (K*K out of a sliding window)

    @property
    def word(self) -> int:
        return self.lanes * self.width

    @property
    def beats(self) -> int:
        """Beats per image."""
        return self.vectors * self.window * (self.padded // self.lanes)

    @property
    def elems(self) -> int:
        """Elements per pixel a width converter must carry: the channels when they
        are packed from slot 0, else the whole padded pixel."""
        return len(self.slots) if self.slots == tuple(range(len(self.slots))) else self.padded


class Builder:
    def __init__(self, graph: Graph, plan_only: bool = False, clock_mhz: float = DEFAULT_CLOCK_MHZ) -> None:
        self.graph = graph
        self.plan_only = plan_only
        self.clock_mhz = clock_mhz      # the units pick their register stages for it (hw/pipeline.py)
        self.region = hardware_region(graph)
        self.src, self.dst = region_io(graph, self.region)
        self.readers: dict[str, int] = {}
        for n in self.region:
            for t in n.inputs:
                self.readers[t] = self.readers.get(t, 0) + 1
        self.knobs: dict[str, dict[str, int]] = {}
        self.streams: list[Stream] = []
        self.stages: list[Stage] = []
        self.flow: dict[str, Flow] = {}
        self._added: list[str] = []
        self.fork_outs: dict[str, list[Flow]] = {}

    # ---- knobs
    def multipliers(self) -> int:
        """Multiplier lanes of the whole design: PE*SIMD of every multi-bit unit."""
        total = 0
        for n in self.region:
            k = self.knobs.get(n.name, {})
            if "pe" in k and "simd" in k and n.attrs.get("kind") != "xnor":
                total += k["pe"] * k["simd"]
        return total

    def lanes(self, node: Node) -> int:
        """The lanes a node reads at: its knob, else its first input's (no converter)."""
        k = self.knobs.get(node.name, {})
        return k["lanes"] if "lanes" in k else self.flow[node.inputs[0]].lanes

    def pe_simd(self, node: Node) -> tuple[int, int]:
        k = self.knobs[node.name]
        return k["pe"], k["simd"]

    # ---- streams and stages
    def new_flow(self, lanes: int, width: int, signed: bool, slots, padded: int, vectors: int,
                 window: int = 1) -> Flow:
        name = f"s{len(self.streams)}"
        self.streams.append(Stream(name, lanes, width, signed))
        return Flow(name, lanes, width, signed, tuple(slots), padded, vectors, window)

    def like(self, f: Flow, **changes) -> Flow:
        g = replace(f, **changes)
        return self.new_flow(g.lanes, g.width, g.signed, g.slots, g.padded, g.vectors, g.window)

    def next_name(self, block: type[Block]) -> str:
        return f"{block.prefix}{len(self.stages)}"

    def stage(self, block: type[Block], unit, ins: list[Flow], outs: list[Flow], vectors: int,
              node: Node | None = None, summary: str | None = None) -> None:
        name = self.next_name(block)
        text = summary if summary is not None else ("" if self.plan_only else block.summary(unit))
        if node is not None:
            text = f"{node.name}: {text}"
        # The summary becomes a one-line Verilog comment: printable ASCII only.
        text = "".join(c if " " <= c <= "~" else "?" for c in " ".join(text.split()))
        self.stages.append(Stage(name, unit, tuple(f.stream for f in ins), tuple(f.stream for f in outs),
                                 block.cycles(unit, vectors), node.name if node else None, text))

    def fifo(self, f: Flow, depth: int, what: str) -> Flow:
        out = self.like(f)
        unit = FifoUnit(f.word, depth, fifo_out_reg(self.clock_mhz, depth, f.word))
        self.stage(FifoBlock, unit, [f], [out], f.beats, summary=f"{what}, {depth} words")
        return out

    def convert(self, f: Flow, lanes: int) -> Flow:
        """`f` at `lanes` lanes: itself, or through a width converter that re-packs each pixel
        so the result is laid out as if produced with `lanes` lanes."""
        if f.lanes == lanes:
            return f
        if f.window != 1:
            raise HwcompError(f"{self.graph.name}: a sliding window's output cannot change lanes "
                              "(the window runs at its consumer's lanes)")
        n = f.elems
        out = self.like(f, lanes=lanes, padded=ceil_div(n, lanes) * lanes)   # slots stay where they were
        p = DwcParams(f.width, n, f.lanes, lanes)
        self.stage(DwcBlock, p, [f], [out], f.vectors)
        return out

    def read(self, tensor: str) -> Flow:
        """The stream a consumer of `tensor` reads; a fork the first time a shared tensor is read."""
        f = self.flow[tensor]
        count = self.readers.get(tensor, 0)
        if count == 1:
            return f
        if count > 2:
            raise HwcompError(f"{self.graph.name}: tensor {tensor!r} feeds {count} blocks; forks of more "
                              "than two branches are not built yet")
        if tensor not in self.fork_outs:
            depth = f.beats + 8  # one image per branch: no deadlock
            outs = [self.like(f), self.like(f)]
            self.stage(ForkBlock, ForkUnit(f.word, depth, depth), [f], outs, f.beats,
                       summary=f"fork of {tensor}, {depth} words per branch")
            self.fork_outs[tensor] = outs
        return self.fork_outs[tensor].pop(0)

    def set_flow(self, tensor: str, f: Flow) -> None:
        self.flow[tensor] = f
        self._added.append(tensor)

    # ---- walking
    def start(self, lanes: int) -> None:
        """The design's input stream, channels packed from lane 0."""
        t = self.graph.tensors[self.src]
        c = t.shape[-1]
        self.set_flow(self.src, self.new_flow(lanes, t.dtype.width, t.dtype.signed, range(c),
                                              ceil_div(c, lanes) * lanes, pixels(t.shape)))

    def step(self, node: Node) -> None:
        flows = [self.read(t) for t in node.inputs if t and t not in self.graph.constants]
        self.set_flow(node.outputs[0], block_of_op(node.op).build(self, node, flows))

    def snapshot(self) -> tuple:
        return (len(self.streams), len(self.stages), len(self._added),
                {k: list(v) for k, v in self.fork_outs.items()})

    def restore(self, snap: tuple) -> None:
        n_streams, n_stages, n_added, forks = snap
        del self.streams[n_streams:], self.stages[n_stages:]
        for t in self._added[n_added:]:
            del self.flow[t]
        del self._added[n_added:]
        self.fork_outs = forks

    def cycles_since(self, snap: tuple) -> int:
        return max((s.cycles for s in self.stages[snap[1]:]), default=0)

    def design(self) -> Design:
        shape_in, shape_out = self.graph.tensors[self.src].shape, self.graph.tensors[self.dst].shape
        return Design(name=top_name(self.graph.name), streams=tuple(self.streams), stages=tuple(self.stages),
                      input=self.flow[self.src].stream, output=self.flow[self.dst].stream,
                      in_elems=shape_in[-1], out_elems=shape_out[-1], in_pixels=pixels(shape_in),
                      out_pixels=pixels(shape_out))


def build_design(graph: Graph, folding: Folding | None = None, plan_only: bool = False,
                 clock_mhz: float = DEFAULT_CLOCK_MHZ) -> Design:
    """The design of a folded graph (hw/folding.py records the folding in graph.meta),
    pipelined for a clock target of `clock_mhz`."""
    f = folding or Folding.from_meta(graph.meta.get("folding"), graph.name)
    b = Builder(graph, plan_only, clock_mhz)
    b.knobs = {k: dict(v) for k, v in f.blocks.items()}
    b.start(f.input_lanes)
    for n in b.region:
        b.step(n)
    return b.design()
