"""Fold an inference BatchNormalization into the Dense or Conv before it:
y = gamma * (W x + b - mean) / sqrt(var + eps) + beta."""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense
from hwcomp.ops.norm import BatchNormalization

from .base import Pass, only_consumer, rewire


def _bn_scale_shift(g: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray] | None:
    consts = [g.constants.get(t) for t in bn.inputs[1:5]]
    if any(c is None for c in consts):
        return None
    gamma, beta, mean, var = (np.asarray(c, dtype=np.float64) for c in consts)
    scale = gamma / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
    return scale, beta - mean * scale


def _fits_float32(*arrays: np.ndarray) -> bool:
    """Folded values beyond float32 (huge weights times a large BN scale) would become Inf:
    such a BatchNorm stays a node, computed after the layer as the model computes it."""
    top = float(np.finfo(np.float32).max)
    return all(bool(np.all(np.abs(a) <= top)) for a in arrays)


def _fold_into(g: Graph, node: Node, bn: Node) -> bool:
    ss = _bn_scale_shift(g, bn)
    if ss is None:
        return False
    scale, shift = ss
    if node.op is Dense:
        w = node.params["weight"].astype(np.float64)
        b = node.params["bias"].astype(np.float64)
        if len(g.tensors[bn.inputs[0]].shape) != 2 or scale.size != w.shape[0]:
            return False
        wf, bf = w * scale[:, None], b * scale + shift
        if not _fits_float32(wf, bf):
            return False
        g.replace_node(node.name, Node(node.name, Dense, node.inputs, node.outputs, {},
                                       {"weight": wf.astype(np.float32), "bias": bf.astype(np.float32)}))
    else:  # Conv with constant weight (and optional bias)
        if node.inputs[1] not in g.constants or (len(node.inputs) > 2 and node.inputs[2]
                                                  and node.inputs[2] not in g.constants):
            return False
        w = np.asarray(g.constants[node.inputs[1]], dtype=np.float64)
        if scale.size != w.shape[0]:
            return False
        b = (np.asarray(g.constants[node.inputs[2]], dtype=np.float64)
             if len(node.inputs) > 2 and node.inputs[2] else np.zeros(w.shape[0]))
        wf, bf = w * scale.reshape(-1, *[1] * (w.ndim - 1)), b * scale + shift
        if not _fits_float32(wf, bf):
            return False
        wn = g.add_constant(g.unique_name(f"{node.name}_w_bn"), wf.astype(np.float32))
        bname = g.add_constant(g.unique_name(f"{node.name}_b_bn"), bf.astype(np.float32))
        g.replace_node(node.name, Node(node.name, Conv, (node.inputs[0], wn, bname), node.outputs,
                                       dict(node.attrs), dict(node.params)))
    g.remove_node(bn.name)
    rewire(g, bn.outputs[0], node.outputs[0])
    g.remove_unused()
    return True


def _fold(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    changed = False
    for node in g.nodes():  # every fold is local, so one sweep folds them all
        if node.name not in g or node.op not in (Dense, Conv):
            continue
        if "weight_grid" in node.attrs:
            continue  # integer weights stay on their grid; the BN goes into thresholds (passes/integerize)
        node = g.node(node.name)
        bn = only_consumer(g, node.outputs[0])
        if bn is not None and bn.op is BatchNormalization and _fold_into(g, node, bn):
            changed = True
    return g, changed


fold_batchnorm = Pass("fold_batchnorm", _fold)
