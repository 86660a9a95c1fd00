"""Verilog backend: a StreamDesign -> top module, generic modules, ROM images.

Output directory after `write_verilog(design, outdir)`:

    hwcomp_fifo.v           generic modules, copied unchanged
    hwcomp_mvu.v
    <top>.v                 generated top (templates/top.v.j2)
    <layer>_weights.mem     $readmemh images, one pair per layer
    <layer>_bias.mem
    <layer>_thresh.mem      only for a layer with the threshold activation

<top> and <layer> are the design's names through sanitize_identifier
(`top_module_name(design)` gives the top's).

The ROMs read {MEM_DIR, "<layer>_weights.mem"}. MEM_DIR defaults to "./",
so either run the tool with the output directory as working directory, or
set MEM_DIR to a directory ending in "/":
    Verilator   -GMEM_DIR='"/abs/out/"'
    Icarus      -P<top>.MEM_DIR='"/abs/out/"'
    Yosys       read_verilog -defer ...; chparam -set MEM_DIR "/abs/out/" <top>
Yosys needs `read_verilog -defer` in any case: without it, it elaborates
hwcomp_mvu with its default parameters and looks for "weights.mem".

Every number in the HDL is decided here; the template only substitutes.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from hwcomp.backends.identifiers import sanitize_identifier, unique_identifiers
from hwcomp.backends.rom_images import bias_lines, threshold_lines, weight_lines, write_lines
from hwcomp.backends.stream_blocks import hdl_module
from hwcomp.hw.binary import check_xnor_layer, xnor_layer, xnor_parameters, xnor_threshold_lines, xnor_weight_lines
from hwcomp.hw.design import BlockStage, MVULayer, StreamDesign, ceil_div, stage_lanes
from hwcomp.hw.numerics import accumulator_bounds, int_range
from hwcomp.resources import templates_dir

# Generic modules copied next to every generated top, in compile order.
BASE_MODULES = ("hwcomp_fifo.v", "hwcomp_mvu.v")
# Every library module a design may use; stages name theirs (BlockStage.module).
# Every library module a design may use, in compile order; a stage's unit
# names the ones it needs (stream_blocks.hdl_module).
LIBRARY_MODULES = BASE_MODULES + ("hwcomp_xnor_mvu.v", "hwcomp_swu.v", "hwcomp_scale.v", "hwcomp_pool.v", "hwcomp_gap.v",
                                  "hwcomp_add.v", "hwcomp_fork.v", "hwcomp_concat.v", "hwcomp_dwc.v")
RESERVED_NAMES = tuple(Path(m).stem for m in LIBRARY_MODULES)
# Cycles from the input handshake of a vector's last step to the handshake of
# its last output word, when nothing stalls (see hwcomp_mvu.v).
MVU_LATENCY = 4


def top_module_name(design: StreamDesign) -> str:
    """The generated top module's name (also its file's stem)."""
    return sanitize_identifier(design.name, RESERVED_NAMES)


# ---------------------------------------------------------------- checks

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


def _check_thresholds(layer: MVULayer, fail) -> None:
    """The threshold activation: shapes, ascending rows, an output type holding every code."""
    t = np.asarray(layer.thresholds)
    if t.ndim != 2 or t.shape[0] != layer.rows_p or t.shape[1] < 1:
        fail(f"thresholds {t.shape} must be [rows_p, K] = [{layer.rows_p}, K] with K >= 1")
    if not np.issubdtype(t.dtype, np.integer):
        fail(f"thresholds must be integers, got {t.dtype}")
    # Padded rows may hold anything; their codes are dropped downstream.
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


def check_design(design: StreamDesign) -> None:
    if not design.layers:
        raise ValueError(f"design {design.name}: no layers")
    for layer in design.layers:
        check_layer(layer)
    if design.stages:
        _check_stages(design)
        return
    if design.in_elems != design.layers[0].cols or design.out_elems != design.layers[-1].rows:
        raise ValueError(f"design {design.name}: in_elems/out_elems disagree with the layers")
    for a, b in zip(design.layers, design.layers[1:]):
        if (b.simd, b.cols, b.cols_p, b.in_width, b.in_signed) != (
            a.pe, a.rows, a.rows_p, a.out_width, a.out_signed
        ):
            raise ValueError(
                f"layers {a.name} -> {b.name}: the consumer's simd/cols/input type must equal "
                "the producer's pe/rows/output type"
            )


def _check_stages(design: StreamDesign) -> None:
    """A chain with windows and pooling: neighbours agree on lanes and element type."""
    for a, b in zip(design.stages, design.stages[1:]):
        _, _, a_lanes, a_w = stage_lanes(a)
        b_lanes, b_w, _, _ = stage_lanes(b)
        if (a_lanes, a_w, a.out_signed) != (b_lanes, b_w, b.in_signed):
            raise ValueError(f"stages {a.name} -> {b.name}: lanes or element type differ")
        if isinstance(b, BlockStage) and b.in_fifo_depth == 1:
            raise ValueError(f"stage {b.name}: in_fifo_depth must be 0 or >= 2")


# ---------------------------------------------------------------- literals

def _sized_hex(value: int, width: int) -> str:
    return f"{width}'h{value & ((1 << width) - 1):0{ceil_div(width, 4)}x}"


def mvu_parameters(layer: MVULayer) -> tuple[tuple[str, str], ...]:
    """hwcomp_mvu parameters as Verilog literals (without the file names).

    The optional modes add their parameters only when on (W_BIPOLAR, COLS;
    THRESH_K, OUT_BASE), so the plain unit's instance text never changes.
    """
    # The saturation bounds are compared in the (acc_width + 1)-bit rounding
    # domain. Every rounded value lies inside it, so moving a bound that lies
    # outside onto the domain's edge changes no result.
    r_lo, r_hi = int_range(layer.acc_width + 1, True)
    out_min = max(layer.out_min, r_lo) if layer.requant else 0
    out_max = min(layer.out_max, r_hi) if layer.requant else 0
    values = [
        ("PE", layer.pe), ("SIMD", layer.simd), ("NF", layer.nf), ("SF", layer.sf),
        ("IN_W", layer.in_width), ("IN_SIGNED", int(layer.in_signed)),
        ("W_W", layer.weight_width), ("ACC_W", layer.acc_width),
        ("RELU", int(layer.relu)), ("REQUANT", int(layer.requant)),
        ("SHIFT", layer.shift if layer.requant else 0),
    ]
    literals = [(name, str(int(v))) for name, v in values]
    literals += [
        ("OUT_MIN", _sized_hex(out_min, layer.acc_width + 1)),
        ("OUT_MAX", _sized_hex(out_max, layer.acc_width + 1)),
        ("OUT_W", str(layer.out_width)),
    ]
    if layer.weight_bipolar:
        literals += [("W_BIPOLAR", "1"), ("COLS", str(layer.cols))]
    if layer.thresholds is not None:
        literals += [("THRESH_K", str(layer.thresh_k)), ("OUT_BASE", str(int(layer.out_base)))]
    return tuple(literals)


# ---------------------------------------------------------------- top context

@dataclass(frozen=True)
class LayerContext:
    """One stage of the chain: an optional FIFO, then one module instance."""
    name: str                               # sanitized; instance and file names
    prefix: str                             # wire prefix, l<index>
    summary: str                            # one comment line
    module: str                             # library module to instantiate
    fifo_depth: int                         # 0: no FIFO in front
    in_word_w: int
    out_word_w: int
    params: tuple[tuple[str, str], ...]     # Verilog literals, file names included


@dataclass(frozen=True)
class LinkContext:
    src: str                                # producer prefix
    dst: str                                # consumer prefix


@dataclass(frozen=True)
class TopContext:
    module: str
    in_elems: int
    in_beats: int
    in_lanes: int
    in_width: int
    out_elems: int
    out_beats: int
    out_lanes: int
    out_width: int
    s_tdata_w: int
    m_tdata_w: int
    s_pad_w: int                            # byte padding bits of s_axis_tdata
    m_pad_w: int                            # byte padding bits of m_axis_tdata
    beat_w: int                             # output beat counter width
    beat_zero: str
    last_beat: str
    tail_mask: str | None                   # zeroes unused lanes of the last beat
    layers: tuple[LayerContext, ...]
    links: tuple[LinkContext, ...]


def weight_file(name: str) -> str:
    return f"{name}_weights.mem"


def bias_file(name: str) -> str:
    return f"{name}_bias.mem"


def thresh_file(name: str) -> str:
    return f"{name}_thresh.mem"


def mvu_file_parameters(layer: MVULayer, name: str) -> tuple[tuple[str, str], ...]:
    """The ROM file parameters of one hwcomp_mvu instance, relative to MEM_DIR."""
    files = [("WEIGHT_FILE", weight_file(name)), ("BIAS_FILE", bias_file(name))]
    if layer.thresholds is not None:
        files.append(("THRESH_FILE", thresh_file(name)))
    return tuple((param, f'{{MEM_DIR, "{file}"}}') for param, file in files)


def mvu_instance(layer: MVULayer, name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(module, parameter literals with file names) of a matrix-vector unit of either kind."""
    if layer.xnor:
        files = [("WEIGHT_FILE", weight_file(name))]
        if layer.thresholds is not None:
            files.append(("THRESH_FILE", thresh_file(name)))
        literals = tuple((param, f'{{MEM_DIR, "{file}"}}') for param, file in files)
        return "hwcomp_xnor_mvu", xnor_parameters(xnor_layer(layer)) + literals
    return "hwcomp_mvu", mvu_parameters(layer) + mvu_file_parameters(layer, name)


