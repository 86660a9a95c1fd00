"""Netlist backend: a NetlistDesign (blocks joined by named streams) -> Verilog top.

Output directory after `write_netlist(design, outdir)`:

    hwcomp_*.v              library modules the stages use, copied unchanged,
                            in verilog.LIBRARY_MODULES order
    <top>.v                 generated top (templates/netlist_top.v.j2)
    <stage>_weights.mem     $readmemh images, one pair per MVULayer stage
    <stage>_bias.mem

The top has the same ports and output glue as the linear top (templates/top.v.j2):
s_axis drives the design's input stream (tlast ignored), the output stream drives
m_axis with tlast from a beat counter over `out_beats` and, for a single output
vector, zeroed tail lanes on its last beat. The ROMs read {MEM_DIR, "<file>"}.

Every stage is exactly one module instance; FIFOs are explicit FifoUnit stages,
so an MVULayer's `in_fifo_depth` is not used here (the netlist builder places
the FIFO in front of the unit).

Every number and every connection is decided here (`netlist_context`); the
template only loops over wires and instances.
"""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from hwcomp.backends.identifiers import sanitize_identifier
from hwcomp.backends.stream_blocks import hdl_module
from hwcomp.backends.verilog import (
    LIBRARY_MODULES, RESERVED_NAMES, _sized_hex, check_layer, mvu_instance, mvu_sources, mvu_summary, write_mvu_roms,
)
from hwcomp.hw.design import MVULayer, ceil_div
from hwcomp.hw.netlist import FifoUnit, NetlistDesign, NetStage
from hwcomp.hw.stream_ops import AddUnit, ConcatUnit, ForkUnit, GlobalPoolUnit, PoolUnit
from hwcomp.hw.window import DwcParams, SwuParams
from hwcomp.resources import templates_dir

TEMPLATE = "netlist_top.v.j2"
# Names the top declares itself; streams may not take them (their wires are
# <stream>_tdata, <stream>_tvalid, <stream>_tready).
TOP_BUNDLES = ("s_axis", "m_axis")
TOP_NAMES = ("clk", "rst", "MEM_DIR", "out_beat", "out_last", "out_word", "unused_s_axis")


# ---------------------------------------------------------------- ports

@dataclass(frozen=True)
class PortWidths:
    """Word widths (bits per beat) of one stage's ports, in port order."""
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def _port_widths(unit) -> PortWidths:
    """What the unit's module expects on each port (netlist.py names the ports)."""
    if isinstance(unit, MVULayer):
        return PortWidths((unit.simd * unit.in_width,), (unit.pe * unit.out_width,))
    if isinstance(unit, SwuParams):
        w = unit.lanes * unit.elem_w
        return PortWidths((w,), (w,))
    if isinstance(unit, DwcParams):
        return PortWidths((unit.in_lanes * unit.elem_w,), (unit.out_lanes * unit.elem_w,))
    if isinstance(unit, (PoolUnit, GlobalPoolUnit)):
        return PortWidths((unit.lanes * unit.in_width,), (unit.lanes * unit.out_width,))
    if isinstance(unit, AddUnit):
        return PortWidths((unit.lanes * unit.in0_width, unit.lanes * unit.in1_width),
                          (unit.lanes * unit.out_width,))
    if isinstance(unit, ConcatUnit):
        w = unit.lanes * unit.elem_width
        return PortWidths((w, w), (w,))
    if isinstance(unit, ForkUnit):
        return PortWidths((unit.width,), (unit.width, unit.width))
    if isinstance(unit, FifoUnit):
        return PortWidths((unit.width,), (unit.width,))
    raise TypeError(f"no netlist block for {type(unit).__name__}")


