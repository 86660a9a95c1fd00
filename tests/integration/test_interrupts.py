"""Interruption and concurrency (issue 10, item 7).

Ctrl-C (SIGINT to the process group, as a terminal sends it), SIGTERM or SIGKILL
during `hwcomp compile` leaves no build directory that looks complete: the
build is written into a hidden sibling and renamed into place only when whole
(hwcomp/outdir.py), an earlier build stays as it was, and the next compile
works and removes what a killed one left. The CLI prints one line and exits
130 on Ctrl-C and SIGTERM. `hwcomp simulate` replaces sim.json atomically, and
its simulator build cache (hwcomp/sim/build_cache.py) survives being
interrupted and being shared by processes running at once.

To interrupt at the worst moment, the compile runs in a wrapper that pauses
right after the staged directory is complete (manifest written, not yet
renamed) and says so on stderr.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inline_models import mlp, residual_cnn  # noqa: E402

from hwcomp.compile import compile_model  # noqa: E402
from hwcomp.outdir import MANIFEST, read_manifest  # noqa: E402

PAUSED = "TEST: staged build complete, pausing"
CALIB = np.random.default_rng(0).uniform(-1, 1, (16, 8)).astype(np.float32)
_PAUSING_CLI = textwrap.dedent(f"""
    import sys, time
    import hwcomp.compile as compile_module
    real = compile_module.write_manifest
    def pausing(root, info):
        real(root, info)
        print({PAUSED!r}, file=sys.stderr, flush=True)
        time.sleep(120)
    compile_module.write_manifest = pausing
    from hwcomp.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _start(args, env=None, pausing=True) -> subprocess.Popen:
    """The CLI in its own session, so a signal to its process group reaches it and its children only."""
    code = _PAUSING_CLI if pausing else "import sys; from hwcomp.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)


def _wait_for(p: subprocess.Popen, text: str, timeout: float = 120) -> list[str]:
    lines, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        line = p.stderr.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    os.killpg(p.pid, signal.SIGKILL)
    raise AssertionError(f"never saw {text!r}: {''.join(lines)}")


def _finish(p: subprocess.Popen, before: list[str]) -> tuple[int, str]:
    _, err = p.communicate(timeout=60)
    return p.returncode, "".join(before) + err


def _intact(build: Path) -> bool:
    """Every file the manifest lists is there with its recorded hash."""
    files = read_manifest(build)["files"]
    return all(hashlib.sha256((build / f).read_bytes()).hexdigest() == h for f, h in files.items())


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return mlp(tmp_path_factory.mktemp("model"), [8, 6, 4])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_during_compile(tmp_path, model, sig):
    out = tmp_path / "build"
    p = _start(["compile", model, "-o", out])
    before = _wait_for(p, PAUSED)
    assert _leftovers(out) and not out.exists()  # the complete build is still a hidden sibling
    os.killpg(p.pid, sig)
    code, err = _finish(p, before)
    assert code == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "hwcomp: interrupted"
    assert not out.exists() and _leftovers(out) == []
    assert (compile_model(model, out, calib=CALIB).out_dir / MANIFEST).is_file() and _intact(out)


def test_sigkill_during_compile_then_the_next_run_cleans_up(tmp_path, model):
    out = tmp_path / "build"
    p = _start(["compile", model, "-o", out])
    before = _wait_for(p, PAUSED)
    os.killpg(p.pid, signal.SIGKILL)
    _finish(p, before)
    assert not out.exists()                       # nothing that looks like a build
    left = _leftovers(out)
    assert len(left) == 1 and str(p.pid) in left[0]  # hidden, named with the dead process
    q = subprocess.run([sys.executable, "-m", "hwcomp", "compile", str(model), "-o", str(out)], capture_output=True,
                       text=True)
    assert q.returncode == 0, q.stderr
    assert _intact(out) and _leftovers(out) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_recompile_keeps_the_earlier_build(tmp_path, model, sig):
    out = tmp_path / "build"
    compile_model(model, out, bits="w8a8", calib=CALIB)
    report = (out / "report.json").read_text()
    p = _start(["compile", model, "-o", out, "--bits", "w4a4"])
    before = _wait_for(p, PAUSED)
    os.killpg(p.pid, sig)
    code, err = _finish(p, before)
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    assert _intact(out) and (out / "report.json").read_text() == report
    compile_model(model, out, bits="w4a4", calib=CALIB)
    assert _intact(out) and json.loads((out / "report.json").read_text()) != json.loads(report)
    assert _leftovers(out) == []


def test_ctrl_c_before_any_output(tmp_path, model):
    """Interrupted while importing: exit 130, one line, nothing written."""
    code = ("import sys, hwcomp.frontend.onnx as f\n"
            "def stop(*a, **k):\n    raise KeyboardInterrupt\n"
            "f.desugar_qoperator = stop\n"
            "from hwcomp.cli import main\nsys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", code, "compile", str(model), "-o", str(tmp_path / "b")],
                       capture_output=True, text=True)
    assert p.returncode == 130 and p.stderr.strip().splitlines()[-1] == "hwcomp: interrupted"
    assert "Traceback" not in p.stderr and not (tmp_path / "b").exists()


