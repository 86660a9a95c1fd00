"""What every op provides: type inference, a numpy reference, and its cost.

Ops are stateless classes used through classmethods. A Node refers to its op
class directly; the registry below exists only to map ONNX op types to ops at
import time.

Each op declares its attributes (`attr_schema`: name -> AttrSpec); the
verifier (hwcomp/ir/verify.py) checks every node against it after every
pass, so a misspelt, missing or mistyped attribute fails where it is made.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from hwcomp.ir.dtypes import DType
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType


@dataclass(frozen=True)
class AttrSpec:
    """One declared attribute: the Python types its value may have, and whether
    every node of the op must carry it."""

    types: tuple[type, ...]
    required: bool = True

    def accepts(self, value: Any) -> bool:
        # bool is an int subclass: a flag is not a width or a shift, and vice versa.
        if isinstance(value, (bool, np.bool_)) and not any(t in (bool, np.bool_) for t in self.types):
            return False
        return isinstance(value, self.types)

    def type_names(self) -> str:
        # numpy scalar types stand in for the Python ones named beside them
        return " or ".join(t.__name__ for t in self.types if not issubclass(t, np.generic))


# The value types attributes take; numpy scalars count as the Python ones.
INT = (int, np.integer)
REAL = (int, float, np.integer, np.floating)
BOOL = (bool, np.bool_)
STR = (str,)
INTS = (list, tuple)
DTYPE = (DType,)
ARRAY = (np.ndarray,)
DICT = (dict,)


def required(*types: type) -> AttrSpec:
    return AttrSpec(tuple(types), True)


def optional(*types: type) -> AttrSpec:
    return AttrSpec(tuple(types), False)


# PE (output lanes) and SIMD (input lanes) of a hardware block, set by passes/fold.
FOLDING: dict[str, AttrSpec] = {"pe": optional(*INT), "simd": optional(*INT)}
# A quantized layer's weights: {"dtype": code type, "scale": per output channel} (passes/weight_grid).
WEIGHT_GRID: dict[str, AttrSpec] = {"weight_grid": optional(*DICT)}


class Op:
    name: ClassVar[str]
    # Every attribute a node of this op may carry; register() refuses an op without one.
    attr_schema: ClassVar[Mapping[str, AttrSpec]]
    # ONNX op types that import one-to-one into this op.
    onnx_types: ClassVar[tuple[str, ...]] = ()
    # True when onnx_types live in a custom domain (QONNX), not ai.onnx.
    onnx_custom_domain: ClassVar[bool] = False
    # True for ops that never change values, only the shape (Identity, Dropout
    # at inference, Reshape, Flatten): canonicalization may drop them when the
    # type does not change, and they may run on the host at a graph boundary.
    shape_only: ClassVar[bool] = False
    # True for ops whose output elements are input elements (moved, selected or
    # padded), so they run unchanged on any element type: Transpose, sliding
    # windows, max pooling. Quantization passes them through in fixed point.
    value_preserving: ClassVar[bool] = False
    # Inputs whose constant may hold +-inf because the op only compares against it
    # (a MultiThreshold threshold at +inf is never passed). NaN is refused everywhere.
    infinite_inputs: ClassVar[tuple[int, ...]] = ()

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        """Output types from the input types in `graph.tensors` and the node's attrs."""
        raise NotImplementedError

    @classmethod
    def execute(cls, node: Node, inputs: list[np.ndarray | None], graph: Graph) -> list[np.ndarray]:
        """Numpy reference. Float tensors hold float32; fixed tensors hold integer q (int64)."""
        raise NotImplementedError

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        """Multiply-accumulates per inference (batch of the declared shape)."""
        return 0

    @classmethod
    def param_count(cls, node: Node, graph: Graph) -> int:
        """Trainable parameters held by the node or fed to it as constants."""
        n = sum(int(p.size) for p in node.params.values())
        n += sum(int(graph.constants[t].size) for t in node.inputs if t in graph.constants and cls.weight_input(t, node))
        return n

    @classmethod
    def weight_input(cls, tensor: str, node: Node) -> bool:
        """Whether a constant input counts as a parameter (weights yes, shapes no)."""
        return False


_BY_NAME: dict[str, type[Op]] = {}
_BY_ONNX: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    if cls.name in _BY_NAME:
        raise ValueError(f"op {cls.name} registered twice")
    schema = getattr(cls, "attr_schema", None)
    if schema is None or not all(isinstance(s, AttrSpec) for s in schema.values()):
        raise TypeError(f"op {cls.name} must declare attr_schema: attribute name -> AttrSpec")
    _BY_NAME[cls.name] = cls
    for t in cls.onnx_types:
        _BY_ONNX[t] = cls
    return cls


def op_by_name(name: str) -> type[Op]:
    return _BY_NAME[name]


def op_for_onnx(op_type: str) -> type[Op] | None:
    return _BY_ONNX.get(op_type)


def supported_onnx_types() -> list[str]:
    """ai.onnx op types with an import."""
    return sorted(t for t, op in _BY_ONNX.items() if not op.onnx_custom_domain)


def custom_onnx_types() -> list[str]:
    """Op types with an import from a custom (QONNX) domain."""
    return sorted(t for t, op in _BY_ONNX.items() if op.onnx_custom_domain)
