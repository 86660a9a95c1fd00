"""The importer fuzzer: mutants of real models (fuzz/seeds.py, fuzz/mutations.py),
each compiled through the Python API in a worker process; every few, the same
mutant through the `hwcomp` command line as well.

A mutant passes when it compiles (the build directory is written; nothing is
simulated), or ends in one HwcompError of one line (and, through the CLI,
exit status 2 with exactly one `hwcomp: error:` line and no traceback). Any
other exception, a RuntimeWarning, a timeout or a dead worker is a crash.

Workers run under an address-space limit (MEMORY_BYTES) with a per-mutant
alarm; a worker that dies (a segfault, the memory limit) is restarted after
the mutant it was on, which is recorded as a crash. Mutant i of run seed S is
the same on every machine: `python tests/fuzz/runner.py --seed S --index i
--write m.onnx` writes it for a regression test.

    python tests/fuzz/runner.py --mutants 3000 --tiers inline,light,trained \\
        --out benchmarks/results/import_fuzz.json
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import onnx  # noqa: E402

from fuzz.mutations import mutate, mutation_name  # noqa: E402
from fuzz.seeds import Seed, build_seeds  # noqa: E402

FUZZ_MAX_ELEMS = 2 ** 18      # --max-tensor-elems for compiled mutants: a blown-up dim is refused, not computed
TIMEOUT_S = 60                # per mutant (API, and the CLI run when sampled)
MEMORY_BYTES = 3 * 2 ** 30    # RLIMIT_AS of each worker and its CLI runs
CLI_EVERY = 20                # every CLI_EVERY-th mutant also goes through the command line
BITS = ("w8a8", "w8a8", "w8a8", "w4a8", "w4a4", "w2a2", "w1a1")
CRASH_STATUSES = ("crash", "timeout", "died", "multiline", "cli_mismatch", "warning")


class FuzzTimeout(BaseException):
    """Raised by the alarm; a BaseException so no `except Exception` in hwcomp swallows it."""


# --- one mutant --------------------------------------------------------------

_MODELS: dict[Path, onnx.ModelProto] = {}


def make_mutant(seeds: list[Seed], run_seed: int, index: int) -> tuple[Seed, bytes, list[str], str]:
    rng = random.Random(f"{run_seed}:{index}")
    seed = seeds[index % len(seeds)]
    if seed.path not in _MODELS:
        _MODELS[seed.path] = onnx.load(str(seed.path))
    data, mutations = mutate(_MODELS[seed.path], rng)
    return seed, data, mutations, rng.choice(BITS)


def _alarm(signum, frame):
    raise FuzzTimeout()


def run_api(path: Path, seed: Seed, bits: str, out_dir: Path) -> dict:
    from hwcomp.compile import compile_model, float_pipeline
    from hwcomp.errors import HwcompError

    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)       # "no calibration data" and the like
            warnings.simplefilter("error", RuntimeWarning)     # numpy's overflow / invalid value
            if seed.import_only:
                float_pipeline(path)
            else:
                compile_model(path, out_dir, bits=bits, max_tensor_elems=FUZZ_MAX_ELEMS)
        r = {"status": "compiled"}
    except HwcompError as e:
        text = str(e)
        r = {"status": "multiline" if "\n" in text or not text.strip() else "error", "message": text[:500]}
    except FuzzTimeout:
        r = {"status": "timeout", "message": f"no result after {TIMEOUT_S} s",
             "traceback": traceback.format_exc()[-3000:]}
    except RuntimeWarning as e:
        r = {"status": "warning", "message": f"RuntimeWarning: {e}", "traceback": traceback.format_exc()[-3000:]}
    except Exception as e:
        r = {"status": "crash", "message": f"{type(e).__name__}: {str(e)[:400]}",
             "traceback": traceback.format_exc()[-3000:]}
    finally:
        signal.alarm(0)
    r["seconds"] = round(time.perf_counter() - start, 3)
    return r


def run_cli(path: Path, seed: Seed, bits: str, out_dir: Path) -> dict:
    if seed.import_only:
        cmd = [sys.executable, "-m", "hwcomp", "inspect", str(path), "--canonical"]
    else:
        cmd = [sys.executable, "-m", "hwcomp", "compile", str(path), "-o", str(out_dir), "--bits", bits,
               "--max-tensor-elems", str(FUZZ_MAX_ELEMS)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S + 30)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "stderr": "timeout"}
    return {"returncode": p.returncode, "stderr": p.stderr[-2000:]}


def cli_verdict(api: dict, cli: dict) -> str | None:
    """Why the command line disagrees with the API on this mutant (None: it agrees)."""
    lines = [ln for ln in cli["stderr"].splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("hwcomp: error:")]
    if "Traceback" in cli["stderr"]:
        return "traceback on stderr"
    if api["status"] == "compiled":
        return None if cli["returncode"] == 0 else f"API compiled, CLI exit {cli['returncode']}"
    if api["status"] == "error":
        if cli["returncode"] != 2:
            return f"API HwcompError, CLI exit {cli['returncode']}"
        if len(errors) != 1 or lines[-1] != errors[0]:
            return f"{len(errors)} error lines, last line {lines[-1][:80] if lines else ''!r}"
    return None


def run_one(seeds: list[Seed], run_seed: int, index: int, work: Path, keep: Path | None) -> dict:
    seed, data, mutations, bits = make_mutant(seeds, run_seed, index)
    path = work / f"mutant_{index}.onnx"
    path.write_bytes(data)
    out = work / "build"
    r = {"index": index, "seed": seed.name, "mutations": mutations, "bits": bits}
    r.update(run_api(path, seed, bits, out))
    if index % CLI_EVERY == 0 and r["status"] in ("compiled", "error"):
        cli = run_cli(path, seed, bits, work / "cli_build")
        r["cli"] = {"returncode": cli["returncode"]}
        why = cli_verdict(r, cli)
        if why:
            r.update(status="cli_mismatch", message=f"{why}; API: {r.get('message', 'compiled')[:200]}",
                     traceback=cli["stderr"])
    if r["status"] in CRASH_STATUSES and keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, keep / f"mutant_{run_seed}_{index}.onnx")
    path.unlink(missing_ok=True)
    return r


# --- workers and their supervisor ------------------------------------------------

def _worker(task_file: Path, results: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    task = json.loads(task_file.read_text())
    seeds = [Seed(s["name"], Path(s["path"]), s["import_only"]) for s in task["seeds"]]
    work = Path(task["work"])
    work.mkdir(parents=True, exist_ok=True)
    keep = Path(task["keep"]) if task.get("keep") else None
    with open(results, "a") as f:
        for i in task["indices"]:
            f.write(json.dumps({"index": i, "started": True}) + "\n")
            f.flush()
            f.write(json.dumps(run_one(seeds, task["run_seed"], i, work, keep)) + "\n")
            f.flush()


def _read_results(path: Path) -> tuple[dict[int, dict], int | None]:
    """Finished results by index, and the index a dead worker was on (started, no result)."""
    done: dict[int, dict] = {}
    started = None
    if not path.exists():
        return done, None
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # the last line of a worker killed mid-write
        if rec.get("started"):
            started = rec["index"]
        else:
            done[rec["index"]] = rec
            started = None
    return done, started


def run_mutants(seeds: list[Seed], run_seed: int, count: int, work: Path, jobs: int = 2,
                keep: Path | None = None, progress=None) -> list[dict]:
    """Mutants 0..count-1 over `jobs` worker processes; one result per mutant."""
    work.mkdir(parents=True, exist_ok=True)
    seed_list = [{"name": s.name, "path": str(s.path), "import_only": s.import_only} for s in seeds]
    pending = {j: list(range(j, count, jobs)) for j in range(jobs)}
    results: dict[int, dict] = {}
    procs: dict[int, tuple[subprocess.Popen, Path]] = {}

    def launch(j: int) -> None:
        task = work / f"task_{j}.json"
        res = work / f"results_{j}.jsonl"
        res.unlink(missing_ok=True)
        task.write_text(json.dumps({"seeds": seed_list, "run_seed": run_seed, "indices": pending[j],
                                    "work": str(work / f"w{j}"), "keep": str(keep) if keep else None}))
        p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(task), str(res)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs[j] = (p, res)

    for j in pending:
        if pending[j]:
            launch(j)
    last_count = 0
    while procs:
        time.sleep(0.5)
        for j, (p, res) in list(procs.items()):
            done, started = _read_results(res)
            stuck = started is not None and _started_long_ago(res)
            if p.poll() is None and not stuck:
                continue
            if p.poll() is None:  # hung below Python (the alarm never fired): our own worker, by pid
                p.kill()
                p.wait()
            results.update(done)
            pending[j] = [i for i in pending[j] if i not in done]
            del procs[j]
            if started is not None:
                results[started] = {"index": started, "status": "died" if not stuck else "timeout",
                                    "message": f"worker exit status {p.returncode} on this mutant"}
                pending[j] = [i for i in pending[j] if i != started]
            if pending[j]:
                launch(j)
        if progress is not None:
            n = len(results) + sum(len(_read_results(r)[0]) for _, r in procs.values())
            if n - last_count >= 100:
                progress(n)
                last_count = n
    for r in results.values():
        if "seed" not in r:  # died or hung: describe the mutant again
            seed, _, mutations, bits = make_mutant(seeds, run_seed, r["index"])
            r.update(seed=seed.name, mutations=mutations, bits=bits)
    return [results[i] for i in sorted(results)]


def _started_long_ago(res: Path) -> bool:
    """The worker's current mutant has run for more than twice the alarm."""
    return time.time() - res.stat().st_mtime > 2 * TIMEOUT_S + 60


