"""Ops that move data without computing: Reshape, Flatten, Transpose, Squeeze,
Unsqueeze, Concat, Gather, Identity, Dropout (inference), value-keeping Cast, and the ops that make
constants (Constant, ConstantOfShape, Shape).

Data movement is exact for every element type, so these keep their input's
dtype (fixed point passes through unchanged).

Batch rule: a graph is typed for its declared batch (1 for a dynamic batch),
but the executor may run B samples through it. Reshape is the one op whose
target shape is data, usually written by exporters as [declared batch, ...]:
when the input's actual leading dimension differs from its declared one, a
leading target entry equal to the declared batch is replaced by the actual
batch. Everything else here follows the input's actual shape.
"""
from __future__ import annotations

import math

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import FLOAT32, Int
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import ARRAY, INT, INTS, STR, register, required
from .onnx_common import OnnxOp, constant_input, drop_inputs, normalize_axis, shape_of, shape_vector


def _dtype_of(graph: Graph, tensor: str):
    """IR dtype of an input; untyped constants are float weights."""
    t = graph.tensors.get(tensor)
    return t.dtype if t is not None else FLOAT32


def _same_type(graph: Graph, tensor: str, shape) -> TensorType:
    return TensorType(tuple(shape), _dtype_of(graph, tensor))


def _constant_dtype(value: np.ndarray):
    if not np.issubdtype(value.dtype, np.floating):
        # Integer tensors exist only as constants (shape arithmetic); the IR has no int64 type.
        raise NotImplementedError(f"a computed {value.dtype} tensor is not supported (only float32)")
    return FLOAT32


