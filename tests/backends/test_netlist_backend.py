"""The Verilog writer on a design with forks and joins: files, connections, checks
(no tools), and a Verilator lint of a design holding every kind of join and branch
(marked rtl)."""
from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hwcomp.backends.verilog import LIBRARY_MODULES, parameter_literals, render_top, top_context, write_verilog
from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.design import Design, FifoUnit, Stage, Stream
from hwcomp.hw.stream_ops import MAX, AddUnit, ConcatUnit, ForkUnit, PoolUnit, Scale
from hwcomp.hw.window import SwuParams
from hwcomp.sim.toolchain import ensure_verilator

LANES, W, H, C = 2, 4, 4, 4
CF = C // LANES
WORD = LANES * W


def conv_layer(dense_layer, name: str = "conv"):
    rng = np.random.default_rng(1)
    return dense_layer(name, rng.integers(-8, 8, (C, 9 * C)), rng.integers(-20, 20, C), pe=2, simd=2,
                       acc_width=16, relu=True, requant=True, shift=5, out_width=W, out_signed=False,
                       out_min=0, out_max=15)


def full_design(dense_layer) -> Design:
    """x -> fork -> (swu -> fifo -> mvu, fifo) -> add -> fork -> (swu -> pool, fifo) -> concat -> y."""
    swu = SwuParams(W, LANES, CF, H, W, 3, 3, pad_t=1, pad_l=1, pad_b=1, pad_r=1)
    add = AddUnit(C, LANES, W, False, W, False, 0, 0, Scale(1, 1, W, False, 0, 15))
    names = ("x", "xa", "xb", "win", "win_q", "conv", "skip", "sum", "sa", "sb", "win2", "pooled",
             "skip2", "y")
    stages = (
        Stage("fork0", ForkUnit(WORD), ("x",), ("xa", "xb")),
        Stage("swu0", swu, ("xa",), ("win",)),
        Stage("fifo_conv", FifoUnit(WORD, 36), ("win",), ("win_q",)),
        Stage("conv", conv_layer(dense_layer), ("win_q",), ("conv",)),
        Stage("fifo_skip", FifoUnit(WORD, 40), ("xb",), ("skip",)),
        Stage("add0", add, ("conv", "skip"), ("sum",)),
        Stage("fork1", ForkUnit(WORD), ("sum",), ("sa", "sb")),
        Stage("swu1", swu, ("sa",), ("win2",)),
        Stage("pool", PoolUnit(MAX, 9, C, LANES, W, False), ("win2",), ("pooled",)),
        Stage("fifo_skip2", FifoUnit(WORD, 40), ("sb",), ("skip2",)),
        Stage("cat", ConcatUnit(LANES, W, C, C), ("pooled", "skip2"), ("y",)),
    )
    return Design("resnet_tiny", tuple(Stream(n, LANES, W, False) for n in names), stages,
                  input="x", output="y", in_elems=C, in_pixels=H * W, out_elems=2 * C,
                  out_pixels=H * W)


def replace_stage(design: Design, name: str, **changes) -> Design:
    stages = tuple(dataclasses.replace(s, **changes) if s.name == name else s for s in design.stages)
    return dataclasses.replace(design, stages=stages)


# ---------------------------------------------------------------- files

def test_files_in_compile_order_then_mem(dense_layer, tmp_path: Path) -> None:
    files = write_verilog(full_design(dense_layer), tmp_path)
    names = [f.name for f in files]
    libs = [n for n in names if n.startswith("hwcomp_")]
    assert libs == [m for m in LIBRARY_MODULES if m in libs]
    assert set(libs) == {"hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_add_tree.v", "hwcomp_mul.v", "hwcomp_mvu.v", "hwcomp_swu.v",
                         "hwcomp_scale.v",
                         "hwcomp_pool.v", "hwcomp_add.v", "hwcomp_fork.v", "hwcomp_concat.v"}
    assert names[len(libs):] == ["resnet_tiny.v", "conv_weights.mem", "conv_bias.mem"]
    assert all(f.exists() for f in files)


def test_output_is_deterministic(dense_layer, tmp_path: Path) -> None:
    a = write_verilog(full_design(dense_layer), tmp_path / "a")
    b = write_verilog(full_design(dense_layer), tmp_path / "b")
    assert [f.name for f in a] == [f.name for f in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))


def test_only_needed_modules(dense_layer, tmp_path: Path) -> None:
    design = Design("just_fifo", (Stream("a", 1, 8, False), Stream("b", 1, 8, False)),
                    (Stage("f", FifoUnit(8, 4), ("a",), ("b",)),), "a", "b", 1, 1, 1, 1)
    assert [f.name for f in write_verilog(design, tmp_path)] == ["hwcomp_fifo.v", "just_fifo.v"]


# ---------------------------------------------------------------- connections

