"""Check, before any work starts, that every node of a model has a place in
the hardware, and name all that do not at once.

Runs on the canonical, channels-last float graph (after to_channels_last).
The host handles reshapes and the NCHW -> NHWC transpose at the input and a
Softmax (with reshapes) at the output; in between, the hardware maps Dense
(Gemm/MatMul/Conv), ReLU, sliding windows, pooling, Flatten, and two-way
branches joined by an Add/Sum or a channel Concat.
"""
from __future__ import annotations

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph
from hwcomp.ops.activation import Softmax
from hwcomp.ops.elementwise import Add, Div, Mul, Sub
from hwcomp.ops.norm import BatchNormalization
from hwcomp.ops.quantizers import DequantizeAffine, QuantizeCodes
from hwcomp.ops.shape import Transpose
from hwcomp.ops.threshold_quant import ThresholdCodes

from .blocks import implementing
# After the last layer of a quantized model the host maps the accumulator to float
# and runs the model's remaining per-channel ops (scale, bias, BatchNorm).
HOST_AFFINE = (DequantizeAffine, Mul, Add, Sub, Div, BatchNormalization)
SUPPORTED = ("Gemm/MatMul", "Conv", "MaxPool", "AveragePool (padding counted)", "GlobalAveragePool", "Relu",
             "Add/Sum of two branches", "Concat of two branches", "BatchNormalization (folded into the layer before)",
             "Flatten/Reshape", "Softmax at the output (host)")


def _host_prefix(g: Graph) -> set[str]:
    ready = set(g.inputs) | set(g.constants)
    prefix: set[str] = set()
    for n in g.nodes():
        host_op = n.op.shape_only or n.op in (Transpose, QuantizeCodes, ThresholdCodes) or _constant_affine(n, g)
        if host_op and all(t in ready for t in n.inputs if t):
            prefix.add(n.name)
            ready.update(t for t in n.outputs if t)
    # An affine step (FINN's x -> 2x - 1) belongs to the host only on the way into its
    # input quantizer; anywhere else it would be float arithmetic on the stream.
    changed = True
    while changed:
        changed = False
        for n in g.nodes():
            if n.name in prefix and _constant_affine(n, g) and not _feeds_only(n, prefix, g):
                prefix.discard(n.name)
                changed = True
    return prefix


def _constant_affine(n, g: Graph) -> bool:
    return n.op in (Mul, Add, Sub, Div) and sum(t not in g.constants for t in n.inputs if t) == 1


def _feeds_only(n, names: set[str], g: Graph) -> bool:
    users = [u for t in n.outputs if t for u in g.consumers(t)]
    return bool(users) and all(u.name in names and (u.op is not Transpose and not u.op.shape_only
                                                    or _feeds_only(u, names, g)) for u in users)


def _host_suffix(g: Graph) -> set[str]:
    suffix: set[str] = set()
    for n in reversed(g.nodes()):
        affine = n.op in HOST_AFFINE and all(t in g.constants for t in n.inputs[1:] if t)
        if not (n.op is Softmax or n.op.shape_only or n.op is Transpose or affine):
            continue
        users = [u for t in n.outputs if t for u in g.consumers(t)]
        if all(u.name in suffix for u in users) and all(t in g.outputs or g.consumers(t) for t in n.outputs if t):
            suffix.add(n.name)
    return suffix


def hardware_problems(g: Graph) -> dict[str, list[str]]:
    """Node names by reason: the op type with no hardware block, or 'branches'."""
    host = _host_prefix(g) | _host_suffix(g)
    problems: dict[str, list[str]] = {}
    for n in g.nodes():
        if n.name in host or n.op.shape_only or n.op is Transpose:
            if n.name not in host and any(t and len(g.consumers(t)) > 2 for t in n.outputs):
                problems.setdefault("more than two branches", []).append(n.name)
            continue
        blocks = implementing(n.op)
        if not blocks:
            problems.setdefault(n.op.name, []).append(n.name)
            continue
        reasons = [b.unsupported(n, g) for b in blocks]
        if all(reasons):
            problems.setdefault(reasons[0], []).append(n.name)
        elif any(t and len(g.consumers(t)) > 2 for t in n.outputs):
            problems.setdefault("more than two branches", []).append(n.name)
    if not problems:
        # Transposes left between layers mean a layout the chain cannot stream.
        stray = [n.name for n in g.nodes() if n.op is Transpose and n.name not in host]
        if stray:
            problems["Transpose"] = stray
    return problems


def check_hardware_support(g: Graph, source: str) -> None:
    problems = hardware_problems(g)
    if problems:
        listed = "; ".join(f"{op}: {', '.join(repr(n) for n in names)}" for op, names in problems.items())
        raise HwcompError(f"{source}: no hardware block yet for {listed} (hardware maps a chain of "
                          f"{', '.join(SUPPORTED)})")
