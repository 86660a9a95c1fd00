"""The matrix-vector unit block: multi-bit (templates/hwcomp_mvu.v) and
XNOR-popcount (templates/hwcomp_xnor_mvu.v) kinds of one IR op.

A unit reads `pixels` vectors per image; each vector is `positions` pixels
(K*K after a sliding window, H*W after a Flatten, else 1) of `padded`
elements, channel c at slot[c] (hw/builder.py tracks the layout). Its weight
columns follow that layout: column pos*padded + slot[c] holds logical column
pos*C + c, the rest zero. It takes NF*SF cycles per vector, NF = ceil(rows/PE)
and SF = ceil(cols/SIMD) with cols = positions*padded.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.hw.binary import check_xnor_layer, xnor_layer, xnor_parameters, xnor_threshold_rows, xnor_weight_rows
from hwcomp.hw.design import Folded, MVULayer
from hwcomp.hw.numerics import accumulator_bounds
from hwcomp.devices import device
from hwcomp.hw.pipeline import DEFAULT_CLOCK_MHZ, mvu_pipeline, xnor_pipeline
from hwcomp.hw.resource_model import Multiplier, dsp_count
from hwcomp.numerics import ceil_div, int_range
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.quantizers import MultiThreshold
from hwcomp.ops.shape import Flatten
from hwcomp.ops.window import SlidingWindow

from .base import Bits, Block, Constant, Hdl, Knob, MemFile, MemoryImage, lane_options, register
from .feature_maps import pixels

ECP5 = device("lfe5u-25f")   # any ECP5: the family's 18x18 slice

# Cycles from the input handshake of a vector's last step to the handshake of
# its last output word, when nothing stalls, without optional register stages
# (see hwcomp_mvu.v); mvu_latency adds the unit's own.
MVU_LATENCY = 4
# Library files both kinds of unit need (the shared folded core), compile order.
MVU_SOURCES = ("hwcomp_fifo.v", "hwcomp_mvu_fold.v")
# The multi-bit unit sums its products with this tree.
MVU_TREE_SOURCES = ("hwcomp_add_tree.v", "hwcomp_mul.v")


@dataclass(frozen=True)
class UnitInput:
    """How a unit's input vector is made of pixels: positions x channels."""
    channels: int
    positions: int
    pixels: int


def unit_input(graph, node) -> UnitInput:
    src = graph.producer(node.inputs[0])
    shape = graph.tensors[node.inputs[0]].shape
    if src is not None and src.op is SlidingWindow:
        kh, kw = src.attrs["kernel"]
        return UnitInput(graph.tensors[src.inputs[0]].shape[-1], kh * kw, pixels(shape))
    if src is not None and src.op is Flatten and len(graph.tensors[src.inputs[0]].shape) > 2:
        inner = graph.tensors[src.inputs[0]].shape
        return UnitInput(inner[-1], pixels(inner), 1)
    return UnitInput(shape[-1], 1, pixels(shape))


def fifo_depth(sf: int) -> int:
    """Room for two input vectors: the unit reads a whole vector in its first row
    fold, then replays it while the producer keeps writing the next one."""
    return max(4, 2 * sf)


@dataclass(frozen=True, eq=False)
class MvuShape(Folded):
    """The folding of a unit without its weights (what the folder evaluates)."""
    name: str
    rows: int
    cols: int
    pe: int
    simd: int


def _padded_row_thresholds(rows_p: int, k: int, out_base: int, always_never: tuple[int, int]) -> np.ndarray:
    """Thresholds [rows_p, k] under which a row outputs the code 0 (out_base if 0 is no code):
    the first -out_base pass for every accumulator (always), the others for none (never).

    Padded rows are the stream's tail lanes, which must be zero: after a window or a
    Flatten they sit inside the next unit's column range, where an XNOR unit's padding
    weight bit 1 ignores only a 0 bit. Zero thresholds made a padded row (acc 0) output
    out_base + k, a 1 on binary layers."""
    always, never = always_never
    tp = np.full((rows_p, k), never, dtype=np.int64)
    tp[:, : min(max(-out_base, 0), k)] = always
    return tp


