"""Mutations of ONNX models, as users' files go wrong: nodes dropped, duplicated
or reordered, attributes, dims, dtypes, opsets and initializer bytes changed,
tensors rewired, files truncated or corrupted.

`mutate(model, rng)` applies one to three mutations to a copy and returns the
file's bytes and a description of each mutation (`name: detail`), so a
mutant is reproduced from its (run seed, index) alone.
"""
from __future__ import annotations

import random
from typing import Callable

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, numpy_helper

# Op types a mutation may switch a node to: hwcomp's own, ops it folds on
# constants, and ops it refuses.
OP_TYPES = ("Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape",
            "Conv", "DequantizeLinear", "Div", "Dropout", "Flatten", "Gather", "Gemm", "GlobalAveragePool",
            "GlobalMaxPool", "Identity", "LRN", "MatMul", "MaxPool", "Mul", "QuantizeLinear", "Relu", "Reshape",
            "Shape", "Sigmoid", "Softmax", "Squeeze", "Sub", "Sum", "Tanh", "Transpose", "Unsqueeze",
            "Pow", "Sqrt", "Reciprocal", "Expand", "Tile", "Range", "Pad", "Resize", "Neg", "Abs", "Exp",
            "LSTM", "If", "Loop", "Einsum", "ConvTranspose", "Quant", "BipolarQuant", "MultiThreshold", "Trunc",
            "QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger", "ConvInteger", "Bogus")
DOMAINS = ("", "ai.onnx", "qonnx.custom_op.general", "finn.custom_op.general", "com.microsoft", "nowhere")
DTYPES = tuple(v for k, v in TensorProto.DataType.items() if k != "UNDEFINED") + (0, 99)
STRINGS = ("", "NCHW", "NHWC", "NC", "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "nearest", "linear", "ROUND",
           "FLOOR", "CEIL", "HALF_EVEN", "half_pixel", "\u00e9\u00e8", "x" * 300)
HUGE = (2 ** 31, 2 ** 40, 2 ** 62)


def _int_values(v: int) -> list[int]:
    return [0, 1, -1, 2, 3, 7, v + 1, v - 1, -v, 2 * v + 1, *HUGE, -(2 ** 31)]


def _float_values(v: float) -> list[float]:
    return [0.0, -1.0, 1.0, 0.5, 2 * v, -v, 1e-30, 1e30, 3.4e38, float("nan"), float("inf"), float("-inf")]


def _nodes(g: onnx.GraphProto) -> list[onnx.NodeProto]:
    return list(g.node)


def _tensor_names(g: onnx.GraphProto) -> list[str]:
    names = [i.name for i in g.input] + [t.name for t in g.initializer]
    names += [o for n in g.node for o in n.output if o]
    return names or ["x"]


def _pick_node(g, rng) -> onnx.NodeProto | None:
    return rng.choice(g.node) if len(g.node) else None


# --- the mutations: each edits the model in place and returns what it did, or None (not applicable)

def drop_node(m, rng):
    if not m.graph.node:
        return None
    i = rng.randrange(len(m.graph.node))
    n = m.graph.node[i]
    del m.graph.node[i]
    return f"node {i} ({n.op_type})"


def duplicate_node(m, rng):
    n = _pick_node(m.graph, rng)
    if n is None:
        return None
    copy = onnx.NodeProto()
    copy.CopyFrom(n)
    if rng.random() < 0.5:  # same outputs: two producers of one tensor
        detail = "same outputs"
    else:
        del copy.output[:]
        copy.output.extend(f"{o}_dup" for o in n.output)
        detail = "new outputs"
    m.graph.node.insert(rng.randrange(len(m.graph.node) + 1), copy)
    return f"{n.name or n.op_type} ({detail})"


def reorder_nodes(m, rng):
    nodes = _nodes(m.graph)
    if len(nodes) < 2:
        return None
    how = rng.choice(["swap", "reverse", "shuffle", "move_first"])
    if how == "swap":
        i, j = rng.sample(range(len(nodes)), 2)
        nodes[i], nodes[j] = nodes[j], nodes[i]
    elif how == "reverse":
        nodes.reverse()
    elif how == "shuffle":
        rng.shuffle(nodes)
    else:
        nodes.insert(0, nodes.pop(rng.randrange(1, len(nodes))))
    copies = [onnx.NodeProto() for _ in nodes]
    for c, n in zip(copies, nodes):
        c.CopyFrom(n)
    del m.graph.node[:]
    m.graph.node.extend(copies)
    return how


