"""Post-training binarization and low-bit uniform quantization (`--bits w1a1` .. `w4a4`).

Input: the canonical channels-last float graph (every layer a Dense) and
calibration samples. Output: a new float graph that carries quantizers the
way a trained QONNX model does, so that passes/integerize compiles it
exactly to XNOR-popcount units and threshold MVUs:

- each Dense gets weights on a grid and attr `weight_grid` (passes/weight_grid's
  form): XNOR-Net sign * alpha at 1 bit, a k-bit symmetric grid at 2..4 bits
  (passes/lowbit_grids has the exact rules);
- the tensor feeding each layer gets a FakeQuant: the model input at
  `edge_bits`, every other layer input at the activation bits;
- the first layers (reading the model input) and the last ones (no layer after
  them) keep `edge_bits` (8) weights, as in XNOR-Net; their input and, since
  integerize leaves the classifier's accumulator exact, the logits are not
  narrowed further. `edge_bits=None` quantizes them like the others.

Where a quantizer goes: at the activation, before any reshape, window or max
pool on the way to the next layer (those then move codes). A k-bit quantizer
reads the activation's output (after ReLU: unsigned codes). A 1-bit one is a
sign, and sign(ReLU(x)) would be +1 everywhere, so the sign reads the
activation function's input x instead and the ReLU (or Clip) is removed. It is
fitted to what the ReLU passed on as alpha * sign(x - tau[c]) + beta
(lowbit_grids.sign_fit, least squares on calibration data): tau per channel
is an Add before the quantizer (BinaryNet gets the same shift from the
BatchNorm before its sign), alpha is the quantizer's scale, and
beta * rowsum(W) goes into the bias of every layer reading it; integerize
folds all of it into the thresholds. With tau = 0 the sign only tells which
units a ReLU would pass, and accuracy collapses (benchmarks/RESULTS.md).

BatchNorm: canonicalize has already folded a BatchNorm that follows a layer
into its weights and bias; quantizing after that fold is the same as
quantizing first and keeping the BatchNorm in the thresholds, because every
grid is per output channel and symmetric: a channel scaled by g gets codes
multiplied by sign(g) and a scale multiplied by |g| (sign(W) * mean|W| and
the squared-error clip alike), and the shift lands in the bias, hence in the
thresholds. A BatchNorm that could not be folded stays between the layer and
the next quantizer, where integerize turns it into thresholds numerically.

Calibration is sequential: each activation's range is measured on the graph
with every earlier quantizer and all weight grids already in place, so it sees
the errors of the layers before it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.verify import verify
from hwcomp.ops.activation import Clip, Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add
from hwcomp.ops.quantizers import FakeQuant
from hwcomp.ops.window import SlidingWindow

from .lowbit_grids import activation_grid, quantize_weights, sign_fit
from .quantize import QuantConfig

CALIB_BATCH = 64
CALIB_VALUES = 1 << 18   # values kept per tensor for fitting a grid (a random subset beyond this)


@dataclass(frozen=True)
class ActivationPoint:
    """A tensor that feeds layers, only through ops that move values (reshapes,
    windows, max pooling), and the layers it feeds."""

    tensor: str
    layers: tuple[str, ...]
    padded: bool   # a zero-padded window lies on the way


def _moves(node: Node) -> bool:
    return node.op.shape_only or node.op.value_preserving


def _where(g: Graph) -> str:
    return g.meta.get("source", g.name)


def _source(g: Graph, layer: Node) -> str:
    """The tensor a layer's input comes from, before the ops that only move values."""
    t = layer.inputs[0]
    while (p := g.producer(t)) is not None and _moves(p):
        t = p.inputs[0]
    return t


