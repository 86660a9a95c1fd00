"""Write docs/onnx_cases.md: how hwcomp fares on the ONNX test models that ship
with the onnx wheel.

    .venv/bin/python scripts/onnx_case_table.py [--out docs/onnx_cases.md]

The checks are the tests' own (tests/frontend/test_onnx_backend_cases.py and
test_onnx_light_models.py, loaded from their files), so the table and the test
suite cannot disagree on a rule. Takes a minute or two: the light models are
the slow part.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

import hwcomp.ops.all  # noqa: F401  (registers the ops)
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import MIN_OPSET, load_onnx
from hwcomp.ir.execute import execute
from hwcomp.ir.printer import summarize
from hwcomp.passes.canonicalize import canonicalize

ROOT = Path(__file__).resolve().parents[1]
STATUSES = ("pass", "FAIL", "error", "rejected", "unsupported")


def _load_module(relpath: str):
    spec = importlib.util.spec_from_file_location(Path(relpath).stem, ROOT / relpath)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_module("tests/frontend/test_onnx_backend_cases.py")
light = _load_module("tests/frontend/test_onnx_light_models.py")


@dataclass(frozen=True)
class Row:
    name: str
    ops: list[str]
    status: str  # one of STATUSES
    detail: str
    opset: str = ""
    sizes: tuple = ()  # light models: (nodes, params, MACs) before and after canonicalization


def _message(e: BaseException, path: Path) -> str:
    text = " ".join(str(e).replace(f"{path}: ", "").split())
    return text[:120] + ("..." if len(text) > 120 else "")


def case_row(case: Path, tmp: Path) -> Row:
    shipped = onnx.load(case / "model.onnx")
    opset = cases.default_opset(shipped)
    try:
        model = cases.importable(shipped)
    except Exception as e:  # the converter has no adapter for some op
        return Row(case.name, cases.op_types(shipped), "error", f"opset conversion: {type(e).__name__}", str(opset))
    opset_text = f"{opset}→{MIN_OPSET}" if model is not shipped else str(opset)
    ops = cases.op_types(model)
    path = tmp / f"{case.parent.name}_{case.name}.onnx"
    onnx.save(model, path)

    def row(status: str, detail: str) -> Row:
        return Row(case.name, ops, status, detail, opset_text)

    try:
        graph = load_onnx(path)
    except HwcompError as e:
        missing = cases.unsupported_ops(model)
        return row("unsupported", f"ops: {', '.join(missing)}") if missing else row("rejected", _message(e, path))
    except Exception as e:
        return row("error", f"import: {type(e).__name__}: {_message(e, path)}")
    try:
        err = cases.worst_error(graph, *cases.shipped_data(case))
    except Exception as e:
        return row("error", f"execute: {type(e).__name__}: {_message(e, path)}")
    if err == float("inf"):
        return row("FAIL", "output shape differs")
    return row("pass" if err <= cases.TOL else "FAIL", f"max err {err:.1e}")


def _sizes(graph) -> tuple[int, int, int]:
    rows = summarize(graph)
    return len(rows), sum(r["params"] for r in rows), sum(r["macs"] for r in rows)


def _logits(model: onnx.ModelProto) -> list[str]:
    """Inputs of Softmax nodes that produce graph outputs.

    With random weights some networks (ResNet-50, ShuffleNet, Inception v2) have
    logits of 1e2..1e7, so their softmax is one-hot and agrees whenever the
    argmax does; the logits themselves show the real error.
    """
    outputs = {o.name for o in model.graph.output}
    return [n.input[0] for n in model.graph.node if n.op_type == "Softmax" and n.output[0] in outputs]


def light_row(path: Path, tmp: Path) -> Row:
    model = light.randomize_weights(onnx.load(path))
    ops = cases.op_types(model)
    saved = tmp / path.name
    onnx.save(model, saved)
    try:
        graph = load_onnx(saved)
        canonical = canonicalize(graph)
        feeds = light.random_feeds(graph)
        checked = graph.outputs + _logits(model)
        refs = light.session(light.with_all_outputs(model, checked)).run(checked, feeds)
        errors = []
        for g in (graph, canonical):
            ours = execute(g, feeds, keep_all=True)
            errors.append(max(light.rel_err(ours[t], ref) for t, ref in zip(checked, refs)))
    except HwcompError as e:
        return Row(path.stem, ops, "rejected", _message(e, saved))
    except Exception as e:
        return Row(path.stem, ops, "error", f"{type(e).__name__}: {_message(e, saved)}")
    status = "pass" if max(errors) <= light.TOL else "FAIL"
    detail = f"rel err {errors[0]:.1e} imported, {errors[1]:.1e} canonical"
    return Row(path.stem, ops, status, detail, sizes=(_sizes(graph), _sizes(canonical)))


# --- markdown ------------------------------------------------------------

def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _counts(rows: list[Row]) -> list[str]:
    c = Counter(r.status for r in rows)
    return [str(len(rows))] + [str(c[s]) for s in STATUSES]


def _before_after(a: int, b: int) -> str:
    return f"{a:,}" if a == b else f"{a:,} → {b:,}"


def render(suites: dict[str, list[Row]], lights: list[Row]) -> str:
    out = [
        "# ONNX test models in hwcomp",
        "",
        "Generated by `.venv/bin/python scripts/onnx_case_table.py`; do not edit by hand.",
        f"Models and data: the onnx {onnx.__version__} wheel's `onnx/backend/test/data/`;",
        f"reference for the light models: onnxruntime {onnxruntime.__version__} (CPU).",
        "The same checks run in `tests/frontend/test_onnx_backend_cases.py` and",
        "`tests/frontend/test_onnx_light_models.py`.",
        "",
        "## How each case is checked",
        "",
        "- **pytorch-converted, pytorch-operator** (one layer or operator each, with shipped inputs",
        "  and outputs): a model older than opset "
        f"{MIN_OPSET}, the oldest the frontend accepts, is first upgraded",
        f"  with `onnx.version_converter.convert_version(model, {MIN_OPSET})` (column *opset*: `6→{MIN_OPSET}`);",
        "  as shipped, the frontend rejects those with \"ONNX opset 6 is not supported\".",
        "  Then `load_onnx`, then `execute` on `test_data_set_0/input_*.pb`, compared with `output_*.pb`.",
        f"  **pass**: max\\|ours − shipped\\| ≤ {cases.TOL:g} · max(1, max\\|shipped\\|) for every output;",
        "  *detail* gives the left side divided by max(1, max\\|shipped\\|).",
        "- **light** (whole ImageNet CNNs, opset 9): their shipped weights all come from",
        "  ConstantOfShape(0.02), which makes the networks degenerate (logits ~1e9, every class equal),",
        "  so each weight is replaced by a random one (He-normal conv/Gemm weights, BN scales and variances",
        "  in [0.5, 1.5]: `randomize_weights` in the light-model test; seed 0). Input: standard normal, seed 0.",
        "  The imported graph and the canonicalized graph (`canonicalize`) both run in `execute`",
        "  against onnxruntime on the same model, on every output and on the logits (the input of a",
        "  final Softmax: with these random weights some networks have logits of 1e2..1e7 and a one-hot",
        "  softmax, which would agree on the argmax alone).",
        f"  **pass**: max\\|ours − ort\\| / max\\|ort\\| ≤ {light.TOL:g} on each of those tensors, for both graphs.",
        "  Nodes, params and MACs are `hwcomp.ir.printer.summarize` totals, imported → canonical.",
        "",
        "Statuses: **pass**; **FAIL** (runs, wrong numbers); **error** (an exception other than",
        "HwcompError: a bug); **rejected** (every op is supported, but the frontend refuses the model",
        "with a clean HwcompError, reason given); **unsupported** (uses ops hwcomp does not have).",
        "",
        "## Summary",
        "",
    ]
    summary = [[f"[{name}](#{name})"] + _counts(rows) for name, rows in suites.items()]
    summary.append(["[light](#light)"] + _counts(lights))
    out += _table(["suite", "cases"] + list(STATUSES), summary)

    wanted = Counter(op for rows in suites.values() for r in rows if r.status == "unsupported"
                     for op in r.detail.removeprefix("ops: ").split(", "))
    out += ["", "Ops missing in unsupported cases (a case may miss several):", ""]
    out += _table(["op", "cases"], [[op, str(n)] for op, n in sorted(wanted.items(), key=lambda kv: (-kv[1], kv[0]))])

    for name, rows in suites.items():
        out += ["", f"## {name}", ""]
        out += _table(["case", "opset", "ops", "status", "detail"],
                      [[r.name, r.opset, ", ".join(r.ops), r.status, r.detail] for r in rows])
    out += ["", "## light", ""]
    light_rows = []
    for r in lights:
        if r.sizes:
            (n0, p0, m0), (n1, p1, m1) = r.sizes
            sizes = [_before_after(n0, n1), _before_after(p0, p1), _before_after(m0, m1)]
        else:
            sizes = ["", "", ""]
        light_rows.append([r.name, ", ".join(r.ops)] + sizes + [r.status, r.detail])
    out += _table(["model", "ops", "nodes", "params", "MACs", "status", "detail"], light_rows)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "onnx_cases.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        suites = {s: [case_row(c, tmp) for c in cases.CASES if c.parent.name == s] for s in cases.SUITES}
        lights = []
        for path in light.MODELS:
            print(f"light model {path.stem} ...", file=sys.stderr, flush=True)
            lights.append(light_row(path, tmp))
            (tmp / path.name).unlink()
    args.out.write_text(render(suites, lights))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")  # overflow in a failing case is reported in the table, not on stderr
    sys.exit(main())
