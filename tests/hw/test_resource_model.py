"""The analytic resource model's rules (hw/memory_map.py, hw/resource_model.py,
hw/resource_terms.py) and report.json's `resources` section."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from hwcomp.compile import compile_model
from hwcomp.devices import DEVICES, device
from hwcomp.hw.blocks.base import Hdl, MemFile, MemoryImage
from hwcomp.hw.memory_map import Memory, place_xc7
from hwcomp.hw.resource_model import Multiplier, dsp_count, estimate, price
from hwcomp.hw.resource_terms import add_tree, fifo, structure_of, varying_bits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inline_models import mlp  # noqa: E402

XC7 = device("xc7z020")


# ---------------------------------------------------------------- memories

def test_forced_block_rom_goes_to_block_ram_however_small():
    assert place_xc7(Memory("w", 4, 8, rom=True, sync_read=True, block_only=True)).kind == "bram"


def test_rom_goes_to_logic_below_one_block_ram_cost():
    # A ROM bit costs 1/16 in logic; one RAMB18 costs 129: 2064 bits is the crossing.
    assert place_xc7(Memory("b", 64, 32, rom=True, sync_read=True)).kind == "logic"        # 2048 bits
    p = place_xc7(Memory("b", 64, 33, rom=True, sync_read=True))                            # 2112 bits
    assert p.kind == "bram" and p.bram18 == 1


def test_async_read_memory_is_never_block_ram():
    p = place_xc7(Memory("fifo", 1024, 36, rom=False, sync_read=False))
    assert p.kind == "lutram" and p.bram18 == 0


def test_small_buffer_is_lut_ram_large_one_block_ram():
    small = place_xc7(Memory("buf", 32, 12, rom=False, sync_read=True))
    assert small.kind == "lutram" and small.lut == 4 * 2        # two RAM32M: 6 bits each
    big = place_xc7(Memory("buf", 1024, 36, rom=False, sync_read=True))
    assert big.kind == "bram" and big.bram18 == 2               # one RAMB36 at 1K x 36


@pytest.mark.parametrize("width, expect", [(36, 1), (72, 2), (80, 3), (512, 15)])
def test_wide_shallow_rom_splits_into_36_bit_halves_and_72_bit_blocks(width, expect):
    assert place_xc7(Memory("w", 32, width, rom=True, sync_read=True, block_only=True)).bram18 == expect


def test_constant_rom_columns_take_nothing():
    words = np.array([[1, 0], [3, 0], [1, 0], [2, 0]])      # element 1 always 0, bit 0 of element 0 varies
    image = MemoryImage("w.mem", ((words, 4),))
    assert varying_bits(image) == 2
    hdl = Hdl("hwcomp_fifo", (), (("WIDTH", 8), ("DEPTH", 4)))
    assert structure_of(hdl).memories[0].width == 8           # a RAM keeps its width


# ---------------------------------------------------------------- multipliers

@pytest.mark.parametrize("a, b, y, n", [(8, 9, 17, 1), (1, 9, 10, 0), (2, 6, 8, 0), (2, 7, 9, 1),
                                        (25, 18, 43, 1), (30, 20, 50, 4)])
def test_dsp_rule(a, b, y, n):
    assert dsp_count(Multiplier(a, b, y), XC7) == n


# ---------------------------------------------------------------- whole blocks

def _mvu_hdl(pe, simd, nf=4, sf=4):
    return Hdl("hwcomp_mvu", (), (("PE", pe), ("SIMD", simd), ("NF", nf), ("SF", sf), ("IN_W", 8),
                                  ("IN_SIGNED", 1), ("W_W", 4), ("ACC_W", 16), ("RELU", 1), ("REQUANT", 1),
                                  ("SHIFT", 4), ("OUT_W", 8), ("WEIGHT_FILE", MemFile("w.mem")),
                                  ("BIAS_FILE", MemFile("b.mem"))))


@pytest.mark.parametrize("knob", ["pe", "simd"])
def test_estimate_grows_with_lanes(knob):
    est = []
    for lanes in (1, 2, 4, 8, 16):
        pe, simd = (lanes, 2) if knob == "pe" else (2, lanes)
        e = estimate(structure_of(_mvu_hdl(pe, simd)), XC7)
        est.append(e)
    assert all(b.lut > a.lut for a, b in zip(est, est[1:]))
    assert all(b.ff >= a.ff for a, b in zip(est, est[1:]))
    # 4-bit weights by 8-bit inputs: one DSP per lane.
    assert [e.dsp for e in est] == [2, 4, 8, 16, 32]


def test_fifo_estimate_grows_with_depth_and_width():
    e = [estimate(fifo(w, d), XC7) for w, d in ((8, 2), (8, 64), (64, 64))]
    assert e[0].lut < e[1].lut < e[2].lut and e[0].bram18 == e[2].bram18 == 0


# ---------------------------------------------------------------- clock-target register stages

def _stages(**regs):
    base = dict(_mvu_hdl(2, 8).params)
    return Hdl("hwcomp_mvu", (), tuple({**base, **regs}.items()))


def test_adder_tree_registers_every_tree_levels_levels_but_the_last():
    # 8 terms of 12 bits, ACC_W 16: levels of 4 x 13, 2 x 14, 1 x 15 bits.
    assert add_tree(8, 12, 16, 1) == (4 * 13 + 2 * 14 + 15, 4 * 13 + 2 * 14)
    assert add_tree(8, 12, 16, 2) == (4 * 13 + 2 * 14 + 15, 2 * 14)
    assert add_tree(8, 12, 16, 3) == (4 * 13 + 2 * 14 + 15, 0)
    # An odd node passes on (no adder), registered with its level; widths stop at ACC_W.
    assert add_tree(3, 15, 16, 1) == (16 + 16, 2 * 16)
    assert add_tree(1, 8, 8, 1) == (0, 0)


def test_mvu_register_stages_are_terms_read_from_its_parameters():
    plain = structure_of(_stages())
    piped = structure_of(_stages(OP_REG=2, PROD_REG=1, TREE_LEVELS=1, ACT_REG=1))
    assert "prod_regs" not in plain.ff and not plain.ff_bits
    # PE 2, SIMD 8, 4-bit weights, 8-bit signed inputs: 12-bit products (TERM_W), 16-bit sums.
    assert piped.ff_bits == {"op_w": 2 * 2 * 8 * 4,                      # twice the weight word
                             "op_x": (2 + 1) * 8 * 8,                    # one copy per PE lane, one before
                             "tree_regs": 2 * (4 * 13 + 2 * 14), "act_regs": 2 * 8}
    assert piped.ff["prod_regs"] == 2 * 8 * 12 and "prod_regs2" not in piped.ff
    # The row fold index goes through every added stage before S2.
    assert piped.ff["nf_regs"] - plain.ff["nf_regs"] == (2 + 1 + 2) * 2
    # In DSPs (4 x 8 bits: one slice per product) the weight and product registers are
    # the slices' own: fitted "@dsp" terms; the input copies and the tree's registers stay exact.
    p = price(piped, XC7)
    assert {"op_w@dsp", "prod_regs@dsp"} <= set(p.ff_terms)
    assert p.ff_exact >= piped.ff_bits["op_x"] + piped.ff_bits["tree_regs"] + piped.ff_bits["act_regs"]


def test_fifo_output_register_counts_its_bits_exactly():
    plain, reg = price(fifo(36, 512), XC7), price(fifo(36, 512, out_reg=1), XC7)
    assert plain.bram18 == reg.bram18 == 1
    # The read register is the block RAM's own; the output register and two valid bits are FFs
    # (and no soft transparency: the registered read returns the old word).
    assert reg.ff_exact == 36 + 2 and plain.ff_exact == 36
    hdl = Hdl("hwcomp_fifo", (), (("WIDTH", 36), ("DEPTH", 512), ("OUT_REG", 1)))
    assert structure_of(hdl).ff_bits == {"out_regs": 38}


def test_a_lower_clock_target_estimates_fewer_flip_flops(tmp_path):
    from hwcomp.hw.blocks import block_of_unit
    from hwcomp.hw.builder import build_design

    res = compile_model(mlp(tmp_path, [64, 32, 10]), tmp_path / "build", target_ii=4)
    ff = {}
    for clock in (50.0, 100.0, 250.0):
        design = build_design(res.hw_graph, clock_mhz=clock)
        ff[clock] = sum(block_of_unit(s.unit).resources(s.unit, XC7).ff for s in design.stages)
    assert ff[50.0] < ff[100.0] < ff[250.0]


def test_other_family_says_it_is_not_fitted():
    e = estimate(fifo(8, 16), DEVICES["lfe5u-85f"])
    assert "not to synth_ecp5" in e.model and "xc7" in e.model


# ---------------------------------------------------------------- report.json

def test_report_has_resources_per_block_and_in_total(tmp_path):
    res = compile_model(mlp(tmp_path, [16, 8, 4]), tmp_path / "build", device="xc7a35t")
    r = json.loads((tmp_path / "build" / "report.json").read_text())["resources"]
    assert r == res.report["resources"]
    assert {"lut", "ff", "dsp", "bram18", "device", "per_block", "utilization", "model"} <= set(r)
    assert r["device"] == "xc7a35t" and res.report["options"]["device"] == "xc7a35t"
    assert set(r["per_block"]) == {b["name"] for b in res.report["blocks"]} | {l["module"] for l in res.report["layers"]}
    for k in ("lut", "ff", "dsp"):
        assert r[k] == sum(b[k] for b in r["per_block"].values())
        assert r[k] > 0 if k != "dsp" else r[k] >= 0
    assert r["utilization"]["lut"] == round(r["lut"] / device("xc7a35t").lut, 4)
    assert res.report["layers"][0]["resources"] == r["per_block"][res.report["layers"][0]["module"]]


def test_unknown_device_is_one_error(tmp_path):
    from hwcomp.errors import HwcompError

    with pytest.raises(HwcompError, match="unknown device"):
        compile_model(mlp(tmp_path, [16, 8, 4]), tmp_path / "build", device="xc9000")


def test_cli_prints_the_totals_against_the_device(tmp_path, capsys):
    from hwcomp.cli import main

    assert main(["compile", str(mlp(tmp_path, [16, 8, 4])), "-o", str(tmp_path / "b"), "--device", "xc7a35t"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("resources on"))
    assert "xc7a35t" in line and "LUT (" in line and "BRAM18" in line
