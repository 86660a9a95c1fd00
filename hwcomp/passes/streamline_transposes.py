"""Cancel the layout transposes that conv_to_windows leaves between layers.

- Transpose -> Transpose composing to the identity: both go.
- A transpose read by several nodes (a branch point) is split, one per reader.
- Add / Concat of two tensors transposed the same way: the transpose moves
  after the join (Concat's axis follows the permutation).
- Transpose -> Relu: swapped (Relu is elementwise), so pairs can meet.
- Transpose(NHWC->NCHW) -> Flatten -> Dense: the Dense's columns are permuted
  instead, and Flatten reads the channels-last tensor directly.
"""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add, Sum
from hwcomp.ops.shape import Concat, Flatten, Transpose

from .base import Pass, only_consumer, rewire


def _cancel_pairs(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for t1 in g.nodes():
        if t1.op is not Transpose:
            continue
        t2 = only_consumer(g, t1.outputs[0])
        if t2 is None or t2.op is not Transpose:
            continue
        p1, p2 = t1.attrs["perm"], t2.attrs["perm"]
        if [p1[i] for i in p2] != list(range(len(p1))):
            continue
        g.remove_node(t1.name)
        g.remove_node(t2.name)
        rewire(g, t2.outputs[0], t1.inputs[0])
        g.remove_unused()
        return g, True
    return g, False


def _split_fanout(graph: Graph) -> tuple[Graph, bool]:
    """A transpose read by several nodes becomes one transpose per reader, so each
    copy can cancel against, or move past, its own reader."""
    g = graph.copy()
    for t in g.nodes():
        if t.op is not Transpose or t.outputs[0] in g.outputs:
            continue
        users = g.consumers(t.outputs[0])
        if len(users) < 2:
            continue
        for i, u in enumerate(users[1:], start=1):
            out = g.unique_name(f"{t.outputs[0]}_{i}")
            g.add_node(Node(g.unique_name(f"{t.name}_{i}"), Transpose, t.inputs, (out,), dict(t.attrs)))
            g.tensors[out] = g.tensors[t.outputs[0]]
            u.inputs = tuple(out if x == t.outputs[0] else x for x in u.inputs)
        return g, True
    return g, False


def _join_transposes(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for join in g.nodes():
        if join.op not in (Add, Sum, Concat) or len(join.inputs) != 2:
            continue
        srcs = [g.producer(t) for t in join.inputs]
        if any(s is None or s.op is not Transpose or len(g.consumers(s.outputs[0])) != 1 for s in srcs):
            continue
        perm = srcs[0].attrs["perm"]
        same_shape = g.tensors[srcs[0].inputs[0]].shape == g.tensors[srcs[1].inputs[0]].shape
        if srcs[1].attrs["perm"] != perm or (join.op is not Concat and not same_shape):
            continue  # elementwise joins need equal shapes (no broadcasting across the transpose)
        attrs = dict(join.attrs)
        if join.op is Concat:
            attrs["axis"] = perm[join.attrs["axis"]]
        mid = g.unique_name(f"{join.name}_pre")
        inner = Node(join.name, join.op, (srcs[0].inputs[0], srcs[1].inputs[0]), (mid,), attrs)
        for name in dict.fromkeys(s.name for s in srcs):  # x + x: one Transpose feeds both inputs
            g.remove_node(name)
        g.replace_node(join.name, inner)
        g.tensors[mid] = join.op.infer(inner, g)[0]
        g.add_node(Node(g.unique_name(f"{join.name}_transpose"), Transpose, (mid,), join.outputs, {"perm": perm}))
        g.remove_unused()
        return g, True
    return g, False


def _swap_relu(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for t in g.nodes():
        if t.op is not Transpose:
            continue
        relu = only_consumer(g, t.outputs[0])
        if relu is None or relu.op is not Relu:
            continue
        x, mid, y = t.inputs[0], t.outputs[0], relu.outputs[0]
        g.tensors[mid] = g.tensors[x]  # mid now holds relu(x), before the transpose
        g.replace_node(relu.name, Node(relu.name, Relu, (x,), (mid,), dict(relu.attrs)))
        g.replace_node(t.name, Node(t.name, Transpose, (mid,), (y,), dict(t.attrs)))
        return g, True
    return g, False


def _absorb_into_dense(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for t in g.nodes():
        if t.op is not Transpose or t.attrs["perm"] != [0, 3, 1, 2]:
            continue
        flat = only_consumer(g, t.outputs[0])
        n, h, w, c = g.tensors[t.inputs[0]].shape
        # Flatten(axis=1), or a Reshape to the same [N, C*H*W]
        if flat is None or not flat.op.shape_only or g.tensors[flat.outputs[0]].shape != (n, c * h * w):
            continue
        dense = only_consumer(g, flat.outputs[0])
        if dense is None or dense.op is not Dense:
            continue
        # Column j of the old weight reads NCHW position (c, y, x); the new one reads NHWC (y, x, c).
        nchw_index = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
        weight = np.asarray(dense.params["weight"])[:, nchw_index]
        g.remove_node(t.name)
        g.replace_node(flat.name, Node(flat.name, Flatten, (t.inputs[0],), flat.outputs, {"axis": 1}))
        g.replace_node(dense.name, Node(dense.name, Dense, dense.inputs, dense.outputs, dict(dense.attrs),
                                        {"weight": weight, "bias": dense.params["bias"]}))
        g.tensors[flat.outputs[0]] = TensorType((n, h * w * c), g.tensors[flat.outputs[0]].dtype)
        g.remove_unused()
        return g, True
    return g, False


cancel_transpose_pairs = Pass("cancel_transpose_pairs", _cancel_pairs)
split_transpose_fanout = Pass("split_transpose_fanout", _split_fanout)
move_transpose_past_join = Pass("move_transpose_past_join", _join_transposes)
move_transpose_past_relu = Pass("move_transpose_past_relu", _swap_relu)
absorb_transpose_into_dense = Pass("absorb_transpose_into_dense", _absorb_into_dense)
STREAMLINE = [cancel_transpose_pairs, split_transpose_fanout, move_transpose_past_relu, move_transpose_past_join,
              absorb_transpose_into_dense]


def to_channels_last(graph: Graph) -> Graph:
    """Conv/MaxPool -> window ops, then cancel the transposes between them."""
    from .base import run_to_fixed_point
    from .conv_to_windows import conv_to_windows

    return run_to_fixed_point(graph, [conv_to_windows] + STREAMLINE)
