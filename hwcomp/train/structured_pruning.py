"""Structured pruning in torch: whole output filters (Conv2d) or neurons
(Linear) with the smallest L1 norms (Li et al. 2016, "Pruning Filters for
Efficient ConvNets"). A pruned filter's weights and bias are masked to zero
and stay zero through fine-tuning, so the channel is dead: it outputs a
constant zero before its activation, which is what the compiler's dead-channel
removal takes out of the graph. The BatchNorm that reads a pruned filter
(following_norms.py) has that channel's gamma and beta masked to zero too, so
the channel is 0 after it as well, not the constant its shift would make.

A residual add keeps a channel alive unless it is dead on every input, so the
layers feeding one residual stream can be tied (`tie`): they lose the same
filter indices, ranked together.

By default every Linear/Conv2d layer but the last one (in module order: the
model's outputs) is pruned; at least one filter of each layer stays.
"""
from __future__ import annotations

import torch

from .following_norms import norms_after
from .masks import get_mask, prunable_layers, set_mask
from .pruning import SCOPES, sparsity_per_layer


def _default_layers(model: torch.nn.Module) -> list[str]:
    return list(prunable_layers(model))[:-1]


@torch.no_grad()
def filter_l1_norms(layer: torch.nn.Module) -> torch.Tensor:
    """Sum of |w| of each output filter/neuron of the effective weight, shape [out]."""
    return layer.weight.detach().abs().flatten(1).sum(1)


def _filter_alive(layer: torch.nn.Module) -> torch.Tensor:
    """False for filters whose weight mask is already all zero."""
    mask = get_mask(layer)
    if mask is None:
        return torch.ones(layer.weight.shape[0], dtype=torch.bool)
    return mask.mask.flatten(1).any(1)


def _mask_channels(module: torch.nn.Module, name: str, keep: torch.Tensor) -> None:
    """Multiply the mask of module.<name> (channels on axis 0) by keep."""
    tensor = getattr(module, name)
    if tensor is None:
        return
    full = keep.reshape((len(keep),) + (1,) * (tensor.dim() - 1)).expand_as(tensor).clone()
    old = get_mask(module, name)
    set_mask(module, full if old is None else full * old.mask, name=name)


@torch.no_grad()
def mask_filters(layer: torch.nn.Module, filters, norms=()) -> None:
    """Mask the given output filters of one layer (weights and bias) and
    their channels of the BatchNorms `norms` reading it (gamma and beta)."""
    out = layer.weight.shape[0]
    dead = torch.zeros(out, dtype=torch.bool)
    dead[torch.as_tensor(list(filters), dtype=torch.long)] = True
    keep = (~dead).float()
    for module in (layer, *norms):
        _mask_channels(module, "weight", keep)
        _mask_channels(module, "bias", keep)


def _units(chosen: dict[str, torch.nn.Module], tie) -> list[list[str]]:
    """The selected layers grouped: each tie is one group, every other layer its own."""
    groups, tied = [], set()
    for t in tie or ():
        names = list(t)
        missing = [n for n in names if n not in chosen]
        if missing:
            raise ValueError(f"tied layers not among the pruned layers: {', '.join(missing)}")
        if tied & set(names) or len(set(names)) != len(names):
            raise ValueError(f"a layer is tied twice: {', '.join(names)}")
        outs = {n: chosen[n].weight.shape[0] for n in names}
        if len(set(outs.values())) != 1:
            raise ValueError("tied layers need the same number of filters: "
                             + ", ".join(f"{n} {o}" for n, o in outs.items()))
        tied |= set(names)
        groups.append(names)
    return [[n] for n in chosen if n not in tied] + groups


def _lowest(scores: torch.Tensor, k: int) -> list[int]:
    return sorted(torch.argsort(scores, stable=True)[:k].tolist())


def _group_scores(chosen: dict[str, torch.nn.Module], group: list[str]) -> torch.Tensor:
    """One layer: L1 norms. Tied layers: the mean over them of each filter's
    mean |w| (so fan-ins compare). Filters pruned in every layer score -1."""
    if len(group) == 1:
        m = chosen[group[0]]
        return torch.where(_filter_alive(m), filter_l1_norms(m), torch.tensor(-1.0))
    alive = torch.stack([_filter_alive(chosen[n]) for n in group]).any(0)
    mean_abs = torch.stack([filter_l1_norms(chosen[n]) / chosen[n].weight[0].numel() for n in group]).mean(0)
    return torch.where(alive, mean_abs, torch.tensor(-1.0))


def prune_filters(model: torch.nn.Module, ratio, *, scope: str = "layer", layers=None,
                  tie=None) -> dict[str, list[int]]:
    """Prune round(ratio * out) filters of each selected layer by L1 norm
    (scope="layer"; ratio a float or {layer: ratio}), or round(ratio * F) of all
    F selected filters at once (scope="global"), ranked by mean |w| so layers
    of different fan-in compare. `tie` lists groups of layers (a residual
    stream's producers) that lose the same filters: one candidate per index
    scored by the mean over the group of mean |w|, counted once, with the ratio
    of the group's first layer. Already pruned filters count first; the
    strongest filter of each layer is never pruned. The BatchNorms reading a
    pruned layer (norms_after) lose the same channels. Returns
    the pruned filter indices of each layer (all of them, old and new)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    chosen = prunable_layers(model, _default_layers(model) if layers is None else layers)
    groups = _units(chosen, tie)
    # already pruned filters score -1 so they are the first counted
    scores = {g[0]: _group_scores(chosen, g) for g in groups}
    # the strongest filter of each layer is never a candidate: a layer keeps one
    for n, sc in scores.items():
        sc[int(torch.argmax(sc))] = float("inf")
    picked: dict[str, list[int]] = {}
    if scope == "global":
        if isinstance(ratio, dict):
            raise ValueError("a global ranking takes one ratio, not one per layer")
        r = sparsity_per_layer(ratio, ["all"])["all"]
        # a tied group's scores already are mean |w|
        fan_in = {g[0]: chosen[g[0]].weight[0].numel() if len(g) == 1 else 1 for g in groups}
        flat = torch.cat([torch.where(s >= 0, s / fan_in[n], s) for n, s in scores.items()])
        owner = [(n, i) for n, s in scores.items() for i in range(len(s))]
        already = int((flat < 0).sum())
        k = min(max(already, round(r * len(flat))), len(flat) - len(scores))
        for j in _lowest(flat, k):
            picked.setdefault(owner[j][0], []).append(owner[j][1])
    else:
        ratios = sparsity_per_layer(ratio, list(chosen))
        for n in scores:
            if n in ratios:
                already = int((scores[n] < 0).sum())
                k = min(max(already, round(ratios[n] * len(scores[n]))), len(scores[n]) - 1)
                picked[n] = _lowest(scores[n], k)
    norms = norms_after(model)
    out = {}
    for g in groups:
        idx = sorted(picked.get(g[0], []))
        for n in g:
            if idx:
                mask_filters(chosen[n], idx, [model.get_submodule(b) for b in norms.get(n, [])])
            out[n] = idx
    return {n: out[n] for n in chosen}
