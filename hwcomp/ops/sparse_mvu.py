"""SparseMatrixVectorUnit: a MatrixVectorUnit built as the sparse unit
(templates/hwcomp_sparse_mvu.v), which stores only the non-zero weights.

Same attributes, params and exact integer semantics as the plain multi-bit
MatrixVectorUnit (ReLU, requantization, a shift per row); the unit's storage
and cycles follow the non-zero count instead of the matrix size. Lowered by
passes/sparsify.py from plain units only (no thresholds, bipolar or XNOR
weights). pe is the unit's lanes, simd its input word's elements.
"""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import register
from .mvu import MatrixVectorUnit


@register
class SparseMatrixVectorUnit(MatrixVectorUnit):
    name = "SparseMatrixVectorUnit"

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        a, p = node.attrs, node.params
        if a.get("kind") is not None or a.get("weight_bipolar", False) or "thresholds" in p:
            raise ValueError(f"SparseMatrixVectorUnit {node.name}: only plain multi-bit units are sparse")
        return super().infer(node, graph)

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        """Multiplies by a non-zero weight per image: the work the unit does."""
        nnz = int(np.count_nonzero(node.params["weight"]))
        return nnz * int(np.prod(graph.tensors[node.inputs[0]].shape[:-1]))
