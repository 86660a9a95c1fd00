"""The PyTorch-exported test cases shipped with onnx (backend/test/data/
pytorch-converted and pytorch-operator) import and reproduce their shipped
outputs, when every op they use is supported.

Most cases were exported at opset 6, below the frontend's MIN_OPSET; those are
first upgraded with onnx.version_converter, so the cases still exercise our op
references on real data. docs/onnx_cases.md (scripts/onnx_case_table.py) is the
same check written out as a table.

onnx_backend_cases.txt pins the cases whose ops are all supported: a case
that loses an op fails here instead of quietly becoming a skip, and a newly
supported one must be added to the list.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper, version_converter

import hwcomp.ops.all  # noqa: F401  (registers the ops)
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import DEFAULT_DOMAINS, MIN_OPSET, load_onnx
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph
from hwcomp.ops.base import supported_onnx_types

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
SUITES = ("pytorch-converted", "pytorch-operator")
CASES = [case for suite in SUITES for case in sorted((DATA / suite).iterdir()) if (case / "model.onnx").is_file()]

# The cases that run (every op supported), one id per line; all others skip.
PINNED_FILE = Path(__file__).with_name("onnx_backend_cases.txt")
PINNED = {line for line in PINNED_FILE.read_text().splitlines() if line and not line.startswith("#")}

# A case passes when max|ours - shipped| <= TOL * max(1, max|shipped|) for every output.
TOL = 1e-4

# Cases whose ops are all supported but which the frontend rejects with a clean
# HwcompError: case -> text the message must contain.
REJECTED = {
    "test_Embedding": "type INT64",  # token indices in: float32 inputs only
    "test_Embedding_sparse": "type INT64",
    "test_operator_add_broadcast": "type DOUBLE",
    "test_operator_add_size1_broadcast": "type DOUBLE",
    "test_operator_add_size1_right_broadcast": "type DOUBLE",
    "test_operator_add_size1_singleton_broadcast": "type DOUBLE",
    "test_operator_addconstant": "type DOUBLE",
    "test_operator_non_float_params": "type INT64",
}


def case_id(case: Path) -> str:
    return f"{case.parent.name}/{case.name}"


def default_opset(model: onnx.ModelProto) -> int:
    return next(int(o.version) for o in model.opset_import if o.domain in DEFAULT_DOMAINS)


@lru_cache(maxsize=None)
def load_case(case: Path) -> onnx.ModelProto:
    """The case's model, importable (read by two tests: convert it once)."""
    return importable(onnx.load(case / "model.onnx"))


def importable(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model itself, or upgraded to MIN_OPSET if it is older than the frontend accepts."""
    if default_opset(model) >= MIN_OPSET:
        return model
    return version_converter.convert_version(model, MIN_OPSET)


def op_types(model: onnx.ModelProto) -> list[str]:
    return sorted({n.op_type if n.domain in DEFAULT_DOMAINS else f"{n.domain}.{n.op_type}" for n in model.graph.node})


def unsupported_ops(model: onnx.ModelProto) -> list[str]:
    supported = set(supported_onnx_types())
    return [t for t in op_types(model) if t not in supported]


def shipped_data(case: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The shipped inputs and expected outputs, in graph order."""
    def read(kind: str) -> list[np.ndarray]:
        files = sorted((case / "test_data_set_0").glob(f"{kind}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        return [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in files]
    return read("input"), read("output")


def worst_error(graph: Graph, inputs: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """max over outputs of max|ours - expected| / max(1, max|expected|); inf on a shape mismatch."""
    assert len(inputs) == len(graph.inputs) and len(expected) == len(graph.outputs)
    ours = execute(graph, dict(zip(graph.inputs, inputs)))
    worst = 0.0
    for name, ref in zip(graph.outputs, expected):
        if ours[name].shape != ref.shape:
            return float("inf")
        if ref.size:
            diff = float(np.abs(ours[name].astype(np.float64) - ref).max())
            worst = max(worst, diff / max(1.0, float(np.abs(ref).max())))
    return worst


def test_cases_found():
    assert len(CASES) >= 100


def test_supported_cases_are_pinned():
    running = {case_id(c) for c in CASES if not unsupported_ops(load_case(c))}
    lost, gained = sorted(PINNED - running), sorted(running - PINNED)
    assert not lost and not gained, (
        f"{len(running)} of {len(CASES)} backend cases have every op supported, {PINNED_FILE.name} pins "
        f"{len(PINNED)}; no longer supported: {lost}; newly supported (add them): {gained}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_backend_case_matches_shipped_outputs(case, tmp_path):
    model = load_case(case)
    missing = unsupported_ops(model)
    if missing:
        assert case_id(case) not in PINNED, f"pinned case lost op support: {', '.join(missing)}"
        pytest.skip(f"unsupported ops: {', '.join(missing)}")
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    if case.name in REJECTED:
        with pytest.raises(HwcompError, match=REJECTED[case.name]):
            load_onnx(path)
        return
    graph = load_onnx(path)
    err = worst_error(graph, *shipped_data(case))
    assert err <= TOL, f"max err {err:.2e}"
