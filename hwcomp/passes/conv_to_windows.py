"""Conv, MaxPool, AveragePool and GlobalAveragePool (NCHW) -> channels-last window ops, the form the hardware
streams: Transpose to NHWC, SlidingWindow, then Dense (convolution) or
PoolReduce (max pooling), then Transpose back. streamline_transposes later
cancels the transposes between layers, leaving one at the graph input."""
from __future__ import annotations

import numpy as np

from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense
from hwcomp.ops.pool import AveragePool, GlobalAveragePool, MaxPool
from hwcomp.ops.shape import Transpose
from hwcomp.ops.window import AveragePoolReduce, GlobalPoolReduce, PoolReduce, SlidingWindow

from .base import Pass

TO_NHWC, TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]


def conv_weight_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """[OC, C/g, KH, KW] -> [OC, KH*KW*C] in (ky, kx, c) column order; grouped
    convolutions become block-diagonal (exact, with zeros across groups)."""
    oc, cg, kh, kw = w.shape
    c = cg * groups
    m = np.zeros((oc, kh, kw, c), dtype=np.float64)
    per = oc // groups
    for g in range(groups):
        m[g * per:(g + 1) * per, :, :, g * cg:(g + 1) * cg] = np.transpose(w[g * per:(g + 1) * per], (0, 2, 3, 1))
    return m.reshape(oc, kh * kw * c)


def _window_attrs(a: dict, pad: str) -> dict:
    pt, pl, pb, pr = a["pads"][0], a["pads"][1], a["pads"][2], a["pads"][3]
    return {"kernel": list(a["kernel_shape"]), "strides": list(a["strides"]), "pads": [pt, pl, pb, pr], "pad": pad}


def _supported(g: Graph, node: Node) -> bool:
    a = node.attrs
    if len(g.tensors[node.inputs[0]].shape) != 4 or any(d != 1 for d in a.get("dilations", [1, 1])):
        return False
    if node.op is Conv:
        return node.inputs[1] in g.constants and (len(node.inputs) < 3 or not node.inputs[2]
                                                  or node.inputs[2] in g.constants)
    if node.op is GlobalAveragePool:
        return True
    if a.get("storage_order", 0) or len(node.outputs) > 1 and node.outputs[1]:
        return False
    if node.op is AveragePool and any(a["pads"]) and not a.get("count_include_pad", 0):
        return False  # the divisor would change at the borders: keep the float op
    return True


def _emit(g: Graph, node: Node, mid: list[tuple]) -> None:
    """Replace `node` by Transpose -> mid ops -> Transpose, keeping its output name."""
    x, y = node.inputs[0], node.outputs[0]
    dt = g.tensors[x].dtype
    g.remove_node(node.name)
    prev = g.unique_name(f"{node.name}_nhwc")
    g.add_node(Node(g.unique_name(f"{node.name}_to_nhwc"), Transpose, (x,), (prev,), {"perm": TO_NHWC}))
    g.tensors[prev] = TensorType(tuple(g.tensors[x].shape[i] for i in TO_NHWC), dt)
    for suffix, op, attrs, params in mid:
        out = g.unique_name(f"{node.name}_{suffix}")
        n = Node(g.unique_name(f"{node.name}_{suffix}"), op, (prev,), (out,), attrs, params)
        g.add_node(n)
        g.tensors[out] = op.infer(n, g)[0]
        prev = out
    g.add_node(Node(g.unique_name(f"{node.name}_to_nchw"), Transpose, (prev,), (y,), {"perm": TO_NCHW}))


def _rewrite(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    changed = False
    for node in g.nodes():
        if node.op not in (Conv, MaxPool, AveragePool, GlobalAveragePool) or not _supported(g, node):
            continue
        a = node.attrs
        if node.op is Conv:
            w = np.asarray(g.constants[node.inputs[1]], dtype=np.float64)
            b = (np.asarray(g.constants[node.inputs[2]], dtype=np.float64)
                 if len(node.inputs) > 2 and node.inputs[2] else np.zeros(w.shape[0]))
            params = {"weight": conv_weight_matrix(w, int(a.get("group", 1))).astype(np.float32),
                      "bias": b.astype(np.float32)}
            # A quantized layer's integer weight grid (passes/weight_grid) is per output channel: a row here.
            grid = {"weight_grid": a["weight_grid"]} if "weight_grid" in a else {}
            mid = [("window", SlidingWindow, _window_attrs(a, "zero"), {}), ("dense", Dense, grid, params)]
        elif node.op is GlobalAveragePool:
            mid = [("gap", GlobalPoolReduce, {}, {})]
        else:
            kh, kw = a["kernel_shape"]
            oh_onnx = node.op.infer(node, g)[0].shape[2:]
            is_max = node.op is MaxPool
            attrs = _window_attrs(a, "lowest" if is_max else "zero")
            n, c, h, w_ = g.tensors[node.inputs[0]].shape
            probe = Node("probe", SlidingWindow, (), (), attrs)
            if SlidingWindow.out_hw(probe, h, w_) != tuple(oh_onnx):
                continue  # ceil_mode adding a partial window: keep the float op
            reduce = ("pool", PoolReduce, {"window": kh * kw, "mode": "max"}, {}) if is_max else \
                ("pool", AveragePoolReduce, {"window": kh * kw}, {})
            mid = [("window", SlidingWindow, attrs, {}), reduce]
        _emit(g, node, mid)
        changed = True
    if changed:
        g.remove_unused()
    return g, changed


conv_to_windows = Pass("conv_to_windows", _rewrite)
