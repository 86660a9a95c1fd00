"""Cut a set of channel elements (passes/channel_groups) out of a graph: the
producers' filters and biases, the per-channel parameters on the way
(BatchNorm, constant operands of elementwise ops, a Reshape's target) and the
sinks' input channels or columns; then every tensor type is inferred again.

A removed channel that is a known non-zero constant where a sink reads it is
folded into that sink's bias (Dense; Conv without padding, where every window
sees the constant on every tap). Callers remove such a channel only at sinks
where the fold is exact (passes/prune_channels)."""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense
from hwcomp.ops.norm import BatchNormalization
from hwcomp.ops.shape import Reshape

from .channel_groups import ChannelFlow, is_producer, producer_bias, producer_weight


def keep_masks(flow: ChannelFlow, removed: set[int]) -> dict[str, np.ndarray]:
    gone = np.array(sorted(removed), dtype=np.int64)
    return {t: ~np.isin(o, gone) for t, o in flow.owner.items()}


def remove_elements(graph: Graph, flow: ChannelFlow, removed: set[int]) -> Graph:
    g = graph.copy()
    if not removed:
        return g
    keep = keep_masks(flow, removed)
    sinks = {s.node for s in flow.sinks}
    slices: dict[str, list[tuple[int, int]]] = {}
    for name, i, axis in flow.sliced_constants:
        slices.setdefault(name, []).append((i, axis))
    for node in g.nodes():
        if is_producer(g, node):
            _cut_layer(g, node, keep[node.outputs[0]],
                       keep.get(node.inputs[0]) if node.name in sinks else None, flow.value.get(node.inputs[0]))
        elif node.op is BatchNormalization:
            m = keep[node.inputs[0]]
            if not m.all():
                ins = [node.inputs[0]] + [_sliced(g, node, t, m, 0) for t in node.inputs[1:5]]
                _swap(g, node, inputs=tuple(ins))
        elif node.name in slices:
            ins = list(node.inputs)
            for i, axis in slices[node.name]:
                m = keep[node.outputs[0]]
                if not m.all():
                    ins[i] = _sliced(g, node, ins[i], m, axis)
            _swap(g, node, inputs=tuple(ins))
        elif node.op is Reshape and node.inputs[0] in keep and not keep[node.inputs[0]].all():
            target = np.asarray(g.constants[node.inputs[1]])
            features = int(keep[node.outputs[0]].sum())
            new = np.array([-1, features] if target[0] == -1 else [target[0], -1], dtype=target.dtype)
            t = g.add_constant(g.unique_name(f"{node.name}_shape_pruned"), new)
            _swap(g, node, inputs=(node.inputs[0], t))
    for node in g.nodes():
        for t, ty in zip(node.outputs, node.op.infer(node, g)):
            if t:
                g.tensors[t] = ty
    g.remove_unused()
    return g


def exact_fold(node: Node) -> bool:
    """Whether a constant input channel is the same constant in every product the layer makes
    (a padded Conv sees zeros at the borders instead)."""
    return node.op is Dense or not any(node.attrs["pads"])


def _swap(g: Graph, node: Node, inputs=None, params=None) -> None:
    g.replace_node(node.name, Node(node.name, node.op, node.inputs if inputs is None else inputs, node.outputs,
                                   dict(node.attrs), dict(node.params) if params is None else params))


def _sliced(g: Graph, node: Node, t: str, mask: np.ndarray, axis: int) -> str:
    value = np.compress(mask, np.asarray(g.constants[t]), axis=axis)
    base = t.removesuffix("_pruned")   # a second round names it afresh, not t_pruned_pruned
    return g.add_constant(g.unique_name(f"{base}_pruned"), value)


def _cut_layer(g: Graph, node: Node, keep_out: np.ndarray, keep_in: np.ndarray | None,
               in_value: np.ndarray | None) -> None:
    w = np.asarray(producer_weight(g, node))
    b = producer_bias(g, node)
    if keep_out.all() and (keep_in is None or keep_in.all()):
        return
    if keep_in is not None and not keep_in.all():
        gone = ~keep_in
        v = np.nan_to_num(in_value[gone]) if in_value is not None else np.zeros(int(gone.sum()))
        if np.any(v != 0) and exact_fold(node):
            # Dense column j, or every tap of a pad-free Conv's input channel j, always sees v[j].
            taps = w[:, gone].reshape(w.shape[0], int(gone.sum()), -1).sum(axis=2, dtype=np.float64)
            b = (np.zeros(w.shape[0]) if b is None else b.astype(np.float64)) + taps @ v.astype(np.float64)
            b = b.astype(np.float32)
        w = w[:, keep_in]
    w = w[keep_out]
    b = None if b is None else np.asarray(b)[keep_out]
    if node.op is Dense:
        _swap(g, node, params={**node.params, "weight": w.astype(np.float32), "bias": b.astype(np.float32)})
        return
    wn = g.add_constant(g.unique_name(f"{node.name}_w_pruned"), w)
    ins = (node.inputs[0], wn)
    if b is not None:
        ins += (g.add_constant(g.unique_name(f"{node.name}_b_pruned"), b),)
    _swap(g, node, inputs=ins)
