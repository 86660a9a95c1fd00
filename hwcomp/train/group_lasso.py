"""Group lasso for Structured Sparsity Learning (Wen et al. 2016).

The penalty is lambda * sum over groups of the group's L2 norm, added to the
training loss (finetune(penalty=...)). It pushes whole groups towards zero:

- filters: one output filter of a Conv2d [out, c, kh, kw] (or one row, a
  neuron, of a Linear [out, in]) together with its bias, so a zero group is a
  dead channel that the compiler removes;
- channels: one input channel, w[:, c] over every filter (a Linear's column);
- shapes: one (c, kh, kw) position across every filter, w[:, c, i, j]
  (for a Linear this is the same group as a column).

Subgradient training brings group norms near zero, not exactly to it:
`zero_small_groups` then masks the groups whose norm fell below a tolerance
(masks as in masks.py, so further fine-tuning keeps them zero), and
`group_sparsity` reports the fraction of zero groups per layer.
"""
from __future__ import annotations

import torch

from .masks import fraction, get_mask, prunable_layers, set_mask

GROUP_KINDS = ("filters", "channels", "shapes")


def _check_kind(kind: str) -> None:
    if kind not in GROUP_KINDS:
        raise ValueError(f"group kind must be one of {GROUP_KINDS}, got {kind!r}")


def group_norms(layer: torch.nn.Module, kind: str, include_bias: bool = True) -> torch.Tensor:
    """L2 norm of each group of the layer's effective weight (differentiable).
    filters: [out] (with the bias when include_bias); channels: [c]; shapes: [c*kh*kw]."""
    _check_kind(kind)
    w = layer.weight
    if kind == "filters":
        rows = w.flatten(1)
        if include_bias and layer.bias is not None:
            rows = torch.cat([rows, layer.bias[:, None]], dim=1)
        return torch.linalg.vector_norm(rows, dim=1)
    if kind == "channels":
        return torch.linalg.vector_norm(w.transpose(0, 1).flatten(1), dim=1)
    return torch.linalg.vector_norm(w.flatten(1), dim=0)


def group_lasso_penalty(model: torch.nn.Module, *, filters: float = 0.0, channels: float = 0.0,
                        shapes: float = 0.0, layers=None, include_bias: bool = True) -> torch.Tensor:
    """sum over the selected layers and kinds of lambda_kind * sum of the group norms."""
    lams = {"filters": filters, "channels": channels, "shapes": shapes}
    for kind, lam in lams.items():
        if lam < 0:
            raise ValueError(f"group lasso lambda for {kind} must be >= 0, got {lam}")
    total = torch.zeros(())
    for layer in prunable_layers(model, layers).values():
        for kind, lam in lams.items():
            if lam:
                total = total + lam * group_norms(layer, kind, include_bias).sum()
    return total


def _group_mask(layer: torch.nn.Module, kind: str, small: torch.Tensor) -> torch.Tensor:
    """A weight mask with the `small` groups of `kind` at zero."""
    w = layer.weight
    keep = torch.ones_like(w)
    if kind == "filters":
        keep[small] = 0.0
    elif kind == "channels":
        keep[:, small] = 0.0
    else:
        keep.view(w.shape[0], -1)[:, small] = 0.0
    return keep


@torch.no_grad()
def zero_small_groups(model: torch.nn.Module, tol: float, *, kinds=GROUP_KINDS, layers=None,
                      include_bias: bool = True) -> dict[str, dict[str, int]]:
    """Mask every group (of the given kinds) whose L2 norm is below `tol`;
    a filter group takes its bias with it. Returns the number of groups
    masked per layer and kind."""
    if tol < 0:
        raise ValueError(f"tolerance must be >= 0, got {tol}")
    for kind in kinds:
        _check_kind(kind)
    out = {}
    for name, layer in prunable_layers(model, layers).items():
        counts = {}
        for kind in kinds:
            small = group_norms(layer, kind, include_bias) < tol
            counts[kind] = int(small.sum())
            if not small.any():
                continue
            old = get_mask(layer)
            keep = _group_mask(layer, kind, small)
            set_mask(layer, keep if old is None else keep * old.mask)
            if kind == "filters" and include_bias and layer.bias is not None:
                old_b = get_mask(layer, "bias")
                keep_b = (~small).float()
                set_mask(layer, keep_b if old_b is None else keep_b * old_b.mask, name="bias")
        out[name] = counts
    return out


@torch.no_grad()
def group_sparsity(model: torch.nn.Module, tol: float = 0.0, *, layers=None,
                   include_bias: bool = True) -> dict[str, dict[str, float]]:
    """Per layer: the fraction of groups of each kind with norm <= tol (0: exactly
    zero), and the weight density (non-zero weights / weights)."""
    out = {}
    for name, layer in prunable_layers(model, layers).items():
        rec = {kind: fraction(group_norms(layer, kind, include_bias) <= tol) for kind in GROUP_KINDS}
        rec["density"] = fraction(layer.weight != 0)
        out[name] = rec
    return out
