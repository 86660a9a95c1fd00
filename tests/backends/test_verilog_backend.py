"""write_verilog: the files it writes, their names and bytes, and what it refuses."""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from hwcomp.backends.verilog import render_top, top_context, top_module_name, write_verilog
from hwcomp.hw.design import MVULayer, chain_design
from hwcomp.resources import templates_dir

GOLDEN = Path(__file__).parent / "golden"
# The library modules an MVU design needs, in compile order.
MVU_MODULES = ("hwcomp_fifo.v", "hwcomp_mvu_fold.v", "hwcomp_add_tree.v", "hwcomp_mul.v", "hwcomp_mvu.v")
# HWCOMP_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
UPDATE = os.environ.get("HWCOMP_UPDATE_GOLDEN") == "1"


def normalized(text: str) -> str:
    """Whitespace-insensitive form for golden comparisons."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert normalized(text) == normalized(path.read_text()), f"{name} differs from its golden copy"


def layers(design) -> list[MVULayer]:
    return design.units(MVULayer)


def instance(ctx, stage: str):
    """The top's instance of one stage."""
    return next(i for i in ctx.instances if i.name == f"u_{stage}")


def test_top_golden(design) -> None:
    check_golden("mlp.v", render_top(top_context(design)))


def test_files_written_in_compile_order(design, tmp_path) -> None:
    files = write_verilog(design, tmp_path / "out")
    assert [f.name for f in files] == [
        *MVU_MODULES, "mlp.v",
        "fc1_weights.mem", "fc1_bias.mem", "fc2_weights.mem", "fc2_bias.mem",
    ]
    assert all(f.parent == tmp_path / "out" for f in files)
    for module in MVU_MODULES:
        assert (tmp_path / "out" / module).read_bytes() == (templates_dir() / module).read_bytes()


def test_output_is_byte_for_byte_stable(design, design_factory, tmp_path) -> None:
    a = write_verilog(design, tmp_path / "a")
    b = write_verilog(design_factory(), tmp_path / "b")
    assert [f.name for f in a] == [f.name for f in b]
    for fa, fb in zip(a, b):
        assert fa.read_bytes() == fb.read_bytes(), fa.name


def test_mem_files_match_rom_depths(design, tmp_path) -> None:
    write_verilog(design, tmp_path)
    for layer in design.units(MVULayer):
        weights = (tmp_path / f"{layer.name}_weights.mem").read_text().splitlines()
        bias = (tmp_path / f"{layer.name}_bias.mem").read_text().splitlines()
        assert len(weights) == layer.nf * layer.sf and len(bias) == layer.nf
        assert {len(w) for w in weights} == {-(-layer.pe * layer.simd * layer.weight_width // 4)}
        assert {len(b) for b in bias} == {-(-layer.pe * layer.acc_width // 4)}


def test_top_name_is_sanitized(design_factory, tmp_path) -> None:
    design = design_factory(name="hwcomp_mvu")     # a library module's name
    files = write_verilog(design, tmp_path)
    names = [f.name for f in files]
    assert names[len(MVU_MODULES)] == "hwcomp_mvu_.v" == top_module_name(design) + ".v"
    top = (tmp_path / "hwcomp_mvu_.v").read_text()
    assert re.search(r"^module hwcomp_mvu_ #\(", top, re.M)
    assert "u_fc1 (" in top and 'BIAS_FILE({MEM_DIR, "fc2_bias.mem"})' in top


@pytest.mark.parametrize("bad", ["module", "fc/2"])
def test_illegal_stage_names_are_refused(design_factory, tmp_path, bad) -> None:
    # Stage names become instance and file names as they are: whoever builds the
    # design (hw/builder.py) picks legal ones, the writer refuses the others.
    design = design_factory(second=bad)
    # chain_design names the FIFO in front of a layer fifo_<layer>: the first illegal name may be that one.
    with pytest.raises(ValueError, match=rf"design mlp: stage name '(fifo_)?{re.escape(bad)}' is not a legal Verilog identifier"):
        write_verilog(design, tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written for a refused design"


def test_stream_format_in_top(design) -> None:
    ctx = top_context(design)
    # 2 lanes x 4 bits in: 8 bits, no padding. 2 lanes x 10 bits out: padded to 24.
    assert (ctx.s_tdata_w, ctx.s_pad_w, ctx.m_tdata_w, ctx.m_pad_w) == (8, 0, 24, 4)
    assert ctx.tail_mask is None                 # 2 outputs fill the 2 lanes
    assert (ctx.out_beats, ctx.last_beat) == (1, "1'd0")


def test_tail_lanes_masked(design_factory, dense_layer) -> None:
    first = layers(design_factory())[0]
    last = dense_layer("fc2", [[1, 2, 3]] * 3, pe=2, simd=2, in_width=3, acc_width=10)
    design = chain_design("mlp", (first, last), in_elems=5, out_elems=3)
    ctx = top_context(design)
    # 3 outputs over 2 lanes: the last beat keeps lane 0 only.
    assert ctx.tail_mask == "20'h003ff" and ctx.last_beat == "1'd1"


def test_saturation_bounds_are_sized_for_the_rounding_domain(design) -> None:
    params = dict(instance(top_context(design), "fc1").params)
    assert (params["OUT_MIN"], params["OUT_MAX"]) == ("13'h0000", "13'h0007")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # chain_design builds the layer's input FIFO from in_fifo_depth: the refusal names that stage.
        (dict(in_fifo_depth=1), r"fifo_fc1\b.*depth >= 2"),
        (dict(acc_width=6), "overflows acc_width"),
        (dict(shift=20), "shift"),
        (dict(out_max=8), "do not fit"),
        (dict(requant=False), "without requant"),
    ],
)
def test_bad_layers_are_refused(design, tmp_path, change, message) -> None:
    first, second = layers(design)
    bad = dataclasses.replace(first, **change)
    with pytest.raises(ValueError, match=message):
        write_verilog(chain_design(design.name, (bad, second), design.in_elems, design.out_elems), tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written for a refused design"


def test_broken_chain_is_refused(design, dense_layer, tmp_path) -> None:
    # fc2 reads 3 lanes where fc1 writes 2 (chain_design connects the layers directly).
    wrong = dense_layer("fc2", [[1, 2, 3]] * 2, pe=2, simd=3, in_width=3, acc_width=10)
    broken = chain_design(design.name, (layers(design)[0], wrong), design.in_elems, design.out_elems)
    with pytest.raises(ValueError, match="design mlp: stage fc2: port s_axis is 9 bits wide but stream s3 carries 6"):
        write_verilog(broken, tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written for a refused design"
