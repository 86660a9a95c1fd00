"""Weight sharing by k-means with codebook fine-tuning (trained quantization,
Han et al. 2016, "Deep Compression").

Each layer's non-zero weights are clustered into 2^K values: 1-D k-means
(Lloyd) from a linear initialization, centroids evenly spaced over
[min, max] of the non-zero weights (the paper's best initialization, and no
randomness: the same weights give the same codebook). Pruned weights (exact
zeros) are not cluster members and stay exactly zero. With reserve_zero,
2^K - 1 centroids are trained and the zero is the codebook's last entry, so
the layer holds at most 2^K distinct values counting the zero (a sparse
unit's padding entries need a zero code).

The layer then computes with codebook[index] (a parametrization of its
weight): the index of every weight is fixed, the codebook is the trainable
parameter, and autograd gives each centroid the sum of the gradients of its
members. `make_permanent` writes codebook[index] back as a plain weight.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn.utils import parametrize

from .masks import make_permanent, prunable_layers

PRUNED = -1  # the index of a pruned weight


def kmeans_1d(values: np.ndarray, clusters: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on 1-D values from the linear initialization over
    [min, max]; returns (centroids ascending, float32 [clusters]; label of
    each value). A centroid that loses all its members stays where it was.
    Each value goes to the nearest centroid, ties to the lower one."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if clusters < 1:
        raise ValueError(f"need at least one cluster, got {clusters}")
    if v.size == 0:
        return np.zeros(clusters, np.float32), np.zeros(0, np.int64)
    c = np.linspace(v.min(), v.max(), clusters)
    for _ in range(max_iter):
        labels = _nearest(v, c)
        sums = np.bincount(labels, weights=v, minlength=clusters)
        counts = np.bincount(labels, minlength=clusters)
        new = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), c))  # sorted: a guard for float ties
        if np.array_equal(new, c):
            break
        c = new
    return c.astype(np.float32), _nearest(v, c.astype(np.float32).astype(np.float64))


def _nearest(v: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Index of the nearest of the ascending centroids c, ties to the lower one,
    found from the midpoints between neighbours."""
    return np.searchsorted((c[1:] + c[:-1]) / 2, v, side="left").astype(np.int64)


class SharedWeight(torch.nn.Module):
    """Parametrization: the weight is codebook[index], 0 where index == PRUNED."""

    def __init__(self, codebook: np.ndarray, index: np.ndarray) -> None:
        super().__init__()
        self.codebook = torch.nn.Parameter(torch.from_numpy(np.asarray(codebook, np.float32).copy()))
        self.register_buffer("index", torch.from_numpy(np.asarray(index, np.int64).copy()))

    def forward(self, _w: torch.Tensor) -> torch.Tensor:
        values = self.codebook[self.index.clamp_min(0)]
        return torch.where(self.index == PRUNED, torch.zeros((), dtype=values.dtype), values)


def get_shared(layer: torch.nn.Module) -> SharedWeight | None:
    if not parametrize.is_parametrized(layer, "weight"):
        return None
    found = [p for p in layer.parametrizations["weight"] if isinstance(p, SharedWeight)]
    return found[0] if found else None


@torch.no_grad()
def share_layer(layer: torch.nn.Module, bits: int, *, reserve_zero: bool = False,
                max_iter: int = 100) -> np.ndarray:
    """Cluster one layer's non-zero weights into 2^bits values (2^bits - 1 with
    reserve_zero) and make it compute with codebook[index]. Masks on the layer
    are made permanent first (their zeros are the pruned weights). Returns the
    codebook, with the reserved 0.0 last when reserve_zero."""
    if not 1 <= bits <= 16:
        raise ValueError(f"weight sharing bits must be 1..16, got {bits}")
    clusters = 2 ** bits - (1 if reserve_zero else 0)
    if clusters < 1:
        raise ValueError("reserve_zero needs bits >= 1 and leaves 2^bits - 1 >= 1 clusters")
    make_permanent(layer)
    w = layer.weight.detach().numpy().astype(np.float32)
    nonzero = w != 0
    centroids, labels = kmeans_1d(w[nonzero], clusters, max_iter)
    index = np.full(w.shape, PRUNED, np.int64)
    index[nonzero] = labels
    parametrize.register_parametrization(layer, "weight", SharedWeight(centroids, index))
    layer.parametrizations.weight.original.requires_grad_(False)  # only the codebook trains
    return np.concatenate([centroids, [0.0]]).astype(np.float32) if reserve_zero else centroids


def share_weights(model: torch.nn.Module, bits: int, *, layers=None, reserve_zero: bool = False,
                  max_iter: int = 100) -> dict[str, np.ndarray]:
    """share_layer on every selected Linear/Conv2d layer; returns {layer: codebook}.
    Fine-tune afterwards with finetune(): only codebooks and biases change."""
    return {name: share_layer(m, bits, reserve_zero=reserve_zero, max_iter=max_iter)
            for name, m in prunable_layers(model, layers).items()}


@torch.no_grad()
def distinct_values(model: torch.nn.Module, layers=None, nonzero: bool = True) -> dict[str, int]:
    """Number of distinct (non-zero, unless nonzero=False) weight values per layer."""
    out = {}
    for name, m in prunable_layers(model, layers).items():
        w = m.weight.detach().flatten()
        out[name] = int(torch.unique(w[w != 0] if nonzero else w).numel())
    return out