def change_attribute(m, rng):
    cands = [n for n in m.graph.node if n.attribute]
    if not cands:
        return None
    n = rng.choice(cands)
    a = rng.choice(n.attribute)
    if a.type == AttributeProto.INT:
        a.i = rng.choice(_int_values(a.i))
        new = a.i
    elif a.type == AttributeProto.FLOAT:
        a.f = rng.choice(_float_values(a.f))
        new = a.f
    elif a.type == AttributeProto.INTS:
        ints = list(a.ints)
        how = rng.choice(["element", "drop", "append", "empty", "huge"])
        if how == "element" and ints:
            k = rng.randrange(len(ints))
            ints[k] = rng.choice(_int_values(ints[k]))
        elif how == "drop" and ints:
            ints.pop(rng.randrange(len(ints)))
        elif how == "append":
            ints.append(rng.choice([0, 1, 2, -1]))
        elif how == "empty":
            ints = []
        else:
            ints = [rng.choice(HUGE)] * max(1, len(ints))
        del a.ints[:]
        a.ints.extend(ints)
        new = ints
    elif a.type == AttributeProto.FLOATS:
        floats = [rng.choice(_float_values(f)) for f in a.floats] or [float("nan")]
        del a.floats[:]
        a.floats.extend(floats)
        new = floats
    elif a.type == AttributeProto.STRING:
        a.s = rng.choice(STRINGS).encode()
        new = a.s.decode()
    elif a.type == AttributeProto.TENSOR:
        return f"{n.name or n.op_type}.{a.name}: tensor " + _mutate_tensor(a.t, rng)
    else:
        a.type = rng.choice([AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING])
        new = f"type {a.type}"
    return f"{n.name or n.op_type}.{a.name} = {str(new)[:60]}"


def retype_attribute(m, rng):
    cands = [n for n in m.graph.node if n.attribute]
    if not cands:
        return None
    n = rng.choice(cands)
    a = rng.choice(n.attribute)
    kind = rng.choice([AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING, AttributeProto.INTS,
                       AttributeProto.FLOATS, AttributeProto.TENSOR, AttributeProto.GRAPH])
    name = a.name
    n.attribute.remove(a)
    new = _attribute(name, kind, rng)
    n.attribute.append(new)
    return f"{n.name or n.op_type}.{name} as {AttributeProto.AttributeType.Name(kind)}"


def _attribute(name: str, kind: int, rng) -> onnx.AttributeProto:
    if kind == AttributeProto.INT:
        return onnx.helper.make_attribute(name, rng.choice(_int_values(1)))
    if kind == AttributeProto.FLOAT:
        return onnx.helper.make_attribute(name, rng.choice(_float_values(1.0)))
    if kind == AttributeProto.STRING:
        return onnx.helper.make_attribute(name, rng.choice(STRINGS))
    if kind == AttributeProto.INTS:
        return onnx.helper.make_attribute(name, [rng.choice([0, 1, 2, -1]) for _ in range(rng.randrange(5))] or [1])
    if kind == AttributeProto.FLOATS:
        return onnx.helper.make_attribute(name, [rng.choice(_float_values(1.0)) for _ in range(3)])
    if kind == AttributeProto.TENSOR:
        return onnx.helper.make_attribute(name, numpy_helper.from_array(np.ones((2, 2), np.float32)))
    g = onnx.helper.make_graph([], "sub", [], [])
    return onnx.helper.make_attribute(name, g)


def delete_attribute(m, rng):
    cands = [n for n in m.graph.node if n.attribute]
    if not cands:
        return None
    n = rng.choice(cands)
    a = rng.choice(n.attribute)
    n.attribute.remove(a)
    return f"{n.name or n.op_type}.{a.name}"


