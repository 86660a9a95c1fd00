"""Choose the folding of any design: PE and SIMD per matrix-vector unit, lanes
per sliding window, global pooling and join.

For a target initiation interval T the folder walks the region in topological
order and gives each block the fewest multiplier lanes (PE * SIMD; lanes for
the other blocks) whose stages, width converters and FIFOs included, all take
at most T cycles per image. A sliding window runs at the lanes of the block it
feeds (the unit's SIMD, or the pooling after it), so the pair is chosen
together. Where a block reads at other lanes than its producer writes, the
builder puts a width converter; among choices within a quarter of the fewest
lanes, the one that needs no converter wins. Every candidate is tried on the
builder itself (plan only, rolled back), so the cycles balanced here are those
of the stages that will be built.

Without a target, the largest layer gets DEFAULT_LANES lanes: T = its MACs / 64,
relaxed to the tightest feasible target when a block cannot reach it, then the
best PE utilization among slightly tighter targets. A read-only analysis.
"""
from __future__ import annotations

import math

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.numerics import ceil_div
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.window import SlidingWindow

from .blocks.base import block_of_op
from .blocks.mvu import unit_input
from .builder import Builder
from .folding import Folding

DEFAULT_LANES = 64   # multiplier lanes given to the largest layer when no target is set
CONVERTER_SLACK = 1.25   # lanes worth paying to avoid a width converter


class _Infeasible(Exception):
    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.node = node


def lane_options(n: int) -> list[int]:
    """Lane counts worth trying for n elements: the smallest one per fold count."""
    seen: dict[int, int] = {}
    for lanes in range(1, n + 1):
        seen.setdefault(ceil_div(n, lanes), lanes)
    return sorted(seen.values())


def mvus(graph: Graph, region: list[Node]) -> list[Node]:
    return [n for n in region if n.op is MatrixVectorUnit]


def unit_macs(graph: Graph, node: Node) -> int:
    u = unit_input(graph, node)
    return u.pixels * node.params["weight"].shape[0] * u.positions * u.channels


def ideal_ii(graph: Graph, region: list[Node], blocks: dict) -> float:
    return max(unit_macs(graph, n) / (blocks[n.name]["pe"] * blocks[n.name]["simd"]) for n in mvus(graph, region))


class _Walk:
    """One greedy pass at target T on a plan-only builder."""

    def __init__(self, graph: Graph, target: int) -> None:
        self.b = Builder(graph, plan_only=True)
        self.g, self.t = graph, target
        self.consumers = {n.name: [m for m in self.b.region if n.outputs[0] in m.inputs] for n in self.b.region}
        self.input_lanes: int | None = None

    def trial(self, nodes: list[Node], knobs: dict[str, dict]) -> int | None:
        """Cycles of the stages `nodes` would add with `knobs`; None if over target. Rolled back."""
        snap = self.b.snapshot()
        saved = {k: self.b.knobs.get(k) for k in knobs}
        self.b.knobs.update(knobs)
        started = self.b.src not in self.b.flow
        try:
            if started:
                first = next(iter(knobs.values()))
                self.b.start(first.get("lanes", first.get("simd")))
            for n in nodes:
                self.b.step(n)
            cycles = self.b.cycles_since(snap)
        finally:
            self.b.restore(snap)
            for k, v in saved.items():
                if v is None:
                    self.b.knobs.pop(k, None)
                else:
                    self.b.knobs[k] = v
        return cycles if cycles <= self.t else None

    def incoming(self, node: Node):
        return self.b.flow.get(node.inputs[0])

    def mvu_candidates(self, window: Node | None, unit: Node) -> list[tuple[int, bool, dict]]:
        """(lanes, needs converter, knobs) for a unit (and the window feeding it), fewest lanes first."""
        head = window or unit
        f = self.incoming(head)
        u = unit_input(self.g, unit)
        rows = unit.params["weight"].shape[0]
        channels = f.elems if f is not None else u.channels
        opts = set(lane_options(channels)) | ({f.lanes} if f is not None else set())
        out = []
        for s in sorted(opts):
            per_pixel = f.padded // s if f is not None and s == f.lanes else ceil_div(channels, s)
            nf_max = self.t // (u.pixels * u.positions * per_pixel)
            if nf_max < 1:
                continue
            pe = ceil_div(rows, min(nf_max, rows))
            knobs = {unit.name: {"pe": pe, "simd": s}}
            if window is not None:
                knobs[window.name] = {"lanes": s}
            out.append((pe * s, f is not None and s != f.lanes, knobs))
        return sorted(out, key=lambda c: (c[0], c[1]))

    def lanes_candidates(self, head: Node) -> list[tuple[int, bool, dict]]:
        f = self.incoming(head)
        channels = f.elems if f is not None else self.g.tensors[head.inputs[0]].shape[-1]
        opts = sorted(set(lane_options(channels)) | ({f.lanes} if f is not None else set()))
        if f is not None:  # the producer's lanes first: no converter
            opts = [f.lanes] + [o for o in opts if o > f.lanes]
        return [(s, f is not None and s != f.lanes, {head.name: {"lanes": s}}) for s in opts]

    def choose(self, nodes: list[Node], cands: list[tuple[int, bool, dict]]) -> dict:
        """The first candidate (fewest lanes) that meets the target, unless a converter-free
        one within CONVERTER_SLACK of its lanes does too."""
        best = next((c for c in cands if self.trial(nodes, c[2]) is not None), None)
        if best is None:
            raise _Infeasible(nodes[-1].name)
        if best[1]:
            for lanes, conv, knobs in cands:
                if not conv and lanes <= best[0] * CONVERTER_SLACK and self.trial(nodes, knobs) is not None:
                    return knobs
        return best[2]

    def run(self) -> Folding:
        pending: set[str] = set()
        for n in self.b.region:
            if n.name not in pending:
                block = block_of_op(n.op)
                nxt = self.consumers[n.name]
                if n.op is SlidingWindow and len(nxt) == 1 and nxt[0].op is MatrixVectorUnit:
                    knobs = self.choose([n, nxt[0]], self.mvu_candidates(n, nxt[0]))
                    pending.add(nxt[0].name)
                elif n.op is SlidingWindow and len(nxt) == 1:
                    knobs = self.choose([n, nxt[0]], self.lanes_candidates(n))
                    pending.add(nxt[0].name)
                elif n.op is MatrixVectorUnit:
                    knobs = self.choose([n], self.mvu_candidates(None, n))
                elif block.knobs(n, self.g):
                    knobs = self.choose([n], self.lanes_candidates(n))
                else:
                    knobs = {}
                if self.b.src not in self.b.flow:
                    first = next(iter(knobs.values()), None)
                    lanes = first.get("lanes", first.get("simd")) if first else min(
                        self.g.tensors[self.b.src].shape[-1], DEFAULT_LANES)
                    self.b.start(lanes)
                self.b.knobs.update(knobs)
            self.b.step(n)
        return _record(self.b)


