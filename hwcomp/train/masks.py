"""Weight masks on Linear and Conv2d layers (QuantLinear and QuantConv2d are
subclasses), the mechanism every pruning method here shares.

A mask is a torch parametrization of `weight` (or `bias`): the layer keeps
the raw tensor as `parametrizations.weight.original` and every access to
`layer.weight` returns it masked, so the existing forward code, the
quantizers and `finetune()` need no change and pruned weights are zero in
every forward pass of fine-tuning. Two gradient rules:

- plain (iterative magnitude and filter pruning): w * mask, so pruned weights
  get no gradient and stay pruned;
- straight-through (Dynamic Network Surgery): the forward value is the same,
  but the gradient reaches every raw weight, so a pruned weight keeps
  learning and can be spliced back in when its magnitude grows.

`make_permanent` writes the masked values back as plain parameters (zeros
exactly zero) before export; it also bakes masks that torch.nn.utils.prune
put on a model (weight_orig * weight_mask).
"""
from __future__ import annotations

import torch
from torch.nn.utils import parametrize
from torch.nn.utils import prune as torch_prune

PRUNABLE = (torch.nn.Linear, torch.nn.Conv2d)


class Mask(torch.nn.Module):
    """The parametrization: mask (0/1, same shape as the tensor) and the
    gradient rule; optional splice thresholds (a, b) for Dynamic Network Surgery."""

    def __init__(self, mask: torch.Tensor, straight_through: bool = False) -> None:
        super().__init__()
        self.register_buffer("mask", mask.detach().clone().to(torch.float32))
        self.straight_through = straight_through
        self.splice: tuple[float, float] | None = None

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if self.straight_through:
            # value exactly w * mask (w - w = 0, w - 0 = w); gradient 1 for every weight
            return w - (w * (1 - self.mask)).detach()
        return w * self.mask


def prunable_layers(model: torch.nn.Module, names=None) -> dict[str, torch.nn.Module]:
    """The Linear/Conv2d layers of `model` by module name, in module order;
    `names` selects some (an unknown name is an error)."""
    layers = {n: m for n, m in model.named_modules() if isinstance(m, PRUNABLE)}
    if names is None:
        return layers
    missing = [n for n in names if n not in layers]
    if missing:
        raise ValueError(f"not a Linear/Conv2d layer of the model: {', '.join(missing)} "
                         f"(layers: {', '.join(layers) or 'none'})")
    return {n: layers[n] for n in names}


def get_mask(layer: torch.nn.Module, name: str = "weight") -> Mask | None:
    """The Mask on layer.<name>, or None."""
    if not parametrize.is_parametrized(layer, name):
        return None
    masks = [p for p in layer.parametrizations[name] if isinstance(p, Mask)]
    return masks[0] if masks else None


def raw_tensor(layer: torch.nn.Module, name: str = "weight") -> torch.Tensor:
    """The trained tensor under any parametrization (what a mask multiplies)."""
    if parametrize.is_parametrized(layer, name):
        return layer.parametrizations[name].original
    return getattr(layer, name)


def set_mask(layer: torch.nn.Module, mask: torch.Tensor, name: str = "weight",
             straight_through: bool = False) -> Mask:
    """Put `mask` on layer.<name> (replacing the values of an existing Mask)."""
    tensor = getattr(layer, name)
    if tensor is None:
        raise ValueError(f"{type(layer).__name__} has no {name}")
    if tuple(mask.shape) != tuple(tensor.shape):
        raise ValueError(f"mask shape {tuple(mask.shape)} != {name} shape {tuple(tensor.shape)}")
    if parametrize.is_parametrized(layer, name) and get_mask(layer, name) is None:
        kinds = ", ".join(type(p).__name__ for p in layer.parametrizations[name])
        raise ValueError(f"{type(layer).__name__}.{name} is already parametrized ({kinds}): "
                         "prune before sharing weights, or make_permanent() first")
    existing = get_mask(layer, name)
    if existing is not None:
        existing.mask.copy_(mask)
        existing.straight_through = straight_through
        return existing
    p = Mask(mask, straight_through)
    parametrize.register_parametrization(layer, name, p)
    return p


@torch.no_grad()
def effective_weight(layer: torch.nn.Module) -> torch.Tensor:
    """The float weight the layer computes with (masked, shared), detached."""
    return layer.weight.detach().clone()


@torch.no_grad()
def layer_density(model: torch.nn.Module, names=None) -> dict[str, float]:
    """Fraction of non-zero weights per Linear/Conv2d layer."""
    return {n: fraction(effective_weight(m) != 0) for n, m in prunable_layers(model, names).items()}


def fraction(flags: torch.Tensor) -> float:
    """True count / size, in double precision (exact ratios for the tests)."""
    return int(flags.sum()) / max(1, flags.numel())


@torch.no_grad()
def total_density(model: torch.nn.Module, names=None) -> float:
    """Non-zero weights over all weights of the Linear/Conv2d layers."""
    ws = [effective_weight(m) for m in prunable_layers(model, names).values()]
    return sum(int((w != 0).sum()) for w in ws) / max(1, sum(w.numel() for w in ws))


def remove_splicing(layer: torch.nn.Module) -> None:
    """Stop Dynamic Network Surgery on a layer (its mask stays as it is)."""
    hook = getattr(layer, "_dns_hook", None)
    if hook is not None:
        hook.remove()
        del layer._dns_hook
    for name in ("weight", "bias"):
        mask = get_mask(layer, name)
        if mask is not None:
            mask.splice = None


def bake_torch_prune(model: torch.nn.Module) -> list[str]:
    """Make torch.nn.utils.prune's reparametrization (name_orig * name_mask,
    recomputed by a forward pre-hook) permanent on every module; return the
    "module.tensor" names baked."""
    baked = []
    for mod_name, module in model.named_modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, torch_prune.BasePruningMethod):
                torch_prune.remove(module, hook._tensor_name)  # a PruningContainer has one too
                baked.append(f"{mod_name}.{hook._tensor_name}" if mod_name else hook._tensor_name)
    return baked


def make_permanent(model: torch.nn.Module) -> torch.nn.Module:
    """Write every parametrized weight/bias (our masks, shared weights) and
    every torch.nn.utils.prune mask back as a plain Parameter holding the
    values the model computes with; stop splicing. Returns the model (changed
    in place) ready for export: pruned weights are exactly 0.0."""
    bake_torch_prune(model)
    for module in list(model.modules()):
        remove_splicing(module)
        for name in ("weight", "bias"):
            if parametrize.is_parametrized(module, name):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
                getattr(module, name).requires_grad_(True)  # a shared weight's original was frozen
    return model