def mvu_sources(layer: MVULayer) -> tuple[str, ...]:
    return ("hwcomp_fifo.v", "hwcomp_xnor_mvu.v") if layer.xnor else BASE_MODULES


def write_mvu_roms(layer: MVULayer, name: str, outdir: Path) -> list[Path]:
    """Write the ROM images of one matrix-vector unit instance; return their paths."""
    if layer.xnor:
        x = xnor_layer(layer)
        files = [write_lines(outdir / weight_file(name), xnor_weight_lines(x))]
        if not x.popcount_out:
            files.append(write_lines(outdir / thresh_file(name), xnor_threshold_lines(x)))
        return files
    files = [write_lines(outdir / weight_file(name), weight_lines(layer)),
             write_lines(outdir / bias_file(name), bias_lines(layer))]
    if layer.thresholds is not None:
        files.append(write_lines(outdir / thresh_file(name), threshold_lines(layer)))
    return files


def mvu_summary(layer: MVULayer) -> str:
    kind = "requant" if layer.requant else "accumulator out"
    if layer.thresholds is not None:
        kind = f"{layer.thresh_k} thresholds"
    if layer.weight_bipolar:
        kind = f"bipolar weights, {kind}"
    if layer.xnor:
        kind = "XNOR-popcount, " + ("threshold out" if layer.thresholds is not None else "popcount out")
    return (f"{layer.rows}x{layer.cols} (padded {layer.rows_p}x{layer.cols_p}), "
            f"PE {layer.pe}, SIMD {layer.simd}, {layer.cycles} cycles/vector, "
            f"{'relu, ' if layer.relu else ''}{kind}")


