"""Weight sharing (Deep Compression): each layer's weights limited to 2^K values.

Where it happens, and why. The hardware holds integer codes, and a codebook of
2^K codes can only stand for 2^K real weights if every row of the layer reads
its codes on the same binary point. Post-training fixed point gives each
output row its own weight format (a per-row shift, docs/numerics.md), so the
same real value becomes a different code in each row. Sharing therefore runs
on the float graph, before quantization: each layer's float weights are
clustered to at most 2^K values, and the quantizer then gives such layers one
format for the whole layer (`QuantConfig(per_channel=False)`), which maps the
at most 2^K floats onto at most 2^K codes (rounding can only merge them). The
integer graph the executor runs is then the exact reference of the shared
layer: weight = codebook[index] in every row.

Clustering: 1-D k-means (Lloyd) with linear initialization, 2^K centroids
evenly spaced over [min, max] of the layer's weights (Deep Compression found it
best: it keeps the rare large weights), run until no weight changes cluster.
Deterministic: no random choice. Zero is always one of the 2^K values: the
initial centroid nearest 0 is pinned there and never moves. Pruned weights
so stay pruned (their nearest value is 0 itself), weights nearest 0 join them,
and the unit's padding (zero weights in padded rows and columns) needs no
codebook entry of its own. A layer already holding at most 2^K distinct
values is left exactly as it is (a model trained with weight sharing, a binary
layer).

A model with its own quantizers fixes its codes itself; `check_shared` then
only verifies, on the integer graph, that every layer holds at most 2^K codes.
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense

SHARE_BITS = (1, 8)   # supported K: 2 to 256 values per layer
MAX_ITERATIONS = 300


def check_share_bits(bits) -> None:
    lo, hi = SHARE_BITS
    if isinstance(bits, bool) or not isinstance(bits, int) or not lo <= bits <= hi:
        raise HwcompError(f"--share-weights {bits!r}: supported K = {lo}..{hi} (2^K values per layer)")


def kmeans_1d(values: np.ndarray, k: int, pin_zero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means of 1-D values from k centroids spaced evenly over [min, max]:
    (centroids, index of each value's centroid). With pin_zero the initial centroid
    nearest 0 is 0 and stays 0. A cluster left empty keeps its centroid; centroids
    stay sorted, so a value's nearest is found by bisection."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    c = np.linspace(v.min(), v.max(), k) if v.size else np.zeros(k)
    pinned = np.zeros(k, dtype=bool)
    if pin_zero:
        pinned[np.abs(c).argmin()] = True
        c = np.where(pinned, 0.0, c)
        order = np.argsort(c, kind="stable")
        c, pinned = c[order], pinned[order]
    idx = None
    for _ in range(MAX_ITERATIONS):
        mid = (c[1:] + c[:-1]) / 2
        new = np.searchsorted(mid, v, side="left")
        if idx is not None and np.array_equal(new, idx):
            break
        idx = new
        sums = np.bincount(idx, weights=v, minlength=k)
        counts = np.bincount(idx, minlength=k)
        c = np.where((counts > 0) & ~pinned, sums / np.maximum(counts, 1), c)
    return c, idx


def shared_values(w: np.ndarray, bits: int) -> np.ndarray | None:
    """w with its values clustered to at most 2^bits, 0 among them (zeros kept zero), same
    shape and dtype; None when w already holds at most 2^bits distinct values."""
    w = np.asarray(w)
    if np.unique(w).size <= 1 << bits:
        return None
    centroids, idx = kmeans_1d(w, 1 << bits, pin_zero=True)
    return centroids[idx].reshape(w.shape).astype(w.dtype)


def share_weights(graph: Graph, bits: int) -> Graph:
    """The float graph with every Dense's and Conv's weights shared to 2^bits values."""
    check_share_bits(bits)
    g = graph.copy()
    for node in list(g.nodes()):
        if node.op is Dense and "weight" in node.params:
            w = shared_values(node.params["weight"], bits)
            if w is not None:
                g.replace_node(node.name, Node(node.name, Dense, node.inputs, node.outputs, dict(node.attrs),
                                               dict(node.params, weight=w)))
        elif node.op is Conv and len(node.inputs) > 1 and node.inputs[1] in g.constants:
            w = shared_values(g.constants[node.inputs[1]], bits)
            if w is not None:
                name = g.add_constant(g.unique_name(f"{node.name}_w_shared"), w)
                ins = list(node.inputs)
                ins[1] = name
                g.replace_node(node.name, Node(node.name, node.op, tuple(ins), node.outputs, dict(node.attrs),
                                               dict(node.params)))
    g.remove_unused()
    return g


def check_shared(graph: Graph, bits: int, source: str) -> None:
    """Every layer of the integer graph holds at most 2^bits distinct weight codes."""
    for node in graph.nodes():
        if "weight" not in node.params:
            continue
        n = np.unique(np.asarray(node.params["weight"])).size
        if n > 1 << bits:
            raise HwcompError(f"{source}: layer {node.name!r} holds {n} distinct weight codes, more than "
                              f"2^{bits} = {1 << bits} for --share-weights {bits}; its quantizers fix its codes: "
                              f"supported: float models (clustered here) or quantized models whose layers "
                              f"already hold at most 2^K codes")
