"""Graph and Node (hwcomp/ir/graph.py): value semantics of copies, editing, queries and order."""
import networkx as nx
import numpy as np
import pytest

from hwcomp.ir.dtypes import FLOAT32
from hwcomp.ir.graph import Graph, Node, frozen_array
from hwcomp.ir.tensor import TensorType
from hwcomp.ops.activation import Relu
from hwcomp.ops.elementwise import Add

T = TensorType((1, 4), FLOAT32)


def chain() -> Graph:
    """x -> relu_a -> a -> add(a, c) -> b -> relu_b -> y, with constant c."""
    g = Graph("chain")
    g.inputs, g.outputs = ["x"], ["y"]
    g.tensors.update(x=T, a=T, b=T, y=T)
    g.add_constant("c", np.ones((1, 4), np.float32))
    g.add_node(Node("relu_a", Relu, ["x"], ["a"]))
    g.add_node(Node("add", Add, ["a", "c"], ["b"]))
    g.add_node(Node("relu_b", Relu, ["b"], ["y"]))
    g.meta["source"] = "inline"
    return g


def test_frozen_array_copies_a_writeable_array_and_shares_a_frozen_one():
    a = np.arange(3)
    f = frozen_array(a)
    assert f is not a and not f.flags.writeable
    a[0] = 7  # the original stays the caller's to edit
    assert f[0] == 0
    assert frozen_array(f) is f
    with pytest.raises(ValueError):
        f[0] = 1


def test_node_takes_tuples_and_freezes_params():
    n = Node("n", Relu, ["x"], ["y"], params={"w": np.zeros(2)})
    assert n.inputs == ("x",) and n.outputs == ("y",)
    assert not n.params["w"].flags.writeable


def test_node_copy_has_its_own_attrs_and_params_but_shares_frozen_arrays():
    n = Node("n", Relu, ("x",), ("y",), {"k": 1}, {"w": np.zeros(2)})
    c = n.copy()
    c.attrs["k"] = 2
    c.params["v"] = frozen_array(np.ones(1))
    c.inputs = ("z",)
    assert n.attrs == {"k": 1} and set(n.params) == {"w"} and n.inputs == ("x",)
    assert c.params["w"] is n.params["w"]


def test_copy_is_independent_of_the_original():
    g = chain()
    c = g.copy()
    c.inputs.append("x2")
    c.outputs[0] = "b"
    c.tensors["new"] = T
    c.add_constant("d", np.zeros(1))
    c.meta["source"] = "edited"
    c.node("add").attrs["k"] = 1
    c.node("relu_b").inputs = ("a",)
    c.remove_node("relu_a")
    assert g.inputs == ["x"] and g.outputs == ["y"]
    assert "new" not in g.tensors and "d" not in g.constants
    assert g.meta == {"source": "inline"}
    assert g.node("add").attrs == {} and g.node("relu_b").inputs == ("b",) and "relu_a" in g
    assert c.constants["c"] is g.constants["c"]  # read-only, so shared


def test_add_node_refuses_a_duplicate_name():
    g = chain()
    with pytest.raises(ValueError, match="duplicate node name 'add'"):
        g.add_node(Node("add", Relu, ["x"], ["z"]))


def test_remove_node():
    g = chain()
    g.remove_node("relu_b")
    assert "relu_b" not in g and len(g) == 2
    with pytest.raises(KeyError):
        g.remove_node("relu_b")


def test_replace_node_keeps_the_position_and_may_rename():
    g = chain()
    g.replace_node("add", Node("sum", Add, ["a", "c"], ["b"]))
    assert [n.name for n in g.nodes()] == ["relu_a", "sum", "relu_b"]
    assert "add" not in g and g.node("sum").op is Add


def test_add_constant_freezes_and_returns_the_name():
    g = Graph()
    value = np.arange(4.0)
    assert g.add_constant("k", value) == "k"
    assert not g.constants["k"].flags.writeable and g.constant_value("k") is g.constants["k"]
    assert g.constant_value("missing") is None


def test_unique_name_avoids_nodes_tensors_and_constants():
    g = chain()
    assert g.unique_name("fresh") == "fresh"
    assert g.unique_name("add") == "add_1"  # a node
    assert g.unique_name("x") == "x_1"      # a tensor
    g.tensors["c_1"] = T
    assert g.unique_name("c") == "c_2"      # a constant, then a tensor


def test_queries():
    g = chain()
    assert len(g) == 3 and "add" in g and "a" not in g
    assert g.node("add").inputs == ("a", "c")
    with pytest.raises(KeyError):
        g.node("nope")
    assert {t: n.name for t, n in g.producers().items()} == {"a": "relu_a", "b": "add", "y": "relu_b"}
    assert g.producer("b").name == "add"
    assert g.producer("x") is None and g.producer("c") is None  # graph input, constant
    assert g.type_of("a") == T
    with pytest.raises(KeyError):
        g.type_of("c")  # constants carry no TensorType
    blank = Node("n", Add, ("a", "", "c"), ("z",))
    assert g.input_types(blank) == [T, None, None]


def test_consumers_in_insertion_order():
    g = chain()
    g.add_node(Node("late", Relu, ["a"], ["z"]))
    g.add_node(Node("early", Add, ["a", "a"], ["w"]))
    assert [n.name for n in g.consumers("a")] == ["add", "late", "early"]
    assert g.consumers("y") == []


def test_nx_graph_has_one_edge_per_produced_input():
    dg = chain().nx_graph()
    assert set(dg.nodes) == {"relu_a", "add", "relu_b"}
    assert {(u, v, d["tensor"]) for u, v, d in dg.edges(data=True)} == {("relu_a", "add", "a"),
                                                                       ("add", "relu_b", "b")}


def test_nodes_are_topological_with_ties_in_insertion_order():
    g = Graph()
    g.inputs = ["x"]
    # inserted consumer-first: the order must still put producers first
    g.add_node(Node("last", Add, ["p", "q"], ["y"]))
    g.add_node(Node("q_node", Relu, ["x"], ["q"]))
    g.add_node(Node("p_node", Relu, ["x"], ["p"]))
    assert [n.name for n in g.nodes()] == ["q_node", "p_node", "last"]
    assert [n.name for n in g] == ["q_node", "p_node", "last"]


def test_nodes_on_a_cycle_raise():
    g = Graph()
    g.add_node(Node("a", Relu, ["v"], ["u"]))
    g.add_node(Node("b", Relu, ["u"], ["v"]))
    with pytest.raises(nx.NetworkXUnfeasible):
        g.nodes()


def test_remove_unused_drops_only_unreferenced_constants_and_types():
    g = chain()
    g.add_constant("orphan", np.zeros(1))
    g.tensors["stale"] = T
    g.remove_unused()
    assert "orphan" not in g.constants and "stale" not in g.tensors
    assert set(g.tensors) == {"x", "a", "b", "y"} and set(g.constants) == {"c"}
    # graph inputs and outputs stay even when no node touches them
    g.inputs.append("spare")
    g.tensors["spare"] = T
    g.remove_unused()
    assert "spare" in g.tensors
