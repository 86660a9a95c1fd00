"""Deep Compression demo: the 64-300-100-10 digits MLP trained, pruned to 2.5%
of its weights and shared at K = 4 bits (train.py, hwcomp.train), compiled
dense, with sparse units and with a codebook, every design simulated on the
whole test split in Verilator (bit-exact against the IR, measured II), and
Deep Compression's storage table printed from report.json's `storage`.

    python examples/digits_deep_compression/run.py [--out DIR] [--retrain]

The files in out/ are reused when all are there and newer than train.py.
The issue's target: >= 50x total storage against float32 (every overhead
counted: biases, shifts, codebooks, indices, pointers) at <= 1 point of test
accuracy below the float base model, RTL bit-exact. Each build's row says
whether its plain and its Huffman-coded total reach it.
"""
from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import sys
import time
from pathlib import Path

from hwcomp import compile_model, simulate_build

# train.py by path under its own name: "train" alone is too common a module name
TRAIN_SCRIPT = Path(__file__).parent / "train.py"
_spec = importlib.util.spec_from_file_location("digits_deep_compression_train", TRAIN_SCRIPT)
train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train)
MODELS = ("base", "pruned", "shared_k4", "shared_k5")
TARGET_RATIO = 50.0
MAX_LOSS = 0.01

# (build name, model, compile options, what it shows)
BUILDS = (
    ("base", "base", {"sparse": "off"}, "float model, w8a8, dense units"),
    ("pruned dense", "pruned", {"sparse": "off"}, "pruned, dense units (stores every zero)"),
    ("pruned sparse", "pruned", {"sparse": "on"}, "pruned, sparse units"),
    ("pruned auto", "pruned", {"sparse": "auto"}, "pruned, --sparse auto"),
    ("shared_k4 dense", "shared_k4", {"share_weights": 4, "sparse": "off"}, "pruned + K=4, dense units with codebook"),
    ("shared_k4 sparse", "shared_k4", {"share_weights": 4, "sparse": "on"}, "pruned + K=4, sparse units"),
)


def say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def _outputs(out: Path) -> dict:
    files = {m: out / f"{m}.onnx" for m in MODELS}
    return {**files, "calib": out / "calib.npz", "test": out / "test.npz", "summary_file": out / "summary.json"}


def trained(out: Path, retrain: bool = False, log=print, **build_options) -> dict:
    """train.build's files; reused when every one exists and is newer than train.py
    (build_options given: always trained, they change the models)."""
    files = _outputs(out)
    fresh = all(p.exists() and p.stat().st_mtime > TRAIN_SCRIPT.stat().st_mtime for p in files.values())
    if fresh and not retrain and not build_options:
        log(f"reusing {out} (newer than {TRAIN_SCRIPT.name}; --retrain to train again)")
        return {**files, "summary": json.loads(files["summary_file"].read_text())}
    return {**train.build(out, log=log, **build_options), "summary_file": files["summary_file"]}


def _same_rtl(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in (a / "rtl").iterdir())
    if names != sorted(p.name for p in (b / "rtl").iterdir()):
        return False
    return all(filecmp.cmp(a / "rtl" / n, b / "rtl" / n, shallow=False) for n in names)


def _sparse_accepts_codebook(report: dict) -> bool:
    """Whether a sparse build of a shared model stores codebook indices (role codebook
    present in a sparse unit's storage), rather than the weights' codes themselves."""
    sparse = {l["module"] for l in report["layers"] if "sparse" in l}
    return any(e["bits"]["codebook"] > 0 for e in report["storage"]["per_layer"] if e["module"] in sparse)


def measure(name: str, onnx_path: Path, options: dict, data: dict, out: Path, limit: int | None,
            simulator: str, progress, done: dict) -> dict:
    """Compile one build and simulate it; a build whose RTL equals an earlier one's (auto
    choosing what on chose) is not simulated again: it points at that build."""
    build_dir = out / name.replace(" ", "_")
    res = compile_model(onnx_path, build_dir, calib=data["calib"], progress=None, **options)
    rep = res.report
    entry = {"name": name, "model": onnx_path.stem, "options": options, "dir": str(build_dir), "report": rep}
    twin = next((d for d in done.values() if d["model"] == onnx_path.stem and _same_rtl(Path(d["dir"]), build_dir)
                 and d["report"]["storage"] == rep["storage"]), None)
    if twin is not None:
        entry["same_as"] = twin["name"]
        entry["sim"] = twin["sim"]
        return entry
    if progress:
        progress(f"{name}: simulating {'the test split' if limit is None else f'{limit} samples'} in {simulator}")
    entry["sim"] = simulate_build(build_dir, data["test"], limit=limit, simulator=simulator)
    return entry


