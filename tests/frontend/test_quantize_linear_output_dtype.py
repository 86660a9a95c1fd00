"""QuantizeLinear's output_dtype (opset 21) sets the code type when no zero point is given;
it used to be ignored, giving uint8 codes where ONNX makes int8 ones."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute


def qdq_model(path, output_dtype: int, zero_point=None):
    inits = [numpy_helper.from_array(np.float32(0.1), "s")]
    q_inputs = ["x", "s"]
    if zero_point is not None:
        inits.append(numpy_helper.from_array(zero_point, "z"))
        q_inputs.append("z")
    nodes = [helper.make_node("QuantizeLinear", q_inputs, ["q"], name="ql", output_dtype=output_dtype),
             helper.make_node("DequantizeLinear", ["q", "s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("output_dtype", [TensorProto.INT8, TensorProto.UINT8, TensorProto.INT16])
def test_output_dtype_without_zero_point_equals_onnxruntime(tmp_path, output_dtype):
    path = qdq_model(tmp_path / "q.onnx", output_dtype)
    x = np.array([[-1.0, -0.25, 0.3, 5000.0]], np.float32)  # negative codes and saturation
    want = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert np.array_equal(execute(load_onnx(path), {"x": x})["y"], want)


def test_output_dtype_must_match_the_zero_point(tmp_path):
    path = qdq_model(tmp_path / "q.onnx", TensorProto.INT8, zero_point=np.uint8(0))
    with pytest.raises(HwcompError, match="node 'ql' .*y_zero_point is uint8 but output_dtype says int8"):
        load_onnx(path)


def test_other_output_dtypes_are_refused(tmp_path):
    path = qdq_model(tmp_path / "q.onnx", TensorProto.INT32)
    with pytest.raises(HwcompError, match="node 'ql' .*output_dtype 6 is not supported"):
        load_onnx(path)