# --- the summary -------------------------------------------------------------------

def summarize(results: list[dict], seeds: list[Seed], missing: dict[str, str], run_seed: int,
              seconds: float) -> dict:
    def tally(rs):
        c = collections.Counter(r["status"] for r in rs)
        crashes = sum(c[s] for s in CRASH_STATUSES)
        return {"mutants": len(rs), "compiled": c["compiled"], "clean_errors": c["error"], "crashes": crashes}

    by_seed = collections.defaultdict(list)
    by_mutation = collections.defaultdict(list)
    for r in results:
        by_seed[r["seed"]].append(r)
        for m in {mutation_name(d) for d in r.get("mutations", [])}:
            by_mutation[m].append(r)
    errors = collections.Counter(_error_kind(r["message"]) for r in results if r["status"] == "error")
    crashes = [r for r in results if r["status"] in CRASH_STATUSES]
    return {
        **tally(results),
        "run_seed": run_seed,
        "seconds": round(seconds, 1),
        "cli_checked": sum(1 for r in results if "cli" in r),
        "statuses": dict(collections.Counter(r["status"] for r in results)),
        "seeds": {s.name: tally(by_seed[s.name]) for s in seeds},
        "seeds_not_built": missing,
        "mutations": {m: tally(rs) for m, rs in sorted(by_mutation.items())},
        "common_errors": dict(errors.most_common(40)),
        "crash_list": [{k: r.get(k) for k in ("index", "seed", "mutations", "status", "message", "traceback")}
                       for r in crashes[:50]],
    }


