"""Which BatchNorm reads a Linear/Conv2d layer's output, so that pruning a
filter can silence the BatchNorm channel after it.

A zeroed filter in front of a BatchNorm is not a dead channel: the BatchNorm
turns its 0 into the constant beta - gamma * mean / sqrt(var + eps), which the
compiler cannot remove in front of a padded conv (its borders see zeros).
With gamma and beta of that channel masked to 0 the BatchNorm outputs exactly
0, in training (batch statistics) and in eval mode alike.

The rule: a BatchNorm1d/2d follows a layer when it reads the layer's output
directly, as torch.fx traces the model (Linear, Conv2d, their Quant
subclasses and the BatchNorms are leaves of the trace). A model torch.fx
cannot trace (control flow on tensor values) falls back to module order: the
leaf module defined right after the layer, if it is a BatchNorm with as many
features as the layer has filters (the `conv, bn` order of every usual block
definition). Limits: a BatchNorm behind another op (conv -> relu -> bn) is not
found, nor, in module order, one defined elsewhere; a BatchNorm without
affine parameters cannot be silenced. Those channels stay constants after
their BatchNorm, which the compiler removes only where no padded conv reads them.
"""
from __future__ import annotations

import torch
from torch import fx

from .masks import PRUNABLE

NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)


class _LayerTracer(fx.Tracer):
    """Keeps the prunable layers and BatchNorms as call_module nodes."""

    def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
        return isinstance(m, PRUNABLE + NORMS) or super().is_leaf_module(m, qualname)


def _by_trace(model: torch.nn.Module) -> dict[str, list[str]]:
    graph = _LayerTracer().trace(model)
    modules = dict(model.named_modules())
    found: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], PRUNABLE):
            continue
        for user in node.users:
            if user.op == "call_module" and isinstance(modules[user.target], NORMS) and user.args[:1] == (node,):
                found.setdefault(node.target, []).append(user.target)
    return found


def _by_module_order(model: torch.nn.Module) -> dict[str, list[str]]:
    leaves = [(n, m) for n, m in model.named_modules()
              if n and "parametrizations" not in n.split(".")  # a mask's own modules
              and (isinstance(m, PRUNABLE + NORMS) or not any(True for _ in m.children()))]
    found = {}
    for (name, layer), (next_name, nxt) in zip(leaves, leaves[1:]):
        if isinstance(layer, PRUNABLE) and isinstance(nxt, NORMS) and nxt.num_features == layer.weight.shape[0]:
            found[name] = [next_name]
    return found


def norms_after(model: torch.nn.Module) -> dict[str, list[str]]:
    """{layer name: names of the BatchNorms reading its output} (see the module doc)."""
    try:
        return _by_trace(model)
    except Exception:  # noqa: BLE001 - fx fails in many ways on untraceable code; module order is the fallback
        return _by_module_order(model)