@register
class Identity(OnnxOp):
    name = "Identity"
    onnx_types = ("Identity",)
    shape_only = True
    attr_schema = {}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [_same_type(graph, node.inputs[0], shape_of(graph, node.inputs[0]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [inputs[0]]


_CAST_TARGETS = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
                 12: np.uint32, 13: np.uint64}


@register
class Cast(OnnxOp):
    """Cast that changes no value: float32 -> float32, and integer codes to an integer type
    that holds them (torch's QDQ export casts QuantizeLinear's codes to their own type before
    DequantizeLinear). Constants of any numeric type are cast, as shape arithmetic needs.
    attrs: to (numpy dtype name)."""

    name = "Cast"
    onnx_types = ("Cast",)
    shape_only = True
    attr_schema = {"to": required(*STR)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        to = int(node.attrs.get("to", 0))
        if to not in _CAST_TARGETS:
            raise HwcompError(f"Cast to ONNX type {to} is not supported; supported: float32 and integer types")
        node.attrs = {"to": np.dtype(_CAST_TARGETS[to]).name}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        x = graph.tensors[node.inputs[0]]
        to = np.dtype(node.attrs["to"])
        keeps = (x.dtype.is_float and to == np.float32) or (
            x.dtype.is_fixed and not x.dtype.is_bipolar and to.kind in "iu"
            and np.iinfo(to).min <= x.dtype.min_int and x.dtype.max_int <= np.iinfo(to).max)
        if not keeps:
            raise HwcompError(f"Cast of a {x.dtype} tensor to {to} changes values; supported: float32 to float32, "
                              "integer codes to an integer type that holds them")
        return [x]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        if node.inputs[0] in graph.constants:
            return [np.asarray(inputs[0]).astype(node.attrs["to"])]
        return [inputs[0]]


# The optional Dropout mask is a boolean tensor; the IR holds booleans as uint<1>.
MASK_DTYPE = Int(1, signed=False)


@register
class Dropout(OnnxOp):
    """Inference Dropout: the identity, plus an all-ones mask if asked for."""

    name = "Dropout"
    onnx_types = ("Dropout",)
    shape_only = True
    attr_schema = {}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        training = constant_input(node, graph, 2, "Dropout training_mode")
        if training is not None and bool(training.reshape(-1)[0]):
            raise HwcompError("training_mode=True is not supported; supported: inference (training_mode=False)")
        node.attrs.pop("seed", None)
        node.attrs.pop("ratio", None)
        drop_inputs(node, 1)

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        shape = shape_of(graph, node.inputs[0])
        return [_same_type(graph, node.inputs[0], shape), TensorType(shape, MASK_DTYPE)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [inputs[0], np.ones(np.shape(inputs[0]), dtype=np.int64)]


def reshape_target(in_shape: tuple[int, ...], target, allowzero: int) -> tuple[int, ...]:
    target = [int(d) for d in target]
    in_shape = tuple(int(d) for d in in_shape)
    if any(d == 0 and not allowzero and i >= len(in_shape) for i, d in enumerate(target)):
        raise ValueError(f"reshape target {target} copies (0) a dimension the input {in_shape} does not have")
    if any(d < -1 for d in target):
        raise ValueError(f"reshape target {target} has a negative dimension other than -1")
    out = [in_shape[i] if (d == 0 and not allowzero) else d for i, d in enumerate(target)]
    size = math.prod(in_shape)  # Python integers: huge targets must not wrap around
    if out.count(-1) > 1:
        raise ValueError(f"reshape target {target} has more than one -1")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape {in_shape} to {target}")
        out[out.index(-1)] = size // known
    if math.prod(out) != size:
        raise ValueError(f"cannot reshape {in_shape} to {target}")
    return tuple(out)


@register
class Reshape(OnnxOp):
    """Inputs (data, shape); the shape must be a constant. attrs: allowzero."""

    name = "Reshape"
    onnx_types = ("Reshape",)
    shape_only = True
    onnx_defaults = {"allowzero": 0}
    attr_schema = {"allowzero": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        super().from_onnx(node, graph, opset)
        target = constant_input(node, graph, 1, "Reshape shape")
        if target is None:
            raise HwcompError("Reshape needs its shape input")
        shape_vector(target, "Reshape shape", allow_negative=True)

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        src = shape_of(graph, node.inputs[0])
        target = graph.constants[node.inputs[1]]
        try:
            return [_same_type(graph, node.inputs[0], reshape_target(src, target, node.attrs["allowzero"]))]
        except ValueError as e:
            raise ValueError(f"Reshape {node.name!r}: {e}") from None

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x, target = inputs[0], [int(d) for d in inputs[1]]
        declared = graph.tensors.get(node.inputs[0])
        if declared is not None and declared.shape and x.ndim and target:
            batch = declared.shape[0]
            if x.shape[0] != batch and target[0] == batch:
                target[0] = x.shape[0]  # the batch rule in the module docstring
        return [x.reshape(reshape_target(x.shape, target, node.attrs["allowzero"]))]


@register
class Flatten(OnnxOp):
    """To 2-D: (prod(shape[:axis]), prod(shape[axis:])). attrs: axis in 0..rank."""

    name = "Flatten"
    onnx_types = ("Flatten",)
    shape_only = True
    attr_schema = {"axis": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        axis = int(node.attrs.get("axis", 1))
        node.attrs["axis"] = normalize_axis(axis, rank + 1) if axis >= 0 else normalize_axis(axis, rank)

    @staticmethod
    def _shape(shape, axis: int) -> tuple[int, int]:
        return int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        shape = shape_of(graph, node.inputs[0])
        return [_same_type(graph, node.inputs[0], cls._shape(shape, node.attrs["axis"]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        x = np.asarray(inputs[0])
        return [x.reshape(cls._shape(x.shape, node.attrs["axis"]))]


@register
class Transpose(OnnxOp):
    """attrs: perm (default: reversed axes)."""

    name = "Transpose"
    onnx_types = ("Transpose",)
    value_preserving = True
    attr_schema = {"perm": required(*INTS)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        perm = [int(p) for p in node.attrs.get("perm", range(rank - 1, -1, -1))]
        if sorted(perm) != list(range(rank)):
            raise HwcompError(f"perm {perm} is not a permutation of {rank} axes")
        node.attrs["perm"] = perm

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        shape = shape_of(graph, node.inputs[0])
        return [_same_type(graph, node.inputs[0], [shape[p] for p in node.attrs["perm"]])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [np.transpose(inputs[0], node.attrs["perm"])]


def _axes(node: Node, graph: Graph, opset: int, since: int) -> list[int] | None:
    """`axes` was an attribute before opset `since` and an optional input from then on."""
    if opset < since:
        axes = node.attrs.get("axes")
    else:
        value = constant_input(node, graph, 1, f"{node.op.name} axes")
        axes = None if value is None else value.reshape(-1).tolist()
        drop_inputs(node, 1)
    return None if axes is None else [int(a) for a in axes]


@register
class Squeeze(OnnxOp):
    """attrs: axes (sorted, non-negative). Without axes ONNX drops every size-1
    dimension of the declared shape; that includes a declared batch of 1."""

    name = "Squeeze"
    onnx_types = ("Squeeze",)
    shape_only = True
    attr_schema = {"axes": required(*INTS)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        shape = shape_of(graph, node.inputs[0])
        axes = _axes(node, graph, opset, since=13)
        if axes is None:
            axes = [i for i, d in enumerate(shape) if d == 1]
        node.attrs["axes"] = sorted({normalize_axis(a, len(shape)) for a in axes})

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        shape = shape_of(graph, node.inputs[0])
        if any(shape[a] != 1 for a in node.attrs["axes"]):
            raise ValueError(f"Squeeze {node.name!r}: axes {node.attrs['axes']} of {shape} are not all 1")
        out = [d for i, d in enumerate(shape) if i not in node.attrs["axes"]]
        return [_same_type(graph, node.inputs[0], out)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [np.squeeze(inputs[0], axis=tuple(node.attrs["axes"]))]


@register
class Unsqueeze(OnnxOp):
    """attrs: axes (sorted, non-negative, counted in the output)."""

    name = "Unsqueeze"
    onnx_types = ("Unsqueeze",)
    shape_only = True
    attr_schema = {"axes": required(*INTS)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        axes = _axes(node, graph, opset, since=13)
        if not axes:
            raise HwcompError("Unsqueeze needs axes")
        node.attrs["axes"] = sorted(normalize_axis(a, rank + len(axes)) for a in axes)
        if len(set(node.attrs["axes"])) != len(axes):
            raise HwcompError(f"Unsqueeze axes {axes} repeat an axis")

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        out = list(shape_of(graph, node.inputs[0]))
        for a in node.attrs["axes"]:
            out.insert(a, 1)
        return [_same_type(graph, node.inputs[0], out)]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [np.expand_dims(inputs[0], tuple(node.attrs["axes"]))]


@register
class Concat(OnnxOp):
    """attrs: axis (non-negative)."""

    name = "Concat"
    onnx_types = ("Concat",)
    attr_schema = {"axis": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        node.attrs["axis"] = normalize_axis(int(node.attrs["axis"]), rank)

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        axis = node.attrs["axis"]
        shapes = [shape_of(graph, t) for t in node.inputs if t]
        dtypes = {_dtype_of(graph, t) for t in node.inputs if t}
        rest = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(rest) != 1 or len(dtypes) != 1:
            raise ValueError(f"Concat {node.name!r}: inputs {shapes} ({dtypes}) do not match off axis {axis}")
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return [TensorType(tuple(out), dtypes.pop())]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [np.concatenate([x for x in inputs if x is not None], axis=node.attrs["axis"])]


@register
class Gather(OnnxOp):
    """np.take along `axis`; the indices must be constant."""

    name = "Gather"
    onnx_types = ("Gather",)
    attr_schema = {"axis": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        node.attrs["axis"] = normalize_axis(int(node.attrs.get("axis", 0)), rank)
        constant_input(node, graph, 1, "Gather indices")

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        shape, axis = shape_of(graph, node.inputs[0]), node.attrs["axis"]
        idx = shape_of(graph, node.inputs[1])
        return [_same_type(graph, node.inputs[0], shape[:axis] + idx + shape[axis + 1:])]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [np.take(inputs[0], np.asarray(inputs[1], dtype=np.int64), axis=node.attrs["axis"])]


@register
class Shape(OnnxOp):
    """The input's shape as int64 (attrs start, end). Shapes are static in the IR,
    so the frontend turns every Shape into a constant via `static_value`."""

    name = "Shape"
    onnx_types = ("Shape",)
    attr_schema = {"start": required(*INT), "end": required(*INT)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        rank = len(shape_of(graph, node.inputs[0]))
        start, end = int(node.attrs.get("start", 0)), int(node.attrs.get("end", rank))
        # Shape clamps start/end instead of rejecting them.
        node.attrs["start"] = min(max(start + rank if start < 0 else start, 0), rank)
        node.attrs["end"] = min(max(end + rank if end < 0 else end, 0), rank)

    @classmethod
    def static_value(cls, node: Node, graph: Graph) -> list[np.ndarray]:
        shape = shape_of(graph, node.inputs[0])
        return [np.array(shape[node.attrs["start"]:node.attrs["end"]], dtype=np.int64)]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        raise NotImplementedError("Shape produces int64, which exists only as a constant in the IR")

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        shape = np.shape(inputs[0])
        return [np.array(shape[node.attrs["start"]:node.attrs["end"]], dtype=np.int64)]


@register
class Constant(OnnxOp):
    """attrs: value (numpy array). The frontend folds these into graph constants."""

    name = "Constant"
    onnx_types = ("Constant",)
    attr_schema = {"value": required(*ARRAY)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        forms = {
            "value": lambda v: np.asarray(v),
            "value_float": lambda v: np.array(v, dtype=np.float32),
            "value_floats": lambda v: np.array(v, dtype=np.float32),
            "value_int": lambda v: np.array(v, dtype=np.int64),
            "value_ints": lambda v: np.array(v, dtype=np.int64),
        }
        given = [k for k in node.attrs if k in forms]
        if len(given) != 1 or len(node.attrs) != 1:
            raise HwcompError(
                f"attributes {sorted(node.attrs)} are not supported; supported: one of {', '.join(forms)}"
            )
        value = forms[given[0]](node.attrs[given[0]])
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float32)
        node.attrs = {"value": value}

    @classmethod
    def output_shapes(cls, node: Node, graph: Graph) -> list[tuple]:
        return [node.attrs["value"].shape]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        value = node.attrs["value"]
        return [TensorType(value.shape, _constant_dtype(value))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [node.attrs["value"]]


@register
class ConstantOfShape(OnnxOp):
    """A tensor of the constant shape input filled with attrs value (one element)."""

    name = "ConstantOfShape"
    onnx_types = ("ConstantOfShape",)
    attr_schema = {"value": required(*ARRAY)}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        value = np.asarray(node.attrs.get("value", np.zeros(1, dtype=np.float32)))
        if value.size != 1:
            raise HwcompError(f"value must have one element, got {value.size}")
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float32)
        node.attrs["value"] = value.reshape(1)
        shape = constant_input(node, graph, 0, "ConstantOfShape shape")
        if shape is None:
            raise HwcompError("ConstantOfShape needs its shape input")
        shape_vector(shape, "ConstantOfShape shape")

    @classmethod
    def output_shapes(cls, node: Node, graph: Graph) -> list[tuple]:
        return [tuple(int(d) for d in graph.constants[node.inputs[0]])]

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [TensorType(cls.output_shapes(node, graph)[0], _constant_dtype(node.attrs["value"]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        value = node.attrs["value"]
        return [np.full(tuple(int(d) for d in inputs[0]), value[0], dtype=value.dtype)]
