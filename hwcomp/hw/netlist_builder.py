"""Lowered, folded graph with branches -> NetlistDesign (see hwcomp/hw/dag.py)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.shape import Concat, Flatten
from hwcomp.ops.window import SlidingWindow

from .chain import POOLS
from .dag import hardware_region, region_io
from .design import ceil_div
from .netlist import FifoUnit, NetlistDesign, NetStage, NetStream
from .stream_design import mvu_layer, packed_layout, pool_unit, swu_params, top_name
from .stream_ops import AddUnit, ConcatUnit, ForkUnit, Scale
from .window import DwcParams


@dataclass(frozen=True)
class _Flow:
    """What a stream carries: lanes, element type, and where each logical channel
    sits in the (padded) pixel."""
    stream: str
    lanes: int
    width: int
    signed: bool
    slots: tuple[int, ...]
    padded: int            # elements per pixel, a multiple of lanes

    @property
    def word(self) -> int:
        return self.lanes * self.width



class _Builder:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.region = hardware_region(graph)
        self.streams: list[NetStream] = []
        self.stages: list[NetStage] = []
        self.flow: dict[str, _Flow] = {}          # tensor -> its stream
        self.fork_outs: dict[str, list[_Flow]] = {}

    def new_stream(self, lanes: int, dtype, slots, padded) -> _Flow:
        name = f"s{len(self.streams)}"
        self.streams.append(NetStream(name, lanes, dtype.width, dtype.signed))
        return _Flow(name, lanes, dtype.width, dtype.signed, tuple(slots), padded)

    def like(self, f: _Flow, **kw) -> _Flow:
        s = replace(f, **kw)
        s = replace(s, stream=f"s{len(self.streams)}")
        self.streams.append(NetStream(s.stream, s.lanes, s.width, s.signed))
        return s

    def stage(self, kind: str, unit, ins: list[_Flow], outs: list[_Flow], summary: str) -> None:
        self.stages.append(NetStage(f"{kind}{len(self.stages)}", unit, tuple(f.stream for f in ins),
                                    tuple(f.stream for f in outs), summary))

    def pixel_beats(self, tensor: str, f: _Flow) -> int:
        shape = self.g.tensors[tensor].shape
        return int(np.prod(shape[1:-1], dtype=np.int64)) * (f.padded // f.lanes)

    def read(self, tensor: str) -> _Flow:
        """The stream a consumer of `tensor` reads; a fork the first time a shared tensor is read."""
        f = self.flow[tensor]
        readers = [n for n in self.region if tensor in n.inputs]
        if len(readers) == 1:
            return f
        if len(readers) > 2:
            raise HwcompError(f"{self.g.name}: tensor {tensor!r} feeds {len(readers)} blocks; forks of more "
                              "than two branches are not built yet")
        if tensor not in self.fork_outs:
            depth = self.pixel_beats(tensor, f) + 8  # one image per branch: no deadlock
            outs = [self.like(f), self.like(f)]
            self.stage("fork", ForkUnit(f.word, depth, depth), [f], outs, f"fork of {tensor}, {depth} words per branch")
            self.fork_outs[tensor] = outs
        return self.fork_outs[tensor].pop(0)

    def to_lanes(self, f: _Flow, lanes: int) -> _Flow:
        if f.lanes == lanes:
            return f
        # Convert only the real channels when they are packed from slot 0, so the
        # result is laid out as if produced with `lanes` lanes in the first place.
        n = len(f.slots) if f.slots == tuple(range(len(f.slots))) else f.padded
        out = self.like(f, lanes=lanes, padded=ceil_div(n, lanes) * lanes)
        self.stage("dwc", DwcParams(f.width, n, f.lanes, lanes), [f], [out],
                   f"width converter {f.lanes} -> {lanes} lanes")
        return out

    def mvu(self, n: Node, f: _Flow) -> _Flow:
        layer = mvu_layer(self.g, n, f"mvu{len(self.stages)}", f.slots, f.padded)
        slots, padded = packed_layout(layer.rows, layer.pe)
        res = self.new_stream(layer.pe, n.attrs["out_dtype"], slots, padded)
        fifo_in = self.like(f)
        self.stage("fifo", FifoUnit(f.word, layer.in_fifo_depth), [f], [fifo_in], "input buffer")
        self.stage("mvu", layer, [fifo_in], [res], f"{n.name}: {layer.rows} rows, PE {layer.pe}, SIMD {layer.simd}")
        return res

    def window(self, n: Node, f: _Flow) -> _Flow:
        p = swu_params(self.g, n, f.lanes, f.padded)
        out = self.like(f)
        self.stage("swu", p, [f], [out], f"{p.k_h}x{p.k_w} window, stride {p.stride_h}x{p.stride_w}")
        return out

    def pool(self, n: Node, f: _Flow) -> _Flow:
        unit, _, summary = pool_unit(self.g, n, f.lanes, f.padded)
        out = self.like(f, width=unit.out_width, signed=unit.out_signed)
        self.stage("pool", unit, [f], [out], summary)
        return out

    def join_buffer(self, n: Node, f: _Flow, tensor: str) -> _Flow:
        """A FIFO in front of a join input: the branches reach the join with different
        latencies (a 3x3 window waits for rows a 1x1 one does not), so the early branch
        must be able to run ahead instead of stalling on the join. Two image rows of
        beats cover the window latencies of the kernels hwcomp builds (up to 7 rows
        would need more; see docs/architecture.md)."""
        shape = self.g.tensors[tensor].shape
        width = shape[2] if len(shape) == 4 else 1
        depth = 2 * width * (f.padded // f.lanes) + 16
        out = self.like(f)
        self.stage("fifo", FifoUnit(f.word, depth), [f], [out], f"join buffer of {n.name}, {depth} words")
        return out

    def add(self, n: Node, f0: _Flow, f1: _Flow) -> _Flow:
        f0 = self.join_buffer(n, f0, n.inputs[0])
        f1 = self.to_lanes(self.join_buffer(n, f1, n.inputs[1]), f0.lanes)
        if f0.slots != f1.slots or f0.padded != f1.padded:
            raise HwcompError(f"{self.g.name}: the inputs of {n.name!r} lay out their channels differently")
        a, out = n.attrs, n.attrs["dtype"]
        unit = AddUnit(f0.padded, f0.lanes, f0.width, f0.signed, f1.width, f1.signed, a["shift0"], a["shift1"],
                       Scale(1, a["shift"], out.width, out.signed, out.min_int, out.max_int, a["relu"]))
        res = self.new_stream(f0.lanes, out, f0.slots, f0.padded)
        self.stage("add", unit, [f0, f1], [res], f"{n.name}: residual add")
        return res

    def concat(self, n: Node, f0: _Flow, f1: _Flow) -> _Flow:
        f0 = self.join_buffer(n, f0, n.inputs[0])
        f1 = self.to_lanes(self.join_buffer(n, f1, n.inputs[1]), f0.lanes)
        unit = ConcatUnit(f0.lanes, f0.width, f0.padded, f1.padded)
        slots = f0.slots + tuple(f0.padded + s for s in f1.slots)
        res = self.like(f0, slots=slots, padded=f0.padded + f1.padded)
        self.stage("concat", unit, [f0, f1], [res], f"{n.name}: channel concat")
        return res

    def build(self) -> NetlistDesign:
        src, dst = region_io(self.g, self.region)
        c0 = self.g.tensors[src].shape[-1]
        lanes0 = self.g.meta["folding"]["input_lanes"]
        slots, padded = packed_layout(c0, lanes0)
        self.flow[src] = first = self.new_stream(lanes0, self.g.tensors[src].dtype, slots, padded)
        for n in self.region:
            ins = [self.read(t) for t in n.inputs if t not in self.g.constants]
            if n.op is MatrixVectorUnit:
                out = self.mvu(n, ins[0])
            elif n.op is SlidingWindow:
                out = self.window(n, ins[0])
            elif n.op in POOLS:
                out = self.pool(n, ins[0])
            elif n.op is ResidualAdd:
                out = self.add(n, *ins)
            elif n.op is Concat:
                out = self.concat(n, *ins)
            else:  # Flatten: the stream is unchanged
                assert n.op is Flatten
                out = ins[0]
            self.flow[n.outputs[0]] = out
        last = self.flow[dst]
        shape_in, shape_out = self.g.tensors[src].shape, self.g.tensors[dst].shape
        return NetlistDesign(
            name=top_name(self.g.name), streams=tuple(self.streams), stages=tuple(self.stages),
            input=first.stream, output=last.stream, in_elems=c0,
            in_pixels=int(np.prod(shape_in[1:-1], dtype=np.int64)), out_elems=shape_out[-1],
            out_pixels=int(np.prod(shape_out[1:-1], dtype=np.int64)))


def build_netlist_design(graph: Graph) -> NetlistDesign:
    """Needs the units' pe/simd attrs and meta["folding"]["input_lanes"] (passes.fold.fold_branches)."""
    return _Builder(graph).build()