def _record(b: Builder) -> Folding:
    blocks = {k: v for k, v in b.knobs.items()}
    return Folding(b.flow[b.src].lanes, blocks, max(s.cycles for s in b.stages), ideal_ii(b.graph, b.region, blocks))


def fold_at(graph: Graph, target: int) -> Folding:
    """The folding with the fewest lanes meeting `target` cycles per image."""
    try:
        return _Walk(graph, target).run()
    except _Infeasible as e:
        raise HwcompError(f"target initiation interval {target} cycles cannot be met by {e.node!r}") from None


def _feasible(graph: Graph, target: int) -> Folding | None:
    try:
        return _Walk(graph, target).run()
    except _Infeasible:
        return None


def default_target(graph: Graph, region: list[Node]) -> int:
    return max(1, math.ceil(max(unit_macs(graph, n) for n in mvus(graph, region)) / DEFAULT_LANES))


def balanced_folding(graph: Graph, target_ii: int | None = None) -> Folding:
    if target_ii:
        return fold_at(graph, target_ii)
    b = Builder(graph, plan_only=True)
    target = default_target(graph, b.region)
    best = _feasible(graph, target)
    if best is None:  # a block cannot reach 64 lanes' worth: the tightest target that works
        lo, hi = target, target * 2
        while (best := _feasible(graph, hi)) is None:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            f = _feasible(graph, mid)
            lo, hi, best = (lo, mid, f) if f is not None else (mid, hi, best)
        target = hi
    # Odd sizes waste cycles on padding: among slightly tighter targets, prefer the
    # best PE utilization at a similar lane count.
    lanes = _lanes(best)
    for t in sorted({int(target * (1 - k / 50)) for k in range(1, 6)}, reverse=True):
        f = _feasible(graph, t) if t >= 1 else None
        if f is None:
            break
        if f.ideal_ii / f.ii > best.ideal_ii / best.ii + 1e-9 and _lanes(f) <= lanes * 1.15:
            best = f
    return best


def _lanes(f: Folding) -> int:
    return sum(v["pe"] * v["simd"] for v in f.blocks.values() if "pe" in v)


def explicit_folding(graph: Graph, pe_simd) -> Folding:
    """User-given (PE, SIMD) per unit: a list in unit order or a dict by node name.
    Any values in 1..rows and 1..input channels; width converters join neighbours
    that differ, and windows run at the SIMD of the unit they feed."""
    b = Builder(graph, plan_only=True)
    units = mvus(graph, b.region)
    names = [n.name for n in units]
    if isinstance(pe_simd, dict):
        unknown = sorted(set(pe_simd) - set(names))
        if unknown:
            raise HwcompError(f"--fold names {', '.join(map(repr, unknown))}, which are not layers of the model; "
                              f"its layers: {', '.join(names)}")
        given = dict(pe_simd)
        missing = [n for n in names if n not in given]
        if missing:
            raise HwcompError(f"--fold gives no PE x SIMD for {', '.join(map(repr, missing))}")
    else:
        if len(pe_simd) != len(units):
            raise HwcompError(f"--fold gives {len(pe_simd)} layers but the model has {len(units)}: {', '.join(names)}")
        given = dict(zip(names, pe_simd))
    knobs: dict[str, dict[str, int]] = {}
    for n in units:
        pe, simd = given[n.name]
        rows, chans = n.params["weight"].shape[0], unit_input(graph, n).channels
        if not (1 <= pe <= rows and 1 <= simd <= chans):
            raise HwcompError(f"layer {n.name!r}: PE must be 1..{rows} and SIMD 1..{chans}, got PE={pe} SIMD={simd}")
        knobs[n.name] = {"pe": int(pe), "simd": int(simd)}
        src = graph.producer(n.inputs[0])
        if src is not None and src.op is SlidingWindow:
            knobs[src.name] = {"lanes": int(simd)}
    first = next(m for m in b.region if b.src in m.inputs)
    first_knobs = knobs.get(first.name, {})
    lanes = first_knobs.get("lanes", first_knobs.get("simd", min(graph.tensors[b.src].shape[-1], DEFAULT_LANES)))
    b.knobs = knobs
    b.start(lanes)
    for n in b.region:
        b.step(n)
    return _record(b)
