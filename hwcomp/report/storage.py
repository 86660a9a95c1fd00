"""report.json's `storage`: the bits the hardware holds, as Deep Compression's tables.

Counted from what the design stores, never from the model: every block's
memory images (their fields, padding included, at their element widths, by
role: weights, indices, codebook, pointers, bias, thresholds, shifts) and the
model's numbers it holds in HDL parameters (`Block.constants`: a layer's one
requantization shift, its saturation bounds). The Huffman-coded size replaces
the weight and index streams with a canonical Huffman code of each stream's
symbol histogram and adds its code table. Both totals are compared with 32
bits per floating-point parameter of the original ONNX model (weights, biases,
BatchNorm parameters; a quantizer's own scale, zero point and bit width are
not parameters of the network and are not counted).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.blocks.base import MEMORY_ROLES
from hwcomp.hw.design import Design
from hwcomp.ir.graph import Graph

# The streams Deep Compression Huffman-codes: the weights (or codebook indices) and the sparse indices.
HUFFMAN_ROLES = ("weights", "indices")
# ONNX ops whose inputs after the first are the quantizer's own parameters, not the network's.
QUANTIZER_OPS = ("Quant", "BipolarQuant", "Trunc", "QuantizeLinear", "DequantizeLinear")


def huffman_lengths(counts: Mapping[int, int]) -> dict[int, int]:
    """Code length per symbol of an optimal prefix code for these symbol counts (symbols
    counted zero times get none). A single symbol still takes one bit per occurrence, so
    every stream is a sequence of codewords. Ties break on the symbol: deterministic."""
    symbols = sorted(s for s, c in counts.items() if c > 0)
    if len(symbols) <= 1:
        return {s: 1 for s in symbols}
    depth = dict.fromkeys(symbols, 0)
    heap = [(int(counts[s]), i, (s,)) for i, s in enumerate(symbols)]
    heapq.heapify(heap)
    order = len(heap)
    while len(heap) > 1:
        c0, _, a = heapq.heappop(heap)
        c1, _, b = heapq.heappop(heap)
        for s in a + b:
            depth[s] += 1
        heapq.heappush(heap, (c0 + c1, order, a + b))
        order += 1
    return depth


def canonical_code(lengths: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """The canonical Huffman code of these lengths: symbol -> (codeword, length), codewords
    assigned in order of (length, symbol), each the previous plus one, shifted to its length.
    The decoder needs only the lengths, which is what the code table stores."""
    code, prev, out = 0, 0, {}
    for s in sorted(lengths, key=lambda s: (lengths[s], s)):
        code <<= lengths[s] - prev
        out[s] = (code, lengths[s])
        prev = lengths[s]
        code += 1
    return out


@dataclass(frozen=True)
class Coded:
    """A stream's Huffman-coded size: the codewords and the code table."""
    data_bits: int
    table_bits: int

    @property
    def bits(self) -> int:
        return self.data_bits + self.table_bits


def huffman_size(values: np.ndarray, width: int) -> Coded:
    """The canonical Huffman code of a stream of `width`-bit symbols. The table holds, per
    symbol present, its value (`width` bits) and its code length (bits of the longest)."""
    symbols, counts = np.unique(np.asarray(values, dtype=np.int64).reshape(-1), return_counts=True)
    if symbols.size == 0:
        return Coded(0, 0)
    lengths = huffman_lengths(dict(zip(symbols.tolist(), counts.tolist())))
    data = sum(int(c) * lengths[s] for s, c in zip(symbols.tolist(), counts.tolist()))
    length_bits = max(lengths.values()).bit_length()
    return Coded(data, len(lengths) * (width + length_bits))


def onnx_float_parameters(path: str | Path) -> int:
    """Floating-point parameters of an ONNX model: the elements of its float initializers
    and Constant nodes, except those that only quantizers read as their own parameters."""
    import onnx

    m = onnx.load(str(path))
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    quantizer_param: dict[str, list[bool]] = {}   # tensor -> per reader: a quantizer's parameter input
    for node in m.graph.node:
        for i, t in enumerate(node.input):
            quantizer_param.setdefault(t, []).append(node.op_type in QUANTIZER_OPS and i > 0)
    tensors = {t.name: t for t in m.graph.initializer}
    tensors |= {n.output[0]: a.t for n in m.graph.node if n.op_type == "Constant" for a in n.attribute
                if a.name == "value"}
    total = 0
    for name, t in tensors.items():
        r = quantizer_param.get(name, [])
        if t.data_type in floats and not (r and all(r)):
            total += int(np.prod(t.dims, dtype=np.int64))
    return total


