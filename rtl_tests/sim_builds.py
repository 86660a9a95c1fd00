"""Verilator builds shared across tests, and running one case on a build.

A build depends only on HDL parameters. Weights are read by $readmemh at
simulation start from paths relative to the working directory, so each case
runs the same binary in its own directory with its own .mem files.

Most of a build's time goes into Verilator's run-time library, which is the
same for every model. The first build of a process compiles it; later builds
in that process reuse those objects (same toolchain, same flags), so make
compiles only the model.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from cocotb_tools.runner import Runner, Verilator

from hwcomp.sim.toolchain import ensure_verilator

HERE = Path(__file__).resolve().parent
BUILD_ROOT = HERE / "sim_build"
TEMPLATES = HERE.parent / "templates"

# The simulator's Python imports stream_tb / axis from here.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# Objects of the run-time library; they depend only on Verilator's headers.
RUNTIME_OBJECTS = ("verilated", "verilated_dpi", "verilated_threads", "verilated_vpi")

_runners: dict[str, Runner] = {}
_runtime_donor: Path | None = None


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def build(name: str, sources: list[Path], toplevel: str, parameters: dict[str, object]) -> Runner:
    """Build once per name in this process (`name` must encode the parameters)."""
    global _runtime_donor
    if name not in _runners:
        ensure_verilator()
        build_dir = BUILD_ROOT / name / "build"
        runner = _SharedRuntimeVerilator(_runtime_donor)
        runner.build(
            sources=[str(s) for s in sources],
            hdl_toplevel=toplevel,
            parameters=parameters,
            build_dir=build_dir,
            # One C++ file per model: a model split into several raced make -j 2 on
            # Verilator's precompiled header (wide_8x8 failed to build that way).
            build_args=["-CFLAGS", "-O0", "--output-split", "0"],
            timescale=("1ns", "1ps"),
        )
        _runners[name] = runner
        _runtime_donor = _runtime_donor or build_dir
    return _runners[name]


class _SharedRuntimeVerilator(Verilator):
    """cocotb's Verilator runner, seeding the build with a donor's run-time objects.

    The objects are copied before Verilator runs and touched after it, since
    make treats them as older than the freshly generated Vtop.mk otherwise.
    If cocotb's build steps ever look different, this falls back to a full build.
    """

    def __init__(self, donor: Path | None):
        super().__init__()
        self.donor = donor

    def _build_command(self):
        cmds = super()._build_command()
        if self.donor is None or len(cmds) != 2 or cmds[1][0] != "make":
            return cmds
        self.build_dir.mkdir(parents=True, exist_ok=True)
        seeded = []
        for stem in RUNTIME_OBJECTS:
            for ext in (".o", ".d"):
                src, dst = self.donor / (stem + ext), self.build_dir / (stem + ext)
                if src.exists():
                    shutil.copyfile(src, dst)
                    seeded.append(str(dst))
        return [cmds[0], ["touch", *seeded], cmds[1]] if seeded else cmds


def run_case(runner: Runner, toplevel: str, case_dir: Path, case: dict) -> None:
    """Write the case into case_dir (next to its .mem files) and run stream_tb there."""
    case_dir.mkdir(parents=True, exist_ok=True)
    case_file = case_dir / "case.json"
    case_file.write_text(json.dumps(case))
    runner.test(
        test_module="stream_tb",
        hdl_toplevel=toplevel,
        test_dir=case_dir,
        extra_env={"HWCOMP_CASE": str(case_file)},
    )