def run(out: Path, *, limit: int | None = None, simulator: str = "verilator", builds=BUILDS, retrain: bool = False,
        progress=say, log=print, **build_options) -> dict:
    """Train (or reuse out/), compile and simulate every build; results.json in out/."""
    log = log or (lambda _msg: None)
    data = trained(out, retrain, log=log, **build_options)
    done: dict[str, dict] = {}
    what = {name: w for name, _, _, w in builds}
    for name, model, options, _ in builds:
        log(f"compiling {model}.onnx as '{name}' ({', '.join(f'{k}={v}' for k, v in options.items())})")
        done[name] = measure(name, data[model], options, data, out / "builds", limit, simulator, progress, done)
    base_float = done[builds[0][0]]["sim"]["accuracy_float"]
    results = {"base_accuracy_float": base_float, "limit": limit, "simulator": simulator,
               "target": {"ratio": TARGET_RATIO, "max_loss": MAX_LOSS}, "builds": {}}
    for name, e in done.items():
        s, rep = e["sim"], e["report"]
        st = rep["storage"]
        loss = base_float - s["accuracy_rtl"]
        ok = s["bit_exact"] and loss <= MAX_LOSS + 1e-9
        results["builds"][name] = {
            "what": what[name], "model": e["model"], "options": e["options"], "same_as": e.get("same_as"),
            "dir": e["dir"],
            "sparse_layers": [l["name"] for l in rep["layers"] if "sparse" in l],
            "weight_dtypes": [l["weight_dtype"] for l in rep["layers"]],
            "sparse_codebook": _sparse_accepts_codebook(rep) if any("sparse" in l for l in rep["layers"]) else None,
            "storage": st,
            "weight_bits": sum(st["bits"][r] for r in ("weights", "indices", "codebook", "pointers")),
            "accuracy_float": s["accuracy_float"], "accuracy_fixed": s["accuracy_fixed"],
            "accuracy_rtl": s["accuracy_rtl"], "loss_vs_base_float": loss,
            "samples": s["samples"], "mismatches": s["mismatches"], "bit_exact": s["bit_exact"],
            "ii_measured": s["ii_cycles"], "ii_expected": rep["totals"]["expected_ii_cycles"],
            "lanes": rep["totals"]["lanes"],
            "resources": {k: rep["resources"][k] for k in ("lut", "dsp", "bram18")},
            "unmodelled_blocks": sorted(b for b, r in rep["resources"]["per_block"].items() if r["lut"] is None),
            "unmodelled_layers": [l["module"] for l in rep["layers"] if l["resources"]["lut"] is None],
            "modelled_resources": {k: round(sum(r[k] for r in rep["resources"]["per_block"].values()
                                                if r[k] is not None), 3) for k in ("lut", "dsp", "bram18")},
            "reaches_target": {"plain": ok and st["ratio"] >= TARGET_RATIO,
                               "huffman": ok and st["huffman_ratio"] >= TARGET_RATIO},
        }
    results["summary"] = data["summary"]
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def _table(rows: list[tuple], align_left: int = 1) -> str:
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(str(c).ljust(w[i]) if i < align_left else str(c).rjust(w[i])
                                      for i, c in enumerate(r)) for r in rows)


def _n(v) -> str:
    return "-" if v is None else f"{v:,}"


def format_storage_table(storage: dict) -> str:
    """Deep Compression's table of one build: per stage that stores anything, its density
    and bits by role, the Huffman-coded weight and index streams, then the totals."""
    rows = [("layer", "weights", "density", "weight", "index", "codebook", "pointer", "bias", "other",
             "total", "Huffman w+i", "Huffman total")]
    for e in storage["per_layer"]:
        b = e["bits"]
        huff = sum(h["data_bits"] + h["table_bits"] for h in e["huffman"].values())
        rows.append((e["name"], _n(e.get("weights")), "-" if e.get("density") is None else f"{e['density']:.2%}",
                     _n(b["weights"]), _n(b["indices"]), _n(b["codebook"]), _n(b["pointers"]), _n(b["bias"]),
                     _n(b["thresholds"] + b["shifts"]), _n(e["total_bits"]), _n(huff), _n(e["huffman_total_bits"])))
    b = storage["bits"]
    rows.append(("total", _n(storage["float_parameters"]) + " fp", "", _n(b["weights"]), _n(b["indices"]),
                 _n(b["codebook"]), _n(b["pointers"]), _n(b["bias"]), _n(b["thresholds"] + b["shifts"]),
                 _n(storage["total_bits"]), "", _n(storage["huffman_total_bits"])))
    return (_table(rows) + f"\n  float32 {storage['float32_bits']:,} bits: {storage['ratio']:g}x stored, "
            f"{storage['huffman_ratio']:g}x Huffman-coded (bits; 'other' = shifts and thresholds)")


