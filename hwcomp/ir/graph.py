"""The IR graph: named nodes joined by named tensors, held in a networkx DiGraph.

A Graph is treated as a value. Passes never edit their input: they call
`copy()` and edit the copy. Numpy arrays (constants, node params) are made
read-only so that sharing them between copies is safe.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterator

import networkx as nx
import numpy as np

from .tensor import TensorType

if TYPE_CHECKING:
    from hwcomp.ops.base import Op


def frozen_array(a: Any) -> np.ndarray:
    """A read-only array; one that is already read-only is shared, not copied."""
    if isinstance(a, np.ndarray) and not a.flags.writeable:
        return a
    arr = np.array(a, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass
class Node:
    """One operation. `op` is the Op class (not a string) so typos fail at import."""

    name: str
    op: type["Op"]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = tuple(self.inputs)
        self.outputs = tuple(self.outputs)
        self.params = {k: v if not v.flags.writeable else frozen_array(v) for k, v in self.params.items()}

    def copy(self) -> "Node":
        return replace(self, attrs=dict(self.attrs), params=dict(self.params))


class Graph:
    def __init__(self, name: str = "model") -> None:
        self.name = name
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.tensors: dict[str, TensorType] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {}
        self._nodes: dict[str, Node] = {}

    # --- construction -------------------------------------------------
    def add_node(self, node: Node) -> Node:
        if node.name in self._nodes:
            raise ValueError(f"duplicate node name {node.name!r}")
        self._nodes[node.name] = node
        return node

    def remove_node(self, name: str) -> None:
        del self._nodes[name]

    def replace_node(self, name: str, node: Node) -> None:
        """Swap a node in place, keeping its position in the insertion order."""
        self._nodes = {(node.name if k == name else k): (node if k == name else v) for k, v in self._nodes.items()}

    def add_constant(self, name: str, value: Any) -> str:
        self.constants[name] = frozen_array(value)
        return name

    def unique_name(self, base: str) -> str:
        taken = set(self._nodes) | set(self.tensors) | set(self.constants)
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def copy(self) -> "Graph":
        g = Graph(self.name)
        g.inputs = list(self.inputs)
        g.outputs = list(self.outputs)
        g.tensors = dict(self.tensors)
        g.constants = dict(self.constants)
        g.meta = dict(self.meta)
        g._nodes = {k: n.copy() for k, n in self._nodes.items()}
        return g

    # --- queries ------------------------------------------------------
    def node(self, name: str) -> Node:
        return self._nodes[name]

    def __contains__(self, name: str) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def producers(self) -> dict[str, Node]:
        return {t: n for n in self._nodes.values() for t in n.outputs if t}  # "": an absent optional output

    def producer(self, tensor: str) -> Node | None:
        if not tensor:
            return None
        return next((n for n in self._nodes.values() if tensor in n.outputs), None)

    def consumers(self, tensor: str) -> list[Node]:
        """Readers of `tensor`, in insertion order (no topological sort: passes call this often)."""
        return [n for n in self._nodes.values() if tensor in n.inputs]

    def nx_graph(self) -> nx.DiGraph:
        """Node-level dependency graph; edges carry the tensor name."""
        dg = nx.DiGraph()
        order = {name: i for i, name in enumerate(self._nodes)}
        for name in self._nodes:
            dg.add_node(name, order=order[name])
        prod = self.producers()
        for n in self._nodes.values():
            for t in n.inputs:
                if t in prod:
                    dg.add_edge(prod[t].name, n.name, tensor=t)
        return dg

    def nodes(self) -> list[Node]:
        """Nodes in a deterministic topological order (ties by insertion order)."""
        dg = self.nx_graph()
        order = {name: i for i, name in enumerate(self._nodes)}
        names = nx.lexicographical_topological_sort(dg, key=lambda n: order[n])
        return [self._nodes[n] for n in names]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes())

    def type_of(self, tensor: str) -> TensorType:
        return self.tensors[tensor]

    def input_types(self, node: Node) -> list[TensorType | None]:
        return [self.tensors.get(t) if t else None for t in node.inputs]

    def constant_value(self, tensor: str) -> np.ndarray | None:
        return self.constants.get(tensor)

    def remove_unused(self) -> None:
        """Drop constants and tensor types that nothing refers to any more."""
        used = set(self.inputs) | set(self.outputs)
        for n in self._nodes.values():
            used.update(n.inputs)
            used.update(n.outputs)
        self.constants = {k: v for k, v in self.constants.items() if k in used}
        self.tensors = {k: v for k, v in self.tensors.items() if k in used}