def mvu_latency(layer: MVULayer) -> int:
    """Cycles from a vector's last step firing to its last output word (nothing stalling)."""
    if layer.xnor:
        return xnor_layer(layer).latency
    return MVU_LATENCY + layer.pipeline.extra_latency(layer.simd)


def mvu_layer(graph, node, name: str, slots: tuple[int, ...], padded: int, pe: int, simd: int,
              clock_mhz: float = DEFAULT_CLOCK_MHZ, multipliers: int = 0) -> MVULayer:
    """The unit for `node` reading pixels of `padded` elements whose channel c sits at slots[c].

    XNOR units see padding lanes as bit 0 (-1), so their padding columns hold
    weight bit 1: they never agree and the popcount stays the logical one.
    `clock_mhz` and the design's `multipliers` choose the register stages (hw/pipeline.py)."""
    a = node.attrs
    xnor = a.get("kind") == "xnor"
    u = unit_input(graph, node)
    w = np.asarray(node.params["weight"], dtype=np.int64).reshape(-1, u.positions, u.channels)
    rows = w.shape[0]
    placed = np.full((rows, u.positions, padded), 1 if xnor else 0, dtype=np.int64)
    placed[:, :, list(slots)] = w
    cols = u.positions * padded
    rows_p = ceil_div(rows, pe) * pe
    wp = np.zeros((rows_p, ceil_div(cols, simd) * simd), dtype=np.int64)
    wp[:rows, :cols] = placed.reshape(rows, cols)
    bp = np.zeros(rows_p, dtype=np.int64)
    if "bias" in node.params:
        bp[:rows] = node.params["bias"]
    modes = {}
    if "thresholds" in node.params:
        t = np.asarray(node.params["thresholds"], dtype=np.int64)
        tp = _padded_row_thresholds(rows_p, t.shape[1], int(a.get("out_base", 0)),
                                    (0, cols + 1) if xnor else (a["acc_dtype"].min_int, a["acc_dtype"].max_int + 1))
        # The unit counts the thresholds a row passes, so their order is free; a
        # descending row's come largest first (negative BatchNorm gamma): store them sorted.
        tp[:rows] = np.sort(t, axis=1)
        modes["thresholds"] = tp
        if "descending" in node.params:
            dp = np.zeros(rows_p, dtype=bool)
            dp[:rows] = node.params["descending"]
            modes["descending"] = dp
        modes["out_base"] = int(a.get("out_base", 0))
    if "row_shifts" in node.params:
        sp = np.zeros(rows_p, dtype=np.int64)  # padded rows compute 0 whatever their shift
        sp[:rows] = node.params["row_shifts"]
        modes["row_shifts"] = sp
    xt, out = graph.tensors[node.inputs[0]].dtype, a["out_dtype"]
    out_width = out.width
    if xnor and "thresholds" not in node.params:
        out_width = wp.shape[1].bit_length()  # the unit's popcount port: clog2(SF*SIMD + 1) bits
    wt = a["weight_dtype"]
    # The unit's weights are signed: unsigned codes (a quantizer with signed=0) take one bit more.
    signed_width = wt.width if wt.signed or wt.is_bipolar else wt.width + 1
    bipolar, weight_width = bool(a.get("weight_bipolar", False)), 1 if xnor else signed_width
    if bipolar and (len(slots) < padded or rows_p > rows):
        # Padding columns inside [0, cols) (tail lanes of each position) would weigh -1, since the
        # unit masks only columns >= COLS, and padded rows (PE not dividing the rows) would
        # output -sum(x) into tail lanes that must stay zero: store +-1 as 2-bit weights
        # with 0 there instead.
        real = np.zeros((u.positions, padded), dtype=bool)
        real[:, list(slots)] = True
        wp[:rows, :cols] = np.where(real.reshape(-1), 2 * wp[:rows, :cols] - 1, 0)
        bipolar, weight_width = False, 2
    # A degenerate layer (all-zero inputs or weights) has a narrow accumulator with many
    # fractional bits; the unit rounds in ACC_W + 1 bits, so widen it to hold the shift.
    acc_width = max(a["acc_dtype"].width, a["shift"]) if a["requant"] else a["acc_dtype"].width
    if not (xnor or bipolar):
        modes["codebook"] = weight_codebook(wp, weight_width, graph.meta.get("share_weights"))
    return MVULayer(
        name=name, rows=rows, cols=cols, pe=pe, simd=simd,
        in_width=xt.width, in_signed=xt.signed, weight_width=weight_width,
        weights=wp, bias=bp, acc_width=acc_width, requant=a["requant"],
        shift=a["shift"], relu=a["relu"], out_width=out_width, out_signed=out.signed,
        out_min=out.min_int, out_max=out.max_int, in_fifo_depth=fifo_depth(ceil_div(cols, simd)),
        weight_bipolar=bipolar, xnor=xnor, **modes,
        pipeline=xnor_pipeline(clock_mhz, simd) if xnor else mvu_pipeline(clock_mhz, simd, acc_width, multipliers),
    )


