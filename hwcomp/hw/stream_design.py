"""Lowered, folded graph -> StreamDesign: every number the templates need.

Streams carry channels-last pixels: C channels as CF = ceil(C/L) beats of L
lanes, tail lanes zero. A unit after a sliding window (or a Flatten) sees a
vector of `positions` such pixels, so its weight columns are laid out the
same way: column pos*CF*L + c holds logical column pos*C + c; the padding
columns hold zeros.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.shape import Flatten
from hwcomp.ops.window import GlobalPoolReduce, PoolReduce, SlidingWindow, pad_value

from .chain import POOLS, hardware_blocks
from .design import BlockStage, MVULayer, StreamDesign, ceil_div
from .folding import ChainLayer
from .stream_ops import MAX, SUM, GlobalPoolUnit, PoolUnit, Scale
from .window import SwuParams, swu_cycles


def top_name(graph_name: str) -> str:
    """A legal Verilog module name derived from the model name."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", graph_name).strip("_").lower() or "model"
    if not base[0].isalpha():
        base = "m_" + base
    return f"hwcomp_{base}"


def fifo_depth(sf: int) -> int:
    """Room for two input vectors: the unit reads a whole vector in its first row
    fold, then replays it while the producer keeps writing the next one."""
    return max(4, 2 * sf)


def _pixels(shape) -> int:
    return int(np.prod(shape[1:-1], dtype=np.int64))


@dataclass(frozen=True)
class UnitInput:
    """How a unit's input vector is made of pixels: positions x channels."""
    channels: int
    positions: int
    pixels: int


def unit_input(graph: Graph, node: Node) -> UnitInput:
    src = graph.producer(node.inputs[0])
    shape = graph.tensors[node.inputs[0]].shape
    if src is not None and src.op is SlidingWindow:
        kh, kw = src.attrs["kernel"]
        return UnitInput(graph.tensors[src.inputs[0]].shape[-1], kh * kw, _pixels(shape))
    if src is not None and src.op is Flatten and len(graph.tensors[src.inputs[0]].shape) > 2:
        inner = graph.tensors[src.inputs[0]].shape
        return UnitInput(inner[-1], _pixels(inner), 1)
    return UnitInput(shape[-1], 1, _pixels(shape))


