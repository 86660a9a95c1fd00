"""Conventions shared by the ops imported from ONNX.

Attribute normalization happens once, at import, in each op's `from_onnx`:
ONNX defaults are filled in, negative axes made non-negative, and forms that
changed between opsets (an attribute that became an input) are brought to one
IR form, so `infer` and `execute` never look at the opset.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import FLOAT32
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import Op


class OnnxOp(Op):
    # ONNX attribute defaults; `from_onnx` fills in the missing ones.
    onnx_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        """Bring the node's attrs/inputs to the IR form; input types are known.

        Raises HwcompError (without file or node name; the frontend adds them)
        for attribute values hwcomp does not support.
        """
        for key, value in cls.onnx_defaults.items():
            node.attrs.setdefault(key, list(value) if isinstance(value, list) else value)

    @classmethod
    def check_float(cls, node: Node, graph: Graph) -> None:
        """Only float tensors are supported; integer constants (shape math) pass."""
        for t in node.inputs:
            if t and t in graph.tensors and not graph.tensors[t].dtype.is_float:
                raise NotImplementedError(
                    f"{cls.name} node {node.name!r}: input {t!r} has type {graph.tensors[t].dtype}; "
                    f"{cls.name} is implemented for float32 only"
                )


def shape_of(graph: Graph, tensor: str) -> tuple[int, ...]:
    """Declared shape of a typed tensor or of a constant."""
    if tensor in graph.tensors:
        return graph.tensors[tensor].shape
    return tuple(int(d) for d in graph.constants[tensor].shape)


def float_type(shape) -> TensorType:
    return TensorType(tuple(int(d) for d in shape), FLOAT32)


def as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def constant_input(node: Node, graph: Graph, index: int, what: str) -> np.ndarray | None:
    """Value of an optional constant input; None when absent. Computed values are unsupported."""
    if index >= len(node.inputs) or not node.inputs[index]:
        return None
    value = graph.constants.get(node.inputs[index])
    if value is None:
        raise HwcompError(f"{what} (input {index}) must be a constant; computed values are not supported")
    return value


MAX_RANK = 32  # numpy's own limit is 64; no network needs more


def shape_vector(value: np.ndarray, what: str, allow_negative: bool = False) -> tuple[int, ...]:
    """A constant shape input: a 1-D integer tensor of at most MAX_RANK dims, each >= 0
    (or any value, for ops that give -1 and 0 meanings of their own, like Reshape)."""
    v = np.asarray(value)
    if v.ndim != 1 or not np.issubdtype(v.dtype, np.integer):
        raise HwcompError(f"{what} must be a 1-D integer tensor; got {v.dtype} of shape {list(v.shape)}")
    if v.size > MAX_RANK:
        raise HwcompError(f"{what} has {v.size} dimensions; supported: at most {MAX_RANK}")
    if not allow_negative and (v < 0).any():
        raise HwcompError(f"{what} {v.tolist()} has a negative dimension")
    return tuple(int(d) for d in v)


def required_constant(node: Node, graph: Graph, index: int, what: str) -> np.ndarray:
    """Value of a constant input that must be given: quantization parameters, which fix the hardware."""
    if index >= len(node.inputs) or not node.inputs[index]:
        raise HwcompError(f"missing {what} (input {index})")
    value = graph.constants.get(node.inputs[index])
    if value is None:
        raise HwcompError(f"{what} (input {index}, {node.inputs[index]!r}) must be a constant; "
                          "hwcomp needs fixed quantization parameters to build integer hardware")
    return np.asarray(value)


def drop_inputs(node: Node, keep: int) -> None:
    """Keep the first `keep` inputs (the others were turned into attributes)."""
    node.inputs = tuple(node.inputs[:keep])


def normalize_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise HwcompError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def choose(value: Any, allowed: tuple, what: str) -> Any:
    if value not in allowed:
        raise HwcompError(f"{what} {value!r} is not supported; supported: {', '.join(map(str, allowed))}")
    return value
