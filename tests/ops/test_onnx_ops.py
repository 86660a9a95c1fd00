"""Each ONNX op (and each opset-dependent form of it), as a one- or two-node model
built inline, imported by hwcomp and run against onnxruntime."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.dtypes import FLOAT32, Fixed
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ops.base import op_by_name, supported_onnx_types

TOL = 1e-4
RNG = np.random.default_rng(0)


def f32(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def i64(*values):
    return np.array(values, dtype=np.int64)


def make(nodes, inputs, inits=None, opset=13, outputs=None):
    """A model: `inputs` maps name -> shape (None entries are dynamic), `inits` name -> array,
    `outputs` name -> shape where onnx's shape inference cannot tell."""
    outputs = outputs or {nodes[-1].output[0]: None}
    graph = helper.make_graph(
        nodes, "case",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, s) for o, s in outputs.items()],
        initializer=[numpy_helper.from_array(v, k) for k, v in (inits or {}).items()],
    )
    # onnxruntime 1.31 refuses IR versions above 13; 10 covers opsets up to 21.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    # The checker wants output shapes; let onnx's shape inference write them.
    return onnx.shape_inference.infer_shapes(model)


def run_both(tmp_path, model, batch=None) -> tuple[Graph, dict, list]:
    path = tmp_path / "case.onnx"
    onnx.save(model, path)
    graph = load_onnx(path)
    feeds = {}
    for name in graph.inputs:
        shape = graph.tensors[name].shape
        feeds[name] = RNG.standard_normal(((batch,) + shape[1:]) if batch else shape).astype(np.float32)
    ours = execute(graph, feeds)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    refs = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]).run(graph.outputs, feeds)
    return graph, ours, refs


def assert_agree(tmp_path, model, batch=None) -> Graph:
    graph, ours, refs = run_both(tmp_path, model, batch)
    for name, ref in zip(graph.outputs, refs):
        got = ours[name]
        assert got.shape == ref.shape, f"{name}: {got.shape} != {ref.shape}"
        assert got.dtype == np.float32 or ref.dtype != np.float32
        scale = max(float(np.abs(ref).max(initial=0.0)), 1e-30)
        err = float(np.abs(got.astype(np.float64) - ref).max(initial=0.0)) / scale
        assert err <= TOL, f"{name}: rel err {err:.2e}"
        if name in graph.tensors:  # the declared type matches what runs (batch aside)
            assert graph.tensors[name].shape[1:] == got.shape[1:]
    return graph


N = helper.make_node
CASES = []


def case(id, nodes, inputs, inits=None, opsets=(13,), outputs=None):
    for opset in opsets:
        CASES.append(pytest.param(nodes, inputs, inits, opset, outputs, id=f"{id}-op{opset}"))


# --- elementwise ---------------------------------------------------------
for op in ("Add", "Sub", "Mul", "Div"):
    case(f"{op}-const-broadcast", [N(op, ["x", "c"], ["y"])], {"x": [2, 3, 4]},
         {"c": f32(4, lo=0.5, hi=2.0)}, opsets=(9, 13, 21))
    case(f"{op}-two-inputs", [N(op, ["x", "z"], ["y"])], {"x": [2, 3, 1], "z": [1, 3, 5]})
case("Sum-3", [N("Sum", ["x", "z", "c"], ["y"])], {"x": [2, 3], "z": [2, 3]}, {"c": f32(3)}, opsets=(9, 13))
case("Sum-1", [N("Sum", ["x"], ["y"])], {"x": [2, 3]})

# --- activations ---------------------------------------------------------
for op in ("Relu", "Sigmoid", "Tanh"):
    case(op, [N(op, ["x"], ["y"])], {"x": [2, 3, 4]}, opsets=(9, 14, 21))
case("Clip-attrs", [N("Clip", ["x"], ["y"], min=-0.2, max=0.3)], {"x": [2, 5]}, opsets=(9,))
case("Clip-attr-max-only", [N("Clip", ["x"], ["y"], max=0.3)], {"x": [2, 5]}, opsets=(9,))
case("Clip-inputs", [N("Clip", ["x", "lo", "hi"], ["y"])], {"x": [2, 5]},
     {"lo": np.array(-0.2, np.float32), "hi": np.array(0.3, np.float32)}, opsets=(11, 13, 21))
