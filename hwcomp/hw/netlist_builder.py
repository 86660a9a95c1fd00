"""Lowered, folded graph with branches -> NetlistDesign (see hwcomp/hw/dag.py)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.shape import Concat, Flatten
from hwcomp.ops.window import GlobalPoolReduce, PoolReduce, SlidingWindow, pad_value

from .chain import POOLS
from .dag import _Flow, _identity, hardware_region, region_io
from .design import MVULayer, ceil_div
from .netlist import FifoUnit, NetlistDesign, NetStage, NetStream
from .stream_design import fifo_depth, top_name, unit_input
from .stream_ops import MAX, SUM, AddUnit, ConcatUnit, ForkUnit, GlobalPoolUnit, PoolUnit, Scale
from .window import DwcParams, SwuParams


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
        a = n.attrs
        pe, simd = a["pe"], a["simd"]
        u = unit_input(self.g, n)
        w = np.asarray(n.params["weight"], dtype=np.int64).reshape(-1, u.positions, u.channels)
        rows = w.shape[0]
        cols = np.zeros((rows, u.positions, f.padded), dtype=np.int64)
        cols[:, :, list(f.slots)] = w
        rows_p = ceil_div(rows, pe) * pe
        wp = np.zeros((rows_p, u.positions * f.padded), dtype=np.int64)
        wp[:rows] = cols.reshape(rows, -1)
        bp = np.zeros(rows_p, dtype=np.int64)
        bp[:rows] = n.params["bias"]
        xt, out = self.g.tensors[n.inputs[0]].dtype, a["out_dtype"]
        layer = MVULayer(
            name=f"mvu{len(self.stages)}", rows=rows, cols=wp.shape[1], pe=pe, simd=simd, in_width=xt.width,
            in_signed=xt.signed, weight_width=a["weight_dtype"].width, weights=wp, bias=bp,
            acc_width=a["acc_dtype"].width, requant=a["requant"], shift=a["shift"], relu=a["relu"],
            out_width=out.width, out_signed=out.signed, out_min=out.min_int, out_max=out.max_int,
            in_fifo_depth=fifo_depth(ceil_div(wp.shape[1], simd)))
        slots, padded = _identity(rows, pe)
        res = self.new_stream(pe, out, slots, padded)
        fifo_in = self.like(f)
        self.stage("fifo", FifoUnit(f.word, layer.in_fifo_depth), [f], [fifo_in], "input buffer")
        self.stage("mvu", layer, [fifo_in], [res], f"{n.name}: {rows} rows, PE {pe}, SIMD {simd}")
        return res

    def window(self, n: Node, f: _Flow) -> _Flow:
        _, h, w, _ = self.g.tensors[n.inputs[0]].shape
        dt = self.g.tensors[n.inputs[0]].dtype
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = n.attrs["kernel"], n.attrs["strides"], n.attrs["pads"]
        p = SwuParams(elem_w=dt.width, lanes=f.lanes, cf=f.padded // f.lanes, ifm_h=h, ifm_w=w, k_h=kh, k_w=kw,
                      stride_h=sh, stride_w=sw, pad_t=pt, pad_l=pl, pad_b=pb, pad_r=pr,
                      pad_value=int(pad_value(dt, n.attrs["pad"])))
        out = self.like(f)
        self.stage("swu", p, [f], [out], f"{kh}x{kw} window, stride {sh}x{sw}")
        return out

    def pool(self, n: Node, f: _Flow) -> _Flow:
        dt = self.g.tensors[n.inputs[0]].dtype
        a = n.attrs
        scale = None if n.op is PoolReduce else Scale(a["mult"], a["shift"], dt.width, dt.signed,
                                                      a["out_min"], a["out_max"])
        if n.op is GlobalPoolReduce:
            pixels = int(np.prod(self.g.tensors[n.inputs[0]].shape[1:-1]))
            unit = GlobalPoolUnit(SUM, pixels, f.padded, f.lanes, dt.width, dt.signed, scale)
        else:
            unit = PoolUnit(MAX if scale is None else SUM, a["window"], f.padded, f.lanes, dt.width, dt.signed, scale)
        out = self.like(f)
        self.stage("pool", unit, [f], [out], type(unit).__name__)
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
        slots, padded = _identity(c0, lanes0)
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
