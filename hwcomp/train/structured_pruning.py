"""Structured pruning in torch: whole output filters (Conv2d) or neurons
(Linear) with the smallest L1 norms (Li et al. 2016, "Pruning Filters for
Efficient ConvNets"). A pruned filter's weights and bias are masked to zero
and stay zero through fine-tuning, so the channel is dead: it outputs a
constant zero before its activation, which is what the compiler's dead-channel
removal takes out of the graph.

By default every Linear/Conv2d layer but the last one (in module order: the
model's outputs) is pruned; at least one filter of each layer stays.
"""
from __future__ import annotations

import torch

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


@torch.no_grad()
def mask_filters(layer: torch.nn.Module, filters) -> None:
    """Mask the given output filters of one layer: weights and bias."""
    out = layer.weight.shape[0]
    dead = torch.zeros(out, dtype=torch.bool)
    dead[torch.as_tensor(list(filters), dtype=torch.long)] = True
    keep = (~dead).float()
    shape = (out,) + (1,) * (layer.weight.dim() - 1)
    old = get_mask(layer)
    w_keep = keep.reshape(shape).expand_as(layer.weight).clone()
    set_mask(layer, w_keep if old is None else w_keep * old.mask)
    if layer.bias is not None:
        old_b = get_mask(layer, "bias")
        set_mask(layer, keep if old_b is None else keep * old_b.mask, name="bias")


def _lowest(scores: torch.Tensor, k: int) -> list[int]:
    return sorted(torch.argsort(scores, stable=True)[:k].tolist())


def prune_filters(model: torch.nn.Module, ratio, *, scope: str = "layer", layers=None) -> dict[str, list[int]]:
    """Prune round(ratio * out) filters of each selected layer by L1 norm
    (scope="layer"; ratio a float or {layer: ratio}), or round(ratio * F) of all
    F selected filters at once (scope="global"), ranked by mean |w| so layers
    of different fan-in compare. Already pruned filters count first; the
    strongest filter of each layer is never pruned. Returns
    the pruned filter indices of each layer (all of them, old and new)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    chosen = prunable_layers(model, _default_layers(model) if layers is None else layers)
    # already pruned filters score -1 so they are the first counted
    scores = {n: torch.where(_filter_alive(m), filter_l1_norms(m), torch.tensor(-1.0)) for n, m in chosen.items()}
    # the strongest filter of each layer is never a candidate: a layer keeps one
    for n, sc in scores.items():
        sc[int(torch.argmax(sc))] = float("inf")
    picked: dict[str, list[int]] = {}
    if scope == "global":
        if isinstance(ratio, dict):
            raise ValueError("a global ranking takes one ratio, not one per layer")
        r = sparsity_per_layer(ratio, ["all"])["all"]
        fan_in = {n: m.weight[0].numel() for n, m in chosen.items()}
        flat = torch.cat([torch.where(s >= 0, s / fan_in[n], s) for n, s in scores.items()])
        owner = [(n, i) for n, s in scores.items() for i in range(len(s))]
        already = int((flat < 0).sum())
        k = min(max(already, round(r * len(flat))), len(flat) - len(scores))
        for j in _lowest(flat, k):
            picked.setdefault(owner[j][0], []).append(owner[j][1])
    else:
        for n, r in sparsity_per_layer(ratio, list(chosen)).items():
            already = int((scores[n] < 0).sum())
            picked[n] = _lowest(scores[n], min(max(already, round(r * len(scores[n]))), len(scores[n]) - 1))
    out = {}
    for n, layer in chosen.items():
        idx = sorted(picked.get(n, []))
        if idx:
            mask_filters(layer, idx)
        out[n] = idx
    return out