def add_attribute(m, rng):
    n = _pick_node(m.graph, rng)
    if n is None:
        return None
    name = rng.choice(["axis", "alpha", "perm", "pads", "group", "kernel_shape", "strides", "auto_pad", "transA",
                       "mode", "value", "to", "keepdims", "bogus"])
    if any(a.name == name for a in n.attribute):
        return None
    kind = rng.choice([AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING, AttributeProto.INTS,
                       AttributeProto.TENSOR])
    n.attribute.append(_attribute(name, kind, rng))
    return f"{n.name or n.op_type}.{name}"


def rewire_input(m, rng):
    cands = [n for n in m.graph.node if n.input]
    if not cands:
        return None
    n = rng.choice(cands)
    k = rng.randrange(len(n.input))
    how = rng.random()
    n.input[k] = "" if how < 0.15 else "no_such_tensor" if how < 0.3 else rng.choice(_tensor_names(m.graph))
    return f"{n.name or n.op_type} input {k} = {n.input[k]!r}"


def change_inputs_count(m, rng):
    n = _pick_node(m.graph, rng)
    if n is None:
        return None
    if n.input and rng.random() < 0.5:
        n.input.pop()
        return f"{n.name or n.op_type}: last input dropped"
    n.input.append(rng.choice(_tensor_names(m.graph) + [""]))
    return f"{n.name or n.op_type}: input {n.input[-1]!r} appended"


def rename_output(m, rng):
    n = _pick_node(m.graph, rng)
    if n is None or not n.output:
        return None
    k = rng.randrange(len(n.output))
    new = rng.choice(["", "renamed", rng.choice(_tensor_names(m.graph))])
    n.output[k] = new
    return f"{n.name or n.op_type} output {k} = {new!r}"


def change_op_type(m, rng):
    n = _pick_node(m.graph, rng)
    if n is None:
        return None
    old = n.op_type
    n.op_type = rng.choice(OP_TYPES)
    return f"{n.name or old}: {old} -> {n.op_type}"


def change_domain(m, rng):
    n = _pick_node(m.graph, rng)
    if n is None:
        return None
    n.domain = rng.choice(DOMAINS)
    return f"{n.name or n.op_type}: domain {n.domain!r}"


