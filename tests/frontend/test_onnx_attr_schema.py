"""Import checks each node's attributes against its op's schema, so an ONNX attribute
the op would silently ignore is reported as a user error naming the node."""
import onnx
import pytest
from onnx import TensorProto, helper

from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.ops.norm import LRN


def lrn_model(path):
    node = helper.make_node("LRN", ["x"], ["y"], name="lrn", size=3, bias=2.0)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 2, 2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_declared_attributes_import(tmp_path):
    g = load_onnx(lrn_model(tmp_path / "m.onnx"))
    assert g.node("lrn").attrs == {"size": 3, "bias": 2.0, "alpha": 1e-4, "beta": 0.75}


def test_an_attribute_the_op_does_not_declare_is_a_hwcomp_error(tmp_path, monkeypatch):
    # stands for an ONNX attribute (valid for the checker) that the IR op has no use for
    monkeypatch.setattr(LRN, "attr_schema", {k: v for k, v in LRN.attr_schema.items() if k != "bias"})
    with pytest.raises(HwcompError, match="node 'lrn' \\(LRN\\).*unknown attribute 'bias'"):
        load_onnx(lrn_model(tmp_path / "m.onnx"))
