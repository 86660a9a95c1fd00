"""Find the hardware part of a lowered graph: a chain of MatrixVectorUnits.

Everything before the first unit (Quantize, reshapes) and after the last
(Dequantize, Softmax) runs on the host; docs/architecture.md explains why.
"""
from __future__ import annotations

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.mvu import MatrixVectorUnit


def mvu_chain(graph: Graph) -> list[Node]:
    units = [n for n in graph.nodes() if n.op is MatrixVectorUnit]
    if not units:
        raise HwcompError(f"{graph.name}: no layer maps to hardware (expected Gemm/MatMul layers)")
    for a, b in zip(units, units[1:]):
        if b.inputs[0] != a.outputs[0] or len(graph.consumers(a.outputs[0])) != 1:
            raise HwcompError(
                f"{graph.name}: layers {a.name!r} and {b.name!r} are not joined directly; this version "
                "builds hardware for a chain of fully-connected layers (Dense [+ReLU]) only")
    between = {n.name for n in graph.nodes()} - {u.name for u in units}
    hw_tensors = {u.outputs[0] for u in units[:-1]}
    for name in between:
        node = graph.node(name)
        if any(t in hw_tensors for t in node.inputs):
            raise HwcompError(f"{graph.name}: node {name!r} ({node.op.name}) sits inside the layer chain "
                              "and has no hardware block in this version")
    return units
