"""Which channels flow where in a canonical float graph (NCHW, before
channels-last): the analysis structured pruning (passes/prune_channels) cuts by.

Every output channel of a Conv (group 1, constant weights) and every output
row of a Dense is an *element*. Each tensor with a channel axis (axis 1: the
channels of an NCHW map, the features of a [N, F] matrix) gets an owner per
index along that axis: the element whose values it carries there, or -1 (a
channel the analysis cannot remove: the graph input's, or one made by an op it
does not understand). Owners flow through

- per-channel ops (BatchNormalization, Relu, Clip, Sigmoid, Tanh, every
  pooling): output channel c is input channel c;
- elementwise Add/Sub/Mul/Div/Sum: output channel c is made from channel c of
  every non-constant input, so those elements become one *group* (a residual
  add's channel goes only if it goes on every branch); constant operands are
  sliced with it;
- Concat on axis 1: the inputs' owners side by side;
- Flatten (axis 1) and Reshape to [N, F]: channel c of a [C, H, W] map owns
  features c*H*W .. c*H*W + H*W - 1;

and end in *sinks*: the input channels of a Conv, the input columns of a Dense.
An op not listed, a graph output or a channel tied to a -1 channel *pins* the
group: it is kept.

Alongside, where a channel is a known constant (a producer whose filter is all
zero outputs its bias; Relu, Clip, BatchNorm and constant arithmetic map it;
pooling keeps it) its value is tracked per tensor, computed with the ops' own
references so that it is the value the executor computes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.activation import Clip, Relu, Sigmoid, Tanh
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add, Div, Mul, Sub, Sum
from hwcomp.ops.norm import BatchNormalization
from hwcomp.ops.pool import AveragePool, GlobalAveragePool, GlobalMaxPool, MaxPool
from hwcomp.ops.shape import Concat, Flatten, Reshape

ELEMENTWISE = (Add, Sub, Mul, Div, Sum)
# Per-channel ops whose value on a constant channel is computed exactly by their reference.
EXACT_POINTWISE = (Relu, Clip, BatchNormalization)
PER_CHANNEL = (Relu, Clip, Sigmoid, Tanh, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool,
               GlobalMaxPool)


@dataclass(frozen=True)
class Sink:
    """A layer reading channels: input channels of a Conv, input columns of a Dense."""

    node: str
    tensor: str


@dataclass
class ChannelFlow:
    owner: dict[str, np.ndarray] = field(default_factory=dict)   # tensor -> element per index of axis 1
    value: dict[str, np.ndarray] = field(default_factory=dict)   # tensor -> float32 per index, NaN = not constant
    elements: list[tuple[str, int]] = field(default_factory=list)  # element -> (producer node, output channel)
    parent: list[int] = field(default_factory=list)              # union-find over elements
    pinned_elements: set[int] = field(default_factory=set)
    sinks: list[Sink] = field(default_factory=list)
    # Constant operands of elementwise ops to slice with the channels: (node, input index, axis).
    sliced_constants: list[tuple[str, int, int]] = field(default_factory=list)

    def find(self, e: int) -> int:
        while self.parent[e] != e:
            self.parent[e] = self.parent[self.parent[e]]
            e = self.parent[e]
        return e

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smaller id is the root: deterministic groups

    def groups(self) -> dict[int, list[int]]:
        """Group root -> its elements, in element order."""
        out: dict[int, list[int]] = {}
        for e in range(len(self.elements)):
            out.setdefault(self.find(e), []).append(e)
        return out

    def pinned_groups(self) -> set[int]:
        return {self.find(e) for e in self.pinned_elements}

    def producer_elements(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for e, (node, _) in enumerate(self.elements):
            out.setdefault(node, []).append(e)
        return out


def is_producer(g: Graph, node: Node) -> bool:
    """A layer whose output channels can be cut: Conv of group 1 or Dense, float, unquantized."""
    if "weight_grid" in node.attrs or not _float_tensor(g, node.inputs[0]):
        return False
    if node.op is Dense:
        return len(g.tensors[node.inputs[0]].shape) == 2
    if node.op is Conv:
        bias_const = len(node.inputs) < 3 or not node.inputs[2] or node.inputs[2] in g.constants
        return node.attrs["group"] == 1 and node.inputs[1] in g.constants and bias_const
    return False


def producer_weight(g: Graph, node: Node) -> np.ndarray:
    return np.asarray(node.params["weight"] if node.op is Dense else g.constants[node.inputs[1]])


def producer_bias(g: Graph, node: Node) -> np.ndarray | None:
    if node.op is Dense:
        return np.asarray(node.params["bias"])
    return np.asarray(g.constants[node.inputs[2]]) if len(node.inputs) > 2 and node.inputs[2] else None


def _float_tensor(g: Graph, t: str) -> bool:
    return bool(t) and t in g.tensors and g.tensors[t].dtype.is_float


def _channels(g: Graph, t: str) -> int | None:
    if not _float_tensor(g, t) or len(g.tensors[t].shape) < 2:
        return None
    return g.tensors[t].shape[1]


def _const_axis(c: np.ndarray, rank: int) -> int | None:
    """Axis of constant `c` that lines up with axis 1 of a rank-`rank` tensor under broadcasting."""
    a = c.ndim - (rank - 1)
    return a if 0 <= a < c.ndim else None


def analyze(g: Graph) -> ChannelFlow:
    f = ChannelFlow()
    for t in g.inputs:
        c = _channels(g, t)
        if c is not None:
            f.owner[t], f.value[t] = np.full(c, -1), np.full(c, np.nan, np.float32)
    for node in g.nodes():
        if not _visit(g, f, node):
            _pin_node(g, f, node)
    for t in g.outputs:
        _pin(f, f.owner.get(t))
    return f


def _pin(f: ChannelFlow, owners: np.ndarray | None) -> None:
    if owners is not None:
        f.pinned_elements.update(int(e) for e in owners if e >= 0)


def _pin_node(g: Graph, f: ChannelFlow, node: Node) -> None:
    """An op the analysis does not understand: what flows into it is kept, what comes out owns nothing."""
    for t in node.inputs:
        _pin(f, f.owner.get(t))
    for t in node.outputs:
        c = _channels(g, t)
        if c is not None:
            f.owner[t], f.value[t] = np.full(c, -1), np.full(c, np.nan, np.float32)


def _visit(g: Graph, f: ChannelFlow, node: Node) -> bool:
    """Propagate owners and values through `node`; False when the analysis does not understand it."""
    ins = [t for t in node.inputs if t]
    out = node.outputs[0] if len(node.outputs) == 1 else None
    if out is None or _channels(g, out) is None:
        return False
    if is_producer(g, node):
        return _producer(g, f, node, out)
    if node.op in PER_CHANNEL:
        x = ins[0]
        if x not in f.owner or any(t not in g.constants for t in ins[1:]):
            return False
        if g.tensors[x].shape[:2] != g.tensors[out].shape[:2]:
            return False
        f.owner[out] = f.owner[x].copy()
        f.value[out] = _per_channel_value(g, node, f.value[x])
        return True
    if node.op in ELEMENTWISE:
        return _elementwise(g, f, node, ins, out)
    if node.op is Concat:
        if node.attrs["axis"] != 1 or any(t not in f.owner for t in ins):
            return False
        f.owner[out] = np.concatenate([f.owner[t] for t in ins])
        f.value[out] = np.concatenate([f.value[t] for t in ins])
        return True
    if node.op in (Flatten, Reshape):
        x = ins[0]
        if x not in f.owner:
            return False
        xs, ys = g.tensors[x].shape, g.tensors[out].shape
        if node.op is Flatten and node.attrs["axis"] != 1:
            return False
        if len(ys) != 2 or ys[0] != xs[0] or ys[1] != int(np.prod(xs[1:], dtype=np.int64)):
            return False
        per = int(np.prod(xs[2:], dtype=np.int64))
        f.owner[out], f.value[out] = np.repeat(f.owner[x], per), np.repeat(f.value[x], per)
        return True
    return False


def _producer(g: Graph, f: ChannelFlow, node: Node, out: str) -> bool:
    x = node.inputs[0]
    if x in f.owner:
        f.sinks.append(Sink(node.name, x))
    w, b = producer_weight(g, node), producer_bias(g, node)
    rows = w.shape[0]
    first = len(f.elements)
    f.elements += [(node.name, c) for c in range(rows)]
    f.parent += list(range(first, first + rows))
    f.owner[out] = np.arange(first, first + rows)
    # A filter of zeros outputs its bias everywhere (0 * x = 0 for the finite x the executor allows).
    zero = ~w.reshape(rows, -1).any(axis=1)
    bias = np.zeros(rows, np.float32) if b is None else b.astype(np.float32)
    f.value[out] = np.where(zero, bias, np.float32(np.nan)).astype(np.float32)
    return True


def _small(values: np.ndarray, rank: int) -> np.ndarray:
    """A batch of one with one pixel: the per-channel constants as a tensor the ops take."""
    return np.nan_to_num(values).astype(np.float32).reshape((1, -1) + (1,) * (rank - 2))


def _per_channel_value(g: Graph, node: Node, v: np.ndarray) -> np.ndarray:
    known = ~np.isnan(v)
    if not known.any():
        return v.copy()
    rank = len(g.tensors[node.inputs[0]].shape)
    if node.op in (MaxPool, GlobalMaxPool, GlobalAveragePool):
        return v.copy()  # a constant map pools to itself (the mean of copies of v is v, exactly)
    if node.op is AveragePool:
        a = node.attrs
        # Zero padding counted in the divisor makes border outputs differ from the constant, unless it is 0.
        if a["count_include_pad"] and any(a["pads"]):
            return np.where(v == 0, v, np.float32(np.nan)).astype(np.float32)
        return v.copy()
    if node.op not in EXACT_POINTWISE:
        return np.full_like(v, np.nan)
    ins = [_small(v, rank)] + [g.constants[t] for t in node.inputs[1:] if t]
    with np.errstate(all="ignore"):
        (y,) = node.op.execute(node, ins, g)
    return np.where(known, np.asarray(y, np.float32).reshape(-1), np.float32(np.nan)).astype(np.float32)


def _elementwise(g: Graph, f: ChannelFlow, node: Node, ins: list[str], out: str) -> bool:
    shape = g.tensors[out].shape
    rank, c = len(shape), shape[1]
    acts, slices, flat_consts = [], [], True
    for i, t in enumerate(node.inputs):
        if not t:
            continue
        if t in g.constants:
            k = np.asarray(g.constants[t])
            axis = _const_axis(k, rank)
            if k.ndim > rank or (axis is not None and k.shape[axis] not in (1, c)):
                return False
            if axis is not None and k.shape[axis] == c and c != 1:
                slices.append((node.name, i, axis))
            # A constant varying over pixels makes a constant channel vary: no longer a constant.
            flat_consts &= all(d == 1 for j, d in enumerate(k.shape) if j != axis)
        elif t in f.owner and g.tensors[t].shape == shape:
            acts.append(t)
        else:
            return False
    if not acts:
        return False
    owners = f.owner[acts[0]].copy()
    for t in acts[1:]:
        for a, b in zip(owners, f.owner[t]):
            if a >= 0 and b >= 0:
                f.union(int(a), int(b))
            elif a >= 0 or b >= 0:
                f.pinned_elements.add(int(max(a, b)))  # tied to a channel that stays
        owners = np.where(owners >= 0, owners, f.owner[t])
    f.owner[out] = owners
    f.sliced_constants += slices
    known = np.logical_and.reduce([~np.isnan(f.value[t]) for t in acts])
    if not known.any() or not flat_consts:
        f.value[out] = np.full(c, np.nan, np.float32)
        return True
    small = [g.constants[t] if t in g.constants else _small(f.value[t], rank) for t in node.inputs if t]
    with np.errstate(all="ignore"):
        (y,) = node.op.execute(node, small, g)
    y = np.broadcast_to(np.asarray(y, np.float32), (1, c) + (1,) * (rank - 2)).reshape(-1)
    f.value[out] = np.where(known, y, np.float32(np.nan)).astype(np.float32)
    return True
