"""The hardware part of a lowered graph: every node a block is built from,
from the first stream block on (hw/blocks say which), with one input and one
output stream. Everything before it (the input quantizer, the NCHW -> NHWC
transpose, reshapes) and after it (dequantization, Softmax) runs on the host;
docs/architecture.md explains why."""
from __future__ import annotations

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node

from . import blocks  # noqa: F401  (registers every block)
from .blocks.base import block_of_op


def hardware_region(graph: Graph) -> list[Node]:
    """Region nodes in topological order."""
    region: list[Node] = []
    names: set[str] = set()
    for n in graph.nodes():
        block = block_of_op(n.op)
        if block is not None and block.in_region(n, graph, names):
            region.append(n)
            names.add(n.name)
    if not region:
        raise HwcompError(f"{graph.name}: no layer maps to hardware (expected Gemm/MatMul/Conv layers)")
    return region


def region_io(graph: Graph, region: list[Node]) -> tuple[str, str]:
    """The region's input and output tensors."""
    made = {t for n in region for t in n.outputs}
    names = {n.name for n in region}
    ins = {t for n in region for t in n.inputs if t and t not in made and t not in graph.constants}
    outs = {t for n in region for t in n.outputs
            if t in graph.outputs or any(u.name not in names for u in graph.consumers(t))}
    if len(ins) != 1 or len(outs) != 1:
        raise HwcompError(f"{graph.name}: the hardware region must have one input and one output stream, "
                          f"found inputs {sorted(ins)} and outputs {sorted(outs)}")
    return ins.pop(), outs.pop()
