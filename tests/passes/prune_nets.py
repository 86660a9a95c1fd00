"""Random small CNNs built inline with onnx.helper for the pruning tests: conv
(+BatchNorm) + Relu layers, pools, residual blocks, concat branches, and a head
(global average pool or flatten, Gemm layers), with chosen dead channels.

Every weight, input and BatchNorm parameter is a small dyadic number (k / 4,
variance 1/4 with epsilon 0): float32 sums of them are exact in any order, so
removing terms that are zero, or folding a constant's products into a bias,
leaves the executor's outputs bit for bit equal, whatever order the matrix
products add in.

A layer spec records what the test expects of it: `zero` (channels exactly 0
wherever they are read: removable), `const` (a positive constant after Relu:
removable only where every reader is a Dense or a Conv without padding),
`tied` (the cluster of layers a residual add ties it to)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper


@dataclass
class Layer:
    name: str
    channels: int
    zero: set[int] = field(default_factory=set)
    const: set[int] = field(default_factory=set)
    tied: int | None = None
    output: bool = False


@dataclass
class Built:
    model: onnx.ModelProto
    layers: dict[str, Layer]
    input_shape: tuple[int, ...]


def dyadic(rng: np.random.Generator, shape, lo=-4, hi=4, nonzero=True, step=4) -> np.ndarray:
    k = rng.integers(lo, hi + 1, size=shape)
    if nonzero:
        k = np.where(k == 0, 1, k)
    return (k / step).astype(np.float32)


def weights(rng: np.random.Generator, shape) -> np.ndarray:
    """+-1/2, +-1: one bit of resolution per layer keeps deep sums inside float32's 24 bits."""
    return dyadic(rng, shape, -2, 2, step=2)


