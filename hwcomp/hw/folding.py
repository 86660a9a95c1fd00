"""Choose PE and SIMD for a chain of matrix-vector units.

Layer k+1 reads layer k's output words directly, so SIMD[k+1] = PE[k]. With
NF[k] = ceil(rows[k] / PE[k]) row folds (NF[-1] = input beats), layer k takes
NF[k-1] * NF[k] cycles per vector. For a target initiation interval T the
folder picks, by dynamic programming over the chain, the PE values with the
fewest multiplier lanes (sum of PE*SIMD) such that every layer meets T; ties
go to less padding. This is a read-only analysis returning plain data.
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
    cols: int
    pe: int
    simd: int

    @property
    def nf(self) -> int:
        return ceil_div(self.rows, self.pe)

    @property
    def sf(self) -> int:
        return ceil_div(self.cols, self.simd)

    @property
    def cycles(self) -> int:
        return self.nf * self.sf

    @property
    def lanes(self) -> int:
        return self.pe * self.simd

    @property
    def ideal_cycles(self) -> float:
        return self.rows * self.cols / self.lanes


@dataclass(frozen=True)
class Folding:
    layers: tuple[LayerFold, ...]

    @property
    def ii(self) -> int:
        return max(layer.cycles for layer in self.layers)

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
        folds = ceil_div(n, lanes)
        seen.setdefault(folds, lanes)
    return sorted((lanes, folds) for folds, lanes in seen.items())


def fold_chain(dims: list[tuple[int, int]], target_ii: int) -> Folding:
    """dims: (rows, cols) per layer with cols[k+1] == rows[k]. Fewest lanes meeting target_ii."""
    for (r, _), (_, c) in zip(dims, dims[1:]):
        if r != c:
            raise ValueError("layers do not form a chain")
    sizes = [dims[0][1]] + [r for r, _ in dims]  # sizes[k]: width of the stream into layer k
    # best[k][(lanes, folds)] = (total lanes, padding, choice path) for streams 0..k
    best: dict[tuple[int, int], tuple[int, int, tuple]] = {
        o: (0, o[0] * o[1] - sizes[0], (o,)) for o in _options(sizes[0])
    }
    for k in range(1, len(sizes)):
        nxt: dict[tuple[int, int], tuple[int, int, tuple]] = {}
        for o in _options(sizes[k]):
            cands = [
                (cost + prev[0] * o[0], pad + o[0] * o[1] - sizes[k], path + (o,))
                for prev, (cost, pad, path) in best.items()
                if prev[1] * o[1] <= target_ii
            ]
            if cands:
                nxt[o] = min(cands)
        if not nxt:
            raise HwcompError(f"target initiation interval {target_ii} cycles cannot be met by layer {k - 1}")
        best = nxt
    _, _, path = min(best.values())
    return Folding(tuple(LayerFold(r, c, path[k + 1][0], path[k][0]) for k, (r, c) in enumerate(dims)))


def default_target_ii(dims: list[tuple[int, int]]) -> int:
    return max(1, math.ceil(max(r * c for r, c in dims) / DEFAULT_LANES))


def balanced_folding(dims: list[tuple[int, int]], target_ii: int | None = None) -> Folding:
    """Meet the target (default: DEFAULT_LANES lanes on the largest layer) with the fewest
    lanes; among targets up to 10% tighter, prefer the one with the best PE utilization
    so odd layer sizes do not waste cycles on padding."""
    target = target_ii or default_target_ii(dims)
    best = fold_chain(dims, target)
    for t in range(target - 1, max(0, int(target * 0.9)), -1):
        try:
            f = fold_chain(dims, t)
        except HwcompError:
            break
        if f.ideal_ii / f.ii > best.ideal_ii / best.ii + 1e-9 and f.lanes <= best.lanes * 1.15:
            best = f
    return best


def explicit_folding(dims: list[tuple[int, int]], pe_simd: list[tuple[int, int]], names: list[str]) -> Folding:
    """User-given (PE, SIMD) per layer, checked against the chain rule."""
    if len(pe_simd) != len(dims):
        raise HwcompError(f"--fold gives {len(pe_simd)} layers but the model has {len(dims)}: {', '.join(names)}")
    layers = []
    for k, ((r, c), (pe, simd)) in enumerate(zip(dims, pe_simd)):
        if not (1 <= pe <= r and 1 <= simd <= c):
            raise HwcompError(f"layer {names[k]!r}: PE must be 1..{r} and SIMD 1..{c}, got PE={pe} SIMD={simd}")
        if k and simd != pe_simd[k - 1][0]:
            raise HwcompError(f"layer {names[k]!r}: SIMD ({simd}) must equal the PE of the layer before "
                              f"({pe_simd[k - 1][0]}): layers are joined without width converters")
        layers.append(LayerFold(r, c, pe, simd))
    return Folding(tuple(layers))