def weight_file(name: str) -> str:
    return f"{name}_weights.mem"


def bias_file(name: str) -> str:
    return f"{name}_bias.mem"


def thresh_file(name: str) -> str:
    return f"{name}_thresh.mem"


def shift_file(name: str) -> str:
    return f"{name}_shift.mem"


def codebook_file(name: str) -> str:
    return f"{name}_codebook.mem"


def weight_codebook(weights: np.ndarray, weight_width: int, share_bits: int | None) -> np.ndarray | None:
    """The codebook of a unit with shared weights: its distinct padded weights (0 among them
    when the layer or its padding has zeros), when --share-weights is on and the indices
    are narrower than the weights."""
    if share_bits is None:
        return None
    values = np.unique(np.asarray(weights, dtype=np.int64))
    index_width = max(1, (len(values) - 1).bit_length())
    return values if len(values) >= 2 and index_width < weight_width else None


def folded_rows(layer, values: np.ndarray) -> np.ndarray:
    """[rows_p, cols_p] -> [NF*SF, PE*SIMD]: line nf*SF+sf holds W[nf*PE+p, sf*SIMD+s] at p*SIMD+s."""
    w = np.asarray(values, dtype=np.int64).reshape(layer.nf, layer.pe, layer.sf, layer.simd)
    return w.transpose(0, 2, 1, 3).reshape(layer.nf * layer.sf, layer.pe * layer.simd)


def clamped_thresholds(layer: MVULayer) -> np.ndarray:
    """Thresholds clamped to [acc_lo, acc_hi + 1] of the accumulator type, [rows_p, K] int64.

    Exact: every accumulator lies in [acc_lo, acc_hi], so acc >= T is the same
    for T and its clamped value; acc_hi + 1 ("never") fits ACC_W + 1 bits.
    """
    lo, hi = int_range(layer.acc_width, True)
    return np.clip(np.asarray(layer.thresholds, dtype=np.int64), lo, hi + 1)


def weight_image(layer: MVULayer, name: str) -> MemoryImage:
    """The weight ROM: the weights, or with a codebook each weight's index into it."""
    if layer.xnor:
        return MemoryImage(weight_file(name), ((xnor_weight_rows(xnor_layer(layer)), 1),))
    if layer.codebook is not None:
        index = np.searchsorted(np.asarray(layer.codebook, np.int64), np.asarray(layer.weights, np.int64))
        return MemoryImage(weight_file(name), ((folded_rows(layer, index), layer.codebook_width),), role="indices")
    return MemoryImage(weight_file(name), ((folded_rows(layer, layer.weights), layer.weight_width),))


def codebook_image(layer: MVULayer, name: str) -> MemoryImage:
    """2^CB_W lines: line i the weight of index i; the lines past the codebook hold 0."""
    cb = np.zeros(1 << layer.codebook_width, dtype=np.int64)
    cb[: len(layer.codebook)] = layer.codebook
    return MemoryImage(codebook_file(name), ((cb[:, None], layer.weight_width),), role="codebook")


def bias_image(layer: MVULayer, name: str) -> MemoryImage:
    return MemoryImage(bias_file(name), ((np.asarray(layer.bias, np.int64).reshape(layer.nf, layer.pe),
                                          layer.acc_width),), role="bias")


