"""Which matrix-vector units are built sparse (`--sparse auto|on|off`,
compile option `sparse`): MatrixVectorUnit -> SparseMatrixVectorUnit
(templates/hwcomp_sparse_mvu.v, hw/sparse.py), before the fold pass.

Only plain units can be sparse: multi-bit weights with ReLU and
requantization (a shift per row included); threshold, bipolar and XNOR units
stay dense. `off` changes nothing. `on` makes every plain unit sparse. `auto`
makes a plain unit sparse when, at the folding the dense design gets and with
the same multipliers (lanes = min(rows, PE * SIMD), the same SIMD), the sparse
unit takes no more cycles per vector and stores fewer bits (entry values,
indices and the crossbar map, against the dense weight ROM); a dense model
keeps every unit dense, so its design is unchanged byte for byte. The fold
pass then folds the graph with its sparse units (their cycles follow the
non-zero count).
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.hw.blocks.sparse import dense_cost, sparse_cost
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.sparse_mvu import SparseMatrixVectorUnit

from .fold import choose_folding

SPARSE_MODES = ("auto", "on", "off")


def sparse_eligible(node: Node) -> bool:
    """A plain multi-bit unit (what the sparse unit computes)."""
    a = node.attrs
    return (node.op is MatrixVectorUnit and a.get("kind") is None and not a.get("weight_bipolar", False)
            and "thresholds" not in node.params)


def to_sparse(graph: Graph, names) -> Graph:
    """A copy of `graph` with the units `names` as SparseMatrixVectorUnits (folding knobs dropped)."""
    g = graph.copy()
    for name in sorted(names):
        n = g.node(name)
        if not sparse_eligible(n):
            raise HwcompError(f"layer {name!r} ({n.op.name}) cannot be built sparse; supported: multi-bit "
                              "weights with ReLU / requantization (no thresholds, bipolar or XNOR weights)")
        attrs = {k: v for k, v in n.attrs.items() if k not in ("pe", "simd")}
        g.replace_node(name, Node(n.name, SparseMatrixVectorUnit, n.inputs, n.outputs, attrs, dict(n.params)))
    return g


def auto_choice(graph: Graph, target_ii: int | None = None, pe_simd=None) -> list[str]:
    """The plain units whose sparse form is no slower and smaller at the dense folding's lanes."""
    folding = choose_folding(graph, target_ii, pe_simd)
    chosen = []
    for n in graph.nodes():
        if not sparse_eligible(n) or not np.any(np.asarray(n.params["weight"]) == 0):
            continue
        k = folding.blocks[n.name]
        d_cycles, d_bits = dense_cost(graph, n, k["pe"], k["simd"])
        lanes = min(n.params["weight"].shape[0], k["pe"] * k["simd"])
        s_cycles, s_bits = sparse_cost(graph, n, lanes, k["simd"])
        if s_cycles <= d_cycles and s_bits < d_bits:
            chosen.append(n.name)
    return chosen


def choose_sparse(graph: Graph, mode: str = "off", target_ii: int | None = None, pe_simd=None) -> Graph:
    """The lowered graph with the units `mode` picks built sparse (a copy; `off` and an auto
    choice of none return an unchanged copy)."""
    if mode not in SPARSE_MODES:
        raise HwcompError(f"--sparse {mode!r}: supported {', '.join(SPARSE_MODES)}")
    if mode == "off":
        return graph.copy()
    if mode == "on":
        names = [n.name for n in graph.nodes() if sparse_eligible(n)]
    else:
        names = auto_choice(graph, target_ii, pe_simd)
    return to_sparse(graph, names)

