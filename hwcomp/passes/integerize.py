"""A trained quantized graph -> its exact integer form (the FINN-style streamlining).

Input: the canonical channels-last float graph of a model whose layers carry
weight grids (passes/weight_grid) and whose activations pass through
quantizers (passes/act_quantizers): FakeQuant (QONNX Quant/BipolarQuant, fused
QDQ pairs), ThresholdQuant (QONNX/FINN MultiThreshold) or Trunc.

For each layer Dense(x) where x is the codes q of a quantizer with scale s_x
and zero point z_x, and W = codes_w * s_w (per row):

    Dense(x) = s_x * s_w[r] * (acc[r] - z_x * rowsum(codes_w)[r]) + b[r],
    acc = codes_w @ q          (exact integers; bipolar values count as -1/+1)

Everything from the layer to the next quantizer (scales, bias, BatchNorm,
ReLU, Clip, transposes) is a monotonic function of acc per channel, so the
next quantizer's codes are a count of thresholds passed:
MultiThreshold(acc). The thresholds are found by evaluating those very ops
(their float32 references) at integer accumulator values, by binary search
over the accumulator's exact range, and are then checked against the ops on
a sample of accumulators, so a chain that is not monotonic fails loudly.
This covers XNOR-Net and BinaryNet (BatchNorm + sign -> one threshold) and
DoReFa-style k-bit activations (2^k - 1 thresholds) alike.

An average pool of codes followed by a Trunc (Brevitas TruncAvgPool2d) is one
integer pool whose scale step is the truncation (passes/trunc_pool).

A layer with no quantizer after it (the classifier) outputs acc; the host
turns it into the float value with DequantizeAffine and runs the remaining
ops in float. The model input's quantizer runs on the host (QuantizeCodes,
or ThresholdCodes for a MultiThreshold).
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import Int, bits_for_range
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.verify import verify
from hwcomp.ops.activation import Clip, Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add, Div, Mul, Sub
from hwcomp.ops.norm import BatchNormalization
from hwcomp.ops.quantizers import (DequantizeAffine, FakeQuant, MultiThreshold, QuantizeCodes, code_dtype,
                                   threshold_codes)
from hwcomp.ops.shape import Flatten, Reshape, Transpose
from hwcomp.ops.threshold_quant import ThresholdCodes, ThresholdQuant
from hwcomp.ops.trunc import Trunc
from hwcomp.ops.window import AveragePoolReduce, GlobalPoolReduce, PoolReduce, SlidingWindow

from .act_quantizers import CodeSpec, code_spec, float_to_codes, is_activation_quantizer, per_tensor
from .base import only_consumer
from .trunc_pool import scalar_gain, truncated_pool

# Per-channel monotonic ops allowed between a layer and the quantizer after it.
TAIL_OPS = (Mul, Add, Sub, Div, BatchNormalization, Relu, Clip, Transpose)


@dataclass(frozen=True)
class Codes:
    """A tensor of quantizer codes in the new graph, and what they mean."""

    tensor: str
    attrs: dict          # qmin, qmax, rounding, bipolar
    scale: float
    zero: float


def _tail_op(node: Node, src: Graph) -> bool:
    if node.op not in TAIL_OPS:
        return False
    # the other operands must be constants (a per-channel op, not a join) that do not
    # broadcast the tensor to more elements (a Transpose permutes them: same count)
    x, y = src.tensors.get(node.inputs[0]), src.tensors.get(node.outputs[0])
    same = x is not None and y is not None and math.prod(x.shape) == math.prod(y.shape)
    return same and all(t in src.constants for t in node.inputs[1:] if t)


def _commutes_with_quantizer(node: Node) -> bool:
    """Max pooling (its window padded with the lowest value) and layout ops."""
    if node.op is SlidingWindow:
        return node.attrs["pad"] == "lowest" or not any(node.attrs["pads"])
    return node.op in (PoolReduce, Flatten, Reshape, Transpose)


def _dense_bounds(w: np.ndarray, xmin: int, xmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-row min/max of codes_w @ x for x in [xmin, xmax]."""
    lo = np.where(w > 0, w * xmin, w * xmax).sum(axis=1)
    hi = np.where(w > 0, w * xmax, w * xmin).sum(axis=1)
    return lo.astype(np.int64), hi.astype(np.int64)


