"""Fixed-point Dense [+ Relu] [+ Requantize] -> MatrixVectorUnit, the hardware op."""
from __future__ import annotations

from hwcomp.ir.graph import Graph, Node
from hwcomp.ops.activation import Relu
from hwcomp.ops.dense import Dense
from hwcomp.ops.mvu import MatrixVectorUnit
from hwcomp.ops.quant import Requantize

from .base import Pass, only_consumer


def _lower(graph: Graph) -> tuple[Graph, bool]:
    g = graph.copy()
    for dense in g.nodes():
        if dense.op is not Dense or not g.tensors[dense.outputs[0]].dtype.is_fixed:
            continue
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
        for n in fused:
            g.remove_node(n.name)
        g.add_node(Node(dense.name, MatrixVectorUnit, dense.inputs, (out,), attrs, dict(dense.params)))
        g.remove_unused()
        return g, True
    return g, False


lower_to_hardware = Pass("lower_to_hardware", _lower)
