"""Choose PE and SIMD for a chain of matrix-vector units.

A unit k reads a stream of vectors whose elements are `channels` values at
each of `positions` places (1 for a dense layer, K*K for a convolution
window, H*W after a Flatten), `pixels` vectors per image. Units are joined
without width converters, so SIMD[k+1] = PE[k]: layer k's output travels as
NF[k] = ceil(rows[k] / PE[k]) beats of PE[k] lanes per pixel, and unit k+1
takes pixels * NF[k+1] * positions * NF[k] cycles per image. Blocks between
units (sliding windows, pooling) move beats: `stream_beats[k] * NF[k]`
cycles per image, where stream_beats[k] counts the beats per lane-group they
handle. For a target initiation interval T the folder picks, by dynamic
programming over the chain, the PE values with the fewest multiplier lanes
(sum of PE*SIMD) such that every block meets T; ties go to less padding.
This is a read-only analysis returning plain data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hwcomp.errors import HwcompError

from .design import ceil_div

DEFAULT_LANES = 64  # multiplier lanes given to the largest layer when no target is set


@dataclass(frozen=True)
class LayerFold:
    rows: int
    channels: int        # input channels per position
    pe: int
    simd: int
    positions: int = 1   # kernel positions (or flattened pixels) per vector
    pixels: int = 1      # vectors per image

    @property
    def cols(self) -> int:
        return self.positions * self.channels

    @property
    def nf(self) -> int:
        return ceil_div(self.rows, self.pe)

    @property
    def sf(self) -> int:
        return self.positions * ceil_div(self.channels, self.simd)

    @property
    def cycles(self) -> int:
        """Cycles per image."""
        return self.pixels * self.nf * self.sf

    @property
    def lanes(self) -> int:
        return self.pe * self.simd

    @property
    def macs(self) -> int:
        return self.pixels * self.rows * self.cols

    @property
    def ideal_cycles(self) -> float:
        return self.macs / self.lanes


@dataclass(frozen=True)
class ChainLayer:
    """What the folder needs to know about one unit (see the module docstring)."""
    rows: int
    channels: int
    positions: int = 1
    pixels: int = 1


@dataclass(frozen=True)
class Folding:
    layers: tuple[LayerFold, ...]
    stream_cycles: tuple[int, ...] = ()   # cycles of the non-MVU blocks on each stream

    @property
    def ii(self) -> int:
        return max([layer.cycles for layer in self.layers] + list(self.stream_cycles))

    @property
    def ideal_ii(self) -> float:
        """MACs / (PE*SIMD) of the slowest block: what a PE array without padding would take."""
        return max(layer.ideal_cycles for layer in self.layers)

    @property
    def lanes(self) -> int:
        return sum(layer.lanes for layer in self.layers)


def _options(n: int) -> list[tuple[int, int]]:
    """(lanes, folds) pairs worth trying for a dimension n: the smallest lane count per fold count."""
    seen: dict[int, int] = {}
    for lanes in range(1, n + 1):
        seen.setdefault(ceil_div(n, lanes), lanes)
    return sorted((lanes, folds) for folds, lanes in seen.items())


def _as_layers(dims) -> list[ChainLayer]:
    return [d if isinstance(d, ChainLayer) else ChainLayer(d[0], d[1]) for d in dims]


def _check_chain(layers: list[ChainLayer]) -> None:
    for a, b in zip(layers, layers[1:]):
        if a.rows != b.channels:
            raise ValueError("layers do not form a chain")


def fold_chain(dims, target_ii: int, stream_beats: list[int] | None = None) -> Folding:
    """dims: ChainLayers (or (rows, cols) pairs for dense layers). Fewest lanes meeting target_ii."""
    layers = _as_layers(dims)
    _check_chain(layers)
    sizes = [layers[0].channels] + [l.rows for l in layers]  # sizes[k]: channels of stream k
    beats = list(stream_beats or [0] * len(sizes))
    opts = [[o for o in _options(s) if beats[k] * o[1] <= target_ii] for k, s in enumerate(sizes)]
    best = {o: (0, o[0] * o[1] - sizes[0], (o,)) for o in opts[0]}
    for k in range(1, len(sizes)):
        layer = layers[k - 1]
        m = layer.pixels * layer.positions
        nxt: dict[tuple[int, int], tuple[int, int, tuple]] = {}
        for o in opts[k]:
            cands = [(cost + prev[0] * o[0], pad + o[0] * o[1] - sizes[k], path + (o,))
                     for prev, (cost, pad, path) in best.items() if m * prev[1] * o[1] <= target_ii]
            if cands:
                nxt[o] = min(cands)
        if not nxt:
            raise HwcompError(f"target initiation interval {target_ii} cycles cannot be met by layer {k - 1}")
        best = nxt
    _, _, path = min(best.values())
    return _folding(layers, [(path[k + 1][0], path[k][0]) for k in range(len(layers))], beats)


def _folding(layers: list[ChainLayer], pe_simd, beats: list[int]) -> Folding:
    folds = tuple(LayerFold(l.rows, l.channels, pe, simd, l.positions, l.pixels)
                  for l, (pe, simd) in zip(layers, pe_simd))
    nfs = [ceil_div(layers[0].channels, folds[0].simd)] + [f.nf for f in folds]
    return Folding(folds, tuple(b * nf for b, nf in zip(beats, nfs)))


def default_target_ii(dims) -> int:
    layers = _as_layers(dims)
    return max(1, math.ceil(max(l.pixels * l.rows * l.channels * l.positions for l in layers) / DEFAULT_LANES))


def balanced_folding(dims, target_ii: int | None = None, stream_beats: list[int] | None = None) -> Folding:
    """Meet the target (default: DEFAULT_LANES lanes on the largest layer) with the fewest
    lanes; among targets up to 10% tighter, prefer the one with the best PE utilization
    so odd layer sizes do not waste cycles on padding. If the default target cannot be
    met (a layer with few channels cannot use 64 lanes), relax it to what can be met."""
    target = target_ii or default_target_ii(dims)
    try:
        best = fold_chain(dims, target, stream_beats)
    except HwcompError:
        if target_ii:
            raise
        lo, hi = target, target
        while True:  # find a feasible target, then the tightest one
            hi *= 2
            try:
                fold_chain(dims, hi, stream_beats)
                break
            except HwcompError:
                lo = hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                fold_chain(dims, mid, stream_beats)
                hi = mid
            except HwcompError:
                lo = mid
        target = hi
        best = fold_chain(dims, target, stream_beats)
    for t in range(target - 1, max(0, int(target * 0.9)), -1):
        try:
            f = fold_chain(dims, t, stream_beats)
        except HwcompError:
            break
        if f.ideal_ii / f.ii > best.ideal_ii / best.ii + 1e-9 and f.lanes <= best.lanes * 1.15:
            best = f
    return best


def explicit_folding(dims, pe_simd: list[tuple[int, int]], names: list[str],
                     stream_beats: list[int] | None = None) -> Folding:
    """User-given (PE, SIMD) per layer, checked against the chain rule."""
    layers = _as_layers(dims)
    if len(pe_simd) != len(layers):
        raise HwcompError(f"--fold gives {len(pe_simd)} layers but the model has {len(layers)}: {', '.join(names)}")
    for k, (l, (pe, simd)) in enumerate(zip(layers, pe_simd)):
        if not (1 <= pe <= l.rows and 1 <= simd <= l.channels):
            raise HwcompError(f"layer {names[k]!r}: PE must be 1..{l.rows} and SIMD 1..{l.channels}, "
                              f"got PE={pe} SIMD={simd}")
        if k and simd != pe_simd[k - 1][0]:
            raise HwcompError(f"layer {names[k]!r}: SIMD ({simd}) must equal the PE of the layer before "
                              f"({pe_simd[k - 1][0]}): layers are joined without width converters")
    return _folding(layers, pe_simd, list(stream_beats or [0] * (len(layers) + 1)))
