"""The importer fuzzer (issue 10, item 4): seeded mutants of real models either compile
or end in one HwcompError line (exit status 2 through the CLI, sampled); never a
traceback, a numpy warning, a hang or a dead process. See fuzz/runner.py.

`make test` runs HWCOMP_FUZZ_MUTANTS=200 mutants (about a minute on 2 cores);
`make fuzz` runs thousands and keeps the summary in
benchmarks/results/import_fuzz.json. HWCOMP_FUZZ_SEED picks another batch,
HWCOMP_FUZZ_TIERS the seed models (fuzz/seeds.py).
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz.runner import run_mutants, summarize  # noqa: E402
from fuzz.seeds import build_seeds  # noqa: E402

MUTANTS = int(os.environ.get("HWCOMP_FUZZ_MUTANTS", "200"))
RUN_SEED = int(os.environ.get("HWCOMP_FUZZ_SEED", "0"))
TIERS = tuple(os.environ.get("HWCOMP_FUZZ_TIERS", "inline,light,trained").split(","))
JOBS = min(2, os.cpu_count() or 1)


def test_mutants_compile_or_fail_cleanly(tmp_path):
    import time

    start = time.perf_counter()
    seeds, missing = build_seeds(tmp_path / "seeds", TIERS)
    results = run_mutants(seeds, RUN_SEED, MUTANTS, tmp_path / "run", JOBS, keep=tmp_path / "crashes")
    summary = summarize(results, seeds, missing, RUN_SEED, time.perf_counter() - start)
    out = Path(os.environ.get("HWCOMP_FUZZ_SUMMARY") or tmp_path / "import_fuzz.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(f"\nimporter fuzz: {summary['mutants']} mutants, {summary['compiled']} compiled, "
          f"{summary['clean_errors']} clean errors, {summary['crashes']} crashes ({summary['seconds']} s; {out})")
    assert summary["mutants"] == MUTANTS
    assert summary["cli_checked"] >= MUTANTS // 40
    assert summary["compiled"] >= MUTANTS // 10, "too few mutants compile: the seeds or mutations are broken"
    crashes = "\n".join(f"mutant {c['index']} of {c['seed']} {c['mutations']}: {c['status']}: {c['message']}\n"
                        f"{c.get('traceback') or ''}" for c in summary["crash_list"][:5])
    assert summary["crashes"] == 0, (
        f"{summary['crashes']} crashes; reproduce one with python tests/fuzz/runner.py --seed {RUN_SEED} "
        f"--tiers {','.join(TIERS)} --index N --write m.onnx\n{crashes}")
