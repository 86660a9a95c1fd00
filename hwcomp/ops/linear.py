"""Gemm (Y = alpha * A' B' + beta * C) and MatMul (numpy matmul semantics)."""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import INT, REAL, WEIGHT_GRID, register, required
from .onnx_common import OnnxOp, as_float, float_type, shape_of


@register
class Gemm(OnnxOp):
    name = "Gemm"
    onnx_types = ("Gemm",)
    onnx_defaults = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}
    attr_schema = {"alpha": required(*REAL), "beta": required(*REAL), "transA": required(*INT),
                   "transB": required(*INT), **WEIGHT_GRID}

    @classmethod
    def _dims(cls, node: Node, graph: Graph) -> tuple[int, int, int]:
        a, b = shape_of(graph, node.inputs[0]), shape_of(graph, node.inputs[1])
        if len(a) != 2 or len(b) != 2:
            raise ValueError(f"Gemm {node.name!r}: A {a} and B {b} must be 2-D")
        m, k = a[::-1] if node.attrs["transA"] else a
        kb, n = b[::-1] if node.attrs["transB"] else b
        if k != kb:
            raise ValueError(f"Gemm {node.name!r}: inner dimensions differ (A {a}, B {b})")
        return m, k, n

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        m, _, n = cls._dims(node, graph)
        if len(node.inputs) > 2 and node.inputs[2]:
            c = shape_of(graph, node.inputs[2])
            if np.broadcast_shapes(c, (m, n)) != (m, n):
                raise ValueError(f"Gemm {node.name!r}: C {c} does not broadcast to {(m, n)}")
        return [float_type((m, n))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        a, b = as_float(inputs[0]), as_float(inputs[1])
        if node.attrs["transA"]:
            a = a.T
        if node.attrs["transB"]:
            b = b.T
        y = a @ b
        if node.attrs["alpha"] != 1.0:
            y = y * np.float32(node.attrs["alpha"])
        if len(inputs) > 2 and inputs[2] is not None and node.attrs["beta"] != 0.0:
            y = y + np.float32(node.attrs["beta"]) * as_float(inputs[2])
        return [y.astype(np.float32)]

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        m, k, n = cls._dims(node, graph)
        return m * k * n

    @classmethod
    def weight_input(cls, tensor: str, node: Node) -> bool:
        return tensor in node.inputs[1:]


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Output shape and inner dimension of np.matmul(a, b), without computing it."""
    if not a or not b:
        raise ValueError("MatMul inputs must have rank >= 1")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"MatMul inner dimensions differ: {a} @ {b}")
    out = np.broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return tuple(out), a2[-1]


@register
class MatMul(OnnxOp):
    name = "MatMul"
    onnx_types = ("MatMul",)
    attr_schema = dict(WEIGHT_GRID)

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        a, b = shape_of(graph, node.inputs[0]), shape_of(graph, node.inputs[1])
        try:
            return [float_type(matmul_shape(a, b)[0])]
        except ValueError as e:
            raise ValueError(f"MatMul {node.name!r}: {e}") from None

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        return [np.matmul(as_float(inputs[0]), as_float(inputs[1]))]

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        out, k = matmul_shape(shape_of(graph, node.inputs[0]), shape_of(graph, node.inputs[1]))
        return int(np.prod(out, dtype=np.int64)) * k

    @classmethod
    def weight_input(cls, tensor: str, node: Node) -> bool:
        # Only constant inputs are asked about: a constant operand is a weight matrix.
        return True
