"""Choose the folding of any design: PE and SIMD per matrix-vector unit, lanes
per sliding window, global pooling and join.

The folder walks the region in topological order. At each block it asks the
block's class for candidate knob values (`Block.fold_candidates`, fewest lanes
first: PE * SIMD for a unit, lanes for the others) and tries them on the
builder itself (plan only, no weights, rolled back), so the cycles it balances
are those of the stages that will be built, width converters, windows and
FIFOs included. A block may fold together with its consumer
(`Block.fold_with`): a sliding window runs at the lanes of the unit or pooling
it feeds, so the pair is chosen at once.

- Target T (`--ii`): each block takes the first candidate whose stages all
  take at most T cycles per image, unless one that needs no width converter
  does within CONVERTER_SLACK of its lanes.
- Default: T = the largest layer's MACs / DEFAULT_LANES, relaxed to the
  tightest feasible target when a block cannot reach it, then the best PE
  utilization among slightly tighter targets.
- Explicit (`--fold`): the user's PE and SIMD per unit; every other block reads
  at its producer's lanes (windows at their unit's SIMD); no target.

A read-only analysis: it returns the folding record (hw/folding.py).
"""
from __future__ import annotations

import math

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.numerics import ceil_div

from .blocks.base import block_of_op, lane_options
from .builder import Builder
from .folding import Folding

DEFAULT_LANES = 64        # multiplier lanes given to the largest layer when no target is set
CONVERTER_SLACK = 1.25    # lanes worth paying to avoid a width converter


class _Infeasible(Exception):
    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.node = node


class Walk:
    """One pass over the region on a plan-only builder; what fold_candidates may ask."""

    def __init__(self, graph: Graph, target: int | None = None, fixed: dict | None = None) -> None:
        self.b = Builder(graph, plan_only=True)
        self.g = graph
        self.t = target if target is not None else math.inf
        self.fixed = fixed          # explicit folding: unit name -> (PE, SIMD); None: search
        self.consumers = {n.name: [m for m in self.b.region if n.outputs[0] in m.inputs] for n in self.b.region}

    def incoming(self, node: Node):
        """The flow `node` reads (None before the design's input stream exists)."""
        return self.b.flow.get(node.inputs[0])

    def lanes_candidates(self, head: Node, knob_of: Node | None = None) -> list[tuple[int, bool, dict]]:
        """Lanes for `head` (recorded on `knob_of`, default head): the producer's first
        (no converter), then more; in explicit mode only the producer's."""
        f = self.incoming(head)
        who = (knob_of or head).name
        if f is None:
            channels = self.g.tensors[head.inputs[0]].shape[-1]
            opts = [min(channels, DEFAULT_LANES)] if self.fixed is not None else lane_options(channels)
            return [(s, False, {who: {"lanes": s}}) for s in opts]
        if self.fixed is not None:
            return [(f.lanes, False, {who: {"lanes": f.lanes}})]
        return [(s, s != f.lanes, {who: {"lanes": s}}) for s in [f.lanes] + [o for o in lane_options(f.elems)
                                                                          if o > f.lanes]]

    def trial(self, nodes: list[Node], knobs: dict[str, dict]) -> int | None:
        """Cycles of the stages `nodes` would add with `knobs`; None if over target. Rolled back."""
        snap = self.b.snapshot()
        saved = {k: self.b.knobs.get(k) for k in knobs}
        self.b.knobs.update(knobs)
        try:
            if self.b.src not in self.b.flow:
                self.b.start(_first_lanes(knobs))
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
        decided: set[str] = set()
        for n in self.b.region:
            if n.name not in decided:
                block = block_of_op(n.op)
                partner = block.fold_with(n, self.consumers[n.name])
                group = [n, partner] if partner is not None else [n]
                owner = block_of_op(group[-1].op)
                cands = owner.fold_candidates(self, group[-1], n if partner is not None else None)
                knobs = self.choose(group, cands) if cands is not None else {}
                decided.update(m.name for m in group)
                if self.b.src not in self.b.flow:
                    self.b.start(_first_lanes(knobs) if knobs else
                                 min(self.g.tensors[self.b.src].shape[-1], DEFAULT_LANES))
                self.b.knobs.update(knobs)
            self.b.step(n)
        return _record(self.b)


def _first_lanes(knobs: dict) -> int:
    """The input stream's lanes: what the first block to read it asks for."""
    first = next(iter(knobs.values()))
    return first.get("lanes", first.get("simd"))