def threshold_image(layer: MVULayer, name: str) -> MemoryImage:
    """NF lines: per row of the fold its K clamped thresholds (ACC_W + 1 bits), then PE descending bits;
    XNOR units: PE thresholds on the popcount."""
    if layer.xnor:
        x = xnor_layer(layer)
        return MemoryImage(thresh_file(name), ((xnor_threshold_rows(x), x.thresh_width),), role="thresholds")
    t = clamped_thresholds(layer).reshape(layer.nf, layer.pe * layer.thresh_k)
    desc = np.zeros(layer.rows_p, dtype=np.int64) if layer.descending is None else layer.descending
    d = np.asarray(desc, dtype=np.int64).reshape(layer.nf, layer.pe)
    return MemoryImage(thresh_file(name), ((t, layer.acc_width + 1), (d, 1)), role="thresholds")


def shift_image(layer: MVULayer, name: str) -> MemoryImage:
    """NF lines: the requantization shifts of the fold's PE rows, row_shift_width bits each."""
    return MemoryImage(shift_file(name), ((np.asarray(layer.row_shifts, np.int64).reshape(layer.nf, layer.pe),
                                           layer.row_shift_width),), role="shifts")


def check_layer(layer: MVULayer) -> None:
    """Raise ValueError if the layer cannot be built exactly as described."""
    def fail(msg: str) -> None:
        raise ValueError(f"layer {layer.name}: {msg}")

    if layer.xnor:
        check_xnor_layer(xnor_layer(layer))
        return
    if min(layer.rows, layer.cols, layer.pe, layer.simd) < 1:
        fail("rows, cols, pe and simd must be >= 1")
    if min(layer.in_width, layer.weight_width, layer.acc_width, layer.out_width) < 1:
        fail("widths must be >= 1")
    w, b = np.asarray(layer.weights), np.asarray(layer.bias)
    if w.shape != (layer.rows_p, layer.cols_p) or b.shape != (layer.rows_p,):
        fail(f"weights {w.shape} / bias {b.shape} are not padded to ({layer.rows_p}, {layer.cols_p})")
    if w[layer.rows:].any() or w[:, layer.cols:].any() or b[layer.rows:].any():
        fail("padded rows and columns must have zero weights and bias")
    if layer.weight_bipolar:
        if layer.weight_width != 1:
            fail(f"bipolar weights are single bits, got weight_width {layer.weight_width}")
        if w.size and not np.isin(w, (0, 1)).all():
            fail("bipolar weights must be bits 0 / 1 (0 = -1, 1 = +1)")
    else:
        w_lo, w_hi = int_range(layer.weight_width, True)
        if w.size and (w.min() < w_lo or w.max() > w_hi):
            fail(f"weights outside int{layer.weight_width}")
    acc_lo, acc_hi = int_range(layer.acc_width, True)
    lo, hi = accumulator_bounds(layer)
    if lo < acc_lo or hi > acc_hi:
        fail(f"accumulator range [{lo}, {hi}] overflows acc_width {layer.acc_width}")
    if layer.in_fifo_depth < 2:
        # tready of hwcomp_fifo is registered: one word holds only every other cycle.
        fail("in_fifo_depth must be >= 2 for full rate")
    if layer.row_shifts is not None:
        _check_row_shifts(layer, fail)
    if layer.codebook is not None:
        _check_codebook(layer, fail)
    if layer.thresholds is not None:
        _check_thresholds(layer, fail)
        return
    if layer.descending is not None or layer.out_base != 0:
        fail("descending and out_base need thresholds")
    if not layer.requant:
        if layer.out_width != layer.acc_width or not layer.out_signed:
            fail("without requant the output is the signed accumulator (out_width == acc_width)")
        return
    if not 0 <= layer.shift <= layer.acc_width:
        fail(f"shift {layer.shift} outside [0, acc_width]")
    o_lo, o_hi = int_range(layer.out_width, layer.out_signed)
    if not o_lo <= layer.out_min <= layer.out_max <= o_hi:
        fail(f"saturation bounds [{layer.out_min}, {layer.out_max}] do not fit the output type")
    r_lo, r_hi = int_range(layer.acc_width + 1, True)
    if layer.out_min > r_hi or layer.out_max < r_lo:
        fail("saturation bounds lie outside every reachable value")


