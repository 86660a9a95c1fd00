"""Import a float ONNX model (opsets 9..21) into an IR Graph.

What import does beyond a one-to-one translation, and why:
- Initializers become graph constants, also when an old exporter lists them
  as graph inputs too (they are not real inputs).
- A dynamic batch dimension is typed as 1 and recorded in
  meta["dynamic_batch"]; any other dynamic dimension needs `input_shape`.
- Each op's `from_onnx` fills ONNX defaults and removes opset differences, so
  the IR never depends on the opset.
- Nodes whose inputs are all constants (Constant, exporters' shape arithmetic,
  ConstantOfShape weight generators), and Shape of a statically typed tensor,
  are evaluated at import: shapes must be static for typing, and weights must
  be constants for the hardware.
- onnxruntime's QOperator nodes (QLinearConv, QGemm, ...) are first rewritten
  into QDQ form with the same integer arithmetic (frontend/qoperator.py).
- Node names stay the ONNX names when they are non-empty and unique;
  otherwise f"{op_type}_{index}". meta["onnx_names"] maps IR name -> ONNX name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

import hwcomp.ops.onnx_ops  # noqa: F401  (registers the ops)
from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import FLOAT32
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ir.verify import check_attrs, verify
from hwcomp.ops.base import custom_onnx_types, op_for_onnx, supported_onnx_types
from hwcomp.ops.quantizers import QONNX_DOMAINS

from .const_fold import check_size, fold_foreign_constants, tensor_elements
from .qoperator import SUPPORTED_TEXT as QOPERATOR_TEXT, desugar_qoperator
from .values import check_computed, check_float_attributes, check_model_constants, decode, readers_of

MIN_OPSET, MAX_OPSET = 9, 21
DEFAULT_DOMAINS = ("", "ai.onnx")
# QONNX quantizers (Brevitas, hwcomp.train, FINN) live in custom domains.
QUANT_DOMAINS = {d: tuple(custom_onnx_types()) for d in QONNX_DOMAINS}

InputShapes = dict[str, tuple] | tuple | None
# No tensor (weight, folded constant or intermediate) may hold more elements
# than this: a model asking for more is refused before anything is allocated.
DEFAULT_MAX_TENSOR_ELEMS = 2 ** 28


def load_onnx(path, input_shape: InputShapes = None, max_tensor_elems: int = DEFAULT_MAX_TENSOR_ELEMS) -> Graph:
    """Read `path` and return a typed, verified Graph.

    input_shape fixes dynamic dimensions: a tuple for a single-input model, or
    {input name: shape}. Raises HwcompError for anything the user can fix.
    """
    path = Path(path)
    label = str(path)
    model = _read(path, max_tensor_elems)
    readers = readers_of(model.graph)
    check_model_constants(model, label, readers)
    model = desugar_qoperator(model, label)
    opset = _default_opset(model, label)
    model = fold_foreign_constants(model, label, max_tensor_elems, readers)
    _check_ops(model.graph, label)

    if model.graph.sparse_initializer:
        raise HwcompError(f"{label}: sparse initializers are not supported; supported: dense initializers")
    g = Graph(model.graph.name or path.stem)
    g.meta.update(source=label, onnx_opset=opset, dynamic_batch=False)
    for init in model.graph.initializer:
        _set_constant(g, init.name, decode(init, f"{label}: initializer {init.name!r}"))
    _add_inputs(g, model.graph, _shapes_by_name(model.graph, input_shape, label), label)
    g.outputs = [o.name for o in model.graph.output]
    _add_nodes(g, model.graph, opset, label, max_tensor_elems, readers)
    for t in g.outputs:
        if t not in g.tensors and t not in g.constants:
            raise HwcompError(f"{label}: graph output {t!r} is never produced")
    _remove_dead_nodes(g)
    g.remove_unused()
    verify(g)
    return g


# --- reading -------------------------------------------------------------

def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _read(path: Path, max_elems: int) -> onnx.ModelProto:
    label = str(path)
    if not path.exists():
        raise HwcompError(f"{label}: file not found")
    if not path.is_file():
        raise HwcompError(f"{label}: not a file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError, RuntimeWarning, ... on garbage
        raise HwcompError(f"{label}: not an ONNX model (cannot parse it: {_one_line(e)})") from None
    if not model.HasField("graph") or not model.opset_import:
        raise HwcompError(f"{label}: not an ONNX model (no graph or opset found)")
    _check_declared_sizes(model.graph, label, max_elems)  # before external data is read or anything decoded
    try:
        # Relative external-data locations resolve against the model's directory.
        onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
    except (OSError, ValueError, onnx.checker.ValidationError) as e:
        raise HwcompError(f"{label}: cannot load external weight data ({_one_line(e)})") from None
    try:
        onnx.checker.check_model(_skeleton(model))
    except Exception as e:  # ValidationError, or the C++ checker's own exceptions
        raise HwcompError(f"{label}: invalid ONNX model: {_one_line(e)}") from None
    return model


def _check_declared_sizes(graph: onnx.GraphProto, label: str, max_elems: int) -> None:
    for init in graph.initializer:
        check_size(f"{label}: initializer {init.name!r}", init.dims, max_elems)
    for i, n in enumerate(graph.node):
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                check_size(f"{label}: node '{n.name or f'{n.op_type}_{i}'}' ({n.op_type}): attribute {a.name!r}",
                           a.t.dims, max_elems)


def _skeleton(model: onnx.ModelProto, max_elements: int = 4096) -> onnx.ModelProto:
    """The model with large initializers turned into typed graph inputs.

    The checker serializes the whole model; for weights only the shape matters
    to it (the values are checked when we convert them), and skipping the bytes
    makes checking cheap for large models and lifts the 2 GB protobuf limit.
    """
    graph = model.graph
    m = onnx.ModelProto(ir_version=model.ir_version, opset_import=model.opset_import, functions=model.functions)
    g = m.graph
    g.name = graph.name
    g.node.extend(graph.node)
    g.output.extend(graph.output)
    g.value_info.extend(graph.value_info)
    g.input.extend(graph.input)
    listed = {i.name for i in graph.input}
    for init in graph.initializer:
        if tensor_elements(init.dims) <= max_elements:
            g.initializer.append(init)
        elif init.name not in listed:
            g.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    return m


def _default_opset(model: onnx.ModelProto, label: str) -> int:
    versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    if not versions:
        raise HwcompError(f"{label}: no ai.onnx opset imported; supported: opsets {MIN_OPSET}..{MAX_OPSET}")
    opset = int(versions[0])
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise HwcompError(f"{label}: ONNX opset {opset} is not supported; supported: opsets {MIN_OPSET}..{MAX_OPSET}")
    return opset


def _check_ops(graph: onnx.GraphProto, label: str) -> None:
    """Report every unsupported node at once, so one run shows all the work to do."""
    bad = []
    for i, n in enumerate(graph.node):
        name = n.name or f"{n.op_type}_{i}"
        if n.domain in QUANT_DOMAINS and n.op_type in QUANT_DOMAINS[n.domain]:
            continue
        if n.domain not in DEFAULT_DOMAINS:
            bad.append(f"node '{name}' ({n.domain}.{n.op_type})")
        elif op_for_onnx(n.op_type) is None or op_for_onnx(n.op_type).onnx_custom_domain:
            bad.append(f"node '{name}' ({n.op_type})")
    if bad:
        raise HwcompError(
            f"{label}: unsupported ops: {', '.join(bad)}; supported (domain ai.onnx): {', '.join(supported_onnx_types())}; "
            f"(QONNX domains): {', '.join(custom_onnx_types())}; (onnxruntime QOperator): {QOPERATOR_TEXT}"
        )


def _set_constant(g: Graph, name: str, value: np.ndarray) -> None:
    """Like Graph.add_constant without its defensive copy: nothing else holds
    `value`, and weights can be hundreds of MB."""
    value = np.asarray(value)
    value.setflags(write=False)
    g.constants[name] = value


# --- inputs --------------------------------------------------------------

def _shapes_by_name(graph: onnx.GraphProto, input_shape: InputShapes, label: str) -> dict[str, tuple]:
    inits = {i.name for i in graph.initializer}
    names = [i.name for i in graph.input if i.name not in inits]
    if input_shape is None:
        return {}
    if not isinstance(input_shape, dict):
        if len(names) != 1:
            raise HwcompError(f"{label}: the model has inputs {names}; give input shapes by name")
        input_shape = {names[0]: input_shape}
    unknown = sorted(set(input_shape) - set(names))
    if unknown:
        raise HwcompError(f"{label}: input_shape names {unknown} are not model inputs; inputs: {names}")
    return {k: tuple(int(d) for d in v) for k, v in input_shape.items()}


def _add_inputs(g: Graph, graph: onnx.GraphProto, given: dict[str, tuple], label: str) -> None:
    for vi in graph.input:
        if vi.name in g.constants:
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or tt.elem_type != onnx.TensorProto.FLOAT:
            kind = onnx.TensorProto.DataType.Name(tt.elem_type) if vi.type.HasField("tensor_type") else "non-tensor"
            raise HwcompError(f"{label}: input '{vi.name}' has type {kind}; supported: FLOAT (float32) inputs")
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim]
        has_shape = tt.HasField("shape")
        if vi.name in given:
            shape = given[vi.name]
            if min(shape, default=1) < 1:
                raise HwcompError(f"{label}: input_shape {shape} for '{vi.name}' has a non-positive dimension")
            if has_shape and (len(shape) != len(dims) or any(d is not None and d != s for d, s in zip(dims, shape))):
                raise HwcompError(f"{label}: input_shape {shape} for '{vi.name}' contradicts the model's {_dims_text(tt)}")
            g.meta["dynamic_batch"] |= bool(dims) and dims[0] is None
        elif not has_shape:
            raise HwcompError(f"{label}: input '{vi.name}' has no shape; give it with --input-shape (e.g. 1,3,32,32)")
        else:
            dynamic = [i for i, d in enumerate(dims) if d is None]
            if any(i > 0 for i in dynamic):
                template = ",".join(
                    str(d) if d else "1" if i == 0 else (tt.shape.dim[i].dim_param or "?") for i, d in enumerate(dims)
                )
                raise HwcompError(
                    f"{label}: input '{vi.name}' has dynamic dimensions {_dims_text(tt)} beyond the batch; "
                    f"give its shape with --input-shape {template} (numbers for the names)"
                )
            if dynamic:
                g.meta["dynamic_batch"] = True
            shape = tuple(d or 1 for d in dims)
        g.inputs.append(vi.name)
        g.tensors[vi.name] = TensorType(shape, FLOAT32)


def _dims_text(tt) -> str:
    return "[" + ", ".join(d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?") for d in tt.shape.dim) + "]"


# --- nodes ---------------------------------------------------------------

def _node_names(nodes) -> list[str]:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.name] = counts.get(n.name, 0) + 1
    keep = {n.name for n in nodes if n.name and counts[n.name] == 1}
    names, taken = [], set(keep)
    for i, n in enumerate(nodes):
        if n.name in keep:
            names.append(n.name)
            continue
        name, k = f"{n.op_type}_{i}", 1
        while name in taken:
            name, k = f"{n.op_type}_{i}_{k}", k + 1
        taken.add(name)
        names.append(name)
    return names


def _attr(a: onnx.AttributeProto, where: str):
    kind = a.type
    if kind == onnx.AttributeProto.TENSOR:
        return decode(a.t, f"{where}: attribute '{a.name}'")
    if kind in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS, onnx.AttributeProto.SPARSE_TENSOR,
                onnx.AttributeProto.SPARSE_TENSORS, onnx.AttributeProto.TENSORS, onnx.AttributeProto.TYPE_PROTO,
                onnx.AttributeProto.TYPE_PROTOS):
        kind_name = onnx.AttributeProto.AttributeType.Name(kind)
        raise HwcompError(f"{where}: attribute '{a.name}' of kind {kind_name} is not supported")
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    return v


def _add_nodes(g: Graph, graph: onnx.GraphProto, opset: int, label: str, max_elems: int, readers) -> None:
    consumed = {t for n in graph.node for t in n.input} | set(g.outputs)
    names = _node_names(graph.node)
    g.meta["onnx_names"] = {}
    for proto, name in zip(graph.node, names):
        where = f"{label}: node '{proto.name or name}' ({proto.op_type})"
        op = op_for_onnx(proto.op_type)
        for a in proto.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                check_size(f"{where}: attribute {a.name!r}", a.t.dims, max_elems)
        check_float_attributes(where, proto)
        attrs = {a.name: _attr(a, where) for a in proto.attribute}
        # Optional outputs nothing reads are blanked, so ops can reject only the ones in use.
        outputs = [t if (i == 0 or t in consumed) else "" for i, t in enumerate(proto.output)]
        node = Node(name, op, tuple(proto.input), tuple(outputs), attrs)
        _check_arity(proto, opset, where)
        for t in node.inputs:
            if t and t not in g.tensors and t not in g.constants:
                raise HwcompError(f"{where}: input {t!r} is not produced before the node")
        try:
            if hasattr(op, "from_onnx"):
                op.from_onnx(node, g, opset)
            check_attrs(node)  # an ONNX attribute the op does not declare is one it would ignore
            _check_output_sizes(node, g, max_elems)
            values = _folded_values(g, node)
            if values is not None:
                check_computed(where, node.outputs, values, readers)
                for t, v in zip(node.outputs, values):
                    if t:
                        _set_constant(g, t, v)
                continue
            types = op.infer(node, g)
        except HwcompError as e:
            raise HwcompError(f"{where}: {e}") from None
        except (ValueError, NotImplementedError, IndexError) as e:
            raise HwcompError(f"{where}: {_one_line(e)}") from None
        for t, ty in zip(node.outputs, types):
            if t:
                g.tensors[t] = ty
        g.add_node(node)
        g.meta["onnx_names"][name] = proto.name


def _check_arity(proto: onnx.NodeProto, opset: int, where: str) -> None:
    """Inputs and outputs against the ONNX schema: their number, and no required one left
    empty (the checker skips this for some IR versions; the ops then index what is absent).
    Custom-domain (QONNX) nodes: no empty input, attributes of scalar kinds."""
    if proto.domain not in DEFAULT_DOMAINS:
        # QONNX ops have no schema in onnx: every input they define is required, and every
        # attribute one number or string
        if "" in proto.input:
            raise HwcompError(f"{where}: input {list(proto.input).index('')} is empty; {proto.op_type} "
                              "needs every input")
        for a in proto.attribute:
            if a.type not in (onnx.AttributeProto.INT, onnx.AttributeProto.FLOAT, onnx.AttributeProto.STRING):
                kind = onnx.AttributeProto.AttributeType.Name(a.type)
                raise HwcompError(f"{where}: attribute {a.name!r} is of kind {kind}; supported for "
                                  f"{proto.op_type}: one integer, float or string per attribute")
        return
    try:
        schema = onnx.defs.get_schema(proto.op_type, opset)
    except onnx.defs.SchemaError:
        return  # no such op at this opset: the op's own from_onnx says what is supported
    for what, actual, formals, lo, hi in (("inputs", proto.input, schema.inputs, schema.min_input, schema.max_input),
                                          ("outputs", proto.output, schema.outputs, schema.min_output,
                                           schema.max_output)):
        if not lo <= len(actual) <= hi:
            raise HwcompError(f"{where}: {len(actual)} {what}; {proto.op_type}-{schema.since_version} takes "
                              f"{lo}..{hi}" if hi < 2 ** 31 - 1 else f"{where}: {len(actual)} {what}; "
                              f"{proto.op_type}-{schema.since_version} takes at least {lo}")
        for k, t in enumerate(actual):
            formal = formals[min(k, len(formals) - 1)] if formals else None
            required = formal is not None and formal.option != onnx.defs.OpSchema.FormalParameterOption.Optional
            if not t and required and (what == "inputs" or k == 0):
                raise HwcompError(f"{where}: required {what[:-1]} {k} ({formal.name}) is empty")


def _check_output_sizes(node: Node, g: Graph, max_elems: int) -> None:
    """Sizes from types, before any value exists: a huge ConstantOfShape, Expand
    or broadcast is refused unallocated. Integer constants have no IR type; the
    ops that make them from a shape say their shape (output_shapes)."""
    try:
        shapes = [ty.shape for ty in node.op.infer(node, g)]
    except (NotImplementedError, KeyError):  # KeyError: an input is a constant, which has no IR type
        hook = getattr(node.op, "output_shapes", None)
        if hook is None:
            return  # integer shape arithmetic on constants that are already bounded
        shapes = hook(node, g)
    for t, shape in zip(node.outputs, shapes):
        if t:
            check_size(f"output {t!r}", shape, max_elems)


def _remove_dead_nodes(g: Graph) -> None:
    """Drop nodes no graph output depends on (as onnxruntime does): a dangling reader of a
    weight quantizer would otherwise keep it from folding into its layer."""
    needed = set(g.outputs)
    for node in reversed(g.nodes()):
        if any(t in needed for t in node.outputs if t):
            needed.update(t for t in node.inputs if t)
        else:
            g.remove_node(node.name)
            for t in node.outputs:
                g.tensors.pop(t, None)


def _folded_values(g: Graph, node: Node) -> list | None:
    """The node's outputs if its value is known at import, else None (not folded)."""
    if any(t in g.outputs for t in node.outputs) or getattr(node.op, "keeps_weight_grid", False):
        return None  # a graph output stays a computed tensor; quantizers wait for passes/weight_grid
    static = getattr(node.op, "static_value", None)
    if static is not None:
        return static(node, g)
    if all(t in g.constants for t in node.inputs if t):
        with np.errstate(all="ignore"):  # a NaN or Inf made here is reported by name (check_computed)
            return node.op.execute(node, [g.constants[t] if t else None for t in node.inputs], g)
    return None
