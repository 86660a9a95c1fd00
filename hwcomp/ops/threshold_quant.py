"""QONNX/FINN MultiThreshold as a float quantizer, and its host-side integer form.

    count = #{k : x >= T[c, k]}          c the channel of x (data_layout's "C" axis)
    y     = out_scale * count + out_bias   in float32, as qonnx computes it

The thresholds are [C, K] (or [1, K] for every channel) and ascend per row, so
count is the code of a K+1-level quantizer whose code q means
out_scale * q + out_bias. Its IR name is ThresholdQuant: hwcomp's own
MultiThreshold (ops/quantizers.py) is the integer op integerize writes.
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import Int, bits_for_range
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType

from .base import INT, REAL, Op, register, required
from .onnx_common import OnnxOp, float_type, required_constant, shape_of

# qonnx's layout when the node names none, by rank
_DEFAULT_LAYOUT = {2: "NC", 3: "NWC", 4: "NCHW"}


def count_thresholds(x: np.ndarray, thresholds: np.ndarray, axis: int) -> np.ndarray:
    """#{k : x >= T[c, k]} per element (int64), c the index along `axis`.

    Compared in float64, which holds float32 inputs and float32 or integer
    thresholds exactly: the same comparisons numpy makes on the original types."""
    v = np.moveaxis(np.asarray(x, np.float64), axis, -1)[..., None]
    count = (v >= np.asarray(thresholds, np.float64)).sum(axis=-1, dtype=np.int64)
    return np.moveaxis(count, -1, axis)


def channel_axis(layout: str, rank: int) -> int:
    layout = layout or _DEFAULT_LAYOUT.get(rank, "")
    return layout.index("C") if "C" in layout else 1


@register
class ThresholdQuant(OnnxOp):
    """attrs: axis (the channel axis), out_scale, out_bias (float32 values as Python floats);
    params: thresholds [C or 1, K], float64 holding the file's values exactly."""

    name = "ThresholdQuant"
    onnx_types = ("MultiThreshold",)
    onnx_custom_domain = True
    attr_schema = {"axis": required(*INT), "out_scale": required(*REAL), "out_bias": required(*REAL)}
    infinite_inputs = (1,)  # a threshold at +-inf is never / always passed

    @classmethod
    def from_onnx(cls, node: Node, graph: Graph, opset: int) -> None:
        if len(node.inputs) != 2:
            raise HwcompError(f"MultiThreshold takes 2 inputs (x, thresholds); got {len(node.inputs)}")
        x_shape = shape_of(graph, node.inputs[0])
        t = required_constant(node, graph, 1, "thresholds")
        if t.dtype.kind not in "fiu" or t.ndim != 2 or t.shape[1] < 1:
            raise HwcompError(f"thresholds must be a numeric [channels, K] matrix with K >= 1; got {t.dtype} "
                              f"of shape {t.shape}")
        t = t.astype(np.float64)
        if np.isnan(t).any():
            raise HwcompError("thresholds contain NaN")
        rows = np.flatnonzero(np.any(np.diff(t, axis=1) < 0, axis=1))
        if rows.size:
            raise HwcompError(f"thresholds must ascend in each row; rows {rows[:4].tolist()} do not "
                              f"(row {rows[0]}: {t[rows[0], :8].tolist()})")
        if len(x_shape) < 2:
            raise HwcompError(f"input of rank {len(x_shape)} has no channel axis; supported: rank >= 2")
        layout = str(node.attrs.get("data_layout", ""))
        axis = channel_axis(layout, len(x_shape))
        if axis >= len(x_shape):
            raise HwcompError(f"data_layout {layout!r} puts channels on axis {axis} of a rank-{len(x_shape)} input")
        if t.shape[0] not in (1, x_shape[axis]):
            raise HwcompError(f"thresholds have {t.shape[0]} rows for {x_shape[axis]} channels (axis {axis}); "
                              "supported: one row per channel, or one row for all")
        # attributes are float32 in the file; qonnx computes with them in float32
        scale, bias = (float(np.float32(node.attrs.get(k, d))) for k, d in (("out_scale", 1.0), ("out_bias", 0.0)))
        if not (np.isfinite(scale) and scale != 0 and np.isfinite(bias)):
            raise HwcompError(f"out_scale must be finite and non-zero and out_bias finite; got {scale}, {bias}")
        node.attrs = {"axis": axis, "out_scale": scale, "out_bias": bias}
        node.params = {"thresholds": t}
        node.inputs = node.inputs[:1]

    @classmethod
    def levels(cls, node: Node) -> int:
        """K: the codes are 0..K."""
        return int(node.params["thresholds"].shape[1])

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        return [float_type(shape_of(graph, node.inputs[0]))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        count = count_thresholds(inputs[0], node.params["thresholds"], node.attrs["axis"]).astype(np.float32)
        a = node.attrs
        return [(np.float32(a["out_scale"]) * count + np.float32(a["out_bias"])).astype(np.float32)]


@register
class ThresholdCodes(Op):
    """Host: a float input -> the counts a ThresholdQuant scales (its codes).
    attrs: axis; params: thresholds [C or 1, K] (float64)."""

    name = "ThresholdCodes"
    attr_schema = {"axis": required(*INT)}

    @classmethod
    def infer(cls, node: Node, graph: Graph) -> list[TensorType]:
        width, signed = bits_for_range(0, int(node.params["thresholds"].shape[1]))
        return [graph.tensors[node.inputs[0]].with_dtype(Int(width, signed))]

    @classmethod
    def execute(cls, node: Node, inputs: list, graph: Graph) -> list[np.ndarray]:
        return [count_thresholds(inputs[0], node.params["thresholds"], node.attrs["axis"])]
