"""Blocks that join two streams: the residual add and the channel concat.

Both inputs arrive at the join's lanes (a width converter in front of any
input that differs), each through a join buffer: the branches reach the join
with different latencies (a 3x3 window waits for rows a 1x1 one does not), and
without room the early branch stalls on the join and loses cycles it never
makes up. Two image rows of beats cover the window latencies of the kernels
hwcomp builds.
"""
from __future__ import annotations

from hwcomp.errors import HwcompError
from hwcomp.hw.stream_ops import AddUnit, ConcatUnit, Scale
from hwcomp.ops.elementwise import Add, Sum
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.shape import Concat

from .base import Bits, Block, Constant, Hdl, register, value_bits
from .feature_maps import pixels


def _two_branches(node, graph) -> str | None:
    streams = [t for t in node.inputs if t and t not in graph.constants]
    return None if len(streams) == 2 else f"{node.op.name} of other than two branches"


def _buffered(builder, node, flows):
    """Both inputs at the join's lanes, each behind its join buffer.

    The buffer sits after the width converter: the join reads one input at a
    time, and a converter behind the buffer could only refill at its input's
    rate while its turn lasts (a 1 -> 3 lane converter gives a third of a beat
    per cycle), so the join would wait for it every pixel."""
    lanes = builder.lanes(node)
    out = []
    for f, tensor in zip(flows, node.inputs):
        shape = builder.graph.tensors[tensor].shape
        row = shape[2] if len(shape) == 4 else 1
        c = builder.convert(f, lanes)
        depth = 2 * row * (c.padded // c.lanes) + 16
        out.append(builder.fifo(c, depth, f"join buffer of {node.name}"))
    return out


@register
class AddBlock(Block):
    unit = AddUnit
    prefix = "add"
    ops = (ResidualAdd,)
    implements = (Add, Sum, ResidualAdd)
    lanes_knob = True

    @classmethod
    def unsupported(cls, node, graph):
        return _two_branches(node, graph)

    @classmethod
    def build(cls, builder, node, flows):
        f0, f1 = _buffered(builder, node, flows)
        if f0.slots != f1.slots or f0.padded != f1.padded:
            raise HwcompError(f"{builder.graph.name}: the inputs of {node.name!r} lay out their channels differently")
        a, out = node.attrs, node.attrs["dtype"]
        unit = AddUnit(f0.padded, f0.lanes, f0.width, f0.signed, f1.width, f1.signed, a["shift0"], a["shift1"],
                       Scale(1, a["shift"], out.width, out.signed, out.min_int, out.max_int, a["relu"]))
        res = builder.like(f0, width=out.width, signed=out.signed)
        builder.stage(cls, unit, [f0, f1], [res], pixels(builder.graph.tensors[node.outputs[0]].shape), node)
        return res

    @classmethod
    def ports(cls, unit: AddUnit):
        return (unit.lanes * unit.in0_width, unit.lanes * unit.in1_width), (unit.lanes * unit.out_width,)

    @classmethod
    def cycles(cls, unit: AddUnit, vectors: int) -> int:
        return unit.cycles(vectors)

    @classmethod
    def hdl(cls, unit: AddUnit, name: str) -> Hdl:
        u, w = unit, unit.scale.out_width
        return Hdl("hwcomp_add", ("hwcomp_fifo.v", "hwcomp_scale.v", "hwcomp_add.v"), (
            ("LANES", u.lanes), ("IN0_W", u.in0_width), ("IN0_SIGNED", int(u.in0_signed)),
            ("IN1_W", u.in1_width), ("IN1_SIGNED", int(u.in1_signed)), ("SHIFT0", u.shift0),
            ("SHIFT1", u.shift1), ("SHIFT", u.scale.shift), ("RELU", int(u.scale.relu)), ("OUT_W", w),
            ("OUT_MIN", Bits(u.scale.out_min, w + 1)), ("OUT_MAX", Bits(u.scale.out_max, w + 1))))

    @classmethod
    def constants(cls, unit: AddUnit):
        """The branches' alignment shifts and the output's shift and saturation bounds."""
        u = unit
        return (Constant("SHIFT0", value_bits(u.shift0), "shifts"), Constant("SHIFT1", value_bits(u.shift1), "shifts"),
                Constant("SHIFT", value_bits(u.scale.shift), "shifts"),
                Constant("OUT_MIN", u.scale.out_width, "thresholds"),
                Constant("OUT_MAX", u.scale.out_width, "thresholds"))

    @classmethod
    def summary(cls, unit: AddUnit) -> str:
        return f"residual add, {unit.channels} channels, {unit.lanes} lanes"


@register
class ConcatBlock(Block):
    unit = ConcatUnit
    prefix = "concat"
    ops = (Concat,)
    implements = (Concat,)
    lanes_knob = True

    @classmethod
    def unsupported(cls, node, graph):
        return _two_branches(node, graph)

    @classmethod
    def in_region(cls, node, graph, region):
        # A concat of host tensors (shapes, constants) is not a join of streams.
        prods = [graph.producer(t) for t in node.inputs]
        return all(p is not None and p.name in region for p in prods)

    @classmethod
    def fold_candidates(cls, walk, node, window=None):
        """Lanes that divide the first input's channels, so the output is packed from lane
        0 with no gap (a residual add needs the same layout on both inputs); the
        producer's lanes first when they do. A gapped first input leaves any lanes."""
        f0 = walk.incoming(node)
        if f0 is None or f0.elems != len(f0.slots):
            return super().fold_candidates(walk, node)
        c0 = len(f0.slots)
        divisors = [d for d in range(1, c0 + 1) if c0 % d == 0]
        if walk.fixed is not None:  # explicit folding: the divisor nearest the producer's lanes
            d = min(divisors, key=lambda d: (abs(d - f0.lanes), -d))
            return [(d, d != f0.lanes, {node.name: {"lanes": d}})]
        order = sorted(divisors, key=lambda d: (d != f0.lanes, d))
        return [(d, d != f0.lanes, {node.name: {"lanes": d}}) for d in order]

    @classmethod
    def build(cls, builder, node, flows):
        f0, f1 = _buffered(builder, node, flows)
        unit = ConcatUnit(f0.lanes, f0.width, f0.padded, f1.padded)
        slots = f0.slots + tuple(f0.padded + s for s in f1.slots)
        res = builder.like(f0, slots=slots, padded=f0.padded + f1.padded)
        builder.stage(cls, unit, [f0, f1], [res], pixels(builder.graph.tensors[node.outputs[0]].shape), node)
        return res

    @classmethod
    def ports(cls, unit: ConcatUnit):
        w = unit.lanes * unit.elem_width
        return (w, w), (w,)

    @classmethod
    def cycles(cls, unit: ConcatUnit, vectors: int) -> int:
        return unit.cycles(vectors)

    @classmethod
    def hdl(cls, unit: ConcatUnit, name: str) -> Hdl:
        u = unit
        return Hdl("hwcomp_concat", ("hwcomp_fifo.v", "hwcomp_concat.v"),
                   (("LANES", u.lanes), ("ELEM_W", u.elem_width), ("CF0", u.cf0), ("CF1", u.cf1)))

    @classmethod
    def summary(cls, unit: ConcatUnit) -> str:
        return f"channel concat, {unit.channels0} + {unit.channels1} elements, {unit.lanes} lanes"
