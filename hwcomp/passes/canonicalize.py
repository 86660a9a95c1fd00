"""The canonical float graph every later pass expects."""
from __future__ import annotations

from hwcomp.ir.graph import Graph

from .base import run_to_fixed_point
from .fold_batchnorm import fold_batchnorm
from .fold_constants import fold_constants
from .remove_identities import remove_identities
from .to_dense import absorb_bias_add, gemm_to_dense
from .weight_grid import fold_weight_quantizers, fuse_qdq_pairs, swap_weight_transposes

CANONICALIZE = [fuse_qdq_pairs, swap_weight_transposes, fold_weight_quantizers, fold_constants, remove_identities, gemm_to_dense,
                absorb_bias_add, fold_batchnorm]


def canonicalize(graph: Graph) -> Graph:
    return run_to_fixed_point(graph, CANONICALIZE)
