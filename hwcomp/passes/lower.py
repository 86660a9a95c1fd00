"""Integer layers -> MatrixVectorUnit, the hardware op.

Fixed point (post-training quantization): Dense [+ Relu] [+ Requantize]; with a
weight format per row, one requantization shift per row.
Trained quantized models (passes/integerize): Dense + MultiThreshold, or a
Dense whose accumulator leaves the hardware. A Dense with bipolar inputs and
bipolar weights becomes the XNOR-popcount kind (docs/numerics_binary.md):
its thresholds move from the dot product acc = 2p - N to the popcount p, and
without thresholds it outputs p, the host's DequantizeAffine rescaled to match.
A Dense with bipolar inputs and multi-bit weights (the 8-bit classifier after
binary activations) reads the bits b as 0/1: W (2b - 1) + c = 2 (W b) + (c - rowsum W),
so the unit computes W b and its thresholds, or the host's affine map, take
the factor 2 and the offset (no extra weight bit, no multiplier change).
Bipolar inputs and weights with a multi-bit output take that form too, with
+-1 weights: the XNOR unit has a single threshold per row.
"""
from __future__ import annotations

import numpy as np

from hwcomp.errors import HwcompError
from hwcomp.ir.dtypes import Int, bits_for_range
from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense, accumulator_bounds
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.quant import Requantize
from hwcomp.ops.quantizers import DequantizeAffine, MultiThreshold

from .base import Pass, only_consumer


def _fixed_point(g: Graph, dense: Node) -> tuple[list[Node], str, dict, dict]:
    fused, out = [dense], dense.outputs[0]
    relu = only_consumer(g, out)
    if relu is not None and relu.op is Relu:
        fused.append(relu)
        out = relu.outputs[0]
    req = only_consumer(g, out)
    requant = req is not None and req.op is Requantize
    if requant:
        fused.append(req)
        out = req.outputs[0]
    acc = dense.attrs["acc_dtype"]
    out_dtype = g.tensors[out].dtype
    attrs = {
        "relu": len(fused) > 1 and fused[1].op is Relu,
        "requant": requant,
        "shift": acc.frac - out_dtype.frac if requant else 0,
        "acc_dtype": acc,
        "weight_dtype": dense.attrs["weight_dtype"],
        "out_dtype": out_dtype,
    }
    if "row_shift" in dense.params:
        return (fused, out) + _per_row_requant(g, dense, attrs)
    return fused, out, attrs, dict(dense.params)


def _per_row_requant(g: Graph, dense: Node, attrs: dict) -> tuple[dict, dict]:
    """Weights with a format per row: the Dense shifts row r's accumulator left by
    d[r] onto the common binary point and the Requantize shifts it right by s. The
    unit accumulates each row on its own scale (narrower) and shifts it right by
    s - d[r]: round half up of (a << d) >> s is that of a >> (s - d) when s >= d, and
    ReLU commutes with both. A shift of the accumulator's width or more gives 0 for
    every accumulator, so it is capped there (the unit rounds in acc_width + 1 bits)."""
    params = dict(dense.params)
    d = np.asarray(params.pop("row_shift"), dtype=np.int64)
    if not attrs["requant"]:
        raise HwcompError(f"{g.meta.get('source', g.name)}: layer {dense.name!r}: weights with a format per row "
                          "need a requantized output (the exact accumulator leaves with one format)")
    shifts = attrs["shift"] - d
    if (shifts < 0).any():
        raise HwcompError(f"{g.meta.get('source', g.name)}: layer {dense.name!r}: output format "
                          f"{attrs['out_dtype']} is finer than a row's accumulator (shift {int(shifts.min())})")
    lo, hi = accumulator_bounds(params["weight"], params["bias"], g.tensors[dense.inputs[0]].dtype)
    width, _ = bits_for_range(min(lo, -1), hi)
    shifts = np.minimum(shifts, width)
    attrs = dict(attrs, acc_dtype=Int(width))
    if (shifts == shifts[0]).all():
        return dict(attrs, shift=int(shifts[0])), params
    return dict(attrs, shift=0), dict(params, row_shifts=shifts)


def _plain_attrs(dense: Node, out_dtype) -> dict:
    return {"relu": False, "requant": False, "shift": 0, "acc_dtype": dense.attrs["acc_dtype"],
            "weight_dtype": dense.attrs["weight_dtype"], "out_dtype": out_dtype}


def _thresholded(g: Graph, dense: Node, mt: Node) -> tuple[list[Node], str, dict, dict]:
    """Dense + MultiThreshold: one unit with a threshold output stage."""
    out = mt.outputs[0]
    attrs = _plain_attrs(dense, g.tensors[out].dtype)
    attrs.update(out_base=mt.attrs["base"], weight_bipolar=dense.attrs["weight_dtype"].is_bipolar)
    params = dict(_unit_weights(dense), thresholds=mt.params["thresholds"], descending=mt.params["descending"])
    return [dense, mt], out, attrs, params


def _unit_weights(dense: Node) -> dict:
    """The unit's weight params: bipolar weights are stored as bits (1 = +1)."""
    params = dict(dense.params)
    if dense.attrs["weight_dtype"].is_bipolar:
        params["weight"] = (np.asarray(params["weight"]) > 0).astype(np.int64)
    return params