def _readers(g: Graph, tensor: str) -> tuple[list[str], bool]:
    """Layers reached from `tensor` through value-moving ops; fails on anything else,
    since a quantizer placed on `tensor` must change only what those layers read."""
    layers, padded, todo = [], False, [tensor]
    while todo:
        t = todo.pop()
        if t in g.outputs:
            raise HwcompError(f"{_where(g)}: tensor {t!r} is a model output and feeds a layer; low-bit modes "
                              "need every layer input to reach only layers")
        for u in g.consumers(t):
            if u.op is Dense and u.inputs[0] == t:
                layers.append(u.name)
            elif _moves(u) and u.inputs[0] == t:
                padded |= u.op is SlidingWindow and any(u.attrs["pads"]) and u.attrs["pad"] == "zero"
                todo.extend(o for o in u.outputs if o)
            else:
                raise HwcompError(f"{_where(g)}: tensor {t!r} feeds node {u.name!r} ({u.op.name}) as well as a "
                                  "layer; low-bit modes support chains of layers (reshapes, windows and max "
                                  "pooling between them); use fixed point (e.g. --bits w8a8)")
    return layers, padded


def activation_points(g: Graph) -> list[ActivationPoint]:
    """One point per distinct layer input source, in topological order."""
    points: dict[str, ActivationPoint] = {}
    for node in g.nodes():
        if node.op is Dense and (t := _source(g, node)) not in points:
            layers, padded = _readers(g, t)
            points[t] = ActivationPoint(t, tuple(layers), padded)
    return list(points.values())


def _edge_layers(g: Graph, points: list[ActivationPoint]) -> set[str]:
    """First layers (reading the model input) and last ones (no layer downstream)."""
    first = {name for p in points if p.tensor in g.inputs for name in p.layers}
    feeding = {name for p in points if p.tensor not in g.inputs for name in _upstream_layers(g, p.tensor)}
    last = {n.name for n in g.nodes() if n.op is Dense and n.name not in feeding}
    return first | last


def _upstream_layers(g: Graph, tensor: str) -> set[str]:
    """Layers whose output reaches `tensor`."""
    found, todo, seen = set(), [tensor], set()
    while todo:
        t = todo.pop()
        p = g.producer(t)
        if p is None or p.name in seen:
            continue
        seen.add(p.name)
        if p.op is Dense:
            found.add(p.name)
        todo.extend(i for i in p.inputs if i and i not in g.constants)
    return found


def _quantize_layer_weights(g: Graph, node: Node, bits: int) -> None:
    w, grid = quantize_weights(node.params["weight"], bits)
    g.replace_node(node.name, Node(node.name, Dense, node.inputs, node.outputs, dict(node.attrs, weight_grid=grid),
                                   dict(node.params, weight=w)))


