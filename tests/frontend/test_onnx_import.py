"""load_onnx: what it accepts (external data, old-style initializer inputs,
dynamic batch, odd node names) and the one-line errors for what it does not."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute

RNG = np.random.default_rng(0)
N = helper.make_node


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def save(tmp_path, nodes, inputs, outputs, inits=(), opset=13, name="model.onnx", **kw):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    kw.setdefault("opset_imports", [helper.make_opsetid("", opset)])
    model = helper.make_model(graph, ir_version=kw.pop("ir_version", 10), **kw)
    path = tmp_path / name
    onnx.save(model, path)
    return path


def mlp(tmp_path, in_shape=(1, 8), **kw):
    w = numpy_helper.from_array(RNG.standard_normal((4, 8)).astype(np.float32), "w")
    b = numpy_helper.from_array(RNG.standard_normal(4).astype(np.float32), "b")
    nodes = [N("Gemm", ["x", "w", "b"], ["h"], transB=1, name="fc"), N("Relu", ["h"], ["y"], name="act")]
    return save(tmp_path, nodes, [tensor("x", list(in_shape))], [tensor("y", [in_shape[0], 4])], [w, b], **kw)


def error(path, **kw) -> str:
    with pytest.raises(HwcompError) as info:
        load_onnx(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    return msg


# --- accepted -------------------------------------------------------------

def test_external_data(tmp_path):
    path = mlp(tmp_path)
    model = onnx.load(path)
    ext = tmp_path / "ext"
    ext.mkdir()
    onnx.save_model(model, ext / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (ext / "weights.bin").exists()
    g = load_onnx(ext / "m.onnx")
    ref = load_onnx(path)
    for name in ("w", "b"):
        np.testing.assert_array_equal(g.constants[name], ref.constants[name])
    x = RNG.standard_normal((1, 8)).astype(np.float32)
    np.testing.assert_allclose(execute(g, {"x": x})["y"], ort.InferenceSession(str(ext / "m.onnx")).run(None, {"x": x})[0],
                               rtol=1e-5, atol=1e-6)


def test_missing_external_data_file(tmp_path):
    path = mlp(tmp_path)
    onnx.save_model(onnx.load(path), tmp_path / "m.onnx", save_as_external_data=True, location="w.bin", size_threshold=0)
    (tmp_path / "w.bin").unlink()
    assert "external" in error(tmp_path / "m.onnx")


def test_initializer_listed_as_input_is_a_constant(tmp_path):
    # IR version 3 exporters list every initializer as a graph input as well.
    path = mlp(tmp_path, ir_version=3, opset_imports=[helper.make_opsetid("", 9)])
    model = onnx.load(path)
    model.graph.input.extend([tensor("w", [4, 8]), tensor("b", [4])])
    model.opset_import[0].version = 9
    onnx.save(model, path)
    g = load_onnx(path)
    assert g.inputs == ["x"]
    assert set(g.constants) == {"w", "b"}
    fc = g.node("fc")
    assert fc.op.param_count(fc, g) == 4 * 8 + 4


def test_dynamic_batch_is_typed_as_one(tmp_path):
    g = load_onnx(mlp(tmp_path, in_shape=("N", 8)))
    assert g.meta["dynamic_batch"] is True
    assert g.tensors["x"].shape == (1, 8) and g.tensors["y"].shape == (1, 4)
    x = RNG.standard_normal((7, 8)).astype(np.float32)
    batched = execute(g, {"x": x})["y"]
    single = np.concatenate([execute(g, {"x": x[i:i + 1]})["y"] for i in range(7)])
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-6)  # BLAS may block differently


def test_zero_batch_dim_counts_as_dynamic(tmp_path):
    path = mlp(tmp_path)
    model = onnx.load(path)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 0
    onnx.save(model, path)
    assert load_onnx(path).meta["dynamic_batch"] is True


def test_static_model_is_not_dynamic(tmp_path):
    g = load_onnx(mlp(tmp_path))
    assert g.meta["dynamic_batch"] is False and g.meta["onnx_opset"] == 13


def image_model(tmp_path, shape):
    w = numpy_helper.from_array(RNG.standard_normal((2, 3, 3, 3)).astype(np.float32), "w")
    return save(tmp_path, [N("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], [tensor("x", shape)],
                [tensor("y", [shape[0], 2, shape[2], shape[3]])], [w])


def test_dynamic_spatial_dims_need_input_shape(tmp_path):
    path = image_model(tmp_path, ["N", 3, "H", "W"])
    msg = error(path)
    assert "'x'" in msg and "--input-shape" in msg and "[N, 3, H, W]" in msg
    g = load_onnx(path, input_shape=(1, 3, 6, 5))
    assert g.tensors["y"].shape == (1, 2, 6, 5) and g.meta["dynamic_batch"]
    assert load_onnx(path, input_shape={"x": (1, 3, 4, 4)}).tensors["y"].shape == (1, 2, 4, 4)


def test_input_shape_mistakes(tmp_path):
    path = image_model(tmp_path, ["N", 3, "H", "W"])
    assert "contradicts" in error(path, input_shape=(1, 4, 6, 6))
    assert "contradicts" in error(path, input_shape=(1, 3, 6))
    assert "not model inputs" in error(path, input_shape={"image": (1, 3, 6, 6)})


def test_node_names_made_unique(tmp_path):
    nodes = [N("Relu", ["x"], ["a"], name="r"), N("Relu", ["a"], ["b"], name="r"),
             N("Relu", ["b"], ["c"]), N("Relu", ["c"], ["y"], name="Relu_0")]
    g = load_onnx(save(tmp_path, nodes, [tensor("x", [1, 3])], [tensor("y", [1, 3])]))
    names = [n.name for n in g.nodes()]
    assert len(set(names)) == 4 and names[3] == "Relu_0" and "Relu_0" not in names[:3]
    assert g.meta["onnx_names"] == dict(zip(names, ["r", "r", "", "Relu_0"]))
    assert load_onnx(save(tmp_path, nodes, [tensor("x", [1, 3])], [tensor("y", [1, 3])])).meta == g.meta


def test_unused_dropout_mask_and_bn_outputs_are_dropped(tmp_path):
    bn = [numpy_helper.from_array(np.ones(3, np.float32), n) for n in ("s", "b", "m", "v")]
    nodes = [N("Dropout", ["x"], ["d", "mask"], ratio=0.5),
             N("BatchNormalization", ["d", "s", "b", "m", "v"], ["y", "rm", "rv", "sm", "sv"])]
    g = load_onnx(save(tmp_path, nodes, [tensor("x", [1, 3, 2, 2])], [tensor("y", [1, 3, 2, 2])], bn, opset=9))
    assert [n.outputs for n in g.nodes()] == [("d", ""), ("y",)]


# --- rejected -------------------------------------------------------------

def test_missing_file(tmp_path):
    assert "not found" in error(tmp_path / "nope.onnx")


def test_directory(tmp_path):
    assert "not a file" in error(tmp_path)


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", bytes(RNG.integers(0, 256, 4096, dtype=np.uint8))],
                         ids=["empty", "text", "random"])
def test_not_an_onnx_file(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    assert "not an ONNX model" in error(path) or "invalid ONNX model" in error(path)


def test_unsupported_ops_are_all_listed(tmp_path):
    nodes = [N("LeakyRelu", ["x"], ["a"], name="lk0"), N("Relu", ["a"], ["b"], name="ok"),
             N("Floor", ["b"], ["c"]), N("Foo", ["c"], ["y"], name="custom", domain="com.example")]
    path = save(tmp_path, nodes, [tensor("x", [1, 3])], [tensor("y", [1, 3])],
                opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
    msg = error(path)
    assert "unsupported ops: node 'lk0' (LeakyRelu), node 'Floor_2' (Floor), node 'custom' (com.example.Foo)" in msg
    assert "supported (domain ai.onnx): Add, AveragePool, BatchNormalization" in msg
    assert "'ok'" not in msg


@pytest.mark.parametrize("opset", [7, 8, 22])
def test_unsupported_opset(tmp_path, opset):
    path = save(tmp_path, [N("Relu", ["x"], ["y"])], [tensor("x", [1, 3])], [tensor("y", [1, 3])], opset=opset)
    assert f"opset {opset} is not supported; supported: opsets 9..21" in error(path)


def test_non_float_input(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.INT64, [1, 3])
    path = save(tmp_path, [N("Identity", ["x"], ["y"])], [x], [helper.make_tensor_value_info("y", TensorProto.INT64, [1, 3])])
    assert "input 'x' has type INT64; supported: FLOAT" in error(path)


@pytest.mark.parametrize("node,needle", [
    (N("Conv", ["x", "w"], ["y"], auto_pad="SAME_SIDEWAYS", name="c1"),
     "node 'c1' (Conv): auto_pad 'SAME_SIDEWAYS' is not supported; supported: NOTSET, SAME_UPPER"),
    (N("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"], training_mode=1, name="bn"),
     "node 'bn' (BatchNormalization): training_mode=1 is not supported"),
    (N("Dropout", ["x", "r", "t"], ["y"], name="drop"), "node 'drop' (Dropout): training_mode=True is not supported"),
    (N("MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2], name="mp"), "node 'mp' (MaxPool): the Indices output"),
    (N("Reshape", ["x", "x"], ["y"], name="rs"), "node 'rs' (Reshape): Reshape shape (input 1) must be a constant"),
    (N("Conv", ["x", "w"], ["y"], kernel_shape=[5, 5], name="c2"), "node 'c2' (Conv): kernel_shape [5, 5] differs"),
], ids=lambda v: v if isinstance(v, str) else v.name)
def test_unsupported_attribute_values(tmp_path, node, needle):
    inits = [numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), "w"),
             numpy_helper.from_array(np.ones(3, np.float32), "s"),
             numpy_helper.from_array(np.array(0.5, np.float32), "r"),
             numpy_helper.from_array(np.array(True), "t")]
    outputs = [tensor(t, None) for t in dict.fromkeys(node.output)]
    for o in outputs:  # the checker wants an output shape; any rank-4 one will do
        o.type.tensor_type.shape.dim.extend([onnx.TensorShapeProto.Dimension(dim_param=f"d{i}") for i in range(4)])
    path = save(tmp_path, [node], [tensor("x", [1, 3, 6, 6])], outputs, inits, opset=15)
    assert needle in error(path)


def test_inconsistent_shapes_name_the_node(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 5), np.float32), "w")
    path = save(tmp_path, [N("Gemm", ["x", "w"], ["y"], name="fc")], [tensor("x", [1, 3])], [tensor("y", [1, 5])], [w])
    assert "node 'fc' (Gemm): Gemm 'fc': inner dimensions differ" in error(path)
