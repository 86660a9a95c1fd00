"""Blocks of the feature-map stream: sliding windows, window pooling, global
pooling and Flatten (which needs no hardware: the stream already is the
flattened vector, pixel by pixel)."""
from __future__ import annotations

import numpy as np

from hwcomp.hw.stream_ops import MAX, SUM, GlobalPoolUnit, PoolUnit, Scale
from hwcomp.hw.window import SwuParams, swu_cycles
from hwcomp.numerics import ROUNDINGS
from hwcomp.ops.shape import Flatten
from hwcomp.ops.window import AveragePoolReduce, GlobalPoolReduce, PoolReduce, SlidingWindow, pad_value

from .base import Bits, Block, Constant, Hdl, register, value_bits

POOL_MODE = {MAX: 0, SUM: 1}


def pixels(shape) -> int:
    """Pixels per image of a channels-last tensor [N, ..., C]."""
    return int(np.prod(shape[1:-1], dtype=np.int64))


def scale_params(scale: Scale | None, out_width: int) -> tuple:
    """hwcomp_scale's MULT, SHIFT, (ROUND unless half up), OUT_W, OUT_MIN, OUT_MAX;
    placeholders without a scale (max pooling)."""
    mult, shift, lo, hi = (scale.mult, scale.shift, scale.out_min, scale.out_max) if scale else (1, 0, 0, 0)
    rounding = (("ROUND", ROUNDINGS.index(scale.rounding)),) if scale and scale.rounding != "half_up" else ()
    return (("MULT", mult), ("SHIFT", shift)) + rounding + (
        ("OUT_W", out_width), ("OUT_MIN", Bits(lo, out_width + 1)), ("OUT_MAX", Bits(hi, out_width + 1)))


def scale_constants(scale: Scale | None) -> tuple[Constant, ...]:
    """A scale step's numbers for the storage report (none without a scale: max pooling's
    MULT and SHIFT are placeholders). The bounds are output codes, out_width bits each."""
    if scale is None:
        return ()
    return (Constant("MULT", value_bits(scale.mult), "shifts"), Constant("SHIFT", value_bits(scale.shift), "shifts"),
            Constant("OUT_MIN", scale.out_width, "thresholds"), Constant("OUT_MAX", scale.out_width, "thresholds"))


def node_scale(node, dt) -> Scale:
    """An average pooling's scale step onto the output type `dt` (ops/window.py)."""
    a = node.attrs
    return Scale(a["mult"], a["shift"], dt.width, dt.signed, a["out_min"], a["out_max"],
                 rounding=a.get("rounding", "half_up"))


@register
class WindowBlock(Block):
    unit = SwuParams
    prefix = "swu"
    ops = (SlidingWindow,)
    implements = (SlidingWindow,)
    lanes_knob = True

    @classmethod
    def fold_with(cls, node, consumers):
        # A window runs at the lanes of the unit or pooling it feeds.
        return consumers[0] if len(consumers) == 1 else None

    @classmethod
    def build(cls, builder, node, flows):
        f = builder.convert(flows[0], builder.lanes(node))
        g = builder.graph
        _, h, w, _ = g.tensors[node.inputs[0]].shape
        dt = g.tensors[node.inputs[0]].dtype
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = node.attrs["kernel"], node.attrs["strides"], node.attrs["pads"]
        p = SwuParams(elem_w=dt.width, lanes=f.lanes, cf=f.padded // f.lanes, ifm_h=h, ifm_w=w, k_h=kh, k_w=kw,
                      stride_h=sh, stride_w=sw, pad_t=pt, pad_l=pl, pad_b=pb, pad_r=pr,
                      pad_value=int(pad_value(dt, node.attrs["pad"], node.attrs.get("pad_code", 0))))
        out = builder.like(f, vectors=p.ofm_h * p.ofm_w)
        builder.stage(cls, p, [f], [out], 1, node)
        return out

    @classmethod
    def ports(cls, unit: SwuParams):
        w = unit.lanes * unit.elem_w
        return (w,), (w,)

    @classmethod
    def cycles(cls, unit: SwuParams, vectors: int) -> int:
        return vectors * swu_cycles(unit)   # `vectors` counts images here

    @classmethod
    def hdl(cls, unit: SwuParams, name: str) -> Hdl:
        p = unit
        ints = (("ELEM_W", p.elem_w), ("LANES", p.lanes), ("CF", p.cf), ("IFM_H", p.ifm_h), ("IFM_W", p.ifm_w),
                ("K_H", p.k_h), ("K_W", p.k_w), ("STRIDE_H", p.stride_h), ("STRIDE_W", p.stride_w),
                ("PAD_T", p.pad_t), ("PAD_L", p.pad_l), ("PAD_B", p.pad_b), ("PAD_R", p.pad_r))
        return Hdl("hwcomp_swu", ("hwcomp_fifo.v", "hwcomp_swu.v"), ints + (
            ("PAD_VALUE", Bits(p.pad_bits, p.elem_w)), ("OFM_H", p.ofm_h), ("OFM_W", p.ofm_w),
            ("BUF_DEPTH", p.buffer_beats)))

    @classmethod
    def summary(cls, unit: SwuParams) -> str:
        p = unit
        return (f"{p.k_h}x{p.k_w} window, stride {p.stride_h}x{p.stride_w}, {p.ifm_h}x{p.ifm_w}x{p.cf * p.lanes} -> "
                f"{p.ofm_h}x{p.ofm_w}, {p.lanes} lanes")


