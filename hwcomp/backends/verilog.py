"""Verilog backend: a Design (stages joined by named streams) -> files.

Output directory after `write_verilog(design, outdir)`:

    hwcomp_*.v              library modules the stages use, copied unchanged,
                            in LIBRARY_MODULES order
    <top>.v                 generated top (templates/accelerator.v.j2)
    <stage>_*.mem           $readmemh images of the stages that have memories

The top has AXI4-Stream ports: s_axis drives the design's input stream (tlast
ignored: vectors are counted in beats), the output stream drives m_axis with
tlast from a beat counter over `out_beats` and, for a single output vector,
zeroed tail lanes on its last beat. ROMs read {MEM_DIR, "<file>"}; MEM_DIR
defaults to "./", so either run the tool in the output directory or set it to
a directory ending in "/":
    Verilator   -GMEM_DIR='"/abs/out/"'
    Icarus      -P<top>.MEM_DIR='"/abs/out/"'
    Yosys       read_verilog -defer ...; chparam -set MEM_DIR "/abs/out/" <top>
Yosys needs `read_verilog -defer` in any case: without it, it elaborates
hwcomp_mvu with its default parameters and looks for "weights.mem".

Each stage's block (hwcomp/hw/blocks) gives its module, parameters, ports and
memory images as plain data; this module only checks, formats literals and
renders. The template loops over wires and instances.
"""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from hwcomp.backends.identifiers import sanitize_identifier
from hwcomp.backends.rom_images import write_image
from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.blocks.base import Bits, MemFile, Param
from hwcomp.hw.design import Design, Stage
from hwcomp.numerics import ceil_div
from hwcomp.resources import templates_dir

TEMPLATE = "accelerator.v.j2"
# Every library module a design may use, in compile order; a stage's block
# names the ones it needs.
LIBRARY_MODULES = ("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_add_tree.v", "hwcomp_mul.v", "hwcomp_mvu.v",
                   "hwcomp_xnor_mvu.v", "hwcomp_sparse_mvu.v",
                   "hwcomp_swu.v", "hwcomp_scale.v", "hwcomp_pool.v", "hwcomp_gap.v", "hwcomp_add.v", "hwcomp_fork.v", "hwcomp_concat.v",
                   "hwcomp_dwc.v")
RESERVED_NAMES = tuple(Path(m).stem for m in LIBRARY_MODULES)
# Names the top declares itself; streams may not take them (their wires are
# <stream>_tdata, <stream>_tvalid, <stream>_tready).
TOP_BUNDLES = ("s_axis", "m_axis")
TOP_NAMES = ("clk", "rst", "MEM_DIR", "out_beat", "out_last", "out_word", "unused_s_axis")


# ---------------------------------------------------------------- literals

def sized_hex(value: int, width: int) -> str:
    return f"{width}'h{value & ((1 << width) - 1):0{ceil_div(width, 4)}x}"


def literal(value: Param) -> str:
    """A block parameter as a Verilog literal."""
    if isinstance(value, Bits):
        return sized_hex(value.value, value.width)
    if isinstance(value, MemFile):
        return f'{{MEM_DIR, "{value.name}"}}'
    return str(int(value))


def parameter_literals(unit, name: str = "unit") -> tuple[tuple[str, str], ...]:
    """The instance parameters of `unit` (a block's parameters) as Verilog literals."""
    return tuple((k, literal(v)) for k, v in block_of_unit(unit).hdl(unit, name).params)


def top_module_name(design: Design) -> str:
    """The generated top module's name (also its file's stem)."""
    return sanitize_identifier(design.name, RESERVED_NAMES)


