"""Hardware for graphs with branches (residual adds, concats): the region,
its folding and its NetlistDesign.

Lanes follow the data: a unit's SIMD is the lane count of the stream it reads,
its PE sets the lanes of the stream it writes; windows and pooling keep lanes.
Where a join's inputs differ, a width converter (hwcomp_dwc) brings input 1
to input 0's lanes. For a target initiation interval T each unit, in
topological order, takes the fewest PE that meet T. A tensor read by two
blocks goes through a fork whose output buffers hold one image of beats each,
so neither branch can stall the other into a deadlock (conservative: sizing
from the branch latencies would need far less).
"""
from __future__ import annotations

from dataclasses import dataclass

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.shape import Concat, Flatten
from hwcomp.ops.window import SlidingWindow

from .chain import POOLS
from .design import ceil_div
from .folding import DEFAULT_LANES
from .stream_design import unit_input

REGION_OPS = (MatrixVectorUnit, SlidingWindow, ResidualAdd, Concat, Flatten) + POOLS


def hardware_region(graph: Graph) -> list[Node]:
    """Region nodes in topological order: everything from the first stream block on
    that is a hardware op (a Flatten only when hardware feeds it)."""
    producers = graph.producers()
    region: list[Node] = []
    names: set[str] = set()
    for n in graph.nodes():
        if n.op not in REGION_OPS:
            continue
        if n.op is Flatten and (producers.get(n.inputs[0]) is None or producers[n.inputs[0]].name not in names):
            continue
        if n.op is Concat and not all(t in producers and producers[t].name in names for t in n.inputs):
            continue
        region.append(n)
        names.add(n.name)
    return region


def region_io(graph: Graph, region: list[Node]) -> tuple[str, str]:
    made = {t for n in region for t in n.outputs}
    ins = {t for n in region for t in n.inputs if t not in made and t not in graph.constants}
    outs = {t for n in region for t in n.outputs
            if t in graph.outputs or any(u not in region for u in graph.consumers(t))}
    if len(ins) != 1 or len(outs) != 1:
        raise HwcompError(f"{graph.name}: the hardware region must have one input and one output stream, "
                          f"found inputs {sorted(ins)} and outputs {sorted(outs)}")
    return ins.pop(), outs.pop()


@dataclass(frozen=True)
class DagFolding:
    pe_simd: dict[str, tuple[int, int]]   # unit name -> (PE, SIMD)
    ii: int
    ideal_ii: float
    input_lanes: int


def _unit_cycles(graph: Graph, node: Node, simd: int, pe: int) -> int:
    u = unit_input(graph, node)
    return u.pixels * u.positions * ceil_div(u.channels, simd) * ceil_div(node.params["weight"].shape[0], pe)


def fold_dag(graph: Graph, target_ii: int) -> DagFolding:
    """Fewest PE per unit meeting target_ii, lanes flowing from producers to consumers."""
    region = hardware_region(graph)
    src, _ = region_io(graph, region)
    channels0 = graph.tensors[src].shape[-1]
    lanes: dict[str, int] = {src: min(channels0, DEFAULT_LANES)}
    pe_simd: dict[str, tuple[int, int]] = {}
    ii, ideal = 0, 0.0
    for n in region:
        simd = lanes[n.inputs[0]]
        if n.op is MatrixVectorUnit:
            rows = n.params["weight"].shape[0]
            pe = next((p for p in range(1, rows + 1) if _unit_cycles(graph, n, simd, p) <= target_ii), None)
            if pe is None:
                raise HwcompError(f"target initiation interval {target_ii} cycles cannot be met by {n.name!r}")
            pe_simd[n.name] = (pe, simd)
            ii = max(ii, _unit_cycles(graph, n, simd, pe))
            u = unit_input(graph, n)
            ideal = max(ideal, u.pixels * rows * u.positions * u.channels / (pe * simd))
            lanes[n.outputs[0]] = pe
        else:
            lanes[n.outputs[0]] = simd  # windows, pools, joins keep lanes (joins convert input 1)
    return DagFolding(pe_simd, ii, ideal, lanes[src])


def balanced_dag_folding(graph: Graph, target_ii: int | None = None) -> DagFolding:
    if target_ii:
        return fold_dag(graph, target_ii)
    units = [n for n in hardware_region(graph) if n.op is MatrixVectorUnit]
    macs = max(unit_input(graph, n).pixels * n.params["weight"].size for n in units)
    target = max(1, ceil_div(macs, DEFAULT_LANES))
    while True:
        try:
            return fold_dag(graph, target)
        except HwcompError:
            target = target * 5 // 4 + 1


def has_branches(graph: Graph) -> bool:
    return any(n.op in (ResidualAdd, Concat) for n in hardware_region(graph))
