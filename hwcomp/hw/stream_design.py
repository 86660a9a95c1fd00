"""Lowered, folded graph -> StreamDesign: every number the templates need."""
from __future__ import annotations

import re

import numpy as np

from hwcomp.ir.graph import Graph

from .chain import mvu_chain
from .design import MVULayer, StreamDesign, ceil_div


def top_name(graph_name: str) -> str:
    """A legal Verilog module name derived from the model name."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", graph_name).strip("_").lower() or "model"
    if not base[0].isalpha():
        base = "m_" + base
    return f"hwcomp_{base}"


def fifo_depth(sf: int) -> int:
    """Room for two input vectors: the unit reads a whole vector in its first row
    fold, then replays it while the producer keeps writing the next one."""
    return max(4, 2 * sf)


def build_stream_design(graph: Graph) -> StreamDesign:
    units = mvu_chain(graph)
    layers = []
    for k, node in enumerate(units):
        a = node.attrs
        w, b = node.params["weight"], node.params["bias"]
        rows, cols = w.shape
        pe, simd = a["pe"], a["simd"]
        rows_p, cols_p = ceil_div(rows, pe) * pe, ceil_div(cols, simd) * simd
        wp = np.zeros((rows_p, cols_p), dtype=np.int64)
        wp[:rows, :cols] = w
        bp = np.zeros(rows_p, dtype=np.int64)
        bp[:rows] = b
        xt = graph.tensors[node.inputs[0]].dtype
        out = a["out_dtype"]
        layers.append(MVULayer(
            name=f"mvu{k}", rows=rows, cols=cols, pe=pe, simd=simd,
            in_width=xt.width, in_signed=xt.signed, weight_width=a["weight_dtype"].width,
            weights=wp, bias=bp, acc_width=a["acc_dtype"].width, requant=a["requant"],
            shift=a["shift"], relu=a["relu"], out_width=out.width, out_signed=out.signed,
            out_min=out.min_int, out_max=out.max_int, in_fifo_depth=fifo_depth(ceil_div(cols, simd)),
        ))
    first, last = units[0], units[-1]
    return StreamDesign(
        name=top_name(graph.name), layers=tuple(layers),
        in_elems=first.params["weight"].shape[1], out_elems=last.params["weight"].shape[0],
    )