def port_names(stage: Stage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ins, outs = block_of_unit(stage.unit).ports(stage.unit)
    return (("s_axis",) if len(ins) == 1 else ("s0_axis", "s1_axis"),
            ("m_axis",) if len(outs) == 1 else ("m0_axis", "m1_axis"))


# ---------------------------------------------------------------- checks

def _fail(design: Design, msg: str) -> None:
    raise ValueError(f"design {design.name}: {msg}")


def _check_names(design: Design) -> None:
    streams = [s.name for s in design.streams]
    stages = [s.name for s in design.stages]
    for kind, names in (("stream", streams), ("stage", stages)):
        for name in names:
            if sanitize_identifier(name) != name:
                _fail(design, f"{kind} name {name!r} is not a legal Verilog identifier")
        dup = [n for n, k in Counter(n.lower() for n in names).items() if k > 1]
        if dup:
            _fail(design, f"duplicate {kind} names (ignoring case): {', '.join(sorted(dup))}")
    for name in streams:
        if name in TOP_BUNDLES:
            _fail(design, f"stream name {name!r} is reserved for the top's ports")
    # Every identifier the top declares: stream wires, instances, top names.
    declared = [f"{s}_{sig}" for s in streams for sig in ("tdata", "tvalid", "tready")]
    declared += [f"u_{s}" for s in stages] + list(TOP_NAMES)
    declared += [f"{p}_{sig}" for p in TOP_BUNDLES for sig in ("tdata", "tvalid", "tready", "tlast")]
    clash = sorted(n for n, k in Counter(declared).items() if k > 1)
    if clash:
        _fail(design, f"generated identifiers clash: {', '.join(clash)}")


def _check_connections(design: Design) -> None:
    """Exactly one producer and one consumer per stream; no unknown streams."""
    known = {s.name for s in design.streams}
    producers: dict[str, list[str]] = {s: [] for s in known}
    consumers: dict[str, list[str]] = {s: [] for s in known}
    for where, table, name in (("design input", producers, design.input),
                               ("design output", consumers, design.output)):
        if name not in known:
            _fail(design, f"{where} {name!r} is not a declared stream")
        table[name].append(where)
    for stage in design.stages:
        for table, names in ((consumers, stage.inputs), (producers, stage.outputs)):
            for name in names:
                if name not in known:
                    _fail(design, f"stage {stage.name}: stream {name!r} is not declared")
                table[name].append(f"stage {stage.name}")
    for stream in design.streams:
        for role, table in (("producer", producers), ("consumer", consumers)):
            found = table[stream.name]
            if len(found) != 1:
                _fail(design, f"stream {stream.name} has {len(found)} {role}s"
                              f"{' (' + ', '.join(found) + ')' if found else ''}; it needs exactly one")


def _check_ports(design: Design, stage: Stage) -> None:
    """A known block with one stream per port."""
    try:
        block = block_of_unit(stage.unit)
    except TypeError as e:
        _fail(design, f"stage {stage.name}: {e}")
    ins, outs = block.ports(stage.unit)
    if (len(stage.inputs), len(stage.outputs)) != (len(ins), len(outs)):
        _fail(design, f"stage {stage.name}: {type(stage.unit).__name__} has {len(ins)} input(s) and "
                      f"{len(outs)} output(s), got {len(stage.inputs)} and {len(stage.outputs)}")


def _check_stage(design: Design, stage: Stage) -> None:
    """The instance is buildable as described and each port's stream has its word width."""
    block = block_of_unit(stage.unit)
    try:
        block.check(stage.unit)
    except ValueError as e:
        _fail(design, f"stage {stage.name}: {e}")
    ins, outs = block.ports(stage.unit)
    pin, pout = port_names(stage)
    for port, name, width in zip(pin + pout, stage.inputs + stage.outputs, ins + outs):
        got = design.stream(name).word_width
        if got != width:
            _fail(design, f"stage {stage.name}: port {port} is {width} bits wide but stream {name} carries {got}")


def check_design(design: Design) -> None:
    """Raise ValueError (naming the stream or stage) if the top cannot be built as described."""
    if not design.stages:
        _fail(design, "no stages")
    _check_names(design)
    for stage in design.stages:
        _check_ports(design, stage)
    _check_connections(design)
    for stage in design.stages:
        _check_stage(design, stage)
    if min(design.in_elems, design.in_pixels, design.out_elems, design.out_pixels) < 1:
        _fail(design, "in/out elements and pixels must be >= 1")


# ---------------------------------------------------------------- context

@dataclass(frozen=True)
class WireContext:
    name: str                               # stream name; wires <name>_tdata/_tvalid/_tready
    width: int                              # bits of tdata
    summary: str


@dataclass(frozen=True)
class InstanceContext:
    name: str                               # instance name, u_<stage>
    module: str
    summary: str                            # one comment line
    params: tuple[tuple[str, str], ...]     # Verilog literals
    ports: tuple[tuple[str, str], ...]      # (port bundle, stream), inputs then outputs


@dataclass(frozen=True)
class TopContext:
    module: str
    in_stream: str
    out_stream: str
    in_elems: int
    in_beats: int
    in_lanes: int
    in_width: int
    in_word_w: int
    out_elems: int
    out_beats: int
    out_lanes: int
    out_width: int
    out_word_w: int
    s_tdata_w: int
    m_tdata_w: int
    s_pad_w: int                            # byte padding bits of s_axis_tdata
    m_pad_w: int                            # byte padding bits of m_axis_tdata
    beat_w: int                             # output beat counter width
    beat_zero: str
    last_beat: str
    tail_mask: str | None                   # zeroes unused lanes of the last beat
    wires: tuple[WireContext, ...]
    instances: tuple[InstanceContext, ...]


def library_sources(design: Design) -> tuple[str, ...]:
    """Library files the design's stages need, in compile order."""
    used = {src for s in design.stages for src in block_of_unit(s.unit).hdl(s.unit, s.name).sources}
    unknown = used - set(LIBRARY_MODULES)
    if unknown:
        raise ValueError(f"design {design.name}: sources outside LIBRARY_MODULES: {sorted(unknown)}")
    return tuple(m for m in LIBRARY_MODULES if m in used)


def _instance(stage: Stage) -> InstanceContext:
    block = block_of_unit(stage.unit)
    hdl = block.hdl(stage.unit, stage.name)
    ins, outs = port_names(stage)
    return InstanceContext(name=f"u_{stage.name}", module=hdl.module,
                           summary=f"{stage.name}: {stage.summary or block.summary(stage.unit)}",
                           params=tuple((k, literal(v)) for k, v in hdl.params),
                           ports=tuple(zip(ins + outs, stage.inputs + stage.outputs)))


def top_context(design: Design) -> TopContext:
    check_design(design)
    src, dst = design.in_stream, design.out_stream
    beat_w = max(1, (design.out_beats - 1).bit_length())
    tail = design.out_elems - (ceil_div(design.out_elems, dst.lanes) - 1) * dst.lanes
    tail_mask = None
    if tail < dst.lanes and design.out_pixels == 1:
        tail_mask = sized_hex((1 << (tail * dst.width)) - 1, dst.word_width)
    wires = tuple(WireContext(s.name, s.word_width, f"{s.lanes} x {'int' if s.signed else 'uint'}{s.width}")
                  for s in design.streams)
    return TopContext(
        module=top_module_name(design), in_stream=src.name, out_stream=dst.name,
        in_elems=design.in_elems * design.in_pixels, in_beats=design.in_beats, in_lanes=src.lanes,
        in_width=src.width, in_word_w=src.word_width,
        out_elems=design.out_elems * design.out_pixels, out_beats=design.out_beats, out_lanes=dst.lanes,
        out_width=dst.width, out_word_w=dst.word_width,
        s_tdata_w=design.s_tdata_width, m_tdata_w=design.m_tdata_width,
        s_pad_w=design.s_tdata_width - src.word_width, m_pad_w=design.m_tdata_width - dst.word_width,
        beat_w=beat_w, beat_zero=f"{beat_w}'d0", last_beat=f"{beat_w}'d{design.out_beats - 1}",
        tail_mask=tail_mask, wires=wires, instances=tuple(_instance(s) for s in design.stages))


def render_top(ctx: TopContext) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.get_template(TEMPLATE).render(ctx=ctx)


# ---------------------------------------------------------------- files

def write_verilog(design: Design, outdir: Path) -> list[Path]:
    """Write the design's Verilog and ROM images into outdir; return the files written:
    Verilog sources first, in compile order (library modules, then the top), then
    the .mem files in stage order."""
    ctx = top_context(design)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = []
    for module in library_sources(design):
        dst = outdir / module
        shutil.copyfile(templates_dir() / module, dst)
        files.append(dst)
    top = outdir / f"{ctx.module}.v"
    top.write_bytes(render_top(ctx).encode("ascii"))
    files.append(top)
    for stage in design.stages:
        for image in block_of_unit(stage.unit).memories(stage.unit, stage.name):
            files.append(write_image(outdir, image))
    return files
