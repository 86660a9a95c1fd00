"""Post-training fixed-point quantization with power-of-two scales.

Weights: per output channel, the most fractional bits that hold the row's
max|w| without saturation; the Dense holds the codes and a left shift per row
onto the finest row's binary point (docs/numerics.md, rule 2). A layer whose
accumulator leaves as a float (the logits) keeps one format for every row.
Activations: of the fractional bits that hold the largest calibration value
and a few finer ones (which saturate the outliers), the one with the least
squared error over the calibration values; unsigned after ReLU. Accumulators:
exact (width from the bounds of x, W, b). A Requantize node narrows an
accumulator only where a Dense reads it; graph outputs and float-only
consumers (Softmax) read a Dequantize instead, so the final logits stay exact.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.hw.stream_ops import average_scale
from hwcomp.ir.dtypes import Fixed, bits_for_range
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.verify import verify
from hwcomp.passes.base import only_consumer
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense, accumulator_bounds
from hwcomp.ops.elementwise import Add, Sum
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.shape import Concat
from hwcomp.ops.quant import Dequantize, Quantize, Requantize
from hwcomp.ops.window import AveragePoolReduce, GlobalPoolReduce


LOW_BIT_MAX = 4  # both widths at most this: passes/lowbit instead of power-of-two fixed point

BITS_RULE = ("supported: w<W>a<A> with W and A both 1..4 (low-bit post-training quantization: 1 bit = XNOR-Net "
             "sign weights / BinaryNet sign activations, 2..4 bits = uniform grids; first and last layers at 8 bits) "
             "or both 2..16 (power-of-two fixed point; default w8a8)")


# Activation formats tried: the fractional bits holding the largest value, and this many finer.
ACT_FINER = 3
# Rows are at most this many bits finer than the coarsest row of their layer: the
# accumulator's common binary point, and so its width in the IR, stays bounded.
ROW_SHIFT_MAX = 8


@dataclass(frozen=True)
class QuantConfig:
    weight_bits: int = 8
    act_bits: int = 8
    input_bits: int | None = None   # default: act_bits (fixed point), edge_bits (low-bit)
    edge_bits: int | None = 8       # low-bit: weights of the first and last layers and the model input;
                                    # None quantizes them like the others
    per_channel: bool = True        # fixed point: one weight format per output channel (False: per layer)
    act_mse: bool = True            # fixed point: activation formats by least squared error (False: by max)

    def __post_init__(self) -> None:
        lo, hi = (1, LOW_BIT_MAX) if self.low_bit else (2, 16)
        if not (lo <= self.weight_bits <= hi and lo <= self.act_bits <= hi):
            raise HwcompError(f"--bits w{self.weight_bits}a{self.act_bits} is not supported; {BITS_RULE}")
        for name in ("input_bits", "edge_bits"):
            v = getattr(self, name)
            if v is not None and not 1 <= v <= 16:
                raise HwcompError(f"{name}={v} is not supported; supported: 1..16")

    @property
    def low_bit(self) -> bool:
        """Both widths at most 4 bits: binarization / low-bit uniform grids (passes/lowbit)."""
        return self.weight_bits <= LOW_BIT_MAX and self.act_bits <= LOW_BIT_MAX

    @property
    def spec(self) -> str:
        return f"w{self.weight_bits}a{self.act_bits}"

    @staticmethod
    def parse(spec: str) -> "QuantConfig":
        """'w8a8' -> weight 8 bits, activations 8 bits; see BITS_RULE."""
        m = re.fullmatch(r"w(\d+)a(\d+)", spec.strip().lower())
        if m is None:
            raise HwcompError(f"--bits {spec!r} is not understood; {BITS_RULE}")
        return QuantConfig(int(m.group(1)), int(m.group(2)))


def frac_bits_for(max_abs: float, width: int, signed: bool) -> int:
    """Most fractional bits such that max_abs rounds to at most the largest code."""
    top = (1 << (width - 1 if signed else width)) - 1
    if max_abs <= 0:
        return width - 1
    return math.floor(math.log2((top + 0.5) / max_abs))


@dataclass(frozen=True)
class TensorStats:
    """A tensor over the calibration set: its range and, per activation width, the
    squared quantization error of each candidate format (fractional bits -> error)."""
    lo: float
    hi: float
    errors: dict[int, dict[int, float]]

    @property
    def signed(self) -> bool:
        return self.lo < 0

    def max_frac(self, width: int) -> int:
        """Fractional bits that hold the largest magnitude without saturation."""
        return frac_bits_for(max(abs(self.lo), abs(self.hi)), width, self.signed)


def activation_type(stats: TensorStats, width: int) -> Fixed:
    """The candidate format with the least squared error (ties: the coarser); without
    errors for this width, the one holding the largest magnitude."""
    errs = stats.errors.get(width)
    frac = min(errs, key=lambda f: (errs[f], f)) if errs else stats.max_frac(width)
    return Fixed(width, frac, stats.signed)


def row_formats(w: np.ndarray, width: int, per_channel: bool) -> np.ndarray:
    """Fractional bits per output row (rule 2 of docs/numerics.md on each row, or on the
    whole matrix), the finest at most ROW_SHIFT_MAX above the coarsest; an all-zero
    row takes the finest."""
    m = np.abs(np.asarray(w, dtype=np.float64)).reshape(len(w), -1).max(axis=1, initial=0.0)
    if not per_channel or len(m) == 0:
        return np.full(len(m), frac_bits_for(float(m.max(initial=0.0)), width, True), dtype=np.int64)
    frac = np.array([frac_bits_for(float(v), width, True) for v in m], dtype=np.int64)
    nz = m > 0
    if not nz.any():
        return frac
    coarsest = int(frac[nz].min())
    finest = min(int(frac[nz].max()), coarsest + ROW_SHIFT_MAX)
    return np.where(nz, np.minimum(frac, finest), finest)


def quantize_weights(w: np.ndarray, width: int, per_channel: bool = False) -> tuple[np.ndarray, Fixed, np.ndarray]:
    """Codes, the weight type (its frac is the finest row's) and each row's left shift onto it:
    row r's codes mean q * 2^-(frac - shift[r])."""
    frac = row_formats(w, width, per_channel)
    # frac may be negative (weights above 2^(width-1)): no floor at 0, or every row would shift
    wt = Fixed(width, int(frac.max()) if frac.size else 0, True)
    codes = np.rint(np.asarray(w, dtype=np.float64) * 2.0 ** frac[:, None])
    return np.clip(codes, wt.min_int, wt.max_int).astype(np.int64), wt, wt.frac - frac


class _Builder:
    """Copies a float graph node by node into its fixed-point form."""

    def __init__(self, graph: Graph, stats: dict[str, TensorStats], cfg: QuantConfig,
                 one_format: frozenset[str] = frozenset()) -> None:
        self.src, self.stats, self.cfg = graph, stats, cfg
        self.one_format = one_format      # Dense nodes that keep one weight format for all rows
        self.g = Graph(graph.name)
        self.g.meta = dict(graph.meta)
        self.g.inputs = list(graph.inputs)
        self.fixed: dict[str, str] = {}   # float tensor -> its fixed-point tensor
        self.floats: dict[str, str] = {}  # float tensor -> tensor holding its float value
        self.done: set[str] = set()       # source nodes already folded into another
        self.row_shifted: dict[str, tuple[str, int]] = {}  # accumulator -> (its Dense, largest row shift)
        self.dequantized: set[str] = set()  # Dense nodes with row shifts whose accumulator became a float
        self.wanted = self.join_types()   # tensor -> the one type a concat needs on it

    def join_types(self) -> dict[str, Fixed]:
        """Both inputs of a concat carry the concat's type. Give it to each input where the
        input is first narrowed (back through moves: windows, pools, reshapes), so the unit
        producing it requantizes to it directly: a Requantize of an activation that is
        already narrow would need a hardware block of its own."""
        producers = self.src.producers()
        wanted: dict[str, Fixed] = {}
        for node in self.src.nodes():
            if node.op is not Concat:
                continue
            common = activation_type(self.stats[node.outputs[0]], self.cfg.act_bits)
            for t in node.inputs:
                while (p := producers.get(t)) is not None and (p.op.shape_only or p.op.value_preserving) \
                        and p.op is not Concat:
                    t = p.inputs[0]
                wanted.setdefault(t, common)
        return wanted

    def emit(self, name: str, op, ins, out_base: str, attrs=None, params=None) -> str:
        out = self.g.unique_name(out_base)
        node = Node(self.g.unique_name(name), op, tuple(ins), (out,), attrs or {}, params or {})
        self.g.add_node(node)
        self.g.tensors[out] = op.infer(node, self.g)[0]
        return out

    def as_float(self, t: str) -> str:
        if t in self.floats:
            return self.floats[t]
        if t in self.src.constants:
            self.g.add_constant(t, self.src.constants[t])
            return t
        base = t if t in self.src.outputs else f"{t}_deq"  # graph outputs keep their names
        if self.fixed[t] in self.row_shifted:
            self.dequantized.add(self.row_shifted[self.fixed[t]][0])
        out = self.emit(f"{t}_dequant", Dequantize, [self.fixed[t]], base)
        self.floats[t] = out
        return out

    def as_activation(self, t: str, want: Fixed | None = None) -> str:
        """The fixed-point tensor for `t`, narrowed to activation bits if it is an
        accumulator (to `want` when a join needs one type on all its inputs)."""
        q = self.fixed.get(t)
        if q is None:
            raise HwcompError(f"{self.src.name}: tensor {t!r} feeds a Dense but has no fixed-point form")
        want = want or self.wanted.get(t)
        qt = self.g.tensors[q].dtype
        if (qt.width <= self.cfg.act_bits and want is None) or qt == want:
            return q
        at = want or activation_type(self.stats[t], self.cfg.act_bits)
        # No finer than the coarsest row of the accumulator: keeps every row's shift >= 0.
        finest = qt.frac - self.row_shifted.get(q, ("", 0))[1]
        if at.frac > finest:
            at = Fixed(at.width, finest, at.signed)
        out = self.emit(f"{t}_requant", Requantize, [q], f"{t}_q", {"dtype": at})
        self.fixed[t] = out
        return out

    def dense(self, node: Node) -> None:
        x = self.as_activation(node.inputs[0])
        xt = self.g.tensors[x].dtype
        per_channel = self.cfg.per_channel and node.name not in self.one_format
        wq, wt, shift = quantize_weights(node.params["weight"], self.cfg.weight_bits, per_channel)
        # Each row's bias on its own accumulator scale, 2^-(F_w - shift[r] + F_x).
        bq = np.rint(node.params["bias"].astype(np.float64) * 2.0 ** (wt.frac - shift + xt.frac))
        _check_accumulator(self.src, node, bq)
        bq = bq.astype(np.int64)
        params = {"weight": wq, "bias": bq}
        if shift.any():
            params["row_shift"] = shift
        lo, hi = accumulator_bounds(wq, bq, xt, params.get("row_shift"))
        width, _ = bits_for_range(min(lo, -1), hi)
        _check_accumulator(self.src, node, bq, width)
        acc = Fixed(width, wt.frac + xt.frac, True)
        out = self.emit(node.name, Dense, [x], f"{node.outputs[0]}_acc", {"acc_dtype": acc, "weight_dtype": wt}, params)
        self.fixed[node.outputs[0]] = out
        if shift.any():
            self.row_shifted[out] = (node.name, int(shift.max()))

    def relu(self, node: Node) -> None:
        q = self.fixed[node.inputs[0]]
        out = self.emit(node.name, Relu, [q], f"{node.outputs[0]}_q")
        self.fixed[node.outputs[0]] = out
        if q in self.row_shifted:
            self.row_shifted[out] = self.row_shifted[q]

    def shape_op(self, node: Node) -> None:
        """Reshapes, transposes, windows and max pooling move values: they run on
        the activation type (narrowed first, as the hardware stream carries it)."""
        q = self.as_activation(node.inputs[0])
        ins = [q] + [self.as_float(t) if t in self.src.constants else self.fixed[t] for t in node.inputs[1:] if t]
        self.fixed[node.outputs[0]] = self.emit(node.name, node.op, ins, f"{node.outputs[0]}_q", dict(node.attrs))

    def average(self, node: Node) -> None:
        """Average pooling keeps its input's type; the division is a multiply and a
        rounding shift chosen here (hwcomp.hw.stream_ops.average_scale)."""
        q = self.as_activation(node.inputs[0])
        xt = self.g.tensors[q].dtype
        x_shape = self.g.tensors[q].shape
        count = node.attrs["window"] if node.op is AveragePoolReduce else x_shape[1] * x_shape[2]
        sc = average_scale(count, xt.width, xt.signed, xt.width, xt.signed)
        attrs = dict(node.attrs, mult=sc.mult, shift=sc.shift, out_min=sc.out_min, out_max=sc.out_max)
        self.fixed[node.outputs[0]] = self.emit(node.name, node.op, [q], f"{node.outputs[0]}_q", attrs)

    def residual_add(self, node: Node) -> None:
        """Add/Sum of two fixed tensors -> ResidualAdd; a ReLU right after it is folded in."""
        a, b = (self.as_activation(t) for t in node.inputs)
        fa, fb = (self.g.tensors[q].dtype.frac for q in (a, b))
        relu = only_consumer(self.src, node.outputs[0])
        relu = relu if relu is not None and relu.op is Relu else None
        out_name = relu.outputs[0] if relu else node.outputs[0]
        # A concat after it (through moves) needs its type here: no Requantize between them.
        out = self.wanted.get(out_name) or activation_type(self.stats[out_name], self.cfg.act_bits)
        f = max(fa, fb, out.frac)  # common binary point of the exact sum
        attrs = {"shift0": f - fa, "shift1": f - fb, "shift": f - out.frac, "relu": relu is not None, "dtype": out}
        q = self.emit(node.name, ResidualAdd, [a, b], f"{out_name}_q", attrs)
        self.fixed[node.outputs[0]] = q
        if relu:
            self.fixed[relu.outputs[0]] = q
            self.done.add(relu.name)

    def concat(self, node: Node) -> None:
        """Both inputs of a channel concat carry one type: the concat output's."""
        common = activation_type(self.stats[node.outputs[0]], self.cfg.act_bits)
        ins = [self.as_activation(t, common) for t in node.inputs]
        self.fixed[node.outputs[0]] = self.emit(node.name, node.op, ins, f"{node.outputs[0]}_q", dict(node.attrs))

    def float_op(self, node: Node) -> None:
        """Ops without a fixed-point form run in float on dequantized inputs."""
        ins = [self.as_float(t) if t else "" for t in node.inputs]
        outs = tuple(node.outputs)
        self.g.add_node(Node(node.name, node.op, tuple(ins), outs, dict(node.attrs), dict(node.params)))
        for t in outs:
            if t:
                self.g.tensors[t] = self.src.tensors[t]
                self.floats[t] = t

    def run(self) -> Graph:
        for name in self.src.inputs:
            it = self.wanted.get(name) or activation_type(self.stats[name], self.cfg.input_bits or self.cfg.act_bits)
            self.g.tensors[name] = self.src.tensors[name]
            self.floats[name] = name
            self.fixed[name] = self.emit(f"{name}_quant", Quantize, [name], f"{name}_q", {"dtype": it})
        for node in self.src.nodes():
            data_in = node.inputs[0] if node.inputs else None
            both_fixed = len(node.inputs) == 2 and all(t in self.fixed for t in node.inputs)
            if node.name in self.done:
                continue
            if node.op in (Add, Sum) and both_fixed and len({self.src.tensors[t].shape for t in node.inputs}) == 1:
                self.residual_add(node)
            elif node.op is Concat and both_fixed:
                self.concat(node)
            elif node.op is Dense:
                self.dense(node)
            elif node.op is Relu and data_in in self.fixed:
                self.relu(node)
            elif node.op in (AveragePoolReduce, GlobalPoolReduce) and data_in in self.fixed:
                self.average(node)
            elif (node.op.shape_only or node.op.value_preserving) and data_in in self.fixed:
                self.shape_op(node)
            else:
                self.float_op(node)
        outputs = []
        for t in self.src.outputs:
            f = self.as_float(t)
            outputs.append(f)
        self.g.outputs = outputs
        self.g.remove_unused()
        return self.g


def _check_accumulator(graph: Graph, node: Node, bias_steps: np.ndarray, width: int = 0) -> None:
    """A bias far larger than the weights times the inputs (1e30 beside weights of 0.1), or
    weights spanning too many binary orders, need more accumulator bits than fixed point
    holds (62)."""
    worst = float(np.abs(bias_steps).max()) if bias_steps.size else 0.0
    if worst < 2.0 ** 60 and width <= 62:
        return
    why = (f"its bias (|b| up to {float(np.abs(node.params['bias']).max()):.3g}) is about 2^{math.log2(worst):.0f} "
           "steps of the accumulator its weights and inputs set" if worst >= 2.0 ** 60 else
           f"its weights, bias and inputs need a {width}-bit accumulator")
    raise HwcompError(f"{graph.meta.get('source', graph.name)}: layer {node.name!r}: {why}; supported: accumulators "
                      "of up to 62 bits (weights, bias and inputs within about 2^40 of each other)")


def _batches(graph: Graph, calib: dict[str, np.ndarray], batch: int):
    """Every numeric tensor's values, a batch of calibration samples at a time, so that
    large models do not hold every activation of every sample at once."""
    n = len(next(iter(calib.values())))
    for i in range(0, n, batch):
        for k, v in execute(graph, {k: v[i:i + batch] for k, v in calib.items()}, keep_all=True).items():
            v = np.asarray(v)
            if v.size and np.issubdtype(v.dtype, np.number):
                yield k, v


def observe_ranges(graph: Graph, calib: dict[str, np.ndarray], batch: int = 16) -> dict[str, np.ndarray]:
    """[min, max] of every tensor over the calibration set."""
    ranges: dict[str, np.ndarray] = {}
    for k, v in _batches(graph, calib, batch):
        lo, hi = float(v.min()), float(v.max())
        old = ranges.get(k)
        ranges[k] = np.array([lo, hi] if old is None else [min(lo, old[0]), max(hi, old[1])])
    return ranges


def _format_candidates(graph: Graph) -> set[str]:
    """Tensors that may get an activation format: the inputs and every output of an op
    that computes values (moves such as reshapes and max pooling keep their input's)."""
    out = set(graph.inputs)
    for node in graph.nodes():
        if not (node.op.shape_only or node.op.value_preserving):
            out.update(t for t in node.outputs if t)
    return out


def observe(graph: Graph, calib: dict[str, np.ndarray], widths: tuple[int, ...], finer: int = ACT_FINER,
            batch: int = 16) -> dict[str, TensorStats]:
    """Ranges, then (second pass) the squared error of each candidate activation format
    per width: the fractional bits holding the largest magnitude and `finer` more."""
    ranges = observe_ranges(graph, calib, batch)
    stats = {k: TensorStats(float(r[0]), float(r[1]), {}) for k, r in ranges.items()}
    if finer <= 0:
        return stats
    wanted = _format_candidates(graph)
    for k in wanted & stats.keys():
        st = stats[k]
        for w in widths:
            st.errors[w] = {f: 0.0 for f in range(st.max_frac(w), st.max_frac(w) + finer + 1)}
    for k, v in _batches(graph, calib, batch):
        if k not in wanted:
            continue
        x = v.astype(np.float64).ravel()
        for w, errs in stats[k].errors.items():
            t = Fixed(w, 0, stats[k].signed)
            for f in errs:
                q = np.clip(np.rint(x * 2.0 ** f), t.min_int, t.max_int) * 2.0 ** -f
                errs[f] += float(np.square(q - x).sum())
    return stats


def quantize(graph: Graph, calib: dict[str, np.ndarray], cfg: QuantConfig = QuantConfig()) -> Graph:
    """Float canonical graph + calibration inputs -> fixed-point graph (a new Graph).

    A layer with a weight format per row whose accumulator turns out to leave as a float
    (the logits) is built again with one format: the hardware emits that accumulator as
    it is, with no row shift."""
    widths = tuple(sorted({cfg.act_bits, cfg.input_bits or cfg.act_bits}))
    stats = observe(graph, calib, widths, ACT_FINER if cfg.act_mse else 0)
    b = _Builder(graph, stats, cfg)
    g = b.run()
    if b.dequantized:
        g = _Builder(graph, stats, cfg, frozenset(b.dequantized)).run()
    verify(g)
    return g