class NetBuilder:
    def __init__(self, seed: int, in_channels: int, size: int):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.layers: dict[str, Layer] = {}
        self.shape = [1, in_channels, size, size]
        self.trunk = "x"
        self.trunk_zero: set[int] = set()          # channel indices of the trunk that are exactly 0
        self.trunk_producers: set[str] = set()     # layers owning the trunk's channels
        self.clusters = 0
        self.input_shape = tuple(self.shape)

    def _const(self, name, value):
        kind = TensorProto.INT64 if value.dtype == np.int64 else TensorProto.FLOAT
        self.inits.append(helper.make_tensor(name, kind, value.shape, value.ravel()))
        return name

    def _t(self, base):
        return f"{base}_{len(self.nodes)}"

    def _dead_sets(self, c: int, want_zero: int, want_const: int) -> tuple[set[int], set[int]]:
        picks = [int(i) for i in self.rng.permutation(c)]
        want_zero = min(want_zero, c - 1)
        want_const = min(want_const, c - 1 - want_zero)
        return set(picks[:want_zero]), set(picks[want_zero:want_zero + want_const])

    def conv(self, out_c: int, k: int, pad: int, bn: bool, n_zero: int, n_const: int,
             force_zero: set[int] | None = None, relu: bool = True, src: str | None = None,
             src_channels: int | None = None) -> tuple[str, Layer]:
        name = f"conv{len(self.layers)}"
        cin = self.shape[1] if src_channels is None else src_channels
        zero, const = (set(force_zero), set()) if force_zero is not None else self._dead_sets(out_c, n_zero, n_const)
        w = weights(self.rng, (out_c, cin, k, k))
        b = dyadic(self.rng, (out_c,), 0, 4, nonzero=False)   # live channels: biases >= 0
        for c in zero | const:
            w[c] = 0
        for c in zero:
            b[c] = -float(self.rng.integers(0, 3)) / 4 if relu else 0.0   # 0 or negative before a Relu
        for c in const:
            b[c] = float(self.rng.integers(1, 4)) / 4
        out = self._t("c")
        self.nodes.append(helper.make_node("Conv", [src or self.trunk, self._const(f"{name}_w", w),
                                                    self._const(f"{name}_b", b)], [out], name=name,
                                           pads=[pad] * 4, kernel_shape=[k, k]))
        if bn:
            gamma = dyadic(self.rng, (out_c,), 1, 2, step=4)
            beta, mean = dyadic(self.rng, (out_c,), 0, 4, False), dyadic(self.rng, (out_c,), -2, 2, False)
            for c in zero | const:
                mean[c] = 0.0
                beta[c] = -float(self.rng.integers(0, 3)) / 4 if c in zero else float(self.rng.integers(0, 3)) / 4
            var = np.full(out_c, 0.25, np.float32)   # sqrt(var + 0) = 1/2: the folded scale stays dyadic
            o2 = self._t("bn")
            self.nodes.append(helper.make_node(
                "BatchNormalization", [out] + [self._const(f"{name}_{s}", v) for s, v in
                                               (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))],
                [o2], name=f"{name}_bn", epsilon=0.0))
            out = o2
        if relu:
            o2 = self._t("r")
            self.nodes.append(helper.make_node("Relu", [out], [o2]))
            out = o2
        layer = Layer(name, out_c, zero, const)
        self.layers[name] = layer
        return out, layer

    def conv_layer(self, out_c, k, bn, n_zero, n_const):
        pad = k // 2 if self.rng.integers(0, 2) else 0
        if self.shape[2] - k + 1 < 2:
            pad = k // 2
        out, layer = self.conv(out_c, k, pad, bn, n_zero, n_const)
        self.trunk, self.trunk_zero, self.trunk_producers = out, set(layer.zero), {layer.name}
        self.shape = [1, out_c, self.shape[2] + 2 * pad - k + 1, self.shape[3] + 2 * pad - k + 1]

    def residual(self, n_zero_mid: int):
        """t -> conv3x3 -> relu -> conv3x3 -> (+ t) -> relu; the second conv's zero channels are t's."""
        c = self.shape[1]
        mid, _ = self.conv(c, 3, 1, False, n_zero_mid, 0)
        out_b, b = self.conv(c, 3, 1, False, 0, 0, force_zero=set(self.trunk_zero), relu=False, src=mid,
                             src_channels=c)
        tied = next((self.layers[p].tied for p in self.trunk_producers if self.layers[p].tied is not None), None)
        if tied is None:
            tied, self.clusters = self.clusters, self.clusters + 1
        for p in self.trunk_producers | {b.name}:
            self.layers[p].tied = tied
        s, r = self._t("add"), self._t("r")
        self.nodes += [helper.make_node("Add", [out_b, self.trunk], [s]), helper.make_node("Relu", [s], [r])]
        self.trunk, self.trunk_producers = r, self.trunk_producers | {b.name}

    def concat(self, out_c: int, n_zero: int):
        """t and a 1x1 conv of t side by side."""
        c = self.shape[1]
        side, layer = self.conv(out_c, 1, 0, False, n_zero, 0)
        out = self._t("cat")
        self.nodes.append(helper.make_node("Concat", [self.trunk, side], [out], axis=1))
        self.trunk = out
        self.trunk_zero = self.trunk_zero | {c + i for i in layer.zero}
        self.trunk_producers = self.trunk_producers | {layer.name}
        self.shape[1] = c + out_c

    def affine(self):
        """A per-channel scale and shift as separate Mul and Add nodes (a BatchNorm exported unfused);
        the trunk's zero channels get shift 0, so they stay zero."""
        c = self.shape[1]
        scale, shift = dyadic(self.rng, (c, 1, 1), 1, 4), dyadic(self.rng, (1, c, 1, 1), -4, 4, False)
        shift[0, sorted(self.trunk_zero)] = 0
        n = len(self.nodes)
        m, a = self._t("mul"), f"add_{n}"
        self.nodes += [helper.make_node("Mul", [self.trunk, self._const(f"scale{n}", scale)], [m]),
                       helper.make_node("Add", [m, self._const(f"shift{n}", shift)], [a])]
        self.trunk = a

    def batchnorm(self):
        """A BatchNorm after a Relu: nothing to fold it into, it stays a node."""
        c = self.shape[1]
        gamma, beta = dyadic(self.rng, (c,), 1, 2), dyadic(self.rng, (c,), -4, 4, False)
        mean, var = dyadic(self.rng, (c,), -2, 2, False), np.full(c, 0.25, np.float32)
        beta[sorted(self.trunk_zero)], mean[sorted(self.trunk_zero)] = 0, 0
        n = len(self.nodes)
        out = self._t("bnr")
        self.nodes.append(helper.make_node(
            "BatchNormalization", [self.trunk] + [self._const(f"bn{n}_{k}", v) for k, v in
                                                  (("g", gamma), ("b", beta), ("m", mean), ("v", var))],
            [out], epsilon=0.0))
        self.trunk = out

    def pool(self, kind: str):
        out = self._t("p")
        if kind == "max":
            self.nodes.append(helper.make_node("MaxPool", [self.trunk], [out], kernel_shape=[2, 2], strides=[2, 2]))
        else:
            self.nodes.append(helper.make_node("AveragePool", [self.trunk], [out], kernel_shape=[2, 2],
                                               strides=[2, 2]))
        self.trunk = out
        self.shape[2] //= 2
        self.shape[3] //= 2

    def head(self, kind: str, hidden: int, n_zero: int, n_const: int, classes: int):
        x = self._t("h")
        if kind == "gap" and (self.shape[2] * self.shape[3]) & (self.shape[2] * self.shape[3] - 1) == 0:
            # (a mean over a power of two pixels stays dyadic)
            g = self._t("g")
            self.nodes += [helper.make_node("GlobalAveragePool", [self.trunk], [g]),
                           helper.make_node("Flatten", [g], [x])]
            feats = self.shape[1]
        elif kind == "reshape":
            target = self._const("flat_shape", np.array([1, -1], np.int64))
            self.nodes.append(helper.make_node("Reshape", [self.trunk, target], [x]))
            feats = int(np.prod(self.shape[1:]))
        else:
            self.nodes.append(helper.make_node("Flatten", [self.trunk], [x]))
            feats = int(np.prod(self.shape[1:]))
        if hidden:
            zero, const = self._dead_sets(hidden, n_zero, n_const)
            w, b = weights(self.rng, (hidden, feats)), dyadic(self.rng, (hidden,), 0, 4, False)
            for c in zero | const:
                w[c] = 0
                b[c] = 0.0 if c in zero else 0.5
            h, r = self._t("fc"), self._t("r")
            self.nodes += [helper.make_node("Gemm", [x, self._const("fc0_w", w), self._const("fc0_b", b)], [h],
                                            name="fc0", transB=1), helper.make_node("Relu", [h], [r])]
            self.layers["fc0"] = Layer("fc0", hidden, zero, const)
            x, feats = r, hidden
        w, b = weights(self.rng, (classes, feats)), dyadic(self.rng, (classes,), -4, 4, False)
        self.nodes.append(helper.make_node("Gemm", [x, self._const("out_w", w), self._const("out_b", b)], ["y"],
                                           name="out", transB=1))
        self.layers["out"] = Layer("out", classes, output=True)
        self.classes = classes

    def model(self) -> Built:
        g = helper.make_graph(self.nodes, "prunenet",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(self.input_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, self.classes])], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
        return Built(m, self.layers, self.input_shape)


def dyadic_inputs(shape, n: int, seed: int) -> np.ndarray:
    k = np.random.default_rng(seed).integers(0, 4, size=(n,) + tuple(shape[1:]))
    return (k / 2).astype(np.float32)