case("Clip-max-input-only", [N("Clip", ["x", "", "hi"], ["y"])], {"x": [2, 5]},
     {"hi": np.array(0.3, np.float32)}, opsets=(13,))
case("Clip-no-bounds", [N("Clip", ["x"], ["y"])], {"x": [2, 5]}, opsets=(11, 13))
case("Softmax-default-axis", [N("Softmax", ["x"], ["y"])], {"x": [2, 3, 4]}, opsets=(9, 11, 13, 21))
case("Softmax-axis1-rank4", [N("Softmax", ["x"], ["y"], axis=1)], {"x": [2, 3, 2, 2]}, opsets=(9, 13))
case("Softmax-axis-neg", [N("Softmax", ["x"], ["y"], axis=-2)], {"x": [2, 3, 4]}, opsets=(11, 13))

# --- linear --------------------------------------------------------------
case("Gemm-transB-bias", [N("Gemm", ["x", "w", "b"], ["y"], transB=1)], {"x": [3, 8]},
     {"w": f32(5, 8), "b": f32(5)}, opsets=(9, 13, 21))
case("Gemm-alpha-beta-trans", [N("Gemm", ["w", "x", "b"], ["y"], transA=1, alpha=0.5, beta=2.0)], {"x": [6, 4]},
     {"w": f32(6, 3), "b": f32(3, 4)})
case("Gemm-bias-row", [N("Gemm", ["x", "w", "b"], ["y"])], {"x": [3, 8]}, {"w": f32(8, 5), "b": f32(1, 5)})
case("Gemm-no-bias", [N("Gemm", ["x", "w"], ["y"])], {"x": [3, 8]}, {"w": f32(8, 5)}, opsets=(11, 13))
case("MatMul-2d", [N("MatMul", ["x", "w"], ["y"])], {"x": [3, 8]}, {"w": f32(8, 5)}, opsets=(9, 13))
case("MatMul-3d-by-2d", [N("MatMul", ["x", "w"], ["y"])], {"x": [2, 3, 8]}, {"w": f32(8, 5)})
case("MatMul-batched", [N("MatMul", ["x", "z"], ["y"])], {"x": [2, 3, 8], "z": [2, 8, 4]})
case("MatMul-vector", [N("MatMul", ["x", "w"], ["y"])], {"x": [2, 8]}, {"w": f32(8)})

# --- shape ---------------------------------------------------------------
for axis in (0, 1, 2, -1):  # negative axes exist from opset 11 on
    case(f"Flatten-axis{axis}", [N("Flatten", ["x"], ["y"], axis=axis)], {"x": [2, 3, 4]},
         opsets=(9, 13) if axis >= 0 else (11, 13))
case("Reshape-zero-minus1", [N("Reshape", ["x", "s"], ["y"])], {"x": [2, 3, 4]}, {"s": i64(0, -1, 2)}, opsets=(9, 13))
case("Reshape-allowzero", [N("Reshape", ["x", "s"], ["y"], allowzero=1)], {"x": [2, 3, 4]}, {"s": i64(4, 6)},
     opsets=(14, 21))
