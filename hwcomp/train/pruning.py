"""Unstructured magnitude pruning in torch.

- `magnitude_prune`: zero the smallest-magnitude weights, exactly
  round(sparsity * n) of them per layer, or of all layers together under one
  global threshold. Masks only grow: a pruned weight stays pruned.
- `iterative_prune`: Han et al. 2015 ("Learning both weights and connections"):
  prune to a rising sparsity, fine-tune with the mask in place, repeat.
- `dns_prune`: Dynamic Network Surgery (Guo et al. 2016): the mask is
  recomputed on every training forward from two thresholds a < b on the raw
  weight (|w| < a: pruned, |w| > b: spliced back, between: unchanged), and
  gradients reach pruned weights too, so a wrongly pruned weight can return.

Masks are the parametrizations of hwcomp/train/masks.py; call
`make_permanent(model)` before export.
"""
from __future__ import annotations

import time
from typing import Callable

import torch

from .finetune import accuracy, finetune
from .masks import get_mask, layer_density, prunable_layers, raw_tensor, remove_splicing, set_mask, total_density

SCOPES = ("layer", "global")


def sparsity_per_layer(sparsity, names) -> dict[str, float]:
    """{layer: sparsity} from one float for every name or a dict for some, each in [0, 1]."""
    values = sparsity if isinstance(sparsity, dict) else {n: sparsity for n in names}
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"sparsity for unknown layers: {', '.join(sorted(unknown))}")
    for n, s in values.items():
        if not 0.0 <= float(s) <= 1.0:
            raise ValueError(f"sparsity of {n} must be in [0, 1], got {s}")
    return {n: float(values[n]) for n in names if n in values}


@torch.no_grad()
def _scores(layer: torch.nn.Module) -> torch.Tensor:
    """|raw weight|, with already pruned weights at -1 so they rank first."""
    w = raw_tensor(layer).detach().abs()
    mask = get_mask(layer)
    return w if mask is None else torch.where(mask.mask > 0, w, torch.full_like(w, -1.0))


@torch.no_grad()
def _prune_lowest(layers: dict[str, torch.nn.Module], scores: torch.Tensor, k: int) -> None:
    """Mask the k lowest of the concatenated flat scores (ties: the earlier index)."""
    pruned = torch.zeros(scores.numel(), dtype=torch.bool)
    pruned[torch.argsort(scores, stable=True)[:k]] = True
    start = 0
    for layer in layers.values():
        n = layer.weight.numel()
        old = get_mask(layer)
        keep = (~pruned[start:start + n]).reshape(layer.weight.shape).float()
        set_mask(layer, keep if old is None else keep * old.mask, straight_through=False)
        start += n


def _sparsity_of_masks(layers: dict[str, torch.nn.Module]) -> dict[str, float]:
    out = {}
    for n, layer in layers.items():
        mask = get_mask(layer)
        out[n] = 0.0 if mask is None else int((mask.mask == 0).sum()) / mask.mask.numel()
    return out


