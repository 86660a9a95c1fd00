"""The sparse matrix-vector unit block (templates/hwcomp_sparse_mvu.v, hw/sparse.py).

It reads its input as the dense unit does (hw/blocks/mvu.py: `positions`
pixels of `padded` elements per vector, weight columns following the layout)
and writes the dense unit's output layout at PE = its lanes, so the blocks
around it do not know it is sparse. Knobs: `pe` (lanes) and `simd` (input
elements per word). Cycles per vector: max(E, SF) (hw/sparse.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.hw.design import Folded, MVULayer
from hwcomp.hw.pipeline import DEFAULT_CLOCK_MHZ
from hwcomp.hw.sparse import (SparseLayer, check_sparse_layer, choose_index_width, sparse_layer,
                              steps_per_vector)
from hwcomp.numerics import ceil_div, int_range
from hwcomp.ops.sparse_mvu import SparseMatrixVectorUnit

from .base import Bits, Block, Hdl, Knob, MemFile, MemoryImage, lane_options, register
from .feature_maps import pixels
from .mvu import bias_file, fifo_depth, mvu_layer, shift_file, unit_input, weight_file

SPARSE_SOURCES = ("hwcomp_fifo.v", "hwcomp_sparse_mvu.v")


@dataclass(frozen=True, eq=False)
class SparseShape(Folded):
    """What the folder evaluates: the unit's steps without its ROM images."""
    name: str
    rows: int
    cols: int
    pe: int
    simd: int
    entries: int

    @property
    def cycles(self) -> int:
        return max(self.entries, self.sf)


def placed_weights(graph, node, slots: tuple[int, ...], padded: int, simd: int) -> np.ndarray:
    """The unit's [rows, cols_p] weights in its input layout (as mvu_layer places them)."""
    u = unit_input(graph, node)
    w = np.asarray(node.params["weight"], dtype=np.int64).reshape(-1, u.positions, u.channels)
    placed = np.zeros((w.shape[0], u.positions, padded), dtype=np.int64)
    placed[:, :, list(slots)] = w
    cols = u.positions * padded
    out = np.zeros((w.shape[0], ceil_div(cols, simd) * simd), dtype=np.int64)
    out[:, :cols] = placed.reshape(w.shape[0], cols)
    return out


_STEPS: dict[tuple, tuple[np.ndarray, int]] = {}


def planned_steps(graph, node, slots, padded: int, pe: int, simd: int) -> int:
    """E for the folder (cached: it asks for many foldings of one layer). The cache keeps
    the weight array alive, so its id is never reused while the entry exists."""
    w0 = node.params["weight"]
    key = (id(w0), tuple(slots), padded, pe, simd)
    if key not in _STEPS:
        w = placed_weights(graph, node, tuple(slots), padded, simd)
        idx = choose_index_width(w, simd, _weight_bits(node))
        _STEPS[key] = (w0, steps_per_vector(w, pe, simd, idx))
    return _STEPS[key][1]


def _weight_bits(node) -> int:
    wt = node.attrs["weight_dtype"]
    return wt.width if wt.signed else wt.width + 1


def sparse_unit(graph, node, name: str, slots, padded: int, pe: int, simd: int,
                clock_mhz: float = DEFAULT_CLOCK_MHZ) -> SparseLayer:
    dense: MVULayer = mvu_layer(graph, node, name, slots, padded, pe, simd, clock_mhz)
    return sparse_layer(dense, in_fifo_depth=fifo_depth(dense.sf))


def natural_layout(graph, node, simd: int) -> tuple[tuple[int, ...], int]:
    """Slots and padded pixel of the unit's input read at `simd` lanes from a packed stream."""
    c = unit_input(graph, node).channels
    return tuple(range(c)), ceil_div(c, simd) * simd


def dense_cost(graph, node, pe: int, simd: int) -> tuple[int, int]:
    """Cycles per vector and weight ROM bits of the dense unit at (pe, simd)."""
    u = unit_input(graph, node)
    rows = node.params["weight"].shape[0]
    sf = ceil_div(u.positions * natural_layout(graph, node, simd)[1], simd)
    nf = ceil_div(rows, pe)
    return nf * sf, nf * sf * pe * simd * _weight_bits(node)