class _Integerizer:
    def __init__(self, graph: Graph) -> None:
        self.src = graph
        self.g = Graph(graph.name)
        self.g.meta = dict(graph.meta)
        self.g.inputs = list(graph.inputs)
        for t in graph.inputs:
            self.g.tensors[t] = graph.tensors[t]
        self.codes: dict[str, Codes] = {}
        self.floats: dict[str, str] = {t: t for t in graph.inputs}
        self.done: set[str] = set()
        self.where = graph.meta.get("source", graph.name)

    # -- helpers ------------------------------------------------------------
    def emit(self, name: str, op, ins, out_base: str, attrs=None, params=None) -> str:
        out = self.g.unique_name(out_base)
        node = Node(self.g.unique_name(name), op, tuple(ins), (out,), attrs or {}, params or {})
        self.g.add_node(node)
        self.g.tensors[out] = op.infer(node, self.g)[0]
        return out

    def fail(self, node: Node, msg: str) -> None:
        raise HwcompError(f"{self.where}: node {node.name!r} ({node.op.name}): {msg}")

    def as_float(self, t: str) -> str:
        if t in self.floats:
            return self.floats[t]
        if t in self.src.constants:
            self.g.add_constant(t, self.src.constants[t])
            return t
        c = self.codes[t]
        base = t if t in self.src.outputs else f"{t}_float"
        out = self.emit(f"{t}_dequant", DequantizeAffine, [c.tensor], base, {"axis": 0},
                        {"scale": np.float64(c.scale), "offset": np.float64(c.zero), "bias": np.float64(0)})
        self.floats[t] = out
        return out

    # -- node kinds ---------------------------------------------------------
    def quantizer(self, node: Node) -> None:
        s, z = node.params["scale"], node.params["zero_point"]
        if np.size(s) != 1 or np.size(z) != 1:
            self.fail(node, "activation scales and zero points must be per tensor; per-channel activation "
                            "quantization is not supported")
        prev = self.codes.get(node.inputs[0])
        spec = code_spec(node)
        vs, vz = spec.scale, spec.zero
        if prev is not None:
            # QDQ files re-quantize after MaxPool/Flatten with the same parameters: a no-op on codes.
            same = (prev.scale == float(np.asarray(s).reshape(-1)[0]) and prev.zero == float(np.asarray(z).reshape(-1)[0])
                    and all(prev.attrs.get(k) == node.attrs.get(k) for k in ("qmin", "qmax", "bipolar")))
            if not same:
                self.fail(node, "re-quantizes codes of another quantizer with different parameters and no layer "
                                "between them; supported: the same scale, zero point and bits")
            self.codes[node.outputs[0]] = Codes(prev.tensor, prev.attrs, vs, vz)
            return
        if node.inputs[0] in self.src.constants:
            self.fail(node, "quantizes a constant that is not one layer's weight (it is read by "
                            f"{', '.join(repr(u.name) for u in self.src.consumers(node.outputs[0])) or 'nothing'}); "
                            "supported: weight quantizers read by Gemm, MatMul or Conv, directly or through a "
                            "Transpose")
        x = self.as_float(node.inputs[0])
        q = self.emit(node.name, QuantizeCodes, [x], f"{node.outputs[0]}_codes", dict(node.attrs),
                      {"scale": np.asarray(s, np.float32).reshape(()), "zero_point": np.asarray(z, np.float32).reshape(())})
        self.codes[node.outputs[0]] = Codes(q, dict(node.attrs), vs, vz)

    def move(self, node: Node) -> None:
        """Reshapes, transposes, windows, max pooling: the same op on the codes."""
        c = self.codes[node.inputs[0]]
        if node.op is SlidingWindow and any(node.attrs["pads"]) and node.attrs["pad"] == "zero":
            if c.attrs.get("bipolar"):
                self.fail(node, "zero padding of a bipolar (+1/-1) tensor has no code; pad the convolution's "
                                "input with a multi-bit quantizer or use no padding")
        attrs = dict(node.attrs)
        if node.op is SlidingWindow and attrs["pad"] == "zero" and c.zero != 0:
            if c.zero != round(c.zero):
                self.fail(node, f"zero padding needs a code whose value is 0; zero point {c.zero:g} is not an integer")
            attrs["pad_code"] = int(c.zero)  # the code whose value is 0
        ins = [c.tensor] + [self.as_float(t) for t in node.inputs[1:] if t]
        out = self.emit(node.name, node.op, ins, f"{node.outputs[0]}_codes", attrs)
        self.codes[node.outputs[0]] = Codes(out, c.attrs, c.scale, c.zero)

    def threshold_input(self, node: Node) -> None:
        """A MultiThreshold on a float tensor (the model input): its counts on the host."""
        if node.inputs[0] in self.codes:
            self.fail(node, "re-thresholds codes of another quantizer with no layer between them; supported: "
                            "a MultiThreshold on the model input or after a quantized layer")
        spec = code_spec(node)
        q = self.emit(node.name, ThresholdCodes, [self.as_float(node.inputs[0])], f"{node.outputs[0]}_codes",
                      {"axis": node.attrs["axis"]}, {"thresholds": node.params["thresholds"]})
        self.codes[node.outputs[0]] = Codes(q, spec.attrs, spec.scale, spec.zero)

    def truncated_pool(self, node: Node) -> bool:
        """Average pooling of codes, then (past layout ops and scalar Muls) a Trunc: one integer
        pool (passes/trunc_pool). False, changing nothing, when no Trunc follows."""
        path, t = [], node.outputs[0]
        while (u := only_consumer(self.src, t)) is not None and u.op is not Trunc:
            if not (u.op is Transpose or u.op.shape_only or scalar_gain(u, self.src) is not None):
                return False
            path.append(u)
            t = u.outputs[0]
        if u is None:
            return False
        c = self.codes[node.inputs[0]]
        shape = self.src.tensors[node.inputs[0]].shape
        count = node.attrs["window"] if node.op is AveragePoolReduce else shape[1] * shape[2]
        gain = float(np.prod([scalar_gain(n, self.src) or 1.0 for n in path]))
        try:
            attrs, spec = truncated_pool(CodeSpec(c.attrs, c.scale, c.zero), count, gain, u)
        except HwcompError as e:
            self.fail(u, str(e))
        q = self.emit(node.name, node.op, [c.tensor], f"{node.outputs[0]}_codes", dict(node.attrs, **attrs))
        for n in path:  # the layout ops, now on codes; the gains are in the Trunc's scale
            if scalar_gain(n, self.src) is None:
                q = self.emit(n.name, n.op, [q] + [self.as_float(x) for x in n.inputs[1:] if x],
                              f"{n.outputs[0]}_codes", dict(n.attrs))
        self.done.update([n.name for n in path] + [u.name])
        self.codes[u.outputs[0]] = Codes(q, spec.attrs, spec.scale, spec.zero)
        return True

    def dense(self, node: Node) -> None:
        x = self.codes[node.inputs[0]]
        grid = node.attrs.get("weight_grid")
        if grid is None:
            self.fail(node, "this layer of a quantized model has float weights; quantize its weights too "
                            "(a Quant/BipolarQuant or DequantizeLinear on the weight)")
        w = node.params["weight"].astype(np.float64)
        s_w = np.asarray(grid["scale"], np.float64)
        if not (s_w != 0).all():  # Gemm alpha = 0, or a zero quantizer scale: no codes to recover
            self.fail(node, f"weight scale is 0 on {int((s_w == 0).sum())} of {s_w.size} rows (a zero quantizer "
                            "scale or Gemm alpha); supported: non-zero weight scales")
        wq = np.rint(w / s_w[:, None])
        if not np.allclose(wq * s_w[:, None], w, rtol=1e-5, atol=0):
            self.fail(node, "weights are not on their quantizer's grid")
        wdt = grid["dtype"]
        lo_w, hi_w = (-1, 1) if wdt.is_bipolar else (wdt.min_int, wdt.max_int)
        if wq.min() < lo_w or wq.max() > hi_w:
            self.fail(node, f"weight codes exceed {wdt}")
        wq = wq.astype(np.int64)
        xmin, xmax = (-1, 1) if x.attrs.get("bipolar") else (x.attrs["qmin"], x.attrs["qmax"])
        lo, hi = _dense_bounds(wq, xmin, xmax)   # reachable accumulators: the threshold search
        # The width holds every input the code type admits (docs/numerics.md rule 4, as check_layer
        # and the RTL bound it), not just the quantizer's range: narrow codes -1..1 are int<2>,
        # which admits -2; 5 MultiThreshold levels are uint<3>, which admits 7.
        xt = self.g.tensors[x.tensor].dtype
        tlo, thi = _dense_bounds(wq, -1, 1) if xt.is_bipolar else _dense_bounds(wq, xt.min_int, xt.max_int)
        width, _ = bits_for_range(min(int(tlo.min()), -1), max(int(thi.max()), 1))
        acc = self.emit(node.name, Dense, [x.tensor], f"{node.outputs[0]}_acc",
                        {"acc_dtype": Int(width), "weight_dtype": wdt},
                        {"weight": wq, "bias": np.zeros(wq.shape[0], np.int64)})
        affine = {"scale": x.scale * s_w, "offset": x.zero * wq.sum(axis=1).astype(np.float64),
                  "bias": node.params["bias"].astype(np.float64)}
        tail, moves, fq = self.tail(node)
        if fq is None:
            out = node.outputs[0]
            self.floats[out] = self.emit(f"{node.name}_dequant", DequantizeAffine, [acc],
                                         out if out in self.src.outputs else f"{out}_float",
                                                     {"axis": len(self.g.tensors[acc].shape) - 1}, affine)
            return
        spec = code_spec(fq)
        if spec.attrs["qmin"] is None:
            self.fail(fq, "a Trunc with 5 inputs (QONNX Trunc v1) does not bound its codes; after a layer, "
                          "supported: Trunc v2 (6 inputs, with an output bit width clamp)")
        thresholds, desc, base = self.thresholds(node, tail, fq, spec, affine, lo, hi)
        q = self.emit(f"{node.name}_thresholds", MultiThreshold, [acc], f"{fq.outputs[0]}_codes",
                      {"axis": len(self.g.tensors[acc].shape) - 1, "base": base, "dtype": code_dtype(spec.attrs)},
                      {"thresholds": thresholds, "descending": desc})
        for n in [n for n in tail if n.op is Transpose] + moves:  # the layout ops and pools, now on codes
            ins = [q] + [self.as_float(t) for t in n.inputs[1:] if t]
            q = self.emit(n.name, n.op, ins, f"{n.outputs[0]}_codes", dict(n.attrs))
        self.done.update(n.name for n in tail + moves)
        self.done.add(fq.name)
        self.codes[fq.outputs[0]] = Codes(q, spec.attrs, spec.scale, spec.zero)

    def tail(self, node: Node) -> tuple[list[Node], list[Node], Node | None]:
        """The per-channel ops from the layer to the next quantizer; the max pools and reshapes
        between those and the quantizer (onnxruntime's dynamic quantization quantizes after
        MaxPool), which commute with it because a quantizer never decreases; the quantizer."""
        return self._tail_from(node.outputs[0])

    def _tail_from(self, t: str) -> tuple[list[Node], list[Node], Node | None]:
        ops, moves = [], []
        while (u := only_consumer(self.src, t)) is not None:
            if is_activation_quantizer(u):
                if not moves:
                    # quantize -> per-channel ops -> quantize (torch's QDQ puts Relu between two
                    # quantizers) is one monotonic map too: the first quantizer joins the tail
                    more, more_moves, last = self._tail_from(u.outputs[0])
                    if last is not None and more:
                        return ops + [u] + more, more_moves, last
                if not per_tensor(u):
                    self.fail(u, "activation scales and zero points must be per tensor; per-channel "
                                 "activation quantization is not supported")
                return ops, moves, u
            if not moves and _tail_op(u, self.src):
                ops.append(u)
            elif _commutes_with_quantizer(u):
                moves.append(u)
            else:
                break
            t = u.outputs[0]
        return ops, [], None

    def tail_codes(self, tail: list[Node], fq: Node, affine: dict, acc: np.ndarray) -> np.ndarray:
        """Codes of `fq` for accumulators acc [M, C], through the tail's own float32 ops."""
        m, c = acc.shape
        pre = (acc - affine["offset"]) * affine["scale"] + affine["bias"]
        rank = len(self.src.tensors[tail[0].inputs[0] if tail else fq.inputs[0]].shape)
        # Extreme accumulators may overflow float32 to +-Inf, as they would in the float model;
        # the quantizer then saturates, which is what that model computes.
        with np.errstate(over="ignore", invalid="ignore"):
            v = pre.astype(np.float32).reshape((m,) + (1,) * (rank - 2) + (c,))
            for n in tail:
                ins = [v] + [self.src.constants[t] if t else None for t in n.inputs[1:]]
                v = n.op.execute(n, ins, self.src)[0]
            if np.isnan(v).any():  # Inf - Inf: no value, so no code
                self.fail(fq, "the ops before this quantizer compute NaN in float32 for accumulators its layer can "
                              "reach (Inf - Inf after an overflow: parameters far too large?); supported: values "
                              "that stay finite")
            return float_to_codes(fq, v).reshape(m, c)

    def thresholds(self, node, tail, fq, spec, affine, lo, hi):
        a = spec.attrs
        qmin, qmax = (0, 1) if a.get("bipolar") else (a["qmin"], a["qmax"])
        levels = np.arange(qmin + 1, qmax + 1)                       # K = qmax - qmin thresholds
        c, k = len(lo), len(levels)
        f = lambda a: self.tail_codes(tail, fq, affine, a)           # noqa: E731  [M, C] -> [M, C]
        desc = f(lo[None, :])[0] > f(hi[None, :])[0]
        # First accumulator in [lo, hi] whose code passes level L (ascending: code >= L;
        # descending: code < L); hi + 1 when none does.
        left = np.broadcast_to(lo[:, None], (c, k)).copy()
        right = np.broadcast_to(hi[:, None] + 1, (c, k)).copy()
        while np.any(left < right):
            mid = (left + right) // 2
            codes = f(np.minimum(mid, hi[:, None]).T).T              # [C, K]
            ok = np.where(desc[:, None], codes < levels[None, :], codes >= levels[None, :])
            right = np.where(ok & (left < right), mid, right)
            left = np.where(~ok & (left < right), mid + 1, left)
        thresholds = left.astype(np.int64)
        self.check_thresholds(node, fq, f, thresholds, desc, qmin, lo, hi)
        return thresholds, desc, int(qmin)

    def check_thresholds(self, node, fq, f, thresholds, desc, base, lo, hi) -> None:
        """Compare thresholds with the ops at every boundary and on spread samples."""
        rng = np.random.default_rng(0)
        span = hi - lo
        picks = [lo, hi] + [lo + (span * i) // 16 for i in range(1, 16)]
        picks += [np.clip(thresholds[:, j] + d, lo, hi) for j in range(thresholds.shape[1]) for d in (-1, 0)]
        picks += [lo + (rng.random(len(lo)) * (span + 1)).astype(np.int64) for _ in range(64)]
        acc = np.stack(picks)                                        # [M, C]
        want = f(acc)
        got = threshold_codes(acc, thresholds, desc, base)
        if not np.array_equal(want, got):
            bad = int(np.argwhere(want != got)[0][1])
            raise HwcompError(f"{self.where}: the ops between {node.name!r} and quantizer {fq.name!r} are not "
                              f"monotonic in the layer's output (channel {bad}); supported between a layer and "
                              "its activation quantizer: per-channel scales, biases, BatchNormalization, Relu, Clip")

    def float_op(self, node: Node) -> None:
        ins = [self.as_float(t) if t else "" for t in node.inputs]
        self.g.add_node(Node(node.name, node.op, tuple(ins), tuple(node.outputs), dict(node.attrs), dict(node.params)))
        for t in node.outputs:
            if t:
                self.g.tensors[t] = self.src.tensors[t]
                self.floats[t] = t

    def run(self) -> Graph:
        for node in self.src.nodes():
            if node.name in self.done:
                continue
            data = node.inputs[0] if node.inputs else None
            if node.op is FakeQuant:
                self.quantizer(node)
            elif node.op is ThresholdQuant:
                self.threshold_input(node)
            elif node.op is Trunc:
                self.fail(node, "supported: a Trunc after average pooling of quantized codes (Brevitas "
                                "TruncAvgPool2d) or after a quantized layer and its per-channel ops")
            elif node.op in (AveragePoolReduce, GlobalPoolReduce) and data in self.codes and self.truncated_pool(node):
                pass  # the pool and its Trunc are one integer pool now
            elif node.op is Dense and data in self.codes:
                self.dense(node)
            elif node.op is Dense and "weight_grid" in node.attrs:
                self.fail(node, "the input of this quantized layer is not quantized; put an activation "
                                "quantizer (Quant/BipolarQuant/QuantizeLinear) in front of it")
            elif (node.op.shape_only or node.op.value_preserving) and data in self.codes:
                self.move(node)
            else:
                self.float_op(node)
        self.g.outputs = [self.as_float(t) for t in self.src.outputs]
        self.g.remove_unused()
        return self.g


def integerize(graph: Graph) -> Graph:
    """Quantized float graph (channels last) -> integer graph (a new Graph)."""
    g = _Integerizer(graph).run()
    verify(g)
    return g