def _res(r: dict, k: str) -> str:
    """The report's total; without one, the sum over the blocks that have a model, marked
    "+", when only plumbing (no layer) lacks a model; else n/a."""
    v = r["resources"][k]
    if v is not None:
        return f"{v:,g}"
    if r["unmodelled_layers"]:
        return "n/a"
    return f"{r['modelled_resources'][k]:,g}+"


def format_summary(results: dict) -> str:
    """One row per build: storage ratios, accuracy, bit-exactness, II, lanes, resources."""
    rows = [("build", "total bits", "ratio", "Huffman", "acc float", "acc fixed", "acc RTL", "mismatches",
             "II meas/exp", "lanes", "LUT", "DSP", "BRAM18", ">=50x plain", ">=50x Huffman")]
    for name, r in results["builds"].items():
        st = r["storage"]
        rows.append((name, f"{st['total_bits']:,}", f"{st['ratio']:g}x", f"{st['huffman_ratio']:g}x",
                     f"{r['accuracy_float']:.4f}", f"{r['accuracy_fixed']:.4f}", f"{r['accuracy_rtl']:.4f}",
                     f"{r['mismatches']} / {r['samples']}", f"{r['ii_measured']:g} / {r['ii_expected']}",
                     r["lanes"], _res(r, "lut"), _res(r, "dsp"), _res(r, "bram18"),
                     "yes" if r["reaches_target"]["plain"] else "no",
                     "yes" if r["reaches_target"]["huffman"] else "no"))
    notes = [f"accuracy loss counted against the base model's float accuracy {results['base_accuracy_float']:.4f}; "
             f"target >= {TARGET_RATIO:g}x at <= {100 * MAX_LOSS:g} point loss, bit-exact"]
    for name, r in results["builds"].items():
        if r["same_as"]:
            notes.append(f"{name}: the same design as '{r['same_as']}' (RTL byte for byte; not simulated again)")
        if r["sparse_codebook"] is False and r["options"].get("share_weights"):
            notes.append(f"{name}: the sparse unit has no codebook (known gap): it stores each non-zero's "
                         f"code ({', '.join(r['weight_dtypes'])}), not a {r['options']['share_weights']}-bit "
                         "index, so sharing shows only in the Huffman-coded size")
        if r["unmodelled_blocks"]:
            what = "n/a" if r["unmodelled_layers"] else "the other blocks only (+)"
            notes.append(f"{name}: LUT/DSP/BRAM {what}: no resource model for {', '.join(r['unmodelled_blocks'])}")
    return _table(rows) + "\n" + "\n".join(f"  - {n}" for n in notes)


def verdict(results: dict) -> str:
    plain = [n for n, r in results["builds"].items() if r["reaches_target"]["plain"]]
    huff = [n for n, r in results["builds"].items() if r["reaches_target"]["huffman"]]
    return (f"  >= {TARGET_RATIO:g}x plain: {', '.join(plain) or 'no build'}\n"
            f"  >= {TARGET_RATIO:g}x Huffman-coded: {', '.join(huff) or 'no build'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--retrain", action="store_true", help="train again even when out/ is fresh")
    ap.add_argument("--limit", type=int, help="simulate only the first N test samples")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print("1. training, pruning and sharing the 64-300-100-10 MLP on load_digits (hwcomp.train, torch)")
    r = run(a.out, limit=a.limit, retrain=a.retrain, log=lambda m: print(f"  {m}", flush=True))
    print("\n2. storage (report.json `storage`), per build")
    for name, b in r["builds"].items():
        print(f"\n{name}: {b['what']} ({b['model']}.onnx, {', '.join(f'{k}={v}' for k, v in b['options'].items())})")
        print(format_storage_table(b["storage"]))
    print(f"\n3. results ({a.out}, {time.perf_counter() - t0:.1f} s)")
    print(format_summary(r))
    print(verdict(r))
    return 0 if all(b["bit_exact"] for b in r["builds"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
