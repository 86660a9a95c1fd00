"""Structured pruning of a canonical float graph: dead channels always, and
with a ratio the filters/neurons of smallest L1 norm (Li et al. 2016).

A *group* (passes/channel_groups) is the unit removed: one output channel of
a layer, or the channels a residual add ties together across its branches.

Dead groups are removed without changing any output: at every sink that reads
the group, either the sink's weights for it are all zero, or its value is a
known constant that is 0, or a non-zero constant the sink folds exactly into
its bias (Dense; Conv without padding). Removing dead channels can make others
dead (a filter whose only non-zero taps read them now outputs its bias), so
it repeats until nothing is removed.

L1 ranking scores an element by the L1 norm of its filter divided by the mean
of its layer's (so that scores compare across layers), a group by the mean
of its elements' scores. `layer` scope removes floor(ratio * n) of the n
removable groups of each layer (the layers a group ties count as one);
`global` removes floor(ratio * n) of all n removable groups, lowest first.
Either way a layer keeps at least one channel, and the model's outputs (and
channels of ops the analysis does not know) are never removed.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph
from hwcomp.ir.verify import verify

from .base import Pass
from .channel_groups import ChannelFlow, analyze, producer_weight
from .channel_surgery import exact_fold, remove_elements
from .pruning_record import pruning_record

SCOPES = ("layer", "global")


def check_prune_options(ratio, scope: str) -> None:
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, numbers.Real)
                              or not 0 <= ratio < 1):
        raise HwcompError(f"structured pruning ratio {ratio!r}: supported a fraction of the channels in [0, 1) "
                          "(0.5 removes half of them)")
    if scope not in SCOPES:
        raise HwcompError(f"pruning scope {scope!r}: supported {' or '.join(SCOPES)}")


def prune_channels(graph: Graph, ratio: float | None = None, scope: str = "layer") -> Graph:
    """Dead channels out; then, with `ratio`, that share of the L1-smallest ones. The record of
    what changed (MACs, parameters, channels per layer) goes to meta["pruning"]."""
    check_prune_options(ratio, scope)
    ratio = None if ratio is None else float(ratio)
    g, dead = _remove_dead(graph)
    ranked = 0
    if ratio:
        flow = analyze(g)
        gone = l1_elements(g, flow, ratio, scope)
        g, ranked = remove_elements(g, flow, gone), len(gone)
    g = g.copy() if g is graph else g
    g.meta["pruning"] = pruning_record(graph, g, ratio, scope, dead, ranked)
    verify(g)
    return g


def _remove_dead(graph: Graph) -> tuple[Graph, int]:
    g, count = graph, 0
    while True:
        flow = analyze(g)
        gone = dead_elements(g, flow)
        if not gone:
            return g, count
        g, count = remove_elements(g, flow, gone), count + len(gone)


def _dead_channels(graph: Graph) -> tuple[Graph, bool]:
    g, count = _remove_dead(graph)
    return (graph.copy() if g is graph else g), count > 0


remove_dead_channels = Pass("remove_dead_channels", _dead_channels)


def _sink_weights_zero(g: Graph, node_name: str) -> np.ndarray:
    """Per input channel (Conv) or column (Dense): whether every weight reading it is zero."""
    w = producer_weight(g, g.node(node_name))
    return ~np.moveaxis(w, 1, 0).reshape(w.shape[1], -1).any(axis=1)


def dead_elements(g: Graph, flow: ChannelFlow) -> set[int]:
    groups = flow.groups()
    ok = {root: True for root in groups}
    for root in flow.pinned_groups():
        ok[root] = False
    for sink in flow.sinks:
        node = g.node(sink.node)
        owners, values = flow.owner[sink.tensor], flow.value[sink.tensor]
        unused = _sink_weights_zero(g, sink.node)
        known = ~np.isnan(values)
        exact = unused | (known & ((values == 0) | exact_fold(node)))
        for e in owners[(owners >= 0) & ~exact]:
            ok[flow.find(int(e))] = False
    return _take(flow, [r for r in groups if ok[r]], groups, budget=None)


def _take(flow: ChannelFlow, ordered: list[int], groups: dict[int, list[int]], budget: int | None) -> set[int]:
    """Groups from `ordered`, in order, up to `budget`, skipping any that would leave a layer with no channel."""
    live = {p: len(es) for p, es in flow.producer_elements().items()}
    taken: set[int] = set()
    n = 0
    for root in ordered:
        if budget is not None and n >= budget:
            break
        per: dict[str, int] = {}
        for e in groups[root]:
            per[flow.elements[e][0]] = per.get(flow.elements[e][0], 0) + 1
        if all(live[p] - k >= 1 for p, k in per.items()):
            for p, k in per.items():
                live[p] -= k
            taken.update(groups[root])
            n += 1
    return taken


def l1_scores(g: Graph, flow: ChannelFlow) -> dict[int, float]:
    """Group root -> mean over its elements of filter L1 norm / the layer's mean filter L1 norm."""
    norm = np.zeros(len(flow.elements))
    for p, es in flow.producer_elements().items():
        w = producer_weight(g, g.node(p)).astype(np.float64)
        l1 = np.abs(w).reshape(w.shape[0], -1).sum(axis=1)
        mean = l1.mean()
        norm[es] = l1[[flow.elements[e][1] for e in es]] / mean if mean > 0 else 0.0
    return {root: float(norm[es].mean()) for root, es in flow.groups().items()}


def l1_elements(g: Graph, flow: ChannelFlow, ratio: float, scope: str) -> set[int]:
    groups = flow.groups()
    pinned = flow.pinned_groups()
    score = l1_scores(g, flow)
    candidates = sorted((r for r in groups if r not in pinned), key=lambda r: (score[r], r))
    if scope == "global":
        return _take(flow, candidates, groups, math.floor(ratio * len(candidates)))
    taken: set[int] = set()
    for layer in _tied_layers(flow, groups).values():
        mine = [r for r in candidates if flow.elements[r][0] in layer]
        taken |= _take(flow, mine, groups, math.floor(ratio * len(mine)))
    return taken


def _tied_layers(flow: ChannelFlow, groups: dict[int, list[int]]) -> dict[str, set[str]]:
    """Layers whose channels a group ties (a residual add's branches) count as one layer."""
    layer = {p: p for p in flow.producer_elements()}

    def find(p: str) -> str:
        while layer[p] != p:
            p = layer[p]
        return p

    for es in groups.values():
        first = find(flow.elements[es[0]][0])
        for e in es[1:]:
            other = find(flow.elements[e][0])
            if other != first:
                layer[other] = first
    out: dict[str, set[str]] = {}
    for p in layer:
        out.setdefault(find(p), set()).add(p)
    return out