# --- simulation: needs Verilator -------------------------------------------------------

def _data(path: Path, n: int, shape) -> Path:
    x = np.random.default_rng(n).uniform(-1, 1, (n,) + tuple(shape)).astype(np.float32)
    np.savez(path, x=x)
    return path


@pytest.mark.rtl
def test_ctrl_c_during_simulation_keeps_sim_json_and_the_cache_works(tmp_path, model):
    build = tmp_path / "build"
    compile_model(model, build, calib=CALIB)
    small, big = _data(tmp_path / "small.npz", 16, (8,)), _data(tmp_path / "big.npz", 400_000, (8,))
    first = subprocess.run([sys.executable, "-m", "hwcomp", "simulate", str(build), "--data", str(small)],
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    sim = (build / "sim.json").read_text()
    p = _start(["simulate", build, "--data", big], pausing=False)
    before = _wait_for(p, "RTL:")  # the simulator is running (its build came from the cache)
    os.killpg(p.pid, signal.SIGINT)
    code, err = _finish(p, before)
    assert code == 130 and "Traceback" not in err and err.strip().splitlines()[-1] == "hwcomp: interrupted"
    assert (build / "sim.json").read_text() == sim and _intact(build)
    again = subprocess.run([sys.executable, "-m", "hwcomp", "simulate", str(build), "--data", str(small)],
                           capture_output=True, text=True)
    assert again.returncode == 0 and json.loads((build / "sim.json").read_text())["bit_exact"]


_SIMULATE = textwrap.dedent("""
    import json, sys
    import numpy as np
    from hwcomp.simulate import simulate_build
    x = np.load(sys.argv[2])["x"]
    r = simulate_build(sys.argv[1], (x, None))
    print(json.dumps({"bit_exact": r["bit_exact"], "samples": len(x)}))
""")


def _cache_intact(cache: Path) -> None:
    """Finished simulators only (no private build directories left), each with its program;
    shared objects complete (no half-written temporaries)."""
    from hwcomp.sim.build_cache import SIM_TOP

    designs = cache / "sim" / "designs"
    assert not [p.name for p in designs.iterdir() if p.name.startswith(".")]
    for d in designs.iterdir():
        assert (d / SIM_TOP).is_file() and os.access(d / SIM_TOP, os.X_OK), f"{d} holds no simulator"
    objs = list((cache / "sim" / "objs").iterdir())
    assert objs and all(o.stat().st_size > 0 for o in objs)
    assert all(o.suffix in (".o", ".d") for o in objs), [o.name for o in objs]


@pytest.mark.rtl
@pytest.mark.parametrize("start", ["warm", pytest.param("cold", marks=pytest.mark.slow)])
def test_two_compiles_and_two_simulations_share_one_cache(tmp_path, start):
    """Different designs compiled and then simulated at the same time, in separate processes,
    against one new HWCOMP_CACHE: both bit-exact, the cache whole, and a second round served
    from it, still bit-exact. "warm" starts with Verilator's runtime objects copied from the
    usual cache (the two design builds race); "cold" (slow, about 3 minutes) without, so the
    two processes also race to build and publish the shared objects."""
    from hwcomp.sim.build_cache import cache_root

    env = dict(os.environ, HWCOMP_CACHE=str(tmp_path / "cache"))
    objs = cache_root() / "objs"
    if start == "warm" and objs.is_dir():
        shutil.copytree(objs, tmp_path / "cache" / "sim" / "objs")
    models = {"mlp": (mlp(tmp_path, [8, 7, 5]), (8,)), "cnn": (residual_cnn(tmp_path), (1, 8, 8))}
    compiles = {k: subprocess.Popen([sys.executable, "-m", "hwcomp", "compile", str(m), "-o", str(tmp_path / k)],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for k, (m, _) in models.items()}
    for k, p in compiles.items():
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    data = {k: _data(tmp_path / f"{k}.npz", 24, shape) for k, (_, shape) in models.items()}
    for round_ in range(2):
        sims = {k: subprocess.Popen([sys.executable, "-c", _SIMULATE, str(tmp_path / k), str(data[k])], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in models}
        for k, p in sims.items():
            out, err = p.communicate(timeout=900)
            assert p.returncode == 0, err[-3000:]
            assert json.loads(out.strip().splitlines()[-1]) == {"bit_exact": True, "samples": 24}, (round_, k)
        _cache_intact(tmp_path / "cache")
    designs = [p for p in (tmp_path / "cache" / "sim" / "designs").iterdir()]
    assert len(designs) == 2  # one simulator per design, built once, reused in the second round
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
