"""Hypothesis strategies for random networks (random_nets.Net), quantization
settings and foldings. Widths lean towards primes and odd numbers, where folds
divide nothing and padding shows."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from hwcomp.passes.quantize import QuantConfig
from random_nets import Concat, Conv, Dense, GlobalAvgPool, Net, Pool, Residual, Unit, conv_out, serial_ii

PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67)

# Power-of-two fixed point (W or A above 4 bits); w8a2 / w4a2 give 2-bit signed codes
# wherever no ReLU precedes, including the model input.
FIXED_BITS = ("w8a8", "w4a8", "w8a4", "w2a8", "w8a2", "w4a2", "w6a3")
# Low-bit post-training quantization: bipolar (1-bit) and 2..4-bit codes; the
# QuantConfigs also binarize the first and last layers, and one gives the input 2 bits.
LOW_BITS = ("w1a1", "w1a2", "w2a2", "w2a1", "w4a4", "w3a2",
            QuantConfig(1, 1, edge_bits=None, input_bits=8), QuantConfig(2, 2, edge_bits=None, input_bits=2),
            QuantConfig(1, 2, edge_bits=None, input_bits=2))


def width(lo: int = 1, hi: int = 70) -> st.SearchStrategy[int]:
    """lo..hi, most often a prime or an odd number."""
    odd_lo, odd_hi = (lo + 1) // 2 if lo % 2 == 0 else lo // 2, (hi - 1) // 2
    return st.one_of(st.sampled_from([p for p in PRIMES if lo <= p <= hi]),
                     st.integers(odd_lo, odd_hi).map(lambda k: 2 * k + 1), st.integers(lo, hi))


def bits(low_bit_share: float = 0.5) -> st.SearchStrategy:
    """Fixed point or low-bit, the latter in about `low_bit_share` of the examples (low-bit
    modes refuse branches and average pools, so branchy examples want fewer of them)."""
    repeats = max(1, round(len(LOW_BITS) * (1 - low_bit_share) / (low_bit_share * len(FIXED_BITS))))
    return st.sampled_from(FIXED_BITS * repeats + LOW_BITS)


@st.composite
def dense(draw, out=None, relu=None) -> Dense:
    op = draw(st.sampled_from(["Gemm", "MatMul"]))
    return Dense(out=draw(width()) if out is None else out, op=op,
                 trans_b=draw(st.booleans()) if op == "Gemm" else True, bias=draw(st.booleans()),
                 relu=draw(st.booleans()) if relu is None else relu)


@st.composite
def mlp(draw) -> Net:
    n = draw(st.integers(1, 4))
    # a hidden layer without ReLU hands signed values to the next one
    layers = [draw(dense(relu=draw(st.sampled_from([True, True, True, False])))) for _ in range(n - 1)]
    layers.append(draw(dense(relu=False)))
    return Net("mlp", (draw(width()),), tuple(layers), seed=draw(st.integers(0, 2**16)),
               signed_input=draw(st.booleans()))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def conv(draw, c: int, h: int, w: int, out=None, same=False, stride=None) -> Conv:
    """A Conv that fits an input of c x h x w; `same` keeps the size (odd kernel, stride 1
    unless given, symmetric padding)."""
    if same:
        k = draw(st.sampled_from([k for k in (1, 3, 5, 7) if k <= 2 * min(h, w) + 1]))
        pads = ((k - 1) // 2,) * 4
        s = stride or 1
    else:
        k = draw(st.integers(1, 7))
        pads = tuple(draw(st.lists(st.integers(0, k - 1), min_size=4, max_size=4)))
        s = draw(st.integers(1, 3))
        if conv_out(h, k, s, pads[0], pads[2]) < 1 or conv_out(w, k, s, pads[1], pads[3]) < 1:
            k, pads = 1, (0, 0, 0, 0)   # the kernel would not fit: 1x1 always does
    oc = draw(width(1, 16)) if out is None else out
    groups = draw(st.sampled_from(sorted(set(_divisors(c)) & set(_divisors(oc)))))
    return Conv(oc, k, s, pads, groups, bias=draw(st.booleans()),
                relu=draw(st.sampled_from([True, True, True, False])))


@st.composite
def pool(draw, h: int, w: int):
    kind = draw(st.sampled_from(["max", "avg"]))
    k = draw(st.integers(2, max(2, min(3, h, w))))
    s = draw(st.integers(1, k))
    pads = tuple(draw(st.lists(st.integers(0, k // 2), min_size=4, max_size=4)))  # ONNX: pad < kernel
    if conv_out(h, k, s, pads[0], pads[2]) < 1 or conv_out(w, k, s, pads[1], pads[3]) < 1:
        return None
    return Pool(kind, k, s, pads)


def _shape_after(shape, layer):
    c, h, w = shape
    if isinstance(layer, Conv):
        t, l, b, r = layer.pads
        return layer.out, conv_out(h, layer.k, layer.stride, t, b), conv_out(w, layer.k, layer.stride, l, r)
    t, l, b, r = layer.pads
    return c, conv_out(h, layer.k, layer.stride, t, b), conv_out(w, layer.k, layer.stride, l, r)


@st.composite
def head(draw, shape) -> tuple:
    """Optional global average pool, then 1-2 dense layers (a Flatten goes in front)."""
    layers = []
    if shape[1] * shape[2] > 1 and draw(st.booleans()):
        layers.append(GlobalAvgPool())
    if draw(st.booleans()):
        layers.append(draw(dense(out=draw(width(1, 32)), relu=True)))
    layers.append(draw(dense(out=draw(width(1, 16)), relu=False)))
    return tuple(layers)


@st.composite
def cnn(draw) -> Net:
    in_shape = shape = (draw(width(1, 16)), draw(st.integers(5, 12)), draw(st.integers(5, 12)))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        layer = draw(conv(*shape))
        layers.append(layer)
        shape = _shape_after(shape, layer)
        if min(shape[1:]) >= 2 and draw(st.booleans()):
            p = draw(pool(*shape[1:]))
            if p is not None:
                layers.append(p)
                shape = _shape_after(shape, p)
    layers += draw(head(shape))
    return Net("cnn", in_shape, tuple(layers), seed=draw(st.integers(0, 2**16)), signed_input=draw(st.booleans()))


@st.composite
def _dense_branch(draw, out: int | None, identity_ok: bool) -> tuple:
    """() (the identity, if allowed) or 1-2 dense layers ending in `out` features (any if None)."""
    if identity_ok and draw(st.booleans()):
        return ()
    n = draw(st.integers(1, 2))
    return tuple(draw(dense(out=out if i == n - 1 and out is not None else None)) for i in range(n))


@st.composite
def _conv_branch(draw, shape, out: int | None, identity_ok: bool, stride: int = 1) -> tuple:
    """() or 1-2 size-keeping convolutions (the first with `stride`) ending in `out` channels."""
    if identity_ok and draw(st.booleans()):
        return ()
    layers = []
    n = draw(st.integers(1, 2))
    for i in range(n):
        layer = draw(conv(*shape, out=out if i == n - 1 else None, same=True, stride=stride if i == 0 else 1))
        layers.append(layer)
        shape = _shape_after(shape, layer)
    return tuple(layers)


def _branch_out(shape, branch):
    for layer in branch:
        shape = (layer.out,) if isinstance(layer, Dense) else _shape_after(shape, layer)
    return shape


@st.composite
def branchy(draw) -> Net:
    """A dense or convolutional trunk with 1-2 blocks, each a residual Add of two branches
    or a channel Concat of two (one branch may be the identity), then a dense head."""
    conv_trunk = draw(st.booleans())
    if conv_trunk:
        in_shape = (draw(width(1, 16)), draw(st.integers(5, 12)), draw(st.integers(5, 12)))
        stem = draw(conv(*in_shape))
        shape = _shape_after(in_shape, stem)
    else:
        in_shape = (draw(width()),)
        stem = draw(dense(relu=draw(st.booleans())))
        shape = (stem.out,)
    layers = [stem]
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.booleans()):
            c = shape[0]
            if conv_trunk:
                a = draw(_conv_branch(shape, c, identity_ok=False))
                b = draw(_conv_branch(shape, c, identity_ok=True))
            else:
                a = draw(_dense_branch(c, identity_ok=False))
                b = draw(_dense_branch(c, identity_ok=True))
            block = Residual(a, b, relu=draw(st.booleans()), op=draw(st.sampled_from(["Add", "Add", "Sum"])))
        else:
            if conv_trunk:
                s = draw(st.sampled_from([1, 1, 2]))
                a = draw(_conv_branch(shape, None, identity_ok=False, stride=s))
                b = draw(_conv_branch(shape, None, identity_ok=s == 1, stride=s))
            else:
                a = draw(_dense_branch(None, identity_ok=False))
                b = draw(_dense_branch(None, identity_ok=True))
            block = Concat(a, b)
            sa, sb = _branch_out(shape, a), _branch_out(shape, b)
        layers.append(block)
        shape = _branch_out(shape, block.a)
        if isinstance(block, Concat):
            shape = (sa[0] + sb[0],) + sa[1:]
    if conv_trunk and min(shape[1:]) >= 2 and draw(st.booleans()):
        p = draw(pool(*shape[1:]))
        if p is not None:
            layers.append(p)
            shape = _shape_after(shape, p)
    layers += draw(head(shape)) if conv_trunk else [draw(dense(out=draw(width(1, 16)), relu=False))]
    return Net("residual-conv" if conv_trunk else "residual-dense", in_shape, tuple(layers),
               seed=draw(st.integers(0, 2**16)), signed_input=draw(st.booleans()))


@dataclass(frozen=True)
class Folding:
    """How an example is folded: the default (None, None), a target II, or PE/SIMD per unit."""
    target_ii: int | None = None
    pe_simd: tuple[tuple[int, int], ...] | None = None


# At most this many multiplier lanes (PE * SIMD) per unit: Verilator's build time grows
# fast with the lanes (a 1000-lane MLP took two minutes), and 128 is twice the default.
LANE_CAP = 128


def _counts(n: int, cap: int) -> st.SearchStrategy[int]:
    """1..min(n, cap), often a count that divides n not at all, or 1, or the largest."""
    top = min(n, cap)
    odd = [v for v in range(2, top) if n % v]
    choices = [st.integers(1, top), st.sampled_from([1, top])]
    if odd:
        choices.append(st.sampled_from(odd))
    return st.one_of(*choices)


@st.composite
def explicit_folding(draw, units: list[Unit]) -> Folding:
    pairs = []
    for u in units:
        pe = draw(_counts(u.rows, LANE_CAP))
        cap = max(1, LANE_CAP // pe)
        # SIMD equal to the previous PE half the time (no width converter needed), else
        # anything: converters must do the rest
        prev = pairs[-1][0] if pairs else None
        if prev is not None and prev <= min(u.channels, cap) and draw(st.booleans()):
            simd = prev
        else:
            simd = draw(_counts(u.channels, cap))
        pairs.append((pe, simd))
    return Folding(pe_simd=tuple(pairs))


@st.composite
def target_folding(draw, units: list[Unit], lower: int) -> Folding:
    """A target II, log-uniform from what LANE_CAP lanes per unit reach up to the serial II
    (PE = SIMD = 1); one in eight lies below `lower`, which no folding can meet."""
    if lower > 1 and draw(st.integers(0, 7)) == 0:
        return Folding(target_ii=draw(st.integers(max(1, lower // 2), lower - 1)))
    serial = serial_ii(units)
    lo = max(lower, -(-serial // LANE_CAP))
    hi = max(serial, lo)
    u = draw(st.integers(0, 1000)) / 1000
    return Folding(target_ii=max(lo, min(hi, round(lo * (hi / lo) ** u))))


def folding(units: list[Unit], lower: int) -> st.SearchStrategy[Folding]:
    return st.one_of(st.just(Folding()), target_folding(units, lower), explicit_folding(units))