def _layer_context(index: int, layer: MVULayer, name: str) -> LayerContext:
    module, params = mvu_instance(layer, name)
    return LayerContext(
        name=name,
        prefix=f"l{index}",
        summary=f"{name}: {mvu_summary(layer)}",
        module=module,
        fifo_depth=layer.in_fifo_depth,
        in_word_w=layer.simd * layer.in_width,
        out_word_w=layer.pe * layer.out_width,
        params=params,
    )


def _block_context(index: int, stage: BlockStage, name: str) -> LayerContext:
    mod = hdl_module(stage.unit)
    return LayerContext(
        name=name, prefix=f"l{index}", summary=f"{name}: {stage.summary}", module=mod.name,
        fifo_depth=stage.in_fifo_depth, in_word_w=stage.in_lanes * stage.in_width,
        out_word_w=stage.out_lanes * stage.out_width, params=mod.parameters,
    )


def top_context(design: StreamDesign) -> TopContext:
    check_design(design)
    chain = design.chain
    module, *names = unique_identifiers([design.name] + [s.name for s in chain], RESERVED_NAMES)
    layers = tuple(
        _layer_context(i, s, n) if isinstance(s, MVULayer) else _block_context(i, s, n)
        for i, (s, n) in enumerate(zip(chain, names))
    )
    out_word_w = design.out_lanes * design.out_width
    beat_w = max(1, (design.out_beats - 1).bit_length())
    tail = design.out_elems - (ceil_div(design.out_elems, design.out_lanes) - 1) * design.out_lanes
    tail_mask = None
    if tail < design.out_lanes and design.out_pixels == 1:
        tail_mask = _sized_hex((1 << (tail * design.out_width)) - 1, out_word_w)
    return TopContext(
        module=module,
        in_elems=design.in_elems * design.in_pixels,
        in_beats=design.in_beats,
        in_lanes=design.in_lanes,
        in_width=design.in_width,
        out_elems=design.out_elems * design.out_pixels,
        out_beats=design.out_beats,
        out_lanes=design.out_lanes,
        out_width=design.out_width,
        s_tdata_w=design.s_tdata_width,
        m_tdata_w=design.m_tdata_width,
        s_pad_w=design.s_tdata_width - design.in_lanes * design.in_width,
        m_pad_w=design.m_tdata_width - out_word_w,
        beat_w=beat_w,
        beat_zero=f"{beat_w}'d0",
        last_beat=f"{beat_w}'d{design.out_beats - 1}",
        tail_mask=tail_mask,
        layers=layers,
        links=tuple(LinkContext(a.prefix, b.prefix) for a, b in zip(layers, layers[1:])),
    )


def render_top(ctx: TopContext) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template("top.v.j2").render(ctx=ctx)


# ---------------------------------------------------------------- files

def write_verilog(design: StreamDesign, outdir: Path) -> list[Path]:
    """Write the design's Verilog and ROM images into outdir; return the files written.

    Verilog sources come first, in compile order (library modules, then the
    top), followed by the .mem files.
    """
    ctx = top_context(design)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = []
    used = {src for s in design.chain if isinstance(s, BlockStage) for src in hdl_module(s.unit).sources}
    used |= {src for s in design.chain if isinstance(s, MVULayer) for src in mvu_sources(s)}
    for module in [m for m in LIBRARY_MODULES if m in BASE_MODULES or m in used]:
        dst = outdir / module
        shutil.copyfile(templates_dir() / module, dst)
        files.append(dst)
    top = outdir / f"{ctx.module}.v"
    top.write_bytes(render_top(ctx).encode("ascii"))
    files.append(top)
    for stage, lctx in zip(design.chain, ctx.layers):
        if isinstance(stage, MVULayer):
            files += write_mvu_roms(stage, lctx.name, outdir)
    return files
