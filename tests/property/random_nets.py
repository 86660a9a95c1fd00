"""Random networks for the property tests: plain descriptions (frozen dataclasses
whose repr is valid Python, so a failing example pastes into a regression
test), their ONNX models built with onnx.helper, and the shape facts the tests
need (the matrix-vector units in order, and a lower bound on any design's II)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 10  # onnxruntime refuses onnx 1.23's default IR version


@dataclass(frozen=True)
class Dense:
    """Gemm (optionally transB=0) or MatMul (+ Add for the bias); a Flatten goes in front
    when it reads a feature map."""
    out: int
    op: str = "Gemm"
    trans_b: bool = True
    bias: bool = True
    relu: bool = True


@dataclass(frozen=True)
class Conv:
    out: int
    k: int
    stride: int = 1
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # top, left, bottom, right
    groups: int = 1
    bias: bool = True
    relu: bool = True


@dataclass(frozen=True)
class Pool:
    kind: str                                        # "max" | "avg"
    k: int
    stride: int
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # avg pools count the padding (count_include_pad=1)


@dataclass(frozen=True)
class GlobalAvgPool:
    pass


@dataclass(frozen=True)
class Residual:
    """y = [Relu](Add(a(x), b(x))); an empty branch is the identity."""
    a: tuple
    b: tuple = ()
    relu: bool = True
    op: str = "Add"                                  # "Add" | "Sum"


@dataclass(frozen=True)
class Concat:
    """y = Concat(a(x), b(x)) over channels; an empty branch is the identity."""
    a: tuple
    b: tuple = ()


@dataclass(frozen=True)
class Net:
    family: str
    input_shape: tuple[int, ...]    # per sample: (features,) or (C, H, W)
    layers: tuple
    seed: int = 0
    signed_input: bool = True       # data uniform in [-1, 1) (else [0, 1))


@dataclass(frozen=True)
class Unit:
    """One matrix-vector unit as --fold sees it: PE in 1..rows, SIMD in 1..channels."""
    name: str
    rows: int
    channels: int
    positions: int = 1
    pixels: int = 1


def conv_out(size: int, k: int, stride: int, lo: int, hi: int) -> int:
    return (size + lo + hi - k) // stride + 1


@dataclass
class _Walk:
    """Shapes through a Net; records units and per-stream lower bounds on cycles per image."""
    units: list[Unit] = field(default_factory=list)
    bounds: list[int] = field(default_factory=list)

    def run(self, shape: tuple[int, ...], layers) -> tuple[int, ...]:
        for layer in layers:
            shape = self.layer(shape, layer)
        return shape

    def layer(self, shape, layer):
        name = f"u{len(self.units)}"
        if isinstance(layer, Dense):
            if len(shape) == 3:  # flattened feature map: one vector of H*W pixels
                c, h, w = shape
                self.units.append(Unit(name, layer.out, c, h * w, 1))
                self.bounds.append(h * w)
            else:
                self.units.append(Unit(name, layer.out, shape[0]))
                self.bounds.append(1)
            return (layer.out,)
        if isinstance(layer, (Conv, Pool)):
            c, h, w = shape
            t, l, b, r = layer.pads
            oh, ow = conv_out(h, layer.k, layer.stride, t, b), conv_out(w, layer.k, layer.stride, l, r)
            # each output pixel reads k*k window positions, one beat each at least
            self.bounds.append(oh * ow * layer.k * layer.k)
            if isinstance(layer, Conv):
                self.units.append(Unit(name, layer.out, c, layer.k * layer.k, oh * ow))
                return (layer.out, oh, ow)
            return (c, oh, ow)
        if isinstance(layer, GlobalAvgPool):
            self.bounds.append(shape[1] * shape[2])
            return (shape[0], 1, 1)
        if isinstance(layer, Residual):
            a = self.run(shape, layer.a)
            b = self.run(shape, layer.b)
            assert a == b, (a, b)
            return a
        if isinstance(layer, Concat):
            a = self.run(shape, layer.a)
            b = self.run(shape, layer.b)
            assert a[1:] == b[1:], (a, b)
            # a concat passes each branch's beats: at least two per pixel
            pixels = math.prod(a[1:])
            self.bounds.append(2 * pixels)
            return (a[0] + b[0],) + a[1:]
        raise TypeError(layer)


def walk(net: Net) -> tuple[tuple[int, ...], list[Unit], int]:
    """(output shape, units in ONNX node order, lower bound on the II of any folding)."""
    w = _Walk()
    shape = net.input_shape
    w.bounds.append(math.prod(shape[1:]) if len(shape) == 3 else 1)  # the input: one pixel per beat at most
    out = w.run(shape, net.layers)
    return out, w.units, max(w.bounds)


def _all_layers(layers):
    for layer in layers:
        yield layer
        if isinstance(layer, (Residual, Concat)):
            yield from _all_layers(layer.a + layer.b)


def has_branches(net: Net) -> bool:
    return any(isinstance(layer, (Residual, Concat)) for layer in net.layers)


def has_average_pool(net: Net) -> bool:
    return any(isinstance(layer, GlobalAvgPool) or isinstance(layer, Pool) and layer.kind == "avg"
               for layer in _all_layers(net.layers))


def pads_hidden_activations(net: Net) -> bool:
    """A zero-padded convolution reads the output of another layer (not the model input)."""
    convs = [layer for layer in _all_layers(net.layers) if isinstance(layer, Conv)]
    first = net.layers[0]
    return any(any(c.pads) for c in convs if c is not first)


def serial_ii(units: list[Unit]) -> int:
    """Cycles per image of the slowest unit at PE = SIMD = 1."""
    return max(u.pixels * u.rows * u.positions * u.channels for u in units)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}{self.count}"

    def const(self, base: str, value: np.ndarray) -> str:
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), n))
        return n

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self.name(op.lower() + "_")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(op), **attrs))
        return out

    def weights(self, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        # He scaling keeps activations O(1) through the layers, so no layer saturates or vanishes
        return self.rng.standard_normal(shape) * math.sqrt(2.0 / max(1, fan_in))

    def bias(self, n: int) -> np.ndarray:
        return 0.1 * self.rng.standard_normal(n)

    def run(self, x: str, shape, layers) -> tuple[str, tuple[int, ...]]:
        for layer in layers:
            x, shape = self.layer(x, shape, layer)
        return x, shape

    def layer(self, x: str, shape, layer):
        if isinstance(layer, Dense):
            if len(shape) == 3:
                x = self.node("Flatten", [x], axis=1)
                shape = (math.prod(shape),)
            n_in = shape[0]
            w = self.weights((layer.out, n_in), n_in)
            if layer.op == "Gemm":
                ins = [x, self.const("w", w if layer.trans_b else w.T)]
                if layer.bias:
                    ins.append(self.const("b", self.bias(layer.out)))
                x = self.node("Gemm", ins, transB=int(layer.trans_b))
            else:
                x = self.node("MatMul", [x, self.const("w", w.T)])
                if layer.bias:
                    x = self.node("Add", [x, self.const("b", self.bias(layer.out))])
            if layer.relu:
                x = self.node("Relu", [x])
            return x, (layer.out,)
        if isinstance(layer, (Conv, Pool)):
            c, h, w_ = shape
        if isinstance(layer, Conv):
            cg = c // layer.groups
            ins = [x, self.const("w", self.weights((layer.out, cg, layer.k, layer.k), cg * layer.k * layer.k))]
            if layer.bias:
                ins.append(self.const("b", self.bias(layer.out)))
            t, l, b, r = layer.pads
            x = self.node("Conv", ins, kernel_shape=[layer.k, layer.k], strides=[layer.stride] * 2,
                          pads=[t, l, b, r], group=layer.groups)
            if layer.relu:
                x = self.node("Relu", [x])
            return x, (layer.out, conv_out(h, layer.k, layer.stride, t, b), conv_out(w_, layer.k, layer.stride, l, r))
        if isinstance(layer, Pool):
            t, l, b, r = layer.pads
            attrs = dict(kernel_shape=[layer.k, layer.k], strides=[layer.stride] * 2, pads=[t, l, b, r])
            if layer.kind == "avg":
                attrs["count_include_pad"] = 1
            x = self.node("MaxPool" if layer.kind == "max" else "AveragePool", [x], **attrs)
            return x, (c, conv_out(h, layer.k, layer.stride, t, b), conv_out(w_, layer.k, layer.stride, l, r))
        if isinstance(layer, GlobalAvgPool):
            return self.node("GlobalAveragePool", [x]), (shape[0], 1, 1)
        if isinstance(layer, (Residual, Concat)):
            a, sa = self.run(x, shape, layer.a)
            b, sb = self.run(x, shape, layer.b)
            if isinstance(layer, Concat):
                return self.node("Concat", [a, b], axis=1), (sa[0] + sb[0],) + sa[1:]
            y = self.node(layer.op, [a, b])
            if layer.relu:
                y = self.node("Relu", [y])
            return y, sa
        raise TypeError(layer)


def build_onnx(net: Net) -> onnx.ModelProto:
    b = _Builder(net.seed)
    y, shape = b.run("x", net.input_shape, net.layers)
    b.nodes.append(helper.make_node("Identity", [y], ["y"], name="output"))
    graph = helper.make_graph(
        b.nodes, net.family, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *net.input_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, *shape])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="hwcomp-property-tests")
    onnx.checker.check_model(model, full_check=True)
    return model


def sample_inputs(net: Net, n: int, salt: int) -> np.ndarray:
    """n seeded samples of the model input (salt separates calibration from test data)."""
    rng = np.random.default_rng([net.seed, salt])
    lo = -1.0 if net.signed_input else 0.0
    return rng.uniform(lo, 1.0, (n, *net.input_shape)).astype(np.float32)
