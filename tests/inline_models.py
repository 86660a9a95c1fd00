"""ONNX models built inline for tests: small, seeded, and covering the block kinds
(dense chains; convolution, pooling, a residual add and a concat)."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from hwcomp.compile import float_pipeline, integer_graph
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.quantize import QuantConfig


def _init(name, shape, rng):
    return helper.make_tensor(name, TensorProto.FLOAT, shape, rng.normal(0, 0.3, shape).astype(np.float32).ravel())


def _save(tmp_path, nodes, inits, x_shape, y_shape, name):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), path)
    return path


def mlp(tmp_path, sizes):
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        inits += [_init(f"w{i}", [b, a], rng), _init(f"b{i}", [b], rng)]
        out = "y" if i == len(sizes) - 2 else f"h{i}"
        nodes.append(helper.make_node("Gemm", ["x" if i == 0 else prev, f"w{i}", f"b{i}"], [out], transB=1))
        if out != "y":
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            prev = f"r{i}"
    return _save(tmp_path, nodes, inits, [1, sizes[0]], [1, sizes[-1]], "mlp")


def residual_cnn(tmp_path):
    """conv -> relu -> (conv 3x3 -> relu) + skip -> maxpool -> concat with a 1x1 conv -> gap -> gemm."""
    rng = np.random.default_rng(1)
    inits = [_init("w0", [6, 1, 3, 3], rng), _init("w1", [6, 6, 3, 3], rng), _init("w2", [5, 6, 1, 1], rng),
             _init("w3", [4, 11], rng), _init("b3", [4], rng)]
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "w1"], ["c1"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Add", ["r1", "r0"], ["a"]),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w2"], ["c2"]), helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Concat", ["p", "r2"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    return _save(tmp_path, nodes, inits, [1, 1, 8, 8], [1, 4], "rescnn")


def lowered(path):
    g = float_pipeline(path)
    x = np.random.default_rng(2).uniform(0, 1, (16,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
    return run_to_fixed_point(integer_graph(g, x, QuantConfig.parse("w8a8")), [lower_to_hardware])