def sparse_cost(graph, node, pe: int, simd: int) -> tuple[int, int]:
    """Cycles per vector and entry + crossbar ROM bits of the sparse unit at `pe` lanes."""
    u = unit_input(graph, node)
    slots, padded = natural_layout(graph, node, simd)
    w = placed_weights(graph, node, slots, padded, simd)
    idx = choose_index_width(w, simd, _weight_bits(node))
    e = planned_steps(graph, node, slots, padded, pe, simd)
    nf = ceil_div(w.shape[0], pe)
    sf = ceil_div(u.positions * padded, simd)
    return max(e, sf), e * pe * (_weight_bits(node) + idx + 1) + nf * pe * map_width(pe)


def index_file(name: str) -> str:
    return f"{name}_index.mem"


def map_file(name: str) -> str:
    return f"{name}_map.mem"


def map_width(pe: int) -> int:
    return max(1, (pe - 1).bit_length())


def sparse_parameters(layer: SparseLayer) -> tuple:
    """hwcomp_sparse_mvu's parameters (without the file names)."""
    d = layer.dense
    r_lo, r_hi = int_range(d.acc_width + 1, True)
    out_min = max(d.out_min, r_lo) if d.requant else 0
    out_max = min(d.out_max, r_hi) if d.requant else 0
    params = (("PE", d.pe), ("SIMD", d.simd), ("NF", d.nf), ("SF", d.sf), ("ENTRIES", layer.entries),
              ("IN_W", d.in_width), ("IN_SIGNED", int(d.in_signed)), ("W_W", d.weight_width),
              ("IDX_W", layer.idx_width), ("ACC_W", d.acc_width), ("RELU", int(d.relu)),
              ("REQUANT", int(d.requant)), ("SHIFT", d.shift if d.requant else 0),
              ("OUT_MIN", Bits(out_min, d.acc_width + 1)), ("OUT_MAX", Bits(out_max, d.acc_width + 1)),
              ("OUT_W", d.out_width), ("RES_AW", layer.result_addr_bits))
    if d.row_shifts is not None:
        params += (("ROW_SHIFT_W", d.row_shift_width),)
    return params


def sparse_memories(layer: SparseLayer, name: str) -> tuple[MemoryImage, ...]:
    d = layer.dense
    images = (
        MemoryImage(weight_file(name), ((layer.values, d.weight_width),), role="weights"),
        MemoryImage(index_file(name), ((layer.deltas | (layer.lasts << layer.idx_width), layer.idx_width + 1),),
                    role="indices"),
        MemoryImage(map_file(name), ((layer.lane_map, map_width(d.pe)),), role="pointers"),
        MemoryImage(bias_file(name), ((layer.pe_bias, d.acc_width),), role="bias"),
    )
    if d.row_shifts is not None:
        images += (MemoryImage(shift_file(name), ((layer.pe_shifts, d.row_shift_width),), role="shifts"),)
    return images


