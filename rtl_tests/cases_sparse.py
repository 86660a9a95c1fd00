"""The sparse unit's RTL test matrix, defined once: random sparsity patterns on
dense LayerSpecs (cases.py), with every HDL parameter fixed per spec so one
Verilator build serves every seed (the entry ROM is padded to the longest
draw's steps)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cases import LayerSpec, make_layer

from hwcomp.hw.design import pack_beats
from hwcomp.hw.sparse import SparseLayer, sparse_layer, sparse_reference


@dataclass(frozen=True)
class SparseSpec:
    name: str
    layer: LayerSpec
    density: float                   # share of non-zero weights
    idx_width: int
    entries: int | None = None       # ENTRIES of the build; default: the longest seed's


def sparse_weights(spec: SparseSpec, seed: int):
    """The dense layer of a draw with its random sparsity pattern applied (rng shared onward)."""
    rng = np.random.default_rng(seed)
    dense = make_layer(spec.layer, rng)
    w = np.asarray(dense.weights).copy()
    w[rng.random(w.shape) >= spec.density] = 0
    return replace(dense, weights=w), rng


def natural_entries(spec: SparseSpec, seeds) -> int:
    return max(sparse_layer(sparse_weights(spec, s)[0], spec.idx_width).entries for s in seeds)


def make_sparse(spec: SparseSpec, seed: int, entries: int) -> tuple[SparseLayer, np.random.Generator]:
    dense, rng = sparse_weights(spec, seed)
    return sparse_layer(dense, spec.idx_width, entries=entries), rng


def sparse_expected_words(layer: SparseLayer, x: np.ndarray) -> np.ndarray:
    return pack_beats(sparse_reference(layer, x), layer.pe, layer.out_width)


# Default run: together PE / SIMD dividing nothing, SIMD not a power of two, SF = 1,
# one lane, index widths of 1 to 3 bits (many padding entries), empty rows, requant
# with and without a shift, saturating bounds, the accumulator out, a shift per row,
# an input-bound layer (SF > E) and one whose steps equal its input beats.
SPARSE_SPECS = (
    SparseSpec("odd_fold", LayerSpec("l", rows=7, cols=13, pe=3, simd=4, in_width=4, in_signed=True,
                                     weight_width=4, relu=True, requant=True, shift=3, out_width=4),
               density=0.3, idx_width=2),
    SparseSpec("serial_acc_out", LayerSpec("l", rows=5, cols=6, pe=1, simd=1, in_width=3, in_signed=False,
                                           weight_width=3, relu=False, requant=False),
               density=0.5, idx_width=1),
    SparseSpec("one_word_simd9", LayerSpec("l", rows=4, cols=9, pe=4, simd=9, in_width=8, in_signed=True,
                                           weight_width=2, relu=False, requant=False, bias_limit=300),
               density=0.2, idx_width=3),
    SparseSpec("long_gaps_empty_rows", LayerSpec("l", rows=12, cols=40, pe=4, simd=3, in_width=5,
                                                 in_signed=False, weight_width=5, relu=False, requant=True,
                                                 shift=2, out_width=5, out_signed=True, out_bounds=(-9, 11)),
               density=0.06, idx_width=2),
    SparseSpec("row_shifts", LayerSpec("l", rows=7, cols=10, pe=2, simd=5, in_width=5, in_signed=False,
                                       weight_width=6, relu=True, requant=True, out_width=4,
                                       bias_limit=100, row_shifts=True),
               density=0.4, idx_width=3),
    SparseSpec("input_bound", LayerSpec("l", rows=2, cols=24, pe=2, simd=1, in_width=4, in_signed=True,
                                        weight_width=4, relu=True, requant=True, shift=4, out_width=3),
               density=0.3, idx_width=2),
    SparseSpec("steps_equal_beats", LayerSpec("l", rows=4, cols=8, pe=2, simd=1, in_width=4, in_signed=False,
                                              weight_width=4, relu=True, requant=True, shift=1, out_width=4),
               density=0.3, idx_width=2, entries=8),
)

SPARSE_SEEDS = (1, 2, 3)