def _mutate_tensor(t: onnx.TensorProto, rng) -> str:
    how = rng.choice(["dims", "dims", "reshape", "dtype", "values", "values", "bytes", "truncate", "empty"])
    if how == "dims":
        dims = list(t.dims)
        op = rng.choice(["set", "drop", "add", "swap"])
        if op == "set" and dims:
            k = rng.randrange(len(dims))
            dims[k] = rng.choice([0, 1, dims[k] + 1, max(dims[k] - 1, 0), -1, *HUGE])
        elif op == "drop" and dims:
            dims.pop(rng.randrange(len(dims)))
        elif op == "add":
            dims.insert(rng.randrange(len(dims) + 1), rng.choice([1, 2, 3]))
        elif len(dims) > 1:
            dims.reverse()
        del t.dims[:]
        t.dims.extend(dims)
        return f"dims {dims}"
    if how == "reshape":
        n = int(np.prod(t.dims)) if t.dims else 1
        divisors = [d for d in range(1, min(n, 64) + 1) if n % d == 0]
        d = rng.choice(divisors)
        del t.dims[:]
        t.dims.extend([d, n // d] if rng.random() < 0.5 else [n])
        return f"reshaped {list(t.dims)}"
    if how == "dtype":
        t.data_type = rng.choice(DTYPES)
        return f"data_type {t.data_type}"
    if how == "values":
        try:
            a = numpy_helper.to_array(t).copy()
        except Exception:
            return "values (undecodable, unchanged)"
        if a.size == 0:
            return "values (empty)"
        flat = a.reshape(-1)
        kind = rng.choice(["nan", "inf", "-inf", "zero", "all_zero", "all_same", "huge", "tiny", "negate", "int_max"])
        k = rng.randrange(flat.size)
        if np.issubdtype(a.dtype, np.floating):
            value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "zero": 0.0, "huge": 1e30, "tiny": 1e-40,
                     "int_max": 3.4e38}.get(kind, 0.0)
        else:
            info = np.iinfo(a.dtype) if np.issubdtype(a.dtype, np.integer) else None
            value = {"huge": info.max if info else 1, "int_max": info.max if info else 1,
                     "-inf": info.min if info else 0}.get(kind, 0) if info else 0
        with np.errstate(all="ignore"):
            if kind == "all_zero":
                flat[:] = 0
            elif kind == "all_same":
                flat[:] = flat[0]
            elif kind == "negate":
                flat[:] = -flat
            else:
                flat[k] = value
        new = numpy_helper.from_array(a, t.name)
        t.CopyFrom(new)
        return f"values {kind}"
    if how == "bytes":
        if not t.raw_data:
            return "bytes (no raw data)"
        raw = bytearray(t.raw_data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        t.raw_data = bytes(raw)
        return "bytes flipped"
    if how == "truncate":
        if t.raw_data:
            t.raw_data = t.raw_data[: rng.randrange(len(t.raw_data))]
            return "raw data truncated"
        for field in ("float_data", "int64_data", "int32_data", "double_data"):
            values = getattr(t, field)
            if len(values):
                del values[rng.randrange(len(values)):]
                return f"{field} truncated"
        return "truncate (nothing)"
    t.ClearField("raw_data")
    for field in ("float_data", "int64_data", "int32_data", "double_data"):
        t.ClearField(field)
    return "data removed"


def mutate_initializer(m, rng):
    if not m.graph.initializer:
        return None
    t = rng.choice(m.graph.initializer)
    return f"{t.name}: " + _mutate_tensor(t, rng)


def drop_initializer(m, rng):
    if not m.graph.initializer:
        return None
    i = rng.randrange(len(m.graph.initializer))
    name = m.graph.initializer[i].name
    del m.graph.initializer[i]
    return name


def mutate_constant_node(m, rng):
    cands = [n for n in m.graph.node if n.op_type in ("Constant", "ConstantOfShape")
             and any(a.type == AttributeProto.TENSOR for a in n.attribute)]
    if not cands:
        return mutate_initializer(m, rng)
    n = rng.choice(cands)
    a = next(a for a in n.attribute if a.type == AttributeProto.TENSOR)
    return f"{n.name or n.op_type}: " + _mutate_tensor(a.t, rng)


def _value_infos(m) -> list[onnx.ValueInfoProto]:
    return list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info)


def change_value_info(m, rng):
    vis = [v for v in _value_infos(m) if v.type.HasField("tensor_type")]
    if not vis:
        return None
    v = rng.choice(vis)
    tt = v.type.tensor_type
    how = rng.choice(["dim", "dim", "dim_param", "rank", "elem_type", "no_shape"])
    if how == "dim" and tt.shape.dim:
        d = rng.choice(tt.shape.dim)
        d.dim_value = rng.choice([0, 1, 2, 3, 5, 64, 1000, *HUGE])
        return f"{v.name} dim = {d.dim_value}"
    if how == "dim_param" and tt.shape.dim:
        d = rng.choice(tt.shape.dim)
        d.dim_param = rng.choice(["batch", "N", "?"])
        return f"{v.name} dim = {d.dim_param!r}"
    if how == "rank":
        if tt.shape.dim and rng.random() < 0.5:
            del tt.shape.dim[rng.randrange(len(tt.shape.dim))]
        else:
            tt.shape.dim.add().dim_value = rng.choice([1, 2])
        return f"{v.name} rank {len(tt.shape.dim)}"
    if how == "elem_type":
        tt.elem_type = rng.choice(DTYPES)
        return f"{v.name} elem_type {tt.elem_type}"
    tt.ClearField("shape")
    return f"{v.name} shape removed"


def change_graph_io(m, rng):
    g = m.graph
    how = rng.choice(["drop_output", "add_output", "drop_input", "add_input", "duplicate_output"])
    if how == "drop_output" and g.output:
        del g.output[rng.randrange(len(g.output))]
    elif how == "add_output":
        g.output.append(onnx.helper.make_tensor_value_info(rng.choice(_tensor_names(g)), TensorProto.FLOAT, None))
    elif how == "drop_input" and g.input:
        del g.input[rng.randrange(len(g.input))]
    elif how == "add_input":
        g.input.append(onnx.helper.make_tensor_value_info(rng.choice(["extra", *_tensor_names(g)]),
                                                          TensorProto.FLOAT, [1, 4]))
    elif how == "duplicate_output" and g.output:
        g.output.append(g.output[0])
    else:
        return None
    return how


def add_value_info(m, rng):
    names = [o for n in m.graph.node for o in n.output if o]
    if not names:
        return None
    name = rng.choice(names)
    shape = [rng.choice([1, 2, 3, 7]) for _ in range(rng.randint(0, 4))]
    m.graph.value_info.append(onnx.helper.make_tensor_value_info(name, rng.choice([TensorProto.FLOAT,
                                                                                   TensorProto.INT64]), shape))
    return f"{name}: {shape}"


def change_opset(m, rng):
    how = rng.choice(["version", "version", "remove", "duplicate", "custom"])
    default = [o for o in m.opset_import if o.domain in ("", "ai.onnx")]
    if how == "version" and default:
        default[0].version = rng.choice([1, 6, 7, 8, 9, 10, 11, 12, 14, 17, 18, 19, 20, 21, 22, 23, 25, 1000, -1])
        return f"opset {default[0].version}"
    if how == "remove" and m.opset_import:
        del m.opset_import[rng.randrange(len(m.opset_import))]
        return "one opset import removed"
    if how == "duplicate" and default:
        m.opset_import.append(onnx.helper.make_opsetid("", rng.choice([9, 13, 21])))
        return "second ai.onnx opset"
    m.opset_import.append(onnx.helper.make_opsetid(rng.choice(DOMAINS[2:]), rng.choice([0, 1, 99])))
    return "custom domain opset"


def change_ir_version(m, rng):
    m.ir_version = rng.choice([0, 1, 3, 4, 6, 7, 11, 12, 13, 99])
    return f"ir_version {m.ir_version}"


def rename_everything(m, rng):
    """Names users' tools produce: empty, duplicated, odd characters."""
    how = rng.choice(["empty", "same", "odd"])
    for i, n in enumerate(m.graph.node):
        n.name = "" if how == "empty" else "n" if how == "same" else f"{rng.choice(['/', '.', ' ', '::', ''])}{i}\u00e9"
    return how


MODEL_MUTATIONS: dict[str, Callable] = {
    "drop_node": drop_node, "duplicate_node": duplicate_node, "reorder_nodes": reorder_nodes,
    "change_attribute": change_attribute, "retype_attribute": retype_attribute,
    "delete_attribute": delete_attribute, "add_attribute": add_attribute, "rewire_input": rewire_input,
    "change_inputs_count": change_inputs_count, "rename_output": rename_output, "change_op_type": change_op_type,
    "change_domain": change_domain, "mutate_initializer": mutate_initializer, "drop_initializer": drop_initializer,
    "mutate_constant_node": mutate_constant_node, "change_value_info": change_value_info,
    "change_graph_io": change_graph_io, "add_value_info": add_value_info, "change_opset": change_opset,
    "change_ir_version": change_ir_version, "rename_everything": rename_everything,
}
# How often each is drawn: the ones that reach deep into the compiler (values, attributes,
# dims) more often than the ones the checker stops at once.
WEIGHTS = {"mutate_initializer": 6, "change_attribute": 6, "change_value_info": 3, "mutate_constant_node": 2,
           "drop_node": 2, "rewire_input": 2, "change_op_type": 2, "change_opset": 2}


def _byte_mutation(data: bytes, rng) -> tuple[bytes, str]:
    if rng.random() < 0.5:
        cut = rng.randrange(len(data))
        return data[:cut], f"truncate_file: {cut} of {len(data)} bytes"
    raw = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw), "corrupt_file: bytes flipped"


def mutate(model: onnx.ModelProto, rng: random.Random) -> tuple[bytes, list[str]]:
    """One to three mutations of a copy of `model`; the mutant's file bytes and what was done."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    done: list[str] = []
    names = list(MODEL_MUTATIONS)
    weights = [WEIGHTS.get(n, 1) for n in names]
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        for _attempt in range(5):
            name = rng.choices(names, weights)[0]
            detail = MODEL_MUTATIONS[name](m, rng)
            if detail is not None:
                done.append(f"{name}: {detail}")
                break
    data = m.SerializeToString()
    if rng.random() < 0.08:
        data, what = _byte_mutation(data, rng)
        done.append(what)
    return data, done


def mutation_name(detail: str) -> str:
    return detail.split(":", 1)[0]
