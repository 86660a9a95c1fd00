"""Weight sharing (Deep Compression): each layer's non-zero weights limited to 2^K values.

Where it happens, and why. The hardware holds integer codes, and a codebook of
2^K codes can only stand for 2^K real weights if every row of the layer reads
its codes on the same binary point. Post-training fixed point gives each
output row its own weight format (a per-row shift, docs/numerics.md), so the
same real value becomes a different code in each row. Sharing therefore runs
on the float graph, before quantization: each layer's float weights are
clustered to at most 2^K non-zero values, and the quantizer then gives such
layers one format for the whole layer (`QuantConfig(per_channel=False)`), which
maps them onto at most 2^K non-zero codes (rounding can only merge them). The
integer graph the executor runs is then the exact reference of the shared
layer: weight = codebook[index] in every row.

Clustering: 1-D k-means (Lloyd) with linear initialization, 2^K centroids
evenly spaced over [min, max] of the layer's weights (Deep Compression found it
best: it keeps the rare large weights), run until no weight changes cluster.
Deterministic: no random choice. Zero is not one of the 2^K values, as in
Deep Compression and hwcomp.train: pruned weights stay exactly zero and are
not clustered (a sparse unit does not store them); only the non-zero weights
are. A layer whose non-zero weights already hold at most 2^K distinct values
is left exactly as it is (a model trained with weight sharing, a binary
layer). A dense unit's codebook holds 0 besides when the layer or its padding
has zeros, so its indices may take one bit more than K.

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


def kmeans_1d(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means of 1-D values from k centroids spaced evenly over [min, max]:
    (centroids, index of each value's centroid). A cluster left empty keeps its
    centroid; centroids stay sorted, so a value's nearest is found by bisection."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    c = np.linspace(v.min(), v.max(), k) if v.size else np.zeros(k)
    idx = None
    for _ in range(MAX_ITERATIONS):
        mid = (c[1:] + c[:-1]) / 2
        new = np.searchsorted(mid, v, side="left")
        if idx is not None and np.array_equal(new, idx):
            break
        idx = new
        sums = np.bincount(idx, weights=v, minlength=k)
        counts = np.bincount(idx, minlength=k)
        c = np.where(counts > 0, sums / np.maximum(counts, 1), c)
    return c, idx


def distinct_nonzero(w: np.ndarray) -> int:
    w = np.asarray(w)
    return int(np.unique(w[w != 0]).size)


def shared_values(w: np.ndarray, bits: int) -> np.ndarray | None:
    """w with its non-zero values clustered to at most 2^bits (zeros kept zero), same shape
    and dtype; None when they already hold at most 2^bits distinct values."""
    w = np.asarray(w)
    if distinct_nonzero(w) <= 1 << bits:
        return None
    nz = w != 0
    centroids, idx = kmeans_1d(w[nz], 1 << bits)
    out = np.zeros(w.shape, dtype=np.float64)
    out[nz] = centroids[idx]
    return out.astype(w.dtype)


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
    """Every layer of the integer graph holds at most 2^bits distinct non-zero weight codes."""
    for node in graph.nodes():
        if "weight" not in node.params:
            continue
        n = distinct_nonzero(node.params["weight"])
        if n > 1 << bits:
            raise HwcompError(f"{source}: layer {node.name!r} holds {n} distinct non-zero weight codes, more than "
                              f"2^{bits} = {1 << bits} for --share-weights {bits}; its quantizers fix its codes: "
                              f"supported: float models (clustered here) or quantized models whose layers "
                              f"already hold at most 2^K non-zero codes")
