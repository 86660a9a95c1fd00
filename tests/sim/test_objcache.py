"""The compiler wrapper that shares Verilator's runtime objects between builds,
driven with a fake compiler that counts its calls (no Verilator needed)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hwcomp.sim.objcache as objcache

FAKE_CC = """\
import sys
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("-o") + 1])
out.write_text("object of " + Path(args[-1]).read_text())
out.with_suffix(".d").write_text(f"{out.name}: {args[-1]}\\n")
calls = Path(__file__).with_name("calls")
calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
"""


def _setup(tmp_path: Path) -> tuple[dict[str, str], Path, Path, Path]:
    runtime, model = tmp_path / "verilator" / "include", tmp_path / "cocotb"
    runtime.mkdir(parents=True)
    model.mkdir()
    (runtime / "verilated.cpp").write_text("runtime source")
    (model / "verilator.cpp").write_text("main source")
    cc = tmp_path / "fake_cc.py"
    cc.write_text(FAKE_CC)
    env = {
        "HWCOMP_OBJCACHE_DIR": str(tmp_path / "store"),
        "HWCOMP_OBJCACHE_SALT": "test",
        "HWCOMP_OBJCACHE_RUNTIME": str(runtime),
        "HWCOMP_OBJCACHE_MODEL": str(model),
    }
    return env, cc, runtime, model


def _compile(env: dict[str, str], cc: Path, build_dir: Path, source: Path, obj: str) -> str:
    build_dir.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, objcache.__file__, sys.executable, str(cc), "-O2", "-c", "-o", obj, str(source)],
        cwd=build_dir, env=env, check=True,
    )
    return (build_dir / obj).read_text()


def _calls(cc: Path) -> int:
    calls = cc.with_name("calls")
    return int(calls.read_text()) if calls.exists() else 0


def test_runtime_objects_compile_once_across_build_dirs(tmp_path):
    env, cc, runtime, _ = _setup(tmp_path)
    first = _compile(env, cc, tmp_path / "b1", runtime / "verilated.cpp", "verilated.o")
    second = _compile(env, cc, tmp_path / "b2", runtime / "verilated.cpp", "verilated.o")
    assert first == second == "object of runtime source"
    assert (tmp_path / "b2" / "verilated.d").exists()  # make's dependency file comes along
    assert _calls(cc) == 1


def test_cocotb_main_is_keyed_by_the_model_header(tmp_path):
    env, cc, _, model = _setup(tmp_path)
    for name, header in (("b1", "ports A"), ("b2", "ports A"), ("b3", "ports B")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Vtop.h").write_text(header)
        _compile(env, cc, tmp_path / name, model / "verilator.cpp", "verilator.o")
    assert _calls(cc) == 2  # b2 reused b1's object; b3's header differs


def test_design_sources_always_compile(tmp_path):
    env, cc, _, _ = _setup(tmp_path)
    design = tmp_path / "Vtop__ALL.cpp"
    design.write_text("model")
    _compile(env, cc, tmp_path / "b1", design, "Vtop__ALL.o")
    _compile(env, cc, tmp_path / "b2", design, "Vtop__ALL.o")
    assert _calls(cc) == 2