def _error_kind(message: str) -> str:
    """An error message without the file, node and numbers: what kind of refusal it is."""
    import re

    text = message.split(".onnx: ", 1)[-1]
    text = re.sub(r"node '[^']*' \([^)]*\)", "node", text)
    text = re.sub(r"'[^']*'", "'.'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:90]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", nargs=2, metavar=("TASK", "RESULTS"), help=argparse.SUPPRESS)
    ap.add_argument("--mutants", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="run seed: mutant i of seed S is always the same")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tiers", default="inline,light,trained")
    ap.add_argument("--work", type=Path, default=Path("build/import_fuzz"))
    ap.add_argument("--out", type=Path, help="summary JSON")
    ap.add_argument("--index", type=int, help="with --write: write mutant INDEX and stop")
    ap.add_argument("--write", type=Path)
    a = ap.parse_args(argv)
    if a.worker:
        _worker(Path(a.worker[0]), Path(a.worker[1]))
        return 0
    start = time.perf_counter()
    seeds, missing = build_seeds(a.work / "seeds", tuple(a.tiers.split(",")))
    if a.index is not None:
        seed, data, mutations, bits = make_mutant(seeds, a.seed, a.index)
        (a.write or Path(f"mutant_{a.seed}_{a.index}.onnx")).write_bytes(data)
        print(f"seed model {seed.name} ({'import only' if seed.import_only else bits}): {mutations}")
        return 0
    results = run_mutants(seeds, a.seed, a.mutants, a.work / "run", a.jobs, keep=a.work / "crashes",
                          progress=lambda n: print(f"{n} mutants", file=sys.stderr, flush=True))
    summary = summarize(results, seeds, missing, a.seed, time.perf_counter() - start)
    text = json.dumps(summary, indent=1, sort_keys=True) + "\n"
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    print(json.dumps({k: summary[k] for k in ("mutants", "compiled", "clean_errors", "crashes", "seconds")}))
    for c in summary["crash_list"][:20]:
        print(f"CRASH {c['index']} {c['seed']} {c['mutations']}: {c['message']}")
    return 1 if summary["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