def _calibration_values(g: Graph, calib: dict[str, np.ndarray], tensor: str) -> np.ndarray:
    """Values of `tensor` over the calibration set as rows [M, C] (channels last), at most
    CALIB_VALUES of them in all (a random subset of rows beyond that)."""
    n = len(next(iter(calib.values())))
    rng = np.random.default_rng(0)
    parts = []
    for i in range(0, n, CALIB_BATCH):
        v = np.asarray(execute(g, {k: x[i:i + CALIB_BATCH] for k, x in calib.items()}, keep_all=True)[tensor])
        rows = v.astype(np.float64).reshape(-1, v.shape[-1])
        keep = max(1, -(-CALIB_VALUES * min(CALIB_BATCH, n - i) // (n * rows.shape[1])))
        parts.append(rows if len(rows) <= keep else rows[rng.choice(len(rows), keep, replace=False)])
    return np.concatenate(parts)


def _emit(g: Graph, op, reads: tuple[str, ...], base: str, attrs: dict, params: dict) -> str:
    out = g.unique_name(base)
    g.add_node(Node(g.unique_name(f"{base}_op"), op, reads, (out,), attrs, params))
    g.tensors[out] = g.tensors[reads[0]]
    return out


def _read_instead(readers: list[Node], old: str, new: str) -> None:
    """`readers` (found before the quantizer was added) read `new` instead of `old`."""
    for u in readers:
        u.inputs = tuple(new if t == old else t for t in u.inputs)


def _fake_quant(g: Graph, reads: str, base: str, attrs: dict, scale: float) -> str:
    return _emit(g, FakeQuant, (reads,), f"{base}_lowbit", attrs,
                 {"scale": np.float32(scale).reshape(()), "zero_point": np.zeros((), np.float32)})


def _multibit_activation(g: Graph, calib: dict[str, np.ndarray], point: ActivationPoint, bits: int) -> None:
    attrs, scale = activation_grid(_calibration_values(g, calib, point.tensor), bits)
    readers = g.consumers(point.tensor)
    _read_instead(readers, point.tensor, _fake_quant(g, point.tensor, point.tensor, attrs, scale))


def _sign_activation(g: Graph, calib: dict[str, np.ndarray], point: ActivationPoint) -> None:
    """alpha * sign(x - tau) + beta in place of the activation y = f(x) (lowbit_grids.sign_fit)."""
    act = g.producer(point.tensor)
    if point.padded:
        raise HwcompError(f"{_where(g)}: the output of {act.name!r} ({act.op.name}) feeds a zero-padded "
                          "convolution; 1-bit (+1/-1) activations have no 0 to pad with: use 2 or more "
                          "activation bits")
    bypass = act is not None and act.op in (Relu, Clip)
    pre = act.inputs[0] if bypass else point.tensor
    x = _calibration_values(g, calib, pre)
    y = act.op.execute(act, [x.astype(np.float32)], g)[0] if bypass else x
    tau, alpha, beta = sign_fit(x, y)
    readers = g.consumers(point.tensor)
    shift = g.add_constant(g.unique_name(f"{point.tensor}_sign_threshold"), (-tau).astype(np.float32))
    shifted = _emit(g, Add, (pre, shift), f"{point.tensor}_centered", {}, {})
    q = _fake_quant(g, shifted, point.tensor, {"qmin": -1, "qmax": 1, "rounding": "ROUND", "bipolar": True}, alpha)
    _read_instead(readers, point.tensor, q)
    if bypass:
        g.remove_node(act.name)
    for name in point.layers:  # W (alpha s + beta) + b = alpha W s + (b + beta rowsum(W))
        layer = g.node(name)
        bias = layer.params["bias"] + beta * layer.params["weight"].astype(np.float64).sum(axis=1)
        g.replace_node(name, Node(name, Dense, layer.inputs, layer.outputs, dict(layer.attrs),
                                  dict(layer.params, bias=bias.astype(np.float32))))


def lowbit(graph: Graph, calib: dict[str, np.ndarray], cfg: QuantConfig) -> Graph:
    """Channels-last float graph + calibration inputs -> float graph with weight grids and
    activation quantizers (a new Graph) for passes/integerize."""
    g = graph.copy()
    if len(g.inputs) != 1 or set(calib) != set(g.inputs):
        raise HwcompError(f"{_where(g)}: low-bit modes need one model input with calibration samples")
    points = activation_points(g)
    if not points:
        raise HwcompError(f"{_where(g)}: no Dense, Gemm, MatMul or Conv layer to quantize")
    edge = _edge_layers(g, points) if cfg.edge_bits is not None else set()
    for node in g.nodes():
        if node.op is Dense:
            _quantize_layer_weights(g, node, cfg.edge_bits if node.name in edge else cfg.weight_bits)
    input_bits = cfg.input_bits or cfg.edge_bits or cfg.act_bits
    if input_bits == 1:
        # the host's input quantizer has one scale and no per-feature threshold, and a sign of
        # raw features (pixels >= 0) is mostly constant
        raise HwcompError(f"{_where(g)}: a 1-bit model input is not supported; give the input 2 or more bits "
                          "(QuantConfig input_bits or edge_bits)")
    for point in points:
        bits = input_bits if point.tensor in g.inputs else cfg.act_bits
        if bits == 1:
            _sign_activation(g, calib, point)
        else:
            _multibit_activation(g, calib, point, bits)
    g.remove_unused()
    verify(g)
    return g
