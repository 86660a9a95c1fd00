"""Conv (N-D, groups, strides, dilations, pads) and the sliding-window helpers
the pooling ops share.

Window attributes are stored explicitly after import: kernel_shape, strides,
dilations, pads ([begin..., end...]) and auto_pad="NOTSET"; SAME_* padding is
resolved to explicit pads at import, since spatial sizes are static.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import INT, INTS, STR, WEIGHT_GRID, register, required
from .onnx_common import OnnxOp, as_float, choose, float_type, shape_of

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
# What window_attrs leaves on a node (Conv and the pools).
WINDOW_SCHEMA = {"kernel_shape": required(*INTS), "strides": required(*INTS), "dilations": required(*INTS),
                 "pads": required(*INTS), "auto_pad": required(*STR)}
IM2COL_BYTES = 128 << 20


def extent(k: int, d: int) -> int:
    """Span of a dilated kernel."""
    return (k - 1) * d + 1


def window_attrs(node: Node, spatial: tuple[int, ...], kernel: list[int]) -> None:
    """Fill strides, dilations and explicit pads; resolve auto_pad."""
    n = len(spatial)
    if len(kernel) != n:
        raise HwcompError(f"kernel_shape {kernel} does not match {n} spatial dimensions")
    a = node.attrs
    a["kernel_shape"] = [int(k) for k in kernel]
    a["strides"] = [int(s) for s in a.get("strides", [1] * n)]
    a["dilations"] = [int(d) for d in a.get("dilations", [1] * n)]
    auto_pad = choose(a.get("auto_pad", "NOTSET"), AUTO_PADS, "auto_pad")
    if auto_pad == "NOTSET":
        pads = [int(p) for p in a.get("pads", [0] * 2 * n)]
    elif auto_pad == "VALID":
        pads = [0] * 2 * n
    else:
        begin, end = [], []
        for size, k, s, d in zip(spatial, a["kernel_shape"], a["strides"], a["dilations"]):
            total = max(0, (math.ceil(size / s) - 1) * s + extent(k, d) - size)
            lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            begin.append(lo)
            end.append(total - lo)
        pads = begin + end
    if len(pads) != 2 * n or len(a["strides"]) != n or len(a["dilations"]) != n:
        raise HwcompError(f"pads/strides/dilations do not match {n} spatial dimensions")
    if min(pads) < 0 or min(a["strides"]) < 1 or min(a["dilations"]) < 1:
        raise HwcompError("negative pads or non-positive strides/dilations are not supported")
    a["pads"] = pads
    a["auto_pad"] = "NOTSET"


def out_size(size: int, k: int, s: int, d: int, lo: int, hi: int, ceil_mode: bool = False) -> int:
    span = size + lo + hi - extent(k, d)
    if not ceil_mode:
        return span // s + 1
    o = -(-span // s) + 1
    # A window that would start inside the end padding is dropped (ONNX ceil_mode rule).
    return o - 1 if (o - 1) * s >= size + lo else o


def out_spatial(node: Node, spatial: tuple[int, ...], ceil_mode: bool = False) -> tuple[int, ...]:
    a = node.attrs
    n = len(spatial)
    out = tuple(
        out_size(spatial[i], a["kernel_shape"][i], a["strides"][i], a["dilations"][i], a["pads"][i], a["pads"][n + i], ceil_mode)
        for i in range(n)
    )
    if min(out, default=1) < 1:
        raise ValueError(f"{node.op.name} {node.name!r}: window larger than the padded input {spatial}")
    return out


def windows(x: np.ndarray, node: Node, out: tuple[int, ...], fill: float) -> np.ndarray:
    """View (B, C, *out, *kernel) of the padded input; padding (explicit pads, plus
    whatever the last ceil-mode window overhangs) holds `fill`."""
    a = node.attrs
    n = len(out)
    ext = [extent(k, d) for k, d in zip(a["kernel_shape"], a["dilations"])]
    widths = []
    for i in range(n):
        lo, hi = a["pads"][i], a["pads"][n + i]
        need = (out[i] - 1) * a["strides"][i] + ext[i]
        widths.append((lo, max(hi, need - x.shape[2 + i] - lo)))
    xp = np.pad(x, [(0, 0), (0, 0)] + widths, constant_values=fill) if any(map(any, widths)) else x
    v = sliding_window_view(xp, ext, axis=tuple(range(2, 2 + n)))
    sel = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, a["strides"]))
    sel += tuple(slice(None, None, d) for d in a["dilations"])
    return v[(slice(None), slice(None)) + sel]


@register
class Conv(OnnxOp):
    """Inputs (X, W, B?); W is (M, C/group, *kernel). attrs: group plus the window attrs."""

    name = "Conv"
    onnx_types = ("Conv",)
    attr_schema = {**WINDOW_SCHEMA, "group": required(*INT), **WEIGHT_GRID}

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        x, w = shape_of(graph, node.inputs[0]), shape_of(graph, node.inputs[1])
        kernel = node.attrs.get("kernel_shape", list(w[2:]))
        if list(kernel) != list(w[2:]):
            raise HwcompError(f"kernel_shape {list(kernel)} differs from the weight's {list(w[2:])}")
        node.attrs["group"] = int(node.attrs.get("group", 1))
        window_attrs(node, x[2:], list(kernel))

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        cls.check_float(node, graph)
        x, w = shape_of(graph, node.inputs[0]), shape_of(graph, node.inputs[1])
        g = node.attrs["group"]
        if len(x) < 3 or len(w) != len(x) or x[1] != w[1] * g or w[0] % g:
            raise ValueError(f"Conv {node.name!r}: input {x} does not match weight {w} with group {g}")
        if len(node.inputs) > 2 and node.inputs[2] and shape_of(graph, node.inputs[2]) != (w[0],):
            raise ValueError(f"Conv {node.name!r}: bias is {shape_of(graph, node.inputs[2])}, not ({w[0]},)")
        return [float_type((x[0], w[0]) + out_spatial(node, x[2:]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        cls.check_float(node, graph)
        x, w = as_float(inputs[0]), as_float(inputs[1])
        out = out_spatial(node, x.shape[2:])
        # The im2col matrix of a large batch would not fit in memory: go in chunks of samples.
        per_sample = math.prod(out) * math.prod(w.shape[1:]) * node.attrs["group"] * 4
        step = max(1, IM2COL_BYTES // max(per_sample, 1))
        y = np.concatenate([cls._conv(x[i:i + step], w, node, out) for i in range(0, x.shape[0], step)])
        if len(inputs) > 2 and inputs[2] is not None:
            y += as_float(inputs[2]).reshape((1, -1) + (1,) * len(out))
        return [y]

    @staticmethod
    def _conv(x: np.ndarray, w: np.ndarray, node: Node, out: tuple[int, ...]) -> np.ndarray:
        b, c = x.shape[:2]
        m, g, n = w.shape[0], node.attrs["group"], len(out)
        v = windows(x, node, out, 0.0)  # (B, C, *out, *kernel)
        v = v.reshape((b, g, c // g) + v.shape[2:])
        # im2col per group: rows are output positions, columns (channel, kernel tap).
        perm = (1, 0) + tuple(range(3, 3 + n)) + (2,) + tuple(range(3 + n, 3 + 2 * n))
        cols = np.ascontiguousarray(v.transpose(perm)).reshape(g, b * math.prod(out), -1)
        y = np.matmul(cols, w.reshape(g, m // g, -1).transpose(0, 2, 1))  # (G, positions, M/G)
        y = y.reshape((g, b) + out + (m // g,))
        y = np.moveaxis(y, -1, 1).transpose((2, 0, 1) + tuple(range(3, 3 + n))).reshape((b, m) + out)
        return np.ascontiguousarray(y, dtype=np.float32)

    @classmethod
    def macs(cls, node: Node, graph: Graph) -> int:
        (y,) = cls.infer(node, graph)
        w = shape_of(graph, node.inputs[1])
        return y.size * math.prod(w[1:])

    @classmethod
    def weight_input(cls, tensor: str, node: Node) -> bool:
        return tensor in node.inputs[1:]