def _record(b: Builder) -> Folding:
    blocks = {k: dict(v) for k, v in b.knobs.items()}
    ideal = max(block_of_op(n.op).ideal_cycles(n, b.graph, blocks.get(n.name, {})) for n in b.region)
    return Folding(b.flow[b.src].lanes, blocks, max(s.cycles for s in b.stages), ideal)


def fold_at(graph: Graph, target: int) -> Folding:
    """The folding with the fewest lanes meeting `target` cycles per image."""
    try:
        return Walk(graph, target).run()
    except _Infeasible as e:
        raise HwcompError(f"target initiation interval {target} cycles cannot be met by {e.node!r}") from None


def feasible_folding(graph: Graph, target: int) -> Folding | None:
    """The fewest-lanes folding meeting `target`, or None when no folding does."""
    try:
        return Walk(graph, target).run()
    except _Infeasible:
        return None


def slowest_folding(graph: Graph) -> Folding:
    """Every block at its fewest lanes: the least hardware any folding has."""
    return Walk(graph, 1 << 62).run()   # an integer target: candidates divide by it


def fastest_target(graph: Graph) -> int:
    """The smallest target any folding meets (every block at its most lanes)."""
    lo, hi = 0, slowest_folding(graph).ii   # lo is never met, hi always is
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if feasible_folding(graph, mid) is not None else (mid, hi)
    return hi


def default_target(graph: Graph, region: list[Node]) -> int:
    return max(1, math.ceil(max(block_of_op(n.op).macs(n, graph) for n in region) / DEFAULT_LANES))


def _lanes(f: Folding) -> int:
    return sum(v["pe"] * v["simd"] for v in f.blocks.values() if "pe" in v)


def balanced_folding(graph: Graph, target_ii: int | None = None) -> Folding:
    if target_ii:
        return fold_at(graph, target_ii)
    target = default_target(graph, Builder(graph, plan_only=True).region)
    best = feasible_folding(graph, target)
    if best is None:  # a block cannot reach 64 lanes' worth: the tightest target that works
        lo, hi = target, target * 2
        while (best := feasible_folding(graph, hi)) is None:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            f = feasible_folding(graph, mid)
            lo, hi, best = (lo, mid, f) if f is not None else (mid, hi, best)
        target = hi
    # Odd sizes waste cycles on padding: among slightly tighter targets, prefer the
    # best PE utilization at a similar lane count.
    lanes = _lanes(best)
    for t in sorted({int(target * (1 - k / 50)) for k in range(1, 6)}, reverse=True):
        f = feasible_folding(graph, t) if t >= 1 else None
        if f is None:
            break
        if f.ideal_ii / f.ii > best.ideal_ii / best.ii + 1e-9 and _lanes(f) <= lanes * 1.15:
            best = f
    return best


def explicit_folding(graph: Graph, pe_simd) -> Folding:
    """User-given (PE, SIMD) per unit: a list in unit order or a dict by node name.
    Any values the units' knobs allow; width converters join neighbours that differ."""
    walk = Walk(graph, fixed={})
    units = [n for n in walk.b.region if any(k.name == "pe" for k in block_of_op(n.op).knobs(n, graph))]
    names = [n.name for n in units]
    if isinstance(pe_simd, dict):
        unknown = sorted(set(pe_simd) - set(names))
        if unknown:
            raise HwcompError(f"--fold names {', '.join(map(repr, unknown))}, which are not layers of the model; "
                              f"its layers: {', '.join(names)}")
        missing = [n for n in names if n not in pe_simd]
        if missing:
            raise HwcompError(f"--fold gives no PE x SIMD for {', '.join(map(repr, missing))}")
        given = dict(pe_simd)
    else:
        if len(pe_simd) != len(units):
            raise HwcompError(f"--fold gives {len(pe_simd)} layers but the model has {len(units)}: {', '.join(names)}")
        given = dict(zip(names, pe_simd))
    for n in units:
        values = dict(zip(("pe", "simd"), (int(v) for v in given[n.name])))
        bounds = {k.name: k.upper for k in block_of_op(n.op).knobs(n, graph)}
        if not all(1 <= values[k] <= bounds[k] for k in ("pe", "simd")):
            raise HwcompError(f"layer {n.name!r}: PE must be 1..{bounds['pe']} and SIMD 1..{bounds['simd']}, "
                              f"got PE={values['pe']} SIMD={values['simd']}")
        walk.fixed[n.name] = (values["pe"], values["simd"])
    return walk.run()

