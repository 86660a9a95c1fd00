"""How passes run. A rewrite takes a Graph and returns (new Graph, changed);
it never edits its input. The driver verifies after every pass and repeats
a group of rewrites until none changes anything, with a hard bound so a
rewrite that keeps reporting changes fails loudly instead of looping."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from hwcomp.ir.graph import Graph
from hwcomp.ir.verify import verify

Rewrite = Callable[[Graph], tuple[Graph, bool]]


@dataclass(frozen=True)
class Pass:
    name: str
    rewrite: Rewrite

    def __call__(self, graph: Graph) -> tuple[Graph, bool]:
        new, changed = self.rewrite(graph)
        if new is graph:
            raise AssertionError(f"pass {self.name} returned its input object; passes must copy")
        verify(new)
        return new, changed


def run_to_fixed_point(graph: Graph, passes: list[Pass], max_rounds: int = 100) -> Graph:
    for _ in range(max_rounds):
        any_changed = False
        for p in passes:
            graph, changed = p(graph)
            any_changed |= changed
        if not any_changed:
            return graph
    raise RuntimeError(f"passes {[p.name for p in passes]} did not converge in {max_rounds} rounds")


def only_consumer(graph: Graph, tensor: str):
    """The single node reading `tensor`, or None if it fans out or is a graph output."""
    if tensor in graph.outputs:
        return None
    users = graph.consumers(tensor)
    return users[0] if len(users) == 1 else None


def rewire(graph: Graph, old: str, new: str) -> None:
    """Make every reader of tensor `old` (and the graph outputs) read `new` instead."""
    for n in graph.nodes():
        if old in n.inputs:
            n.inputs = tuple(new if t == old else t for t in n.inputs)
    graph.outputs = [new if t == old else t for t in graph.outputs]