def magnitude_prune(model: torch.nn.Module, sparsity, *, scope: str = "layer", layers=None) -> dict[str, float]:
    """Prune each selected layer's smallest |weights| so it holds exactly
    round(sparsity * n) pruned weights (scope="layer"; sparsity a float or a
    {layer: sparsity} dict), or prune round(sparsity * N) of all N selected
    weights by one global magnitude threshold (scope="global", a float).
    A layer already sparser keeps its mask. Returns the mask sparsity per layer."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    chosen = prunable_layers(model, layers)
    if scope == "global":
        if isinstance(sparsity, dict):
            raise ValueError("a global threshold takes one sparsity, not one per layer")
        s = sparsity_per_layer(sparsity, ["all"])["all"]
        scores = torch.cat([_scores(m).flatten() for m in chosen.values()])
        already = int((scores < 0).sum())
        _prune_lowest(chosen, scores, max(already, round(s * scores.numel())))
        return _sparsity_of_masks(chosen)
    for name, s in sparsity_per_layer(sparsity, list(chosen)).items():
        layer = chosen[name]
        scores = _scores(layer).flatten()
        already = int((scores < 0).sum())
        _prune_lowest({name: layer}, scores, max(already, round(s * scores.numel())))
    return _sparsity_of_masks(chosen)


def iterative_prune(model: torch.nn.Module, x_train, y_train, schedule, *, scope: str = "layer",
                    layers=None, eval_data: tuple | None = None, epochs: int = 10, lr: float = 1e-3,
                    seed: int = 0, log: Callable[[str], None] | None = print,
                    on_step: Callable[[dict], None] | None = None, **finetune_kwargs) -> list[dict]:
    """Prune to each sparsity of `schedule` in turn (floats, or per-layer dicts
    with scope="layer") and fine-tune `epochs` epochs after each step with the
    masks in place (finetune(); step i uses seed + i). Returns one record per
    step: sparsity target, density per layer, total density, train and eval
    accuracy, seconds. `on_step(record)` runs after each step (to keep a
    checkpoint of the best model, say)."""
    history = []
    for i, target in enumerate(schedule):
        t0 = time.perf_counter()
        magnitude_prune(model, target, scope=scope, layers=layers)
        finetune(model, x_train, y_train, epochs=epochs, lr=lr, seed=seed + i, log=None, **finetune_kwargs)
        rec = {"step": i + 1, "sparsity": target, "density": layer_density(model, layers),
               "total_density": total_density(model, layers), "train_acc": accuracy(model, x_train, y_train)}
        if eval_data is not None:
            rec["eval_acc"] = accuracy(model, *eval_data)
        rec["seconds"] = time.perf_counter() - t0
        history.append(rec)
        if log is not None:
            extra = f"  eval acc {rec['eval_acc']:.4f}" if "eval_acc" in rec else ""
            log(f"prune step {i + 1}/{len(schedule)}  density {rec['total_density']:.4f}  "
                f"train acc {rec['train_acc']:.4f}{extra}")
        if on_step is not None:
            on_step(rec)
    return history


@torch.no_grad()
def _splice(layer: torch.nn.Module, _args) -> None:
    """Forward pre-hook: in training mode, recompute the mask from the raw weight."""
    if not layer.training:
        return
    mask = get_mask(layer)
    a, b = mask.splice
    w = raw_tensor(layer).detach().abs()
    mask.mask.masked_fill_(w < a, 0.0)
    mask.mask.masked_fill_(w > b, 1.0)


def start_splicing(layer: torch.nn.Module, a: float, b: float) -> None:
    """Dynamic Network Surgery on one layer with thresholds a <= b: the mask
    starts as |w| >= a and gradients reach every raw weight."""
    if not 0 <= a <= b:
        raise ValueError(f"splice thresholds must satisfy 0 <= a <= b, got a={a}, b={b}")
    remove_splicing(layer)
    w = raw_tensor(layer).detach().abs()
    old = get_mask(layer)
    keep = (w >= a).float()
    mask = set_mask(layer, keep if old is None else keep * old.mask, straight_through=True)
    mask.splice = (float(a), float(b))
    layer._dns_hook = layer.register_forward_pre_hook(_splice)


@torch.no_grad()
def dns_prune(model: torch.nn.Module, sparsity, *, margin: float = 0.1, layers=None) -> dict[str, tuple[float, float]]:
    """Start Dynamic Network Surgery on the selected layers. Per layer, a is
    the magnitude below which round(sparsity * n) weights fall (midway between
    the largest pruned and the smallest kept |w|) and b = a * (1 + margin).
    Returns {layer: (a, b)}."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    chosen = prunable_layers(model, layers)
    out = {}
    for name, s in sparsity_per_layer(sparsity, list(chosen)).items():
        layer = chosen[name]
        w = raw_tensor(layer).detach().abs().flatten().sort().values
        k = round(s * w.numel())
        if k == 0:
            a = 0.0
        elif k == w.numel():
            a = float(w[-1]) * (1 + 1e-6) + 1e-12
        else:
            a = float(w[k - 1] + w[k]) / 2
        start_splicing(layer, a, a * (1 + margin))
        out[name] = (a, a * (1 + margin))
    return out