def original_weights(original: Graph, name: str) -> int | None:
    """Weights of layer `name` in the original model: the float graph's Dense or Conv of that
    name, as it was before structured pruning removed channels (its record in
    meta["pruning"] holds the parameters before: weights and, if the layer has one, a
    bias per output channel). A convolution's Dense is `<conv>_dense` (passes/conv_to_windows).
    None when the float graph has no such layer."""
    names = (name, name[: -len("_dense")]) if name.endswith("_dense") else (name,)
    node = next((n for n in original.nodes() if n.name in names), None)
    name = node.name if node is not None else name
    if node is None:
        return None
    if "weight" in node.params:
        weights, has_bias = int(np.asarray(node.params["weight"]).size), "bias" in node.params
    elif len(node.inputs) > 1 and node.inputs[1] in original.constants:
        weights = int(original.constants[node.inputs[1]].size)
        has_bias = len(node.inputs) > 2 and bool(node.inputs[2])
    else:
        return None
    rec = next((l for l in (original.meta.get("pruning") or {}).get("layers", []) if l["name"] == name), None)
    if rec is None:
        return weights
    return int(rec["params_before"]) - (int(rec["channels_before"]) if has_bias else 0)


def _layer_weights(node, original: Graph | None) -> tuple[int, int]:
    """(weights of the original layer, non-zero weights the hardware layer keeps). XNOR and
    bipolar weights are +-1: none is zero. Without the original layer, the layer itself."""
    w = np.asarray(node.params["weight"])
    a = node.attrs
    nonzero = w.size if a.get("kind") == "xnor" or a.get("weight_bipolar") else int(np.count_nonzero(w))
    orig = original_weights(original, node.name) if original is not None else None
    return (orig if orig is not None else int(w.size)), nonzero


def stage_storage(stage) -> dict:
    """One stage's bits per role, its weight and index streams Huffman-coded."""
    block = block_of_unit(stage.unit)
    bits = dict.fromkeys(MEMORY_ROLES, 0)
    huffman = {r: {"data_bits": 0, "table_bits": 0} for r in HUFFMAN_ROLES}
    for img in block.memories(stage.unit, stage.name):
        for values, width in img.fields:
            bits[img.role] += int(np.asarray(values).size) * width
            if img.role in HUFFMAN_ROLES:
                c = huffman_size(values, width)
                huffman[img.role]["data_bits"] += c.data_bits
                huffman[img.role]["table_bits"] += c.table_bits
    for c in block.constants(stage.unit):
        bits[c.role] += c.bits
    total = sum(bits.values())
    coded = sum(h["data_bits"] + h["table_bits"] for h in huffman.values())
    return {"module": stage.name, "kind": block.__name__, "bits": bits, "total_bits": total,
            "huffman": huffman,
            "huffman_total_bits": total - sum(bits[r] for r in HUFFMAN_ROLES) + coded}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def storage_section(hw_graph: Graph, design: Design, float_params: int, original: Graph | None = None) -> dict:
    """report.json's `storage`: per stage that stores anything (layers first, in stream
    order), then the totals against float32."""
    nodes = {n.name: n for n in hw_graph.nodes()}
    per_layer = []
    for s in sorted(design.stages, key=lambda s: not (s.node in nodes and "weight" in nodes[s.node].params)):
        e = stage_storage(s)
        if e["total_bits"] == 0:
            continue
        entry = {"name": s.node, **e}
        if s.node in nodes and "weight" in nodes[s.node].params:   # a layer, whichever unit computes it
            weights, nonzero = _layer_weights(nodes[s.node], original)
            entry.update(weights=weights, nonzero=nonzero, density=round(nonzero / weights, 4) if weights else None)
        per_layer.append(entry)
    total = sum(e["total_bits"] for e in per_layer)
    huff = sum(e["huffman_total_bits"] for e in per_layer)
    by_role = {r: sum(e["bits"][r] for e in per_layer) for r in MEMORY_ROLES}
    f32 = 32 * float_params
    return {
        "total_bits": total, "float32_bits": f32, "ratio": _ratio(f32, total),
        "huffman_total_bits": huff, "huffman_ratio": _ratio(f32, huff),
        "bits": by_role, "float_parameters": float_params,
        "per_layer": per_layer,
    }


def format_storage(storage: dict) -> str:
    """The stored bits against float32, plain and Huffman-coded."""
    def x(r):
        return "n/a" if r is None else f"{r:g}x"
    return (f"storage {storage['total_bits']:,} bits, {x(storage['ratio'])} smaller than float32 "
            f"({x(storage['huffman_ratio'])} Huffman-coded)")