def chain_layers(graph: Graph) -> tuple[list[ChainLayer], list[int]]:
    """The folder's view: one ChainLayer per unit, and the beats (per channel fold)
    that windows and pooling handle on each stream, stream 0 being the input."""
    layers, beats, k = [], [0], 0
    for node in hardware_blocks(graph):
        if node.op is MatrixVectorUnit:
            u = unit_input(graph, node)
            layers.append(ChainLayer(node.params["weight"].shape[0], u.channels, u.positions, u.pixels))
            beats.append(0)
            k += 1
        elif node.op is SlidingWindow or node.op in POOLS:
            ins, outs = graph.tensors[node.inputs[0]].shape, graph.tensors[node.outputs[0]].shape
            per_in = _pixels(ins) * (ins[-1] // graph.tensors[_stream_source(graph, node)].shape[-1])
            per_out = _pixels(outs) * (outs[-1] // graph.tensors[_stream_source(graph, node)].shape[-1])
            beats[k] = max(beats[k], per_in, per_out)
    return layers, beats


def _stream_source(graph: Graph, node: Node) -> str:
    """The feature map a window/pool block works on (its channels set the lane groups)."""
    if node.op is SlidingWindow or node.op is GlobalPoolReduce:
        return node.inputs[0]
    return graph.producer(node.inputs[0]).inputs[0]  # a window reduction after its SlidingWindow


def packed_layout(channels: int, lanes: int) -> tuple[tuple[int, ...], int]:
    """Channels packed from lane 0: (slot of each channel, elements per pixel)."""
    return tuple(range(channels)), ceil_div(channels, lanes) * lanes


def mvu_layer(graph: Graph, node: Node, name: str, slots: tuple[int, ...], padded: int) -> MVULayer:
    """The unit for `node` reading pixels of `padded` elements whose channel c sits at slots[c]:
    weight column pos*padded + slots[c] holds logical column pos*C + c, the rest zero.

    XNOR units see padding lanes as bit 0 (-1), so their padding columns hold
    weight bit 1: they never agree and the popcount stays the logical one."""
    a = node.attrs
    pe, simd = a["pe"], a["simd"]
    xnor = a.get("kind") == "xnor"
    u = unit_input(graph, node)
    w = np.asarray(node.params["weight"], dtype=np.int64).reshape(-1, u.positions, u.channels)
    rows = w.shape[0]
    placed = np.full((rows, u.positions, padded), 1 if xnor else 0, dtype=np.int64)
    placed[:, :, list(slots)] = w
    cols = u.positions * padded
    rows_p = ceil_div(rows, pe) * pe
    wp = np.zeros((rows_p, ceil_div(cols, simd) * simd if xnor else cols), dtype=np.int64)
    wp[:rows, :cols] = placed.reshape(rows, cols)
    bp = np.zeros(rows_p, dtype=np.int64)
    if "bias" in node.params:
        bp[:rows] = node.params["bias"]
    modes = {}
    if "thresholds" in node.params:
        t = np.asarray(node.params["thresholds"], dtype=np.int64)
        tp = np.zeros((rows_p, t.shape[1]), dtype=np.int64)
        tp[:rows] = t
        modes["thresholds"] = tp
        if "descending" in node.params:
            dp = np.zeros(rows_p, dtype=bool)
            dp[:rows] = node.params["descending"]
            modes["descending"] = dp
        modes["out_base"] = int(a.get("out_base", 0))
    xt, out = graph.tensors[node.inputs[0]].dtype, a["out_dtype"]
    out_width = out.width
    if xnor and "thresholds" not in node.params:
        out_width = wp.shape[1].bit_length()  # the unit's popcount port: clog2(SF*SIMD + 1) bits
    return MVULayer(
        name=name, rows=rows, cols=cols, pe=pe, simd=simd,
        in_width=xt.width, in_signed=xt.signed, weight_width=1 if xnor else a["weight_dtype"].width,
        weights=wp, bias=bp, acc_width=a["acc_dtype"].width, requant=a["requant"],
        shift=a["shift"], relu=a["relu"], out_width=out_width, out_signed=out.signed,
        out_min=out.min_int, out_max=out.max_int, in_fifo_depth=fifo_depth(ceil_div(cols, simd)),
        weight_bipolar=bool(a.get("weight_bipolar", False)), xnor=xnor, **modes,
    )


def swu_params(graph: Graph, node: Node, lanes: int, padded: int) -> SwuParams:
    """The sliding window of `node` over pixels of `padded` elements on `lanes` lanes."""
    _, h, w, _ = graph.tensors[node.inputs[0]].shape
    dt = graph.tensors[node.inputs[0]].dtype
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = node.attrs["kernel"], node.attrs["strides"], node.attrs["pads"]
    return SwuParams(elem_w=dt.width, lanes=lanes, cf=padded // lanes, ifm_h=h, ifm_w=w, k_h=kh, k_w=kw,
                     stride_h=sh, stride_w=sw, pad_t=pt, pad_l=pl, pad_b=pb, pad_r=pr,
                     pad_value=int(pad_value(dt, node.attrs["pad"], node.attrs.get("pad_code", 0))))


def _scale(node: Node, dt) -> Scale:
    """An average pooling's scale step onto the output type `dt` (ops/window.py)."""
    a = node.attrs
    return Scale(a["mult"], a["shift"], dt.width, dt.signed, a["out_min"], a["out_max"],
                 rounding=a.get("rounding", "half_up"))


def pool_unit(graph: Graph, node: Node, lanes: int, channels: int) -> tuple[object, int, str]:
    """(unit, cycles per image, summary) of a max, average or global pooling node."""
    dt = graph.tensors[node.inputs[0]].dtype
    out = graph.tensors[node.outputs[0]].dtype
    if node.op is GlobalPoolReduce:
        pixels_in = _pixels(graph.tensors[node.inputs[0]].shape)
        unit = GlobalPoolUnit(SUM, pixels_in, channels, lanes, dt.width, dt.signed, _scale(node, out))
        return unit, unit.cycles(), f"average over {pixels_in} pixels, {channels} channels, {lanes} lanes"
    mode, scale = (MAX, None) if node.op is PoolReduce else (SUM, _scale(node, out))
    unit = PoolUnit(mode, node.attrs["window"], channels, lanes, dt.width, dt.signed, scale)
    summary = f"{'max' if mode == MAX else 'average'} over {unit.window} positions, {channels} channels, {lanes} lanes"
    return unit, unit.cycles(_pixels(graph.tensors[node.outputs[0]].shape)), summary


def _swu_stage(graph: Graph, node: Node, name: str, lanes: int) -> BlockStage:
    _, h, w, c = graph.tensors[node.inputs[0]].shape
    dt = graph.tensors[node.inputs[0]].dtype
    p = swu_params(graph, node, lanes, packed_layout(c, lanes)[1])
    return BlockStage(name=name, unit=p, in_lanes=lanes, in_width=dt.width, in_signed=dt.signed,
                      out_lanes=lanes, out_width=dt.width, out_signed=dt.signed,
                      summary=f"{p.k_h}x{p.k_w} window, stride {p.stride_h}x{p.stride_w}, {h}x{w}x{c} -> "
                              f"{p.ofm_h}x{p.ofm_w}, {lanes} lanes",
                      cycles=swu_cycles(p))


def _pool_stage(graph: Graph, node: Node, name: str, lanes: int) -> BlockStage:
    dt = graph.tensors[node.inputs[0]].dtype
    unit, cycles, summary = pool_unit(graph, node, lanes, graph.tensors[node.outputs[0]].shape[-1])
    return BlockStage(name=name, unit=unit, in_lanes=lanes, in_width=dt.width, in_signed=dt.signed,
                      out_lanes=lanes, out_width=unit.out_width, out_signed=unit.out_signed, summary=summary,
                      cycles=cycles)


def build_stream_design(graph: Graph) -> StreamDesign:
    blocks = hardware_blocks(graph)
    units = [b for b in blocks if b.op is MatrixVectorUnit]
    stages, layers = [], []
    lanes = units[0].attrs["simd"]  # the input stream's lanes
    for node in blocks:
        k = len(stages)
        if node.op is MatrixVectorUnit:
            layer = mvu_layer(graph, node, f"mvu{len(layers)}",
                              *packed_layout(unit_input(graph, node).channels, node.attrs["simd"]))
            layers.append(layer)
            stages.append(layer)
            lanes = layer.pe
        elif node.op is SlidingWindow:
            stages.append(_swu_stage(graph, node, f"swu{k}", lanes))
        elif node.op in POOLS:
            stages.append(_pool_stage(graph, node, f"pool{k}", lanes))
    first_in = graph.tensors[blocks[0].inputs[0]].shape
    last_out = graph.tensors[units[-1].outputs[0]].shape
    plain = all(isinstance(s, MVULayer) for s in stages) and unit_input(graph, units[0]).positions == 1 \
        and _pixels(first_in) == 1
    return StreamDesign(
        name=top_name(graph.name), layers=tuple(layers),
        in_elems=first_in[-1], out_elems=last_out[-1],
        stages=() if plain else tuple(stages),
        in_pixels=_pixels(first_in), out_pixels=_pixels(last_out),
    )