@register
class SparseMvuBlock(Block):
    unit = SparseLayer
    prefix = "spmvu"
    ops = (SparseMatrixVectorUnit,)

    @classmethod
    def knobs(cls, node, graph):
        u = unit_input(graph, node)
        return (Knob("pe", node.params["weight"].shape[0]), Knob("simd", u.channels))

    @classmethod
    def macs(cls, node, graph) -> int:
        """Multiplies by non-zero weights per image (what the unit spends cycles on)."""
        return unit_input(graph, node).pixels * int(np.count_nonzero(node.params["weight"]))

    @classmethod
    def ideal_cycles(cls, node, graph, knobs) -> float:
        return cls.macs(node, graph) / knobs["pe"]

    @classmethod
    def fold_candidates(cls, walk, node, window=None):
        """Per SIMD worth trying, the fewest lanes whose entry steps meet the target (E falls
        as lanes grow: a bisection, checked by the folder's trial), and all lanes as a fallback."""
        def knobs(pe, simd):
            k = {node.name: {"pe": pe, "simd": simd}}
            if window is not None:
                k[window.name] = {"lanes": simd}
            return k

        f = walk.incoming(window or node)
        if walk.fixed is not None:
            pe, simd = walk.fixed[node.name]
            return [(pe, f is not None and f.lanes != simd, knobs(pe, simd))]
        u = unit_input(walk.g, node)
        rows = node.params["weight"].shape[0]
        channels = f.elems if f is not None else u.channels
        out = []
        for s in sorted(set(lane_options(channels)) | ({f.lanes} if f is not None else set())):
            same = f is not None and s == f.lanes
            slots = f.slots if same else tuple(range(u.channels))
            padded = f.padded if same else ceil_div(channels, s) * s
            if u.pixels * u.positions * (padded // s) > walk.t:
                continue

            def fits(pe: int) -> bool:
                return u.pixels * planned_steps(walk.g, node, slots, padded, pe, s) <= walk.t

            lo, hi = 1, rows
            if not fits(hi):
                continue
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
            for pe in sorted({lo, rows}):
                out.append((pe, f is not None and not same, knobs(pe, s)))
        return sorted(out, key=lambda c: (c[0], c[1]))

    @classmethod
    def build(cls, builder, node, flows):
        pe, simd = builder.pe_simd(node)
        f = builder.convert(flows[0], simd)
        g = builder.graph
        name = builder.next_name(cls)
        u = unit_input(g, node)
        rows = node.params["weight"].shape[0]
        if builder.plan_only:
            unit = SparseShape(name, rows, u.positions * f.padded, pe, simd,
                               planned_steps(g, node, f.slots, f.padded, pe, simd))
            out_width = node.attrs["out_dtype"].width
        else:
            unit = sparse_unit(g, node, name, f.slots, f.padded, pe, simd, builder.clock_mhz)
            out_width = unit.out_width
        # As in front of a dense unit (two vectors): the unit takes a vector in bursts when a
        # bank frees, and a producer it stalls may lose cycles it never makes up.
        fifo = builder.fifo(f, fifo_depth(unit.sf), "input buffer")
        out_t = node.attrs["out_dtype"]
        res = builder.new_flow(pe, out_width, out_t.signed, tuple(range(rows)), unit.nf * pe,
                               pixels(g.tensors[node.outputs[0]].shape))
        builder.stage(cls, unit, [fifo], [res], u.pixels, node)
        return res

    @classmethod
    def check(cls, unit) -> None:
        check_sparse_layer(unit)

    @classmethod
    def ports(cls, unit):
        return (unit.simd * unit.in_width,), (unit.pe * unit.out_width,)

    @classmethod
    def cycles(cls, unit, vectors: int) -> int:
        return vectors * unit.cycles     # max(E, SF) per vector

    @classmethod
    def hdl(cls, unit: SparseLayer, name: str) -> Hdl:
        files = [("WEIGHT_FILE", MemFile(weight_file(name))), ("INDEX_FILE", MemFile(index_file(name))),
                 ("MAP_FILE", MemFile(map_file(name))), ("BIAS_FILE", MemFile(bias_file(name)))]
        if unit.dense.row_shifts is not None:
            files.append(("SHIFT_FILE", MemFile(shift_file(name))))
        return Hdl("hwcomp_sparse_mvu", SPARSE_SOURCES, sparse_parameters(unit) + tuple(files))

    @classmethod
    def memories(cls, unit: SparseLayer, name: str) -> tuple[MemoryImage, ...]:
        return sparse_memories(unit, name)

    @classmethod
    def summary(cls, unit) -> str:
        d = unit.dense
        kind = ("requant, a shift per row" if d.row_shifts is not None else "requant") if d.requant \
            else "accumulator out"
        density = unit.nnz / max(1, d.rows * d.cols)
        return (f"{d.rows}x{d.cols} sparse, {unit.nnz} non-zeros ({density:.1%}), {d.pe} lanes, SIMD {d.simd}, "
                f"{unit.idx_width}-bit indices, {unit.entries} entries/lane, {unit.cycles} cycles/vector, "
                f"{'relu, ' if d.relu else ''}{kind}")