case("Transpose-default", [N("Transpose", ["x"], ["y"])], {"x": [2, 3, 4]}, opsets=(9, 13))
case("Transpose-perm", [N("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], {"x": [2, 3, 4, 5]})
case("Unsqueeze-attr", [N("Unsqueeze", ["x"], ["y"], axes=[0, -1])], {"x": [2, 3]}, opsets=(11,))
case("Unsqueeze-attr-old", [N("Unsqueeze", ["x"], ["y"], axes=[1])], {"x": [2, 3]}, opsets=(9,))
case("Unsqueeze-input", [N("Unsqueeze", ["x", "a"], ["y"])], {"x": [2, 3]}, {"a": i64(1, -1)}, opsets=(13, 21))
case("Squeeze-attr", [N("Squeeze", ["x"], ["y"], axes=[1, 3])], {"x": [2, 1, 3, 1]}, opsets=(9,))
case("Squeeze-attr-negative", [N("Squeeze", ["x"], ["y"], axes=[1, -1])], {"x": [2, 1, 3, 1]}, opsets=(11,))
case("Squeeze-input", [N("Squeeze", ["x", "a"], ["y"])], {"x": [2, 1, 3, 1]}, {"a": i64(-1)}, opsets=(13, 21))
case("Squeeze-all", [N("Squeeze", ["x"], ["y"])], {"x": [2, 1, 3, 1]}, opsets=(11, 13))
case("Identity", [N("Identity", ["x"], ["y"])], {"x": [2, 3]}, opsets=(9, 21))
case("Dropout-ratio-attr", [N("Dropout", ["x"], ["y"], ratio=0.3)], {"x": [2, 3]}, opsets=(9, 10))
case("Dropout-ratio-input", [N("Dropout", ["x", "r"], ["y"])], {"x": [2, 3]}, {"r": np.array(0.3, np.float32)},
     opsets=(12, 13, 21))
case("Dropout-training-false", [N("Dropout", ["x", "r", "t"], ["y"])], {"x": [2, 3]},
     {"r": np.array(0.3, np.float32), "t": np.array(False)}, opsets=(13,))
case("Constant-value", [N("Constant", [], ["c"], value=numpy_helper.from_array(f32(3), "v")), N("Add", ["x", "c"], ["y"])],
     {"x": [2, 3]}, opsets=(9, 13))
case("Constant-value-float", [N("Constant", [], ["c"], value_float=0.5), N("Mul", ["x", "c"], ["y"])],
     {"x": [2, 3]}, opsets=(12, 21))
case("Constant-value-ints", [N("Constant", [], ["s"], value_ints=[3, 2]), N("Reshape", ["x", "s"], ["y"])],
     {"x": [2, 3]}, opsets=(13,))
case("ConstantOfShape", [N("ConstantOfShape", ["s"], ["c"], value=numpy_helper.from_array(np.array([0.25], np.float32), "v")),
                         N("Add", ["x", "c"], ["y"])], {"x": [2, 3]}, {"s": i64(2, 3)}, opsets=(9, 13, 21))
case("ConstantOfShape-default", [N("ConstantOfShape", ["s"], ["c"]), N("Add", ["x", "c"], ["y"])],
     {"x": [2, 3]}, {"s": i64(3)}, opsets=(9,))
case("Concat", [N("Concat", ["x", "c", "z"], ["y"], axis=1)], {"x": [2, 3], "z": [2, 1]}, {"c": f32(2, 2)},
     opsets=(9, 13))
case("Concat-negative-axis", [N("Concat", ["x", "z"], ["y"], axis=-2)], {"x": [2, 3], "z": [1, 3]}, opsets=(11, 21))
case("Gather", [N("Gather", ["x", "i"], ["y"], axis=1)], {"x": [2, 5, 3]}, {"i": i64(4, -1, 0)}, opsets=(9, 13))
case("Gather-scalar", [N("Gather", ["x", "i"], ["y"], axis=-1)], {"x": [2, 5]}, {"i": np.array(2, np.int64)})
case("Shape-slice", [N("Shape", ["x"], ["s"], start=-2, end=-1), N("Concat", ["m1", "s"], ["t"], axis=0),
                     N("Reshape", ["x", "t"], ["y"])], {"x": [2, 3, 4]}, {"m1": i64(-1)}, opsets=(15, 21),
     outputs={"y": [8, 3]})
# torch's x.view(x.size(0), -1): the shape arithmetic folds at import.
case("Shape-Gather-Concat-Reshape", [
    N("Shape", ["x"], ["s"]), N("Gather", ["s", "zero"], ["n"], axis=0),
    N("Unsqueeze", ["n"], ["n1"], axes=[0]), N("Concat", ["n1", "m1"], ["t"], axis=0),
    N("Reshape", ["x", "t"], ["y"])], {"x": [3, 2, 4]}, {"zero": np.array(0, np.int64), "m1": i64(-1)}, opsets=(9, 11),
    outputs={"y": [3, 8]})

# --- normalization -------------------------------------------------------
BN = {"s": f32(3, lo=0.5, hi=1.5), "b": f32(3), "m": f32(3), "v": f32(3, lo=0.5, hi=1.5)}
case("BatchNormalization-4d", [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
     {"x": [2, 3, 4, 4]}, BN, opsets=(9, 13, 15, 21))
case("BatchNormalization-2d", [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])], {"x": [4, 3]}, BN,
     opsets=(9, 14))
case("BatchNormalization-training-mode-0", [N("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], training_mode=0)],
     {"x": [2, 3, 4]}, BN, opsets=(14, 15))
for size in (3, 5):  # onnxruntime supports odd sizes only
    case(f"LRN-size{size}", [N("LRN", ["x"], ["y"], size=size, alpha=1e-2, beta=0.75, bias=2.0)], {"x": [2, 7, 3, 3]},
         opsets=(9, 13))
case("LRN-defaults", [N("LRN", ["x"], ["y"], size=5)], {"x": [1, 6, 2, 2]})

# --- convolution ---------------------------------------------------------
W = {"w": f32(6, 4, 3, 3), "b": f32(6)}
case("Conv-basic", [N("Conv", ["x", "w", "b"], ["y"])], {"x": [2, 4, 7, 7]}, W, opsets=(9, 11, 21))
case("Conv-no-bias", [N("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], {"x": [1, 4, 6, 6]}, {"w": W["w"]})
case("Conv-stride-asym-pads", [N("Conv", ["x", "w", "b"], ["y"], strides=[2, 3], pads=[0, 1, 2, 1])],
     {"x": [2, 4, 9, 8]}, W)
case("Conv-dilation", [N("Conv", ["x", "w", "b"], ["y"], dilations=[2, 1], pads=[2, 1, 2, 1])], {"x": [1, 4, 8, 8]}, W)
case("Conv-groups", [N("Conv", ["x", "w", "b"], ["y"], group=2, kernel_shape=[3, 3])], {"x": [2, 8, 6, 6]}, W)
case("Conv-depthwise", [N("Conv", ["x", "w"], ["y"], group=4, pads=[1, 1, 1, 1])], {"x": [2, 4, 5, 5]},
     {"w": f32(8, 1, 3, 3)})
for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
    case(f"Conv-auto-pad-{mode}", [N("Conv", ["x", "w", "b"], ["y"], auto_pad=mode, strides=[2, 2])],
         {"x": [1, 4, 8, 7]}, W, opsets=(9, 13))
case("Conv-1d", [N("Conv", ["x", "w", "b"], ["y"], pads=[1, 0], strides=[2])], {"x": [2, 3, 9]},
     {"w": f32(5, 3, 3), "b": f32(5)})
case("Conv-3d", [N("Conv", ["x", "w"], ["y"], pads=[1] * 6)], {"x": [1, 2, 4, 4, 4]}, {"w": f32(3, 2, 3, 3, 3)})
case("Conv-1x1", [N("Conv", ["x", "w", "b"], ["y"])], {"x": [2, 4, 5, 5]}, {"w": f32(6, 4, 1, 1), "b": f32(6)})

# --- pooling -------------------------------------------------------------
for op in ("MaxPool", "AveragePool"):
    case(f"{op}-basic", [N(op, ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], {"x": [2, 3, 6, 6]},
         opsets=(9, 13, 21))
    case(f"{op}-pads", [N(op, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 2])],
         {"x": [2, 3, 7, 6]}, opsets=(9, 13))
    case(f"{op}-ceil", [N(op, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)], {"x": [1, 2, 6, 8]},
         opsets=(10, 13, 21))
    # The last ceil-mode window would start in the end padding: ONNX drops it.
    case(f"{op}-ceil-drop", [N(op, ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1],
                               ceil_mode=1)], {"x": [1, 2, 4, 4]}, opsets=(10, 21))
    case(f"{op}-ceil-pads", [N(op, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                               ceil_mode=1)], {"x": [1, 2, 8, 7]}, opsets=(10, 21))
    for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        case(f"{op}-auto-pad-{mode}", [N(op, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad=mode)],
             {"x": [1, 2, 7, 6]}, opsets=(9, 13))
    case(f"{op}-1d", [N(op, ["x"], ["y"], kernel_shape=[3], strides=[1], pads=[1, 1])], {"x": [2, 3, 8]})
    case(f"{op}-dilations", [N(op, ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])],
         {"x": [1, 2, 7, 7]}, opsets=(19, 21) if op == "AveragePool" else (10, 21))
case("AveragePool-count-include-pad", [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                         count_include_pad=1)], {"x": [2, 3, 5, 5]}, opsets=(9, 13))
case("AveragePool-count-include-pad-ceil", [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                              pads=[1, 1, 1, 1], count_include_pad=1, ceil_mode=1)],
     {"x": [1, 2, 6, 6]}, opsets=(10, 21))
case("MaxPool-storage-order", [N("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], storage_order=1)], {"x": [1, 2, 4, 4]},
     opsets=(9,))
for op in ("GlobalAveragePool", "GlobalMaxPool"):
    case(op, [N(op, ["x"], ["y"])], {"x": [2, 3, 5, 4]}, opsets=(9, 13))
    case(f"{op}-1d", [N(op, ["x"], ["y"])], {"x": [2, 3, 5]})

# Quantizers (QDQ format): a Q -> DQ pair on an activation, DQ of int8 weights per channel.
case("QuantizeLinear-DequantizeLinear-u8", [N("QuantizeLinear", ["x", "s", "z"], ["q"]),
                                            N("DequantizeLinear", ["q", "s", "z"], ["y"])],
     {"x": [2, 3, 4]}, {"s": np.float32(0.02), "z": np.uint8(100)}, opsets=(13, 21))
# torch's QDQ export: Q -> Cast to the codes' own type -> DQ
case("QuantizeLinear-Cast-DequantizeLinear", [N("QuantizeLinear", ["x", "s", "z"], ["q"]), N("Cast", ["q"], ["c"], to=2),
                                              N("DequantizeLinear", ["c", "s", "z"], ["y"])],
     {"x": [2, 3, 4]}, {"s": np.float32(0.02), "z": np.uint8(100)}, opsets=(13, 21))
case("Cast-float", [N("Cast", ["x"], ["y"], to=1)], {"x": [2, 3]}, opsets=(9, 13, 21))
# (DQ -> Add: onnxruntime fuses DQ -> MatMul into an approximate integer kernel)
case("DequantizeLinear-per-axis", [N("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=1),
                                   N("Add", ["x", "wf"], ["y"])],
     {"x": [4, 6]}, {"w": np.arange(-12, 12, dtype=np.int8).reshape(4, 6), "ws": np.linspace(0.1, 0.6, 6).astype(np.float32),
                     "wz": np.zeros(6, np.int8)}, opsets=(13,))


@pytest.mark.parametrize("nodes,inputs,inits,opset,outputs", CASES)
def test_op_agrees_with_onnxruntime(tmp_path, nodes, inputs, inits, opset, outputs):
    graph = assert_agree(tmp_path, make(nodes, inputs, inits, opset, outputs))
    # The IR form does not depend on the opset: no ONNX-only attributes remain.
    for node in graph.nodes():
        assert "auto_pad" not in node.attrs or node.attrs["auto_pad"] == "NOTSET"


def test_every_registered_onnx_type_is_covered():
    covered = {n.op_type for p in CASES for n in p.values[0]}
    assert set(supported_onnx_types()) <= covered


# --- dynamic batch: a graph typed for batch 1 runs a batch of 7 --------------
BATCH_CASES = {
    "Reshape-leading-1": ([N("Reshape", ["x", "s"], ["y"])], {"x": [None, 2, 3]}, {"s": i64(1, -1)}),
    "Shape-view": ([N("Shape", ["x"], ["s"]), N("Gather", ["s", "zero"], ["n"], axis=0),
                    N("Unsqueeze", ["n", "zero1"], ["n1"]), N("Concat", ["n1", "m1"], ["t"], axis=0),
                    N("Reshape", ["x", "t"], ["y"])], {"x": [None, 2, 3]},
                   {"zero": np.array(0, np.int64), "zero1": i64(0), "m1": i64(-1)}, [None, 6]),
    "Flatten": ([N("Flatten", ["x"], ["y"])], {"x": [None, 2, 3]}, {}),
    "Softmax-coerce": ([N("Softmax", ["x"], ["y"], axis=1)], {"x": [None, 2, 3]}, {}),
    "Conv-Pool-Gemm": ([N("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), N("MaxPool", ["c"], ["p"], kernel_shape=[2, 2]),
                        N("Flatten", ["p"], ["f"]), N("Gemm", ["f", "g", "b"], ["y"], transB=1)],
                       {"x": [None, 2, 4, 4]}, {"w": f32(3, 2, 3, 3), "g": f32(5, 27), "b": f32(1, 5)}),
}


@pytest.mark.parametrize("name", BATCH_CASES)
def test_batch_of_seven_through_batch_one_graph(tmp_path, name):
    """Running 7 samples at once equals running them one by one (onnxruntime,
    batch 1), including Reshape targets that spell the batch as 1."""
    nodes, inputs, inits, *out_shape = BATCH_CASES[name]
    path = tmp_path / "case.onnx"
    onnx.save(make(nodes, inputs, inits, opset=13, outputs={"y": out_shape[0] if out_shape else None}), path)
    graph = load_onnx(path)
    assert graph.meta["dynamic_batch"] and graph.tensors["x"].shape[0] == 1
    x = RNG.standard_normal((7,) + graph.tensors["x"].shape[1:]).astype(np.float32)
    batched = execute(graph, {"x": x})["y"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    one_by_one = np.concatenate([session.run(["y"], {"x": x[i:i + 1]})[0] for i in range(7)])
    assert batched.shape == one_by_one.shape
    assert np.abs(batched - one_by_one).max() <= TOL * np.abs(one_by_one).max()


# --- things onnxruntime cannot show ---------------------------------------

def _node(op, inputs, outputs, **attrs):
    return Node(f"{op}0", op_by_name(op), tuple(inputs), tuple(outputs), attrs)


def test_relu_on_fixed_point_is_integer_max():
    g = Graph()
    t = TensorType((1, 4), Fixed(8, 3))
    g.inputs, g.outputs, g.tensors = ["x"], ["y"], {"x": t}
    node = g.add_node(_node("Relu", ["x"], ["y"]))
    (ty,) = node.op.infer(node, g)
    g.tensors["y"] = ty
    assert ty == t
    out = execute(g, {"x": np.array([[-5, 0, 3, 127]])})["y"]
    assert out.dtype == np.int64 and out.tolist() == [[0, 0, 3, 127]]


@pytest.mark.parametrize("op", ["Add", "Sigmoid", "Softmax", "MaxPool", "Conv", "Gemm"])
def test_float_only_ops_reject_fixed_point(op):
    g = Graph()
    g.tensors = {"x": TensorType((1, 2, 4, 4), Fixed(8, 3)), "z": TensorType((1, 2, 4, 4), FLOAT32)}
    node = _node(op, ["x", "z"], ["y"], axis=1, kernel_shape=[2, 2], strides=[1, 1], dilations=[1, 1],
                 pads=[0] * 4, ceil_mode=0, group=1, transA=0, transB=0, alpha=1.0, beta=1.0, coerce_2d=False)
    with pytest.raises(NotImplementedError, match="float32 only"):
        node.op.infer(node, g)


def test_macs_and_params(tmp_path):
    model = make([N("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), N("Flatten", ["c"], ["f"]),
                  N("BatchNormalization", ["f", "s", "bb", "m", "v"], ["n"]),
                  N("Gemm", ["n", "g", "gb"], ["y"], transB=1)],
                 {"x": [1, 2, 4, 4]},
                 {"w": f32(3, 2, 3, 3), "b": f32(3), "s": f32(48), "bb": f32(48), "m": f32(48), "v": f32(48, lo=0.5),
                  "g": f32(5, 48), "gb": f32(5)})
    graph = assert_agree(tmp_path, model)
    by_op = {n.op.name: n for n in graph.nodes()}
    conv, bn, gemm = by_op["Conv"], by_op["BatchNormalization"], by_op["Gemm"]
    assert conv.op.macs(conv, graph) == 3 * 4 * 4 * 2 * 3 * 3
    assert gemm.op.macs(gemm, graph) == 5 * 48
    assert conv.op.param_count(conv, graph) == 3 * 2 * 9 + 3
    assert bn.op.param_count(bn, graph) == 2 * 48  # scale and bias; running stats are not trained
    assert gemm.op.param_count(gemm, graph) == 5 * 48 + 5