def port_names(stage: NetStage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(input ports, output ports) of the stage's module, per the netlist.py contract."""
    widths = _port_widths(stage.unit)
    ins = ("s_axis",) if len(widths.inputs) == 1 else ("s0_axis", "s1_axis")
    outs = ("m_axis",) if len(widths.outputs) == 1 else ("m0_axis", "m1_axis")
    return ins, outs


# ---------------------------------------------------------------- checks

def _fail(design: NetlistDesign, msg: str) -> None:
    raise ValueError(f"netlist {design.name}: {msg}")


def _check_names(design: NetlistDesign) -> None:
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


def _check_connections(design: NetlistDesign) -> None:
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


def _check_ports(design: NetlistDesign, stage: NetStage) -> None:
    """The unit is a known block and the stage names one stream per port."""
    try:
        widths = _port_widths(stage.unit)
    except TypeError as e:
        _fail(design, f"stage {stage.name}: {e}")
    if (len(stage.inputs), len(stage.outputs)) != (len(widths.inputs), len(widths.outputs)):
        _fail(design, f"stage {stage.name}: {type(stage.unit).__name__} has {len(widths.inputs)} input(s) "
                      f"and {len(widths.outputs)} output(s), got {len(stage.inputs)} and {len(stage.outputs)}")


def _check_stage(design: NetlistDesign, stage: NetStage) -> None:
    """The unit is buildable and every connected stream has its port's word width."""
    widths = _port_widths(stage.unit)
    if isinstance(stage.unit, MVULayer):
        check_layer(stage.unit)
    if isinstance(stage.unit, FifoUnit) and min(stage.unit.width, stage.unit.depth) < 1:
        _fail(design, f"stage {stage.name}: FIFO width and depth must be >= 1")
    ins, outs = port_names(stage)
    for port, name, width in zip(ins + outs, stage.inputs + stage.outputs, widths.inputs + widths.outputs):
        got = design.stream(name).word_width
        if got != width:
            _fail(design, f"stage {stage.name}: port {port} is {width} bits wide but stream {name} "
                          f"carries {got}")


def check_netlist(design: NetlistDesign) -> None:
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
class NetlistContext:
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


def top_module_name(design: NetlistDesign) -> str:
    return sanitize_identifier(design.name, RESERVED_NAMES)


def _module(stage: NetStage) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """(module, parameter literals, summary) of one stage."""
    unit = stage.unit
    if isinstance(unit, MVULayer):
        module, params = mvu_instance(unit, stage.name)
        return module, params, mvu_summary(unit)
    mod = hdl_module(unit)
    what = f"FIFO of {unit.depth} words" if isinstance(unit, FifoUnit) else type(unit).__name__
    return mod.name, mod.parameters, what


def _sources(stage: NetStage) -> tuple[str, ...]:
    if isinstance(stage.unit, MVULayer):
        return mvu_sources(stage.unit)
    return hdl_module(stage.unit).sources


def library_sources(design: NetlistDesign) -> tuple[str, ...]:
    """Library files the design's stages need, in compile order."""
    used = {src for stage in design.stages for src in _sources(stage)}
    unknown = used - set(LIBRARY_MODULES)
    if unknown:
        raise ValueError(f"netlist {design.name}: sources outside LIBRARY_MODULES: {sorted(unknown)}")
    return tuple(m for m in LIBRARY_MODULES if m in used)


def _instance(stage: NetStage) -> InstanceContext:
    module, params, what = _module(stage)
    ins, outs = port_names(stage)
    summary = f"{stage.name}: {stage.summary or what}"
    return InstanceContext(name=f"u_{stage.name}", module=module, summary=summary, params=params,
                           ports=tuple(zip(ins + outs, stage.inputs + stage.outputs)))


def netlist_context(design: NetlistDesign) -> NetlistContext:
    check_netlist(design)
    src, dst = design.stream(design.input), design.stream(design.output)
    beat_w = max(1, (design.out_beats - 1).bit_length())
    beats_per_vector = ceil_div(design.out_elems, dst.lanes)
    tail = design.out_elems - (beats_per_vector - 1) * dst.lanes
    tail_mask = None
    if tail < dst.lanes and design.out_pixels == 1:
        tail_mask = _sized_hex((1 << (tail * dst.width)) - 1, dst.word_width)
    wires = tuple(
        WireContext(s.name, s.word_width, f"{s.lanes} x {'int' if s.signed else 'uint'}{s.width}")
        for s in design.streams
    )
    return NetlistContext(
        module=top_module_name(design),
        in_stream=src.name,
        out_stream=dst.name,
        in_elems=design.in_elems * design.in_pixels,
        in_beats=design.in_beats,
        in_lanes=src.lanes,
        in_width=src.width,
        in_word_w=src.word_width,
        out_elems=design.out_elems * design.out_pixels,
        out_beats=design.out_beats,
        out_lanes=dst.lanes,
        out_width=dst.width,
        out_word_w=dst.word_width,
        s_tdata_w=design.s_tdata_width,
        m_tdata_w=design.m_tdata_width,
        s_pad_w=design.s_tdata_width - src.word_width,
        m_pad_w=design.m_tdata_width - dst.word_width,
        beat_w=beat_w,
        beat_zero=f"{beat_w}'d0",
        last_beat=f"{beat_w}'d{design.out_beats - 1}",
        tail_mask=tail_mask,
        wires=wires,
        instances=tuple(_instance(s) for s in design.stages),
    )


def render_netlist(ctx: NetlistContext) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(TEMPLATE).render(ctx=ctx)


# ---------------------------------------------------------------- files

def write_netlist(design: NetlistDesign, outdir: Path) -> list[Path]:
    """Write the design's Verilog and ROM images into outdir; return the files written.

    Verilog sources come first, in compile order (library modules, then the
    top), followed by the .mem files in stage order.
    """
    ctx = netlist_context(design)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = []
    for module in library_sources(design):
        dst = outdir / module
        shutil.copyfile(templates_dir() / module, dst)
        files.append(dst)
    top = outdir / f"{ctx.module}.v"
    top.write_bytes(render_netlist(ctx).encode("ascii"))
    files.append(top)
    for stage in design.stages:
        if isinstance(stage.unit, MVULayer):
            files += write_mvu_roms(stage.unit, stage.name, outdir)
    return files
