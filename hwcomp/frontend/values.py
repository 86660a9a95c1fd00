"""Constant values at import: decoded without crashing, and finite.

A NaN or an infinity in a weight or a constant would surface deep inside
quantization as a math error, far from its cause. Every constant the model
declares (initializers, Constant nodes) is checked before anything computes
with it, and every value folded at import where it is computed, so the one
error names the tensor and the nodes that read it (or the node that made it).

An op may accept +-inf on an input it only compares against (`Op.infinite_inputs`:
a MultiThreshold threshold at +inf is never passed); NaN is never accepted.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.ops.base import op_for_onnx

Readers = dict[str, list[tuple[str, str, int]]]  # tensor -> (node name, op type, input index)


def readers_of(graph: onnx.GraphProto) -> Readers:
    """Which nodes read each tensor, named as the importer names them."""
    out: Readers = {}
    for i, n in enumerate(graph.node):
        for k, t in enumerate(n.input):
            if t:
                out.setdefault(t, []).append((n.name or f"{n.op_type}_{i}", n.op_type, k))
    for o in graph.output:
        out.setdefault(o.name, []).append(("", "graph output", -1))
    return out


def decode(t: onnx.TensorProto, what: str) -> np.ndarray:
    """The tensor's value; float tensors as float32 (what hwcomp computes in).
    A tensor whose bytes do not match its dims or type is the user's file, not a bug."""
    try:
        a = numpy_helper.to_array(t)
    except Exception as e:  # ValueError on short raw_data, TypeError / KeyError on unknown types, ...
        kind = onnx.TensorProto.DataType.Name(t.data_type) if t.data_type in onnx.TensorProto.DataType.values() \
            else f"data type {t.data_type}"
        raise HwcompError(f"{what}: cannot decode its data as {kind} of shape {list(t.dims)} "
                          f"({' '.join(str(e).split())[:200]})") from None
    if np.issubdtype(a.dtype, np.floating) and a.dtype != np.float32:
        with np.errstate(over="ignore"):
            a = a.astype(np.float32)
    return a


def _reader_text(readers: list[tuple[str, str, int]]) -> str:
    if not readers:
        return "read by no node"
    named = [f"node '{n}' ({op})" if op != "graph output" else "the graph output" for n, op, _ in readers]
    more = f" and {len(named) - 8} more" if len(named) > 8 else ""
    return "read by " + ", ".join(named[:8]) + more


def _infinity_allowed(readers: list[tuple[str, str, int]]) -> bool:
    ops = [(op_for_onnx(op), k) for _, op, k in readers]
    return bool(ops) and all(o is not None and k in o.infinite_inputs for o, k in ops)


def non_finite_text(value: np.ndarray, infinity_ok: bool = False) -> str | None:
    """'holds NaN (2 of 48 values, first at index (0, 3))', or None when the value is acceptable."""
    if not np.issubdtype(value.dtype, np.floating) or value.size == 0:
        return None
    bad = np.isnan(value) if infinity_ok else ~np.isfinite(value)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if value.ndim else ()
    kinds = [k for k, m in (("NaN", np.isnan(value)), ("+Inf", np.isposinf(value)), ("-Inf", np.isneginf(value)))
             if (m & bad).any()]
    where = f", first at index {first}" if first else ""
    return f"holds {' and '.join(kinds)} ({count} of {value.size} values{where})"


def check_declared(what: str, name: str, value: np.ndarray, readers: Readers) -> None:
    """An initializer or Constant node's value: finite, or refused naming its readers."""
    who = readers.get(name, [])
    text = non_finite_text(value, _infinity_allowed(who))
    if text:
        raise HwcompError(f"{what} {name!r} {text}; {_reader_text(who)}; supported: finite weights and "
                          "constants (a +-Inf is accepted only as a MultiThreshold threshold)")


def check_computed(where: str, outputs, values, readers: Readers) -> None:
    """Values a node computed at import from finite constants (a Div by zero, a Sqrt of a
    negative number, a float64 result beyond float32)."""
    for t, v in zip(outputs, values):
        if not t or v is None:
            continue
        text = non_finite_text(np.asarray(v), _infinity_allowed(readers.get(t, [])))
        if text:
            raise HwcompError(f"{where}: its output {t!r}, computed at import from constants, {text}; "
                              f"{_reader_text(readers.get(t, []))}; supported: finite constants")


def check_model_constants(model: onnx.ModelProto, label: str, readers: Readers) -> None:
    """Every initializer and every Constant node of the file, before anything uses them:
    decodable (its bytes match its dims and type), and finite."""
    for init in model.graph.initializer:
        value = decode(init, f"{label}: initializer {init.name!r}")
        check_declared(f"{label}: initializer", init.name, value, readers)
    for i, n in enumerate(model.graph.node):
        if n.op_type != "Constant" or n.domain not in ("", "ai.onnx") or len(n.output) != 1:
            continue
        where = f"{label}: node '{n.name or f'Constant_{i}'}' (Constant)"
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                value = decode(a.t, f"{where}: attribute {a.name!r}")
            elif a.type in (onnx.AttributeProto.FLOAT, onnx.AttributeProto.FLOATS):
                value = np.asarray(onnx.helper.get_attribute_value(a), np.float32)
            else:
                continue
            check_declared(f"{where}: constant", n.output[0], value, readers)


def check_float_attributes(where: str, proto: onnx.NodeProto) -> None:
    """Float attributes (alpha, epsilon, Clip bounds of old opsets) must be finite too."""
    for a in proto.attribute:
        if a.type == onnx.AttributeProto.FLOAT:
            v = np.asarray([a.f], np.float32)
        elif a.type == onnx.AttributeProto.FLOATS:
            v = np.asarray(list(a.floats), np.float32)
        else:
            continue
        if not np.isfinite(v).all():
            raise HwcompError(f"{where}: attribute {a.name!r} is {v.tolist() if v.size > 1 else float(v[0])}; "
                              "supported: finite values")
