"""Fold what exporters leave on constants before hwcomp looks at the ops.

TorchScript and dynamo exports keep small constant subgraphs that hwcomp has
no op for: BatchNorm's `(running_var + eps) ** 0.5` as Pow, Sqrt, Reciprocal,
Range or Tile on shapes. Only their values matter, so any default-domain node
whose inputs are all constants and whose op hwcomp does not implement is
evaluated here with onnx's reference evaluator and replaced by an initializer.
Ops hwcomp implements are left to its own importer, which folds them too.

The output size is inferred (onnx shape inference, with the constant inputs
as data) before anything is evaluated, so a Tile or Expand to a huge shape is
refused without being allocated.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.ops.base import op_for_onnx

from .values import Readers, check_computed

DEFAULT_DOMAINS = ("", "ai.onnx")


def tensor_elements(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def check_size(what: str, dims, max_elems: int) -> None:
    """Refuse a tensor larger than the bound, naming it and its shape."""
    n = tensor_elements(dims)
    if n > max_elems:
        raise HwcompError(f"{what} has shape {list(int(d) for d in dims)} ({n} elements), above the limit of "
                          f"{max_elems} elements (raise it with --max-tensor-elems)")


def fold_foreign_constants(model: onnx.ModelProto, label: str, max_elems: int,
                           readers: Readers | None = None) -> onnx.ModelProto:
    """A copy of `model` with constant nodes of unimplemented ops evaluated; a value that
    comes out NaN or Inf is refused naming the node and its readers."""
    graph = model.graph
    if not any(_foreign(n) for n in graph.node):
        return model
    values: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
    opsets = list(model.opset_import)
    kept, folded = [], []
    for i, node in enumerate(graph.node):
        if node.domain in DEFAULT_DOMAINS and node.op_type == "Constant" and len(node.output) == 1:
            value = _constant_value(node)
            if value is not None:
                values[node.output[0]] = value
        inputs = [t for t in node.input if t]
        if _foreign(node) and all(t in values for t in inputs):
            where = f"{label}: node '{node.name or f'{node.op_type}_{i}'}' ({node.op_type})"
            outs = _evaluate(node, [values[t] for t in inputs], opsets, where, max_elems)
            if outs is not None:
                check_computed(where, [t for t in node.output if t], outs, readers or {})
                for name, arr in zip([t for t in node.output if t], outs):
                    values[name] = numpy_helper.from_array(np.asarray(arr), name)
                    folded.append(values[name])
                continue
        kept.append(node)
    if not folded:
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    out.graph.initializer.extend(folded)
    return out


def _foreign(node: onnx.NodeProto) -> bool:
    return node.domain in DEFAULT_DOMAINS and op_for_onnx(node.op_type) is None


def _constant_value(node: onnx.NodeProto) -> onnx.TensorProto | None:
    for a in node.attribute:
        if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
            return a.t
        if a.name == "value_float":
            return numpy_helper.from_array(np.array(a.f, np.float32))
        if a.name == "value_floats":
            return numpy_helper.from_array(np.array(list(a.floats), np.float32))
        if a.name == "value_int":
            return numpy_helper.from_array(np.array(a.i, np.int64))
        if a.name == "value_ints":
            return numpy_helper.from_array(np.array(list(a.ints), np.int64))
    return None


def _evaluate(node: onnx.NodeProto, inputs: list[onnx.TensorProto], opsets, where: str,
              max_elems: int) -> list[np.ndarray] | None:
    """The node's outputs, or None when its output size cannot be known first."""
    names = [t for t in node.input if t]
    inits = []
    for name, t in zip(names, inputs):
        c = onnx.TensorProto()
        c.CopyFrom(t)
        c.name = name
        inits.append(c)
    outputs = [onnx.helper.make_empty_tensor_value_info(t) for t in node.output if t]
    g = onnx.helper.make_graph([node], "fold", [], outputs, initializer=inits)
    m = onnx.helper.make_model(g, opset_imports=opsets, ir_version=min(onnx.IR_VERSION, 10))
    try:
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    except Exception as e:  # the C++ inference raises its own error types on bad nodes
        raise HwcompError(f"{where}: {' '.join(str(e).split())[:300]}") from None
    for vi in inferred.graph.output:
        dims = vi.type.tensor_type.shape.dim
        if not vi.type.tensor_type.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
            return None
        check_size(f"{where}: output {vi.name!r}", [d.dim_value for d in dims], max_elems)
    from onnx.reference import ReferenceEvaluator
    try:
        with np.errstate(all="ignore"):  # a NaN or Inf made here is reported by name (check_computed)
            return list(ReferenceEvaluator(m).run(None, {}))
    except Exception as e:  # the reference ops raise whatever numpy raises on bad input
        raise HwcompError(f"{where}: cannot evaluate it on its constant inputs ({' '.join(str(e).split())[:200]})") from None