def _check_codebook(layer: MVULayer, fail) -> None:
    """Sorted distinct weights of the unit's type, 2 to 256 of them, holding every weight."""
    cb = np.asarray(layer.codebook)
    if cb.ndim != 1 or not np.issubdtype(cb.dtype, np.integer) or not 2 <= cb.size <= 256:
        fail(f"codebook must be 2 to 256 integers, got {cb.dtype} {cb.shape}")
    if layer.weight_bipolar:
        fail("bipolar weights have no codebook")
    if (np.diff(cb) <= 0).any():
        fail("codebook must be sorted and distinct")
    w_lo, w_hi = int_range(layer.weight_width, True)
    if cb.min() < w_lo or cb.max() > w_hi:
        fail(f"codebook values outside int{layer.weight_width}")
    if not np.isin(np.asarray(layer.weights), cb).all():
        fail("a weight is not in the codebook")


def _check_row_shifts(layer: MVULayer, fail) -> None:
    """One requantization shift per row, in [0, acc_width], replacing `shift`."""
    r = np.asarray(layer.row_shifts)
    if r.shape != (layer.rows_p,) or not np.issubdtype(r.dtype, np.integer):
        fail(f"row_shifts must be {layer.rows_p} integers, got {r.dtype} {r.shape}")
    if not layer.requant or layer.thresholds is not None or layer.shift != 0:
        fail("row_shifts replace the requantization shift: requant on, no thresholds, shift 0")
    if r.size and (r.min() < 0 or r.max() > layer.acc_width):
        fail(f"row shifts [{int(r.min())}, {int(r.max())}] outside [0, acc_width]")


def _check_thresholds(layer: MVULayer, fail) -> None:
    """The threshold activation: shapes, ascending rows, an output type holding every code."""
    t = np.asarray(layer.thresholds)
    if t.ndim != 2 or t.shape[0] != layer.rows_p or t.shape[1] < 1:
        fail(f"thresholds {t.shape} must be [rows_p, K] = [{layer.rows_p}, K] with K >= 1")
    if not np.issubdtype(t.dtype, np.integer):
        fail(f"thresholds must be integers, got {t.dtype}")
    # Padded rows are not checked: mvu_layer gives them thresholds for the code 0 (zero tail lanes).
    if (np.diff(t[: layer.rows], axis=1) < 0).any():
        bad = int(np.nonzero((np.diff(t[: layer.rows], axis=1) < 0).any(axis=1))[0][0])
        fail(f"thresholds of row {bad} are not ascending: {t[bad].tolist()}")
    if layer.descending is not None:
        d = np.asarray(layer.descending)
        if d.shape != (layer.rows_p,) or not np.isin(d, (0, 1)).all():
            fail(f"descending must be {layer.rows_p} booleans, got {d.dtype} {d.shape}")
    if layer.relu or layer.requant or layer.shift != 0:
        fail("thresholds replace ReLU and requantization: relu and requant must be False, shift 0")
    lo, hi = layer.out_base, layer.out_base + layer.thresh_k
    o_lo, o_hi = int_range(layer.out_width, layer.out_signed)
    if not o_lo <= layer.out_min <= lo <= hi <= layer.out_max <= o_hi:
        fail(f"output codes [{lo}, {hi}] must lie in [out_min, out_max] = [{layer.out_min}, "
             f"{layer.out_max}] inside the output type")
    if lo < -(1 << 31) or hi >= 1 << 31:
        fail(f"output codes [{lo}, {hi}] must fit a 32-bit integer (OUT_BASE)")


