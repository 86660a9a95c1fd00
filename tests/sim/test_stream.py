"""Bulk stream simulation harness, against stand-in designs with known behaviour
(generated below, with the same ports as the backend's top).

Two Verilator builds in all (the add-offset pipeline and the never-valid
design); everything else reuses them. Builds go to the normal user cache
($HWCOMP_CACHE or ~/.cache/hwcomp), so after the first run they are hits.
The Icarus cases at the end run the same testbench and must agree cycle for cycle.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hwcomp.hw.design import pack_beats, unpack_beats
from hwcomp.sim import stream
from hwcomp.sim.errors import DeadlockError, SimulationError
from hwcomp.sim.stream import ii_from_stamps, render_testbench, run_stream

LANES, WIDTH = 4, 8
ELEMS = 12                      # 3 beats of 4 lanes
BEATS = ELEMS // LANES
DEPTH, PERIOD = 3, 2            # known timing: latency 3, II = BEATS * PERIOD
TDATA = LANES * WIDTH


# ---- stand-in designs with the generated top's ports ----

PORTS = """\
    input  wire           clk,
    input  wire           rst,
    input  wire [{sw}:0] s_axis_tdata,
    input  wire           s_axis_tvalid,
    output wire           s_axis_tready,
    input  wire           s_axis_tlast,
    output wire [{mw}:0] m_axis_tdata,
    output wire           m_axis_tvalid,
    input  wire           m_axis_tready,
    output wire           m_axis_tlast"""


def add_offset_pipeline(name: str, lanes: int, width: int, depth: int, period: int) -> str:
    """Adds the value in offset.mem to every lane, through `depth` register
    stages with full valid/ready backpressure. Input is accepted only on every
    `period`-th cycle, so with an always-ready sink: latency = depth cycles,
    initiation interval = beats * period cycles."""
    tw = lanes * width
    lane_adds = "\n".join(
        f"    assign sum[{i * width} +: {width}] = s_axis_tdata[{i * width} +: {width}] + offset;"
        for i in range(lanes)
    )
    stages = []
    for i in range(depth):
        in_valid = "s_axis_tvalid && phase == 16'd0" if i == 0 else f"valid_{i - 1}"
        in_data = "{s_axis_tlast, sum}" if i == 0 else f"data_{i - 1}"
        next_ready = "m_axis_tready" if i == depth - 1 else f"ready_{i + 1}"
        stages.append(f"""
    reg [{tw}:0] data_{i};  // {{tlast, tdata}}
    reg valid_{i};
    wire ready_{i} = !valid_{i} || {next_ready};
    always @(posedge clk) begin
        if (rst) begin
            valid_{i} <= 1'b0;
        end else if (ready_{i}) begin
            valid_{i} <= {in_valid};
            data_{i} <= {in_data};
        end
    end""")
    last = depth - 1
    return f"""`resetall
`timescale 1ns / 1ps
`default_nettype none
module {name} (
{PORTS.format(sw=tw - 1, mw=tw - 1)}
);
    // Read at run time: the harness must not compile it in.
    reg [{width - 1}:0] offset_rom [0:0];
    initial $readmemh("offset.mem", offset_rom);
    wire [{width - 1}:0] offset = offset_rom[0];

    reg [15:0] phase;  // input is accepted when phase == 0
    always @(posedge clk) begin
        if (rst || phase == 16'd{period - 1}) phase <= 16'd0;
        else phase <= phase + 16'd1;
    end

    wire [{tw - 1}:0] sum;
{lane_adds}
{"".join(stages)}

    assign s_axis_tready = ready_0 && phase == 16'd0;
    assign m_axis_tvalid = valid_{last};
    assign m_axis_tdata = data_{last}[{tw - 1}:0];
    assign m_axis_tlast = data_{last}[{tw}];
endmodule
`resetall
"""


def never_valid(name: str, width: int) -> str:
    """Accepts everything, never produces output: a deadlock for the sink.
    Declares no `timescale, like hand-written sources often do."""
    return f"""`resetall
