"""Training in torch for hwcomp: quantization-aware training with
straight-through estimators, exported as QONNX (Quant / BipolarQuant nodes),
and compression: magnitude and filter pruning, Dynamic Network Surgery, group
lasso (SSL) and k-means weight sharing, each exporting zeros as exact zeros
and shared weights as a small set of values.

    from hwcomp.train import QuantAct, QuantLinear, finetune, export_qonnx
    from hwcomp.train import iterative_prune, share_weights, make_permanent

Needs torch (the `train` extra); the rest of hwcomp does not import this package.
"""
from .export import export_qonnx
from .finetune import accuracy, finetune
from .group_lasso import GROUP_KINDS, group_lasso_penalty, group_norms, group_sparsity, zero_small_groups
from .layers import QuantAct, QuantConv2d, QuantLinear, weight_scale
from .masks import (bake_torch_prune, get_mask, layer_density, make_permanent, prunable_layers, set_mask,
                    total_density)
from .pruning import dns_prune, iterative_prune, magnitude_prune, start_splicing
from .quantizers import QONNX_DOMAIN, bipolar_quant, int_range, quant, ternary_quant
from .structured_pruning import filter_l1_norms, mask_filters, prune_filters
from .weight_sharing import distinct_values, kmeans_1d, share_layer, share_weights

__all__ = [
    "GROUP_KINDS", "QONNX_DOMAIN", "QuantAct", "QuantConv2d", "QuantLinear", "accuracy", "bake_torch_prune",
    "bipolar_quant", "distinct_values", "dns_prune", "export_qonnx", "filter_l1_norms", "finetune", "get_mask",
    "group_lasso_penalty", "group_norms", "group_sparsity", "int_range", "iterative_prune", "kmeans_1d",
    "layer_density", "magnitude_prune", "make_permanent", "mask_filters", "prunable_layers", "prune_filters",
    "quant", "set_mask", "share_layer", "share_weights", "start_splicing", "ternary_quant", "total_density",
    "weight_scale", "zero_small_groups",
]