def _xnor(g: Graph, dense: Node, mt: Node | None) -> tuple[list[Node], str, dict, dict]:
    """Bipolar x bipolar: popcount p of agreements, acc = 2p - N."""
    w = np.asarray(dense.params["weight"], np.int64)
    n = w.shape[1]
    bits = (w > 0).astype(np.int64)
    if mt is None:
        # The popcount leaves the hardware; the host's affine map takes p instead of acc.
        width, _ = bits_for_range(0, n)
        attrs = _plain_attrs(dense, Int(width, False))
        attrs.update(kind="xnor")
        return [dense], dense.outputs[0], attrs, {"weight": bits}
    t = np.asarray(mt.params["thresholds"], np.int64)
    desc = np.asarray(mt.params["descending"], bool)
    # Descending rows: invert the row (acc' = -acc); acc < T  <=>  acc' >= 1 - T.
    bits[desc] ^= 1
    t_acc = np.where(desc, 1 - t[:, 0], t[:, 0])
    # 2p - N >= T  <=>  p >= ceil((T + N) / 2)
    t_p = -((-(t_acc + n)) // 2)
    attrs = _plain_attrs(dense, g.tensors[mt.outputs[0]].dtype)
    attrs.update(kind="xnor")
    return [dense, mt], mt.outputs[0], attrs, {"weight": bits, "thresholds": t_p[:, None]}


def _one_bit(mt: Node) -> bool:
    """A MultiThreshold the XNOR unit can take: one threshold, codes 0/1."""
    return np.shape(mt.params["thresholds"])[1] == 1 and mt.attrs["base"] == 0


def _bits_shift(dense: Node):
    """Bipolar input, multi-bit weights: acc = 2 (W b) + shift on the bits b (0/1), shift = bias - rowsum(W)."""
    w = np.asarray(dense.params["weight"], np.int64)
    return np.asarray(dense.params["bias"], np.int64) - w.sum(axis=1)


def _bits_times_weights(g: Graph, dense: Node, mt: Node | None) -> tuple[list[Node], str, dict, dict]:
    """Bipolar input, multi-bit weights: the unit computes a = W b on the bits b (0/1);
    the layer's accumulator is acc = 2a + shift[r] (_bits_shift)."""
    w = np.asarray(dense.params["weight"], np.int64)
    lo, hi = np.minimum(w, 0).sum(axis=1), np.maximum(w, 0).sum(axis=1)
    width, _ = bits_for_range(min(int(lo.min()), -1), max(int(hi.max()), 1))
    attrs = dict(_plain_attrs(dense, Int(width)), acc_dtype=Int(width))
    params = {"weight": w, "bias": np.zeros(w.shape[0], np.int64)}
    if dense.attrs["weight_dtype"].is_bipolar:
        # Binary weights into a multi-bit output (FINN's w1a2 after a w1a1 layer): the
        # XNOR unit has one threshold, so this unit takes the bits with +-1 weights.
        attrs["weight_bipolar"] = True
        params["weight"] = _unit_weights(dense)["weight"]
    shift = _bits_shift(dense)
    if mt is None:
        return [dense], dense.outputs[0], attrs, params
    # 2a + shift >= T  <=>  a >= ceil((T - shift) / 2)
    t = np.asarray(mt.params["thresholds"], np.int64)
    attrs.update(out_dtype=g.tensors[mt.outputs[0]].dtype, out_base=mt.attrs["base"])
    params.update(thresholds=-((shift[:, None] - t) // 2), descending=mt.params["descending"])
    return [dense, mt], mt.outputs[0], attrs, params


def _retarget_host_affine(g: Graph, tensor: str, shift) -> None:
    """The DequantizeAffine reading a unit whose output is (acc - shift) / 2 (the popcount p of
    an XNOR unit: shift = -N) now maps it: (2 out + shift - off) * s + b."""
    for u in g.consumers(tensor):
        if u.op is not DequantizeAffine:
            raise HwcompError(f"{g.name}: the output of binary-input layer feeding {u.name!r} ({u.op.name}) "
                              "is not the accumulator; supported: the host's dequantization")
        p = u.params
        g.replace_node(u.name, Node(u.name, u.op, u.inputs, u.outputs, dict(u.attrs),
                                    {"scale": 2 * np.asarray(p["scale"], np.float64),
                                     "offset": (np.asarray(p["offset"], np.float64) - shift) / 2,
                                     "bias": p["bias"]}))


def _lower(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for dense in g.nodes():
        if dense.op is not Dense or not g.tensors[dense.outputs[0]].dtype.is_fixed:
            continue
        nxt = only_consumer(g, dense.outputs[0])
        mt = nxt if nxt is not None and nxt.op is MultiThreshold else None
        x_bipolar = g.tensors[dense.inputs[0]].dtype.is_bipolar
        if x_bipolar and dense.attrs["weight_dtype"].is_bipolar and (mt is None or _one_bit(mt)):
            fused, out, attrs, params = _xnor(g, dense, mt)
        elif x_bipolar:
            fused, out, attrs, params = _bits_times_weights(g, dense, mt)
        elif mt is not None:
            fused, out, attrs, params = _thresholded(g, dense, mt)
        else:
            fused, out, attrs, params = _fixed_point(g, dense)
            if dense.attrs["weight_dtype"].is_bipolar:
                attrs["weight_bipolar"] = True
                params = _unit_weights(dense)
        for n in fused:
            g.remove_node(n.name)
        node = Node(dense.name, MatrixVectorUnit, dense.inputs, (out,), attrs, params)
        g.add_node(node)
        if mt is None and x_bipolar:  # the unit outputs (acc - shift) / 2, not acc
            g.tensors[out] = MatrixVectorUnit.infer(node, g)[0]
            xnor = attrs.get("kind") == "xnor"
            _retarget_host_affine(g, out, -np.shape(dense.params["weight"])[1] if xnor else _bits_shift(dense))
        g.remove_unused()
        return g, True
    return g, False


lower_to_hardware = Pass("lower_to_hardware", _lower)
