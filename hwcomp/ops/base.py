"""What every op provides: type inference, a numpy reference, and its cost.

Ops are stateless classes used through classmethods. A Node refers to its op
class directly; the registry below exists only to map ONNX op types to ops at
import time.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType


class Op:
    name: ClassVar[str]
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
