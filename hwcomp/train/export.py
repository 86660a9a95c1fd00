"""Export a quantization-aware torch model as QONNX.

torch's TorchScript exporter writes the quantizers through their `symbolic`
methods; two small clean-ups then give the graph the shape importers expect:
every Constant node becomes an initializer (scale, zeropt and bitwidth of a
Quant/BipolarQuant node are named after it), and Identity nodes, which the
exporter adds when it deduplicates equal initializers (a fresh BatchNorm's
weight and running_var), are replaced by copies of the initializer.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from .quantizers import QONNX_DOMAIN

QUANT_OPS = ("Quant", "BipolarQuant")
QUANT_INPUTS = ("x", "scale", "zeropt", "bitwidth")
MAX_IR_VERSION = 10


def export_qonnx(model: torch.nn.Module, path, example_input: torch.Tensor, *,
                 output_name: str = "logits", opset: int = 13) -> onnx.ModelProto:
    """Write `model` (switched to eval mode) as QONNX with input "x" and a
    dynamic batch axis; return the checked ModelProto."""
    model.eval()
    for m in model.modules():
        if hasattr(m, "refresh_weight_scale"):
            m.refresh_weight_scale()
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter, on purpose
        torch.onnx.export(model, (example_input,), buf, input_names=["x"], output_names=[output_name],
                          dynamic_axes={"x": {0: "batch"}, output_name: {0: "batch"}}, opset_version=opset,
                          do_constant_folding=True, dynamo=False, custom_opsets={QONNX_DOMAIN: 1})
    proto = onnx.load_from_string(buf.getvalue())
    constants_to_initializers(proto.graph)
    inline_identity_initializers(proto.graph)
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    onnx.checker.check_model(proto)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return proto


def constants_to_initializers(graph: onnx.GraphProto) -> None:
    """Constant nodes -> initializers. Inputs of Quant/BipolarQuant are named
    after the quantized tensor (weights: "fc1.weight_scale") or the node
    ("act1/Quant_scale"); other constants keep their output name."""
    producers = {o: n for n in graph.node if n.op_type == "Constant" for o in n.output}
    inits = {i.name for i in graph.initializer}
    names: dict[str, str] = {}
    for node in graph.node:
        if node.domain != QONNX_DOMAIN or node.op_type not in QUANT_OPS:
            continue
        base = node.input[0] if node.input[0] in inits else (node.name or node.output[0]).strip("/")
        for slot, name in zip(QUANT_INPUTS[1:], node.input[1:]):
            if name in producers and name not in names:
                names[name] = _unique(f"{base}_{slot}", inits)
                inits.add(names[name])
    for name in producers:
        names.setdefault(name, name)
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] in names and _constant_value(node) is not None:
            graph.initializer.append(numpy_helper.from_array(_constant_value(node), names[node.output[0]]))
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = names.get(name, name)


def inline_identity_initializers(graph: onnx.GraphProto) -> None:
    """Identity(initializer) -> a copy of the initializer under the output name."""
    inits = {i.name: i for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    keep = []
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in inits and node.output[0] not in outputs:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            graph.initializer.append(copy)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def _constant_value(node: onnx.NodeProto):
    """The tensor of a Constant's `value` attribute; None for the other forms."""
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
    return None


def _unique(name: str, taken: set[str]) -> str:
    out, i = name, 1
    while out in taken:
        out, i = f"{name}_{i}", i + 1
    return out
