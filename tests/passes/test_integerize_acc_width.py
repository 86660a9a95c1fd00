"""integerize sizes each layer's accumulator from the bounds of its input code *type*
(docs/numerics.md rule 4), as check_layer and the RTL see it, not from the quantizer's
narrower code range: signed narrow 2-bit codes are -1..1 in int<2> (which admits -2),
a MultiThreshold with 4 levels gives 0..4 in uint<3> (which admits 7). Issue 9 A:
`accumulator range [-630, 644] overflows acc_width 10`."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.compile import float_pipeline, integer_graph
from hwcomp.hw.blocks.mvu import check_layer
from hwcomp.hw.builder import build_design
from hwcomp.hw.design import MVULayer
from hwcomp.hw.numerics import accumulator_bounds
from hwcomp.ir.dtypes import Int, bits_for_range
from hwcomp.ops.dense import Dense
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.fold import fold
from hwcomp.passes.integerize import integerize
from hwcomp.passes.lowbit import lowbit
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.quantize import QuantConfig
from hwcomp.passes.streamline_transposes import to_channels_last

QONNX = "qonnx.custom_op.general"
N = 256   # columns of the layer under test


def _model(path, input_quant: str):
    """x [1, 16] -> input quantizer -> MatMul(int4) -> hidden quantizer -> MatMul(every weight
    code -1 or +1, int2) -> [1, 4]. input_quant: 'narrow2' / 'full2' (the hidden quantizer is
    a signed 2-bit Quant, narrow or not) or 'thresholds' (the model input is a MultiThreshold
    with 4 levels, codes 0..4; the second layer reads a uint4 Quant)."""
    nodes, inits = [], []

    def const(v):
        inits.append(numpy_helper.from_array(np.asarray(v), f"c{len(inits)}"))
        return inits[-1].name

    def node(op, ins, domain="", **attrs):
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(op, ins, [out], domain=domain, name=f"n{len(nodes)}", **attrs))
        return out

    def quant(x, scale, bits, signed, narrow):
        return node("Quant", [x, const(np.float32(scale)), const(np.float32(0)), const(np.float32(bits))], QONNX,
                    signed=signed, narrow=narrow, rounding_mode="ROUND")

    rng = np.random.default_rng(0)
    if input_quant == "thresholds":
        x = node("MultiThreshold", ["x", const(np.array([[-0.6, -0.2, 0.2, 0.6]], np.float32))], QONNX,
                 out_scale=1.0, out_bias=0.0, out_dtype="UINT4", data_layout="NC")
        w1 = np.full((16, N), 7 * 0.25, np.float32)     # every code 7: the input bound decides the width
    else:
        x = quant("x", 1 / 64, 8, 1, 0)
        w1 = (rng.integers(-7, 8, (16, N)) * 0.25).astype(np.float32)
    h = node("MatMul", [x, quant(const(w1), 0.25, 4, 1, 1)])
    if input_quant == "thresholds":
        h = quant(node("Relu", [h]), 0.5, 4, 0, 0)
    else:
        h = quant(h, 0.5, 2, 1, int(input_quant == "narrow2"))
    # All codes -1: W x spans [-N, 2N] for x in int<2> [-2, 1], [-N, N] for codes -1..1.
    y = node("MatMul", [h, quant(const(np.full((N, 4), -0.25, np.float32)), 0.25, 2, 1, 1)])
    graph = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 13),
                                                                   helper.make_opsetid(QONNX, 2)])
    onnx.save(model, str(path))
    return path


def _units(integer):
    """The stream design's MVULayers of an integer graph, lowered and folded."""
    hw = fold(run_to_fixed_point(integer, [lower_to_hardware]), None, None)
    return build_design(hw).units(MVULayer)


def _check_exact(layers):
    for layer in layers:
        check_layer(layer)   # raised "accumulator range ... overflows acc_width" before the fix
        lo, hi = accumulator_bounds(layer)
        # no wider than the exact bounds need (min(lo, -1): the accumulator type is signed)
        assert layer.acc_width == bits_for_range(min(lo, -1), hi)[0], layer.name


@pytest.mark.parametrize("input_quant, acc", [
    ("narrow2", Int(11)),      # -N .. 2N; codes -1..1 alone would give 10 bits
    ("full2", Int(11)),        # codes -2..1: already right
])
def test_signed_two_bit_input_sizes_the_accumulator_from_its_type(tmp_path, input_quant, acc):
    ig = integer_graph(float_pipeline(_model(tmp_path / "m.onnx", input_quant)), None, QuantConfig())
    dense = [n for n in ig.nodes() if n.op is Dense]
    assert dense[1].attrs["acc_dtype"] == acc
    _check_exact(_units(ig))


def test_threshold_codes_size_the_accumulator_from_their_type(tmp_path):
    """MultiThreshold codes 0..4 are uint<3>: 16 inputs up to 7 times weight 7 -> 784, 11 bits."""
    ig = integer_graph(float_pipeline(_model(tmp_path / "m.onnx", "thresholds")), None, QuantConfig())
    assert [n for n in ig.nodes() if n.op is Dense][0].attrs["acc_dtype"] == Int(11)
    _check_exact(_units(ig))


@pytest.mark.parametrize("bits", ["w2a2", "w3a3"])
def test_lowbit_signed_activations_fit_their_accumulators(bits):
    """--bits w2a2 on a float MLP without ReLU: hidden activations get narrow signed codes
    (-1..1 in int<2>); on the digits data the issue's overflow appeared on the hidden layers."""
    from sklearn.datasets import load_digits

    from hwcomp.ir.dtypes import FLOAT32
    from hwcomp.ir.graph import Graph, Node
    from hwcomp.ir.tensor import TensorType

    rng = np.random.default_rng(0)
    g = Graph("mlp")
    g.inputs, prev = ["x"], "x"
    g.tensors["x"] = TensorType((1, 64), FLOAT32)
    sizes = [64, 256, 256, 10]
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        g.add_node(Node(f"fc{i}", Dense, [prev], [f"h{i}"], {},
                        {"weight": rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32),
                         "bias": rng.normal(0, 0.1, b).astype(np.float32)}))
        g.tensors[f"h{i}"] = TensorType((1, b), FLOAT32)
        prev = f"h{i}"
    g.outputs = [prev]
    x = (load_digits().data[:300] / 16).astype(np.float32)
    q = integerize(lowbit(g, {"x": x}, QuantConfig.parse(bits)))
    layers = _units(to_channels_last(q))
    assert [(l.in_width, l.in_signed) for l in layers][1:] == [(int(bits[1]), True)] * 2
    _check_exact(layers)