`default_nettype none
module {name} (
{PORTS.format(sw=width - 1, mw=width - 1)}
);
    assign s_axis_tready = 1'b1;
    assign m_axis_tvalid = 1'b0;
    assign m_axis_tdata = {{{width}{{1'b0}}}};
    assign m_axis_tlast = 1'b0;
    wire unused = &{{1'b0, clk, rst, s_axis_tdata, s_axis_tvalid, s_axis_tlast, m_axis_tready}};
endmodule
`resetall
"""


def write_design(design_dir: Path, name: str, verilog: str, offset: int | None = None) -> Path:
    """Write a one-file design (and its offset.mem) the way the backend lays out a build."""
    design_dir.mkdir(parents=True, exist_ok=True)
    src = design_dir / f"{name}.v"
    src.write_text(verilog)
    if offset is not None:
        (design_dir / "offset.mem").write_text(f"{offset:x}\n")
    return src


@pytest.fixture(scope="module")
def offset_design(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("offset_design")
    write_design(d, "offset_pipe", add_offset_pipeline("offset_pipe", LANES, WIDTH, DEPTH, PERIOD), offset=1)
    return d


def _vectors(samples: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1 << WIDTH, size=(samples, ELEMS))


def _run(design: Path, x: np.ndarray, **kw) -> stream.StreamResult:
    return run_stream(design, "offset_pipe", ["offset_pipe.v"], pack_beats(x, LANES, WIDTH),
                      out_beats=BEATS, s_width=TDATA, m_width=TDATA, **kw)


def _outputs(result: stream.StreamResult) -> np.ndarray:
    return unpack_beats(result.out_words, LANES, WIDTH, False, ELEMS)


# ---- no Verilator needed ----

def test_ii_is_median_of_steady_state_gaps():
    ends = np.array([10, 30, 36, 42, 48, 54, 61, 66, 72])  # fill, then ~6 per vector
    stamps = np.stack([ends - 4, ends], axis=1)
    assert ii_from_stamps(stamps) == 6.0
    assert ii_from_stamps(stamps[:1]) is None


def test_testbench_renders_every_value():
    text = render_testbench("my_top", 24, 40, 3, 5, 256)
    assert "my_top dut (" in text
    for line in ("S_W = 24", "M_W = 40", "IN_BEATS = 3", "OUT_BEATS = 5", "CHUNK = 256"):
        assert line in text
    assert "{{" not in text and "{%" not in text


def test_bad_arguments_are_refused_before_building(tmp_path):
    with pytest.raises(SimulationError, match="stall_prob"):
        run_stream(tmp_path, "t", ["t.v"], np.zeros((2, 1), dtype=object), 1, 8, 8, stall_prob=1.0)
    with pytest.raises(SimulationError, match="fit in 8"):
        run_stream(tmp_path, "t", ["t.v"], np.array([[256]], dtype=object), 1, 8, 8)


# ---- with Verilator ----

@pytest.mark.rtl
def test_outputs_and_timing_without_stalls(offset_design, monkeypatch):
    monkeypatch.setattr(stream, "RUN_CHUNK_BEATS", 64)  # many input and output files
    x = _vectors(400)
    result = _run(offset_design, x)
    np.testing.assert_array_equal(_outputs(result), (x + 1) % (1 << WIDTH))
    assert result.latency_cycles == DEPTH
    assert result.ii_cycles == BEATS * PERIOD
    assert np.all(np.diff(result.in_cycles[:, 0]) == BEATS * PERIOD)
    assert np.all(result.out_cycles[:, 0] - result.in_cycles[:, 0] == DEPTH)
    assert np.all(result.out_cycles[:, 1] - result.out_cycles[:, 0] == (BEATS - 1) * PERIOD)
    assert result.total_cycles == result.out_cycles[-1, 1]


@pytest.mark.rtl
def test_stalls_keep_data_exact_and_reuse_the_build(offset_design):
    x = _vectors(300, seed=1)
    calm = _run(offset_design, x)
    stalled = _run(offset_design, x, stall_prob=0.3, seed=7)
    np.testing.assert_array_equal(_outputs(stalled), (x + 1) % (1 << WIDTH))
    assert stalled.total_cycles > calm.total_cycles
    # Same build: data and stall settings are run-time options, not compiled in.
    assert stalled.build.built is False
    assert stalled.build.exe == calm.build.exe
    # Same data and seed, same cycles; another seed, another stall pattern.
    again = _run(offset_design, x, stall_prob=0.3, seed=7)
    np.testing.assert_array_equal(again.out_cycles, stalled.out_cycles)
    other = _run(offset_design, x, stall_prob=0.3, seed=8)
    assert not np.array_equal(other.out_cycles, stalled.out_cycles)


@pytest.mark.rtl
def test_rerun_hits_the_cache_and_reads_new_memory_files(offset_design, tmp_path):
    x = _vectors(50, seed=2)
    first = _run(offset_design, x)
    exe_mtime = first.build.exe.stat().st_mtime_ns
    (offset_design / "offset.mem").write_text("5\n")  # new "weights": no rebuild
    try:
        calls: list[tuple[int, int]] = []
        second = _run(offset_design, x, work_dir=tmp_path / "run",
                      progress=lambda done, total: calls.append((done, total)))
    finally:
        (offset_design / "offset.mem").write_text("1\n")
    assert second.build.built is False
    assert second.build.key == first.build.key
    assert second.build.exe.stat().st_mtime_ns == exe_mtime
    np.testing.assert_array_equal(_outputs(second), (x + 5) % (1 << WIDTH))
    assert calls and calls[-1] == (50, 50)
    assert (tmp_path / "run" / "hwcomp_tb_summary.txt").exists()  # work_dir is kept


@pytest.mark.rtl
def test_missing_memory_file_is_an_error_not_zeros(offset_design, tmp_path):
    mem = offset_design / "offset.mem"
    mem.rename(offset_design / "offset.mem.away")
    try:
        with pytest.raises(SimulationError, match=r"offset\.mem.*not found"):
            _run(offset_design, _vectors(5), work_dir=tmp_path)
    finally:
        (offset_design / "offset.mem.away").rename(mem)


@pytest.mark.rtl
def test_deadlock_is_reported_not_hung(tmp_path):
    design = tmp_path / "design"
    write_design(design, "stuck", never_valid("stuck", 16))
    words = np.arange(20, dtype=np.int64).reshape(10, 2)
    with pytest.raises(DeadlockError, match=r"received 0 of 10 output beats") as err:
        run_stream(design, "stuck", ["stuck.v"], words, out_beats=1, s_width=16, m_width=16,
                   idle_timeout_cycles=500, work_dir=tmp_path / "run")
    assert err.value.beats_in == 20       # it swallowed every input beat
    assert err.value.beats_out == 0
    assert err.value.cycles < 2000


# ---- with Icarus: the same testbench, the same cycles ----

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed")


@pytest.mark.rtl
@needs_icarus
def test_icarus_agrees_with_verilator_cycle_for_cycle(offset_design, monkeypatch):
    monkeypatch.setattr(stream, "RUN_CHUNK_BEATS", 64)  # chunk reloads, a short last chunk
    x = _vectors(70, seed=4)
    runs = {sim: _run(offset_design, x, stall_prob=0.3, seed=5, simulator=sim)
            for sim in ("verilator", "icarus")}
    ver, ica = runs["verilator"], runs["icarus"]
    np.testing.assert_array_equal(_outputs(ica), (x + 1) % (1 << WIDTH))
    assert list(ica.out_words.reshape(-1)) == list(ver.out_words.reshape(-1))
    np.testing.assert_array_equal(ica.in_cycles, ver.in_cycles)
    np.testing.assert_array_equal(ica.out_cycles, ver.out_cycles)
    assert ica.build.simulator == "icarus" and ica.build.exe.name == "sim.vvp"
    assert ica.build.key.startswith("icarus-") and ica.build.key != ver.build.key
    assert _run(offset_design, x[:3], simulator="icarus").build.built is False  # cached


@pytest.mark.rtl
@needs_icarus
def test_icarus_missing_memory_file_is_an_error(offset_design, tmp_path):
    mem = offset_design / "offset.mem"
    mem.rename(offset_design / "offset.mem.away")
    try:
        with pytest.raises(SimulationError, match=r"memory file problem: ERROR: .*offset\.mem"):
            _run(offset_design, _vectors(5), work_dir=tmp_path, simulator="icarus")
    finally:
        (offset_design / "offset.mem.away").rename(mem)


def test_unknown_simulator_is_refused(tmp_path):
    with pytest.raises(SimulationError, match="unknown simulator 'xsim'"):
        run_stream(tmp_path, "t", ["t.v"], np.zeros((2, 1), dtype=object), 1, 8, 8, simulator="xsim")


def test_missing_icarus_is_one_clear_error(tmp_path, monkeypatch):
    from hwcomp.errors import HwcompError
    from hwcomp.sim import build_cache, toolchain

    write_design(tmp_path, "t", never_valid("t", 8))
    cached = (toolchain.ensure_icarus, build_cache._icarus_salt)  # remember the real Icarus
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    try:
        for f in cached:
            f.cache_clear()
        with pytest.raises(HwcompError, match="Icarus Verilog not found"):
            run_stream(tmp_path, "t", ["t.v"], np.zeros((2, 1), dtype=object), 1, 8, 8, simulator="icarus")
    finally:
        monkeypatch.undo()
        for f in cached:
            f.cache_clear()
