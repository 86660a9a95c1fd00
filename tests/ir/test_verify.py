"""The verifier (hwcomp/ir/verify.py): each check fires on a graph broken for it, with
a message that names what is wrong; a sound graph passes."""
import numpy as np
import pytest

from hwcomp.ir.dtypes import FLOAT32, Int
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ir.verify import VerifyError, check_attrs, verify
from hwcomp.ops.activation import Relu, Softmax
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add
from hwcomp.ops.quant import Quantize
from hwcomp.ops.shape import Transpose

T = TensorType((1, 4), FLOAT32)


def sound() -> Graph:
    """x -> relu -> a -> add(a, c) -> y."""
    g = Graph()
    g.inputs, g.outputs = ["x"], ["y"]
    g.tensors.update(x=T, a=T, y=T)
    g.add_constant("c", np.ones((1, 4), np.float32))
    g.add_node(Node("relu", Relu, ["x"], ["a"]))
    g.add_node(Node("add", Add, ["a", "c"], ["y"]))
    return g


def test_a_sound_graph_passes():
    verify(sound())


def test_verify_error_is_a_value_error():
    assert issubclass(VerifyError, ValueError)


def test_two_producers_of_one_tensor():
    g = sound()
    g.add_node(Node("again", Relu, ["x"], ["a"]))
    with pytest.raises(VerifyError, match="tensor 'a' has more than one producer"):
        verify(g)


def test_a_node_writing_a_graph_input():
    g = sound()
    g.add_node(Node("over_input", Relu, ["c"], ["x"]))
    with pytest.raises(VerifyError, match="tensor 'x' has more than one producer .*over_input"):
        verify(g)


def test_a_node_writing_a_constant():
    g = sound()
    g.add_node(Node("over_const", Relu, ["a"], ["c"]))
    with pytest.raises(VerifyError, match="tensor 'c' has more than one producer .*over_const"):
        verify(g)


def test_an_undefined_input():
    g = sound()
    g.node("add").inputs = ("a", "ghost")
    with pytest.raises(VerifyError, match="node 'add' \\(Add\\) reads undefined tensor 'ghost'"):
        verify(g)


def test_an_output_nobody_produces():
    g = sound()
    g.outputs.append("never")
    with pytest.raises(VerifyError, match="graph output 'never' is never produced"):
        verify(g)


def test_a_cycle():
    g = sound()
    g.node("relu").inputs = ("y",)  # relu -> add -> relu
    with pytest.raises(VerifyError, match="graph has a cycle"):
        verify(g)


def test_a_tensor_without_a_type():
    g = sound()
    del g.tensors["a"]
    with pytest.raises(VerifyError, match="tensor 'a' of node 'relu' has no type"):
        verify(g)


def test_a_stored_type_that_disagrees_with_inference():
    g = sound()
    g.tensors["a"] = TensorType((1, 5), FLOAT32)
    with pytest.raises(VerifyError, match="node 'relu' \\(Relu\\): stored output types"):
        verify(g)


# --- attributes against Op.attr_schema ---------------------------------------

def transpose_graph(attrs: dict) -> Graph:
    g = Graph()
    g.inputs, g.outputs = ["x"], ["y"]
    g.tensors.update(x=TensorType((1, 2, 3), FLOAT32), y=TensorType((1, 3, 2), FLOAT32))
    g.add_node(Node("t", Transpose, ["x"], ["y"], attrs))
    return g


def test_an_unknown_attribute():
    g = transpose_graph({"perm": [0, 2, 1], "prem": [0, 2, 1]})
    with pytest.raises(VerifyError, match="node 't' \\(Transpose\\): unknown attribute 'prem'; "
                                          "Transpose declares perm"):
        verify(g)


def test_an_attribute_on_an_op_that_declares_none():
    g = sound()
    g.node("relu").attrs["alpha"] = 0.1
    with pytest.raises(VerifyError, match="unknown attribute 'alpha'; Relu declares no attributes"):
        verify(g)


def test_a_missing_required_attribute():
    with pytest.raises(VerifyError, match="node 't' \\(Transpose\\): missing required attribute 'perm'"):
        verify(transpose_graph({}))


def test_a_wrongly_typed_attribute():
    with pytest.raises(VerifyError, match="node 't' \\(Transpose\\): attribute 'perm' is str '021', "
                                          "expected list or tuple"):
        verify(transpose_graph({"perm": "021"}))


def test_attrs_are_checked_before_inference_reads_them():
    # Without the schema check, infer would fail with a bare KeyError.
    g = sound()
    g.replace_node("relu", Node("relu", Softmax, ["x"], ["a"], {"axis": 1}))
    with pytest.raises(VerifyError, match="missing required attribute 'coerce_2d'"):
        verify(g)


def softmax(**attrs) -> Node:
    return Node("s", Softmax, ["x"], ["y"], attrs)


def test_a_bool_is_not_an_int_and_an_int_is_not_a_bool():
    with pytest.raises(VerifyError, match="attribute 'axis' is bool True, expected int"):
        check_attrs(softmax(axis=True, coerce_2d=False))
    with pytest.raises(VerifyError, match="attribute 'coerce_2d' is int 0, expected bool"):
        check_attrs(softmax(axis=1, coerce_2d=0))


def test_numpy_scalars_count_as_python_ones():
    check_attrs(softmax(axis=np.int64(1), coerce_2d=np.bool_(False)))


def test_optional_attributes_may_be_absent_but_are_type_checked():
    w = np.zeros((2, 4), np.float32)
    check_attrs(Node("d", Dense, ["x"], ["y"], {}, {"weight": w, "bias": np.zeros(2, np.float32)}))
    bad = Node("d", Dense, ["x"], ["y"], {"acc_dtype": "int<8>"}, {"weight": w, "bias": np.zeros(2)})
    with pytest.raises(VerifyError, match="node 'd' \\(Dense\\): attribute 'acc_dtype' is str 'int<8>', "
                                          "expected DType"):
        check_attrs(bad)


def test_a_pass_adding_an_undeclared_attribute_fails_verification():
    # The verifier runs after every pass (passes/base.py): this is what a pass that sets
    # an attribute its op does not declare runs into.
    g = Graph()
    g.inputs, g.outputs = ["x"], ["q"]
    g.tensors.update(x=T, q=T.with_dtype(Int(8)))
    g.add_node(Node("quant", Quantize, ["x"], ["q"], {"dtype": Int(8)}))
    verify(g)
    g.node("quant").attrs["scale"] = 0.5
    with pytest.raises(VerifyError, match="node 'quant' \\(Quantize\\): unknown attribute 'scale'"):
        verify(g)