def test_ports_connect_streams(dense_layer) -> None:
    text = render_top(top_context(full_design(dense_layer)))
    for stream in ("x", "sum", "pooled", "skip2"):
        assert f"wire [{WORD}-1:0] {stream}_tdata;" in text
    for port, stream in (("m0_axis", "xa"), ("m1_axis", "xb"), ("s0_axis", "conv"), ("s1_axis", "skip"),
                         ("s0_axis", "pooled"), ("s1_axis", "skip2")):
        assert f".{port}_tdata({stream}_tdata)" in text and f".{port}_tready({stream}_tready)" in text
    assert re.search(r"hwcomp_fifo #\(\s*\.WIDTH\(8\),\s*\.DEPTH\(40\)\s*\) u_fifo_skip \(", text)
    assert '.WEIGHT_FILE({MEM_DIR, "conv_weights.mem"})' in text
    assert "assign x_tdata = s_axis_tdata;" in text
    assert "assign y_tready = m_axis_tready;" in text
    assert "reg [6-1:0] out_beat;" in text and "6'd63" in text     # 16 pixels x 4 beats
    assert "&" not in text.split("out_word =")[1].split(";")[0]     # images: no tail mask


def test_tail_mask_on_single_vector(dense_layer) -> None:
    fc = dense_layer("fc", np.ones((3, 4)), pe=2, simd=2, acc_width=12)   # 3 logits on 2 lanes
    design = Design("fc_only", (Stream("a", 2, 4, False), Stream("b", 2, 12, True)),
                    (Stage("fc", fc, ("a",), ("b",)),), "a", "b", in_elems=4, out_elems=3)
    ctx = top_context(design)
    assert ctx.tail_mask == "24'h000fff" and ctx.m_tdata_w == 24 and ctx.s_pad_w == 0
    assert "out_last ? b_tdata & 24'h000fff : b_tdata" in render_top(ctx)


def test_fifo_unit_module() -> None:
    unit = FifoUnit(12, 5)
    mod = block_of_unit(unit).hdl(unit, "f")
    assert (mod.module, mod.sources, mod.params) == ("hwcomp_fifo", ("hwcomp_fifo.v",),
                                                     (("WIDTH", 12), ("DEPTH", 5)))
    assert parameter_literals(unit) == (("WIDTH", "12"), ("DEPTH", "5"))


# ---------------------------------------------------------------- checks

def test_stream_with_two_consumers(dense_layer) -> None:
    design = replace_stage(full_design(dense_layer), "fifo_skip", inputs=("xa",))
    with pytest.raises(ValueError, match="stream xa has 2 consumers"):
        top_context(design)


def test_stream_without_producer(dense_layer) -> None:
    design = replace_stage(full_design(dense_layer), "fork1", outputs=("sa", "skip2"))
    with pytest.raises(ValueError, match="stream sb has 0 producers"):
        top_context(design)


def test_unknown_stream(dense_layer) -> None:
    design = replace_stage(full_design(dense_layer), "pool", outputs=("nowhere",))
    with pytest.raises(ValueError, match="stage pool: stream 'nowhere' is not declared"):
        top_context(design)


def test_port_count(dense_layer) -> None:
    design = replace_stage(full_design(dense_layer), "add0", inputs=("conv",))
    with pytest.raises(ValueError, match="stage add0: AddUnit has 2 input"):
        top_context(design)


def test_width_mismatch(dense_layer) -> None:
    design = replace_stage(full_design(dense_layer), "fifo_skip", unit=FifoUnit(6, 40))
    with pytest.raises(ValueError, match="stage fifo_skip: port s_axis is 6 bits wide but stream xb carries 8"):
        top_context(design)


def test_mvu_width_mismatch(dense_layer) -> None:
    layer = dataclasses.replace(conv_layer(dense_layer), in_width=3)
    design = replace_stage(full_design(dense_layer), "conv", unit=layer)
    with pytest.raises(ValueError, match="stage conv: port s_axis is 6 bits"):
        top_context(design)


@pytest.mark.parametrize("bad", ["s_axis", "wire", "9x", "a-b"])
def test_bad_stream_names(dense_layer, bad: str) -> None:
    design = Design("t", (Stream(bad, 1, 8, False), Stream("b", 1, 8, False)),
                    (Stage("f", FifoUnit(8, 4), (bad,), ("b",)),), bad, "b", 1, 1, 1, 1)
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        top_context(design)


def test_identifier_clash() -> None:
    # Stage "a_tdata" is instance u_a_tdata, which is also stream u_a's data wire.
    design = Design("t", (Stream("u_a", 1, 8, False), Stream("b", 1, 8, False)),
                    (Stage("a_tdata", FifoUnit(8, 4), ("u_a",), ("b",)),), "u_a", "b", 1, 1, 1, 1)
    with pytest.raises(ValueError, match="clash: u_a_tdata"):
        top_context(design)


# ---------------------------------------------------------------- lint

@pytest.mark.rtl
def test_full_design_lints(dense_layer, tmp_path: Path) -> None:
    files = write_verilog(full_design(dense_layer), tmp_path)
    sources = [str(f) for f in files if f.suffix == ".v"]
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", "resnet_tiny", *sources]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
