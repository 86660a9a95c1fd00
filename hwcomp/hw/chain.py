"""Find the hardware part of a lowered graph: a chain of stream blocks
(matrix-vector units, sliding windows, max pooling, flattening) ending in a
matrix-vector unit.

Everything before the first block (Quantize, the NCHW -> NHWC transpose,
reshapes) and after the last unit (Dequantize, Softmax) runs on the host;
docs/architecture.md explains why.
"""
from __future__ import annotations

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.shape import Flatten
from hwcomp.ops.window import AveragePoolReduce, GlobalPoolReduce, PoolReduce, SlidingWindow

POOLS = (PoolReduce, AveragePoolReduce, GlobalPoolReduce)
STREAM_BLOCKS = (MatrixVectorUnit, SlidingWindow, Flatten) + POOLS


def hardware_blocks(graph: Graph) -> list[Node]:
    nodes = graph.nodes()
    units = [n for n in nodes if n.op is MatrixVectorUnit]
    if not units:
        raise HwcompError(f"{graph.name}: no layer maps to hardware (expected Gemm/MatMul/Conv layers)")
    # Walk back from the first unit over the blocks that feed it.
    producers = graph.producers()
    start = units[0]
    while (prev := producers.get(start.inputs[0])) is not None and _streams_into(prev, producers):
        start = prev
    chain = [start]
    while chain[-1] is not units[-1]:
        users = graph.consumers(chain[-1].outputs[0])
        if len(users) != 1 or users[0].op not in STREAM_BLOCKS or chain[-1].outputs[0] in graph.outputs:
            bad = users[0] if len(users) == 1 else None
            what = f"node {bad.name!r} ({bad.op.name})" if bad else f"tensor {chain[-1].outputs[0]!r} (fan-out)"
            raise HwcompError(f"{graph.name}: {what} follows {chain[-1].name!r}, which a chain of stream blocks "
                              "cannot express (graphs with branches go through hwcomp.hw.dag)")
        chain.append(users[0])
    return chain


def _streams_into(node: Node, producers: dict[str, Node]) -> bool:
    """Windows and pooling are hardware; a Flatten is only when hardware feeds it
    (a Flatten of the model input is a host reshape)."""
    if node.op is SlidingWindow or node.op in POOLS:
        return True
    src = producers.get(node.inputs[0])
    return node.op is Flatten and src is not None and src.op in STREAM_BLOCKS


def mvu_chain(graph: Graph) -> list[Node]:
    return [n for n in hardware_blocks(graph) if n.op is MatrixVectorUnit]