@register
class PoolBlock(Block):
    """Max or average over the window positions of the SlidingWindow before it."""
    unit = PoolUnit
    prefix = "pool"
    ops = (PoolReduce, AveragePoolReduce)
    implements = (PoolReduce, AveragePoolReduce)

    @classmethod
    def build(cls, builder, node, flows):
        f = flows[0]   # lanes are the window's, chosen with it
        g = builder.graph
        dt, out = g.tensors[node.inputs[0]].dtype, g.tensors[node.outputs[0]].dtype
        mode, scale = (MAX, None) if node.op is PoolReduce else (SUM, node_scale(node, out))
        unit = PoolUnit(mode, node.attrs["window"], f.padded, f.lanes, dt.width, dt.signed, scale)
        res = builder.like(f, width=unit.out_width, signed=unit.out_signed)
        builder.stage(cls, unit, [f], [res], pixels(g.tensors[node.outputs[0]].shape), node)
        return res

    @classmethod
    def ports(cls, unit: PoolUnit):
        return (unit.lanes * unit.in_width,), (unit.lanes * unit.out_width,)

    @classmethod
    def cycles(cls, unit: PoolUnit, vectors: int) -> int:
        return unit.cycles(vectors)   # `vectors`: output pixels

    @classmethod
    def hdl(cls, unit: PoolUnit, name: str) -> Hdl:
        u = unit
        params = (("MODE", POOL_MODE[u.mode]), ("WINDOW", u.window), ("CF", u.cf), ("LANES", u.lanes),
                  ("IN_W", u.in_width), ("IN_SIGNED", int(u.in_signed)))
        return Hdl("hwcomp_pool", ("hwcomp_fifo.v", "hwcomp_scale.v", "hwcomp_pool.v"),
                   params + scale_params(u.scale, u.out_width))

    @classmethod
    def constants(cls, unit: PoolUnit):
        return scale_constants(unit.scale)

    @classmethod
    def summary(cls, unit: PoolUnit) -> str:
        what = "max" if unit.mode == MAX else "average"
        return f"{what} over {unit.window} positions, {unit.channels} channels, {unit.lanes} lanes"


@register
class GlobalPoolBlock(Block):
    unit = GlobalPoolUnit
    prefix = "gap"
    ops = (GlobalPoolReduce,)
    implements = (GlobalPoolReduce,)
    lanes_knob = True

    @classmethod
    def build(cls, builder, node, flows):
        f = builder.convert(flows[0], builder.lanes(node))
        g = builder.graph
        dt, out = g.tensors[node.inputs[0]].dtype, g.tensors[node.outputs[0]].dtype
        n_in = pixels(g.tensors[node.inputs[0]].shape)
        unit = GlobalPoolUnit(SUM, n_in, f.padded, f.lanes, dt.width, dt.signed, node_scale(node, out))
        res = builder.like(f, width=unit.out_width, signed=unit.out_signed, vectors=1)
        builder.stage(cls, unit, [f], [res], 1, node)
        return res

    @classmethod
    def ports(cls, unit: GlobalPoolUnit):
        return (unit.lanes * unit.in_width,), (unit.lanes * unit.out_width,)

    @classmethod
    def cycles(cls, unit: GlobalPoolUnit, vectors: int) -> int:
        return vectors * unit.cycles()   # `vectors` counts images here

    @classmethod
    def hdl(cls, unit: GlobalPoolUnit, name: str) -> Hdl:
        u = unit
        params = (("MODE", POOL_MODE[u.mode]), ("PIXELS", u.pixels), ("CF", u.cf), ("LANES", u.lanes),
                  ("IN_W", u.in_width), ("IN_SIGNED", int(u.in_signed)))
        return Hdl("hwcomp_gap", ("hwcomp_fifo.v", "hwcomp_scale.v", "hwcomp_pool.v", "hwcomp_gap.v"),
                   params + scale_params(u.scale, u.out_width))

    @classmethod
    def constants(cls, unit: GlobalPoolUnit):
        return scale_constants(unit.scale)

    @classmethod
    def summary(cls, unit: GlobalPoolUnit) -> str:
        return f"average over {unit.pixels} pixels, {unit.channels} channels, {unit.lanes} lanes"


class _NoUnit:
    """Flatten has no instance."""


@register
class FlattenBlock(Block):
    unit = _NoUnit
    prefix = "flatten"
    ops = (Flatten,)

    @classmethod
    def in_region(cls, node, graph, region):
        # Hardware streams it only when hardware feeds it; a Flatten of the model
        # input is a host reshape.
        src = graph.producer(node.inputs[0])
        return src is not None and src.name in region

    @classmethod
    def build(cls, builder, node, flows):
        return flows[0]   # the stream already is the flattened vector