def mvu_parameters(layer: MVULayer) -> tuple:
    """hwcomp_mvu's parameters (without the file names). The optional modes add theirs
    only when on (W_BIPOLAR, COLS; THRESH_K, OUT_BASE), so the plain unit's instance
    text never changes."""
    # The saturation bounds are compared in the (acc_width + 1)-bit rounding
    # domain. Every rounded value lies inside it, so moving a bound that lies
    # outside onto the domain's edge changes no result.
    r_lo, r_hi = int_range(layer.acc_width + 1, True)
    out_min = max(layer.out_min, r_lo) if layer.requant else 0
    out_max = min(layer.out_max, r_hi) if layer.requant else 0
    params = (("PE", layer.pe), ("SIMD", layer.simd), ("NF", layer.nf), ("SF", layer.sf),
              ("IN_W", layer.in_width), ("IN_SIGNED", int(layer.in_signed)),
              ("W_W", layer.weight_width), ("ACC_W", layer.acc_width),
              ("RELU", int(layer.relu)), ("REQUANT", int(layer.requant)),
              ("SHIFT", layer.shift if layer.requant else 0),
              ("OUT_MIN", Bits(out_min, layer.acc_width + 1)), ("OUT_MAX", Bits(out_max, layer.acc_width + 1)),
              ("OUT_W", layer.out_width))
    if layer.weight_bipolar:
        params += (("W_BIPOLAR", 1), ("COLS", layer.cols))
    if layer.thresholds is not None:
        params += (("THRESH_K", layer.thresh_k), ("OUT_BASE", int(layer.out_base)))
    if layer.row_shifts is not None:
        params += (("ROW_SHIFT_W", layer.row_shift_width),)
    if layer.codebook is not None:
        params += (("CB_W", layer.codebook_width),)
    params += layer.pipeline.parameters()
    if layer.pipeline.prod_reg >= 1 and products_fit_dsp18(layer):
        params += (("MUL_DSP18", 1),)
    return params


def products_fit_dsp18(layer: MVULayer) -> bool:
    """Whether each of the unit's products maps onto one 18x18 DSP slice (as Yosys' ECP5 flow
    maps it): hwcomp_mul.v then puts the first product register inside the slice on ECP5."""
    x_w = layer.in_width + (0 if layer.in_signed else 1)
    wv_w = 2 if layer.weight_bipolar else layer.weight_width
    m = Multiplier(wv_w, x_w, min(wv_w + x_w, layer.acc_width))
    return max(m.a, m.b) <= 18 and dsp_count(m, ECP5) == 1


@register
class MvuBlock(Block):
    unit = MVULayer
    prefix = "mvu"
    ops = (MatrixVectorUnit,)
    implements = (Dense, Relu, MultiThreshold, MatrixVectorUnit)

    @classmethod
    def knobs(cls, node, graph):
        u = unit_input(graph, node)
        return (Knob("pe", node.params["weight"].shape[0]), Knob("simd", u.channels))

    @classmethod
    def macs(cls, node, graph) -> int:
        u = unit_input(graph, node)
        return u.pixels * node.params["weight"].shape[0] * u.positions * u.channels

    @classmethod
    def ideal_cycles(cls, node, graph, knobs) -> float:
        return cls.macs(node, graph) / (knobs["pe"] * knobs["simd"])

    @classmethod
    def fold_candidates(cls, walk, node, window=None):
        """Per SIMD worth trying, the fewest PE meeting the target: NF*SF cycles per vector,
        SF = positions * beats per pixel at SIMD lanes (the window, if any, runs at SIMD)."""
        def knobs(pe, simd):
            k = {node.name: {"pe": pe, "simd": simd}}
            if window is not None:
                k[window.name] = {"lanes": simd}
            return k

        f = walk.incoming(window or node)
        if walk.fixed is not None:
            pe, simd = walk.fixed[node.name]
            return [(pe * simd, f is not None and f.lanes != simd, knobs(pe, simd))]
        u = unit_input(walk.g, node)
        rows = node.params["weight"].shape[0]
        channels = f.elems if f is not None else u.channels
        out = []
        for s in sorted(set(lane_options(channels)) | ({f.lanes} if f is not None else set())):
            per_pixel = f.padded // s if f is not None and s == f.lanes else ceil_div(channels, s)
            nf_max = walk.t // (u.pixels * u.positions * per_pixel)
            if nf_max >= 1:
                pe = ceil_div(rows, min(nf_max, rows))
                out.append((pe * s, f is not None and s != f.lanes, knobs(pe, s)))
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
            unit = MvuShape(name, rows, u.positions * f.padded, pe, simd)
            out_width = node.attrs["out_dtype"].width
        else:
            unit = mvu_layer(g, node, name, f.slots, f.padded, pe, simd, builder.clock_mhz, builder.multipliers())
            out_width = unit.out_width
        fifo = builder.fifo(f, fifo_depth(unit.sf), "input buffer")
        out_t = node.attrs["out_dtype"]
        res = builder.new_flow(pe, out_width, out_t.signed, tuple(range(rows)), unit.nf * pe,
                               pixels(g.tensors[node.outputs[0]].shape))
        builder.stage(cls, unit, [fifo], [res], u.pixels, node)
        return res

    @classmethod
    def check(cls, unit) -> None:
        check_layer(unit)

    @classmethod
    def ports(cls, unit):
        return (unit.simd * unit.in_width,), (unit.pe * unit.out_width,)

    @classmethod
    def cycles(cls, unit, vectors: int) -> int:
        return vectors * unit.cycles   # Folded.cycles: NF*SF per vector

    @classmethod
    def hdl(cls, unit: MVULayer, name: str) -> Hdl:
        if unit.xnor:
            files = [("WEIGHT_FILE", MemFile(weight_file(name)))]
            if unit.thresholds is not None:
                files.append(("THRESH_FILE", MemFile(thresh_file(name))))
            return Hdl("hwcomp_xnor_mvu", MVU_SOURCES + ("hwcomp_xnor_mvu.v",), xnor_parameters(xnor_layer(unit)) + tuple(files))
        files = [("WEIGHT_FILE", MemFile(weight_file(name))), ("BIAS_FILE", MemFile(bias_file(name)))]
        if unit.thresholds is not None:
            files.append(("THRESH_FILE", MemFile(thresh_file(name))))
        if unit.row_shifts is not None:
            files.append(("SHIFT_FILE", MemFile(shift_file(name))))
        if unit.codebook is not None:
            files.append(("CODEBOOK_FILE", MemFile(codebook_file(name))))
        return Hdl("hwcomp_mvu", MVU_SOURCES + MVU_TREE_SOURCES + ("hwcomp_mvu.v",), mvu_parameters(unit) + tuple(files))

    @classmethod
    def memories(cls, unit: MVULayer, name: str) -> tuple[MemoryImage, ...]:
        if unit.xnor:
            return (weight_image(unit, name),) + ((threshold_image(unit, name),) if unit.thresholds is not None else ())
        images = (weight_image(unit, name), bias_image(unit, name))
        images += (threshold_image(unit, name),) if unit.thresholds is not None else ()
        images += (codebook_image(unit, name),) if unit.codebook is not None else ()
        return images + ((shift_image(unit, name),) if unit.row_shifts is not None else ())

    @classmethod
    def constants(cls, unit: MVULayer) -> tuple[Constant, ...]:
        """The requantization's one shift (a shift ROM replaces it when the rows have their own)
        in [0, ACC_W], its saturation bounds (output codes), a threshold unit's first code."""
        if unit.xnor:
            return ()
        out = ()
        if unit.requant:
            if unit.row_shifts is None:
                out += (Constant("SHIFT", unit.acc_width.bit_length(), "shifts"),)
            out += (Constant("OUT_MIN", unit.out_width, "thresholds"),
                    Constant("OUT_MAX", unit.out_width, "thresholds"))
        if unit.thresholds is not None:
            out += (Constant("OUT_BASE", unit.out_width, "thresholds"),)
        return out

    @classmethod
    def summary(cls, unit) -> str:
        layer = unit
        kind = ("requant, a shift per row" if layer.row_shifts is not None else "requant") if layer.requant \
            else "accumulator out"
        if layer.thresholds is not None:
            kind = f"{layer.thresh_k} thresholds"
        if layer.weight_bipolar:
            kind = f"bipolar weights, {kind}"
        if layer.codebook is not None:
            kind = f"{len(layer.codebook)} shared weights ({layer.codebook_width}-bit indices), {kind}"
        if layer.xnor:
            kind = "XNOR-popcount, " + ("threshold out" if layer.thresholds is not None else "popcount out")
        return (f"{layer.rows}x{layer.cols} (padded {layer.rows_p}x{layer.cols_p}), "
                f"PE {layer.pe}, SIMD {layer.simd}, {layer.cycles} cycles/vector, "
                f"{'relu, ' if layer.relu else ''}{kind}")
