"""Every pass leaves its input graph exactly as it was (passes/base.py: passes copy).

Each Pass object in hwcomp.passes, and each public Graph -> Graph function there,
gets a small inline graph that it really changes; the input is snapshotted
completely (nodes with attrs and params, tensors, constants, meta) before the
pass and compared after it. A pass without a case here fails the test.
"""
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import hwcomp.passes
from hwcomp.ir.dtypes import FLOAT32
from hwcomp.ir.graph import Graph, Node
from hwcomp.ir.tensor import TensorType
from hwcomp.ir.verify import verify
from hwcomp.ops.activation import Relu
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense
from hwcomp.ops.elementwise import Add
from hwcomp.ops.linear import Gemm, MatMul
from hwcomp.ops.norm import BatchNormalization
from hwcomp.ops.quantizers import DequantizeLinear, FakeQuant, QuantizeLinear
from hwcomp.ops.shape import Flatten, Identity, Transpose
from hwcomp.passes.base import Pass, run_to_fixed_point
from hwcomp.passes.integerize import integerize
from hwcomp.passes.lowbit import lowbit
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.quantize import QuantConfig, quantize

MODULES = [importlib.import_module(f"hwcomp.passes.{m.name}") for m in pkgutil.iter_modules(hwcomp.passes.__path__)]
PASSES = {obj.name: obj for mod in MODULES for obj in vars(mod).values() if isinstance(obj, Pass)}


def _graph_to_graph(fn) -> bool:
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    return bool(params) and params[0].annotation == "Graph" and sig.return_annotation == "Graph"


# Public Graph -> Graph functions, except the driver that runs Pass lists (base.py).
FUNCTIONS = {name: fn for mod in MODULES if mod.__name__ != "hwcomp.passes.base"
             for name, fn in vars(mod).items()
             if inspect.isfunction(fn) and fn.__module__ == mod.__name__ and not name.startswith("_")
             and _graph_to_graph(fn)}


# --- snapshots -----------------------------------------------------------------

def freeze(v):
    """A comparable copy of an attribute, param or meta value, arrays by their bytes."""
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes(), v.flags.writeable)
    if isinstance(v, np.generic):
        return ("scalar", v.dtype.str, v.tobytes())
    if isinstance(v, float):
        return ("float", v.hex())  # nan compares equal to itself
    if isinstance(v, dict):
        return ("dict", tuple((repr(k), freeze(x)) for k, x in sorted(v.items(), key=lambda kv: repr(kv[0]))))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(freeze(x) for x in v))
    return v


def snapshot(g: Graph):
    nodes = [(n.name, n.op, n.inputs, n.outputs, freeze(n.attrs), freeze(n.params)) for n in g.nodes()]
    return (g.name, list(g.inputs), list(g.outputs), dict(g.tensors), freeze(g.constants), freeze(g.meta), nodes)


# --- inline graphs -----------------------------------------------------------------

def build(inputs: dict, outputs: list, nodes: list, constants: dict | None = None) -> Graph:
    """A float graph typed by each op's own inference, with nested meta to watch too."""
    g = Graph("case")
    g.inputs, g.outputs = list(inputs), list(outputs)
    g.meta.update(source="inline", onnx_names={n.name: n.name for n in nodes})
    for name, shape in inputs.items():
        g.tensors[name] = TensorType(shape, FLOAT32)
    for name, value in (constants or {}).items():
        g.add_constant(name, value)
    for n in nodes:
        g.add_node(n)
        for t, ty in zip(n.outputs, n.op.infer(n, g)):
            g.tensors[t] = ty
    verify(g)
    return g


def w(*shape, seed=0):
    return np.random.default_rng(seed).normal(0, 0.5, shape).astype(np.float32)


def dense(name, x, y, rows, cols, seed=0):
    return Node(name, Dense, [x], [y], {}, {"weight": w(rows, cols, seed=seed), "bias": w(rows, seed=seed + 1)})


def transpose(name, x, y, perm):
    return Node(name, Transpose, [x], [y], {"perm": perm})


QUANT8 = {"qmin": -127, "qmax": 127, "rounding": "ROUND", "bipolar": False}
SCALE = {"scale": np.float32(0.05).reshape(()), "zero_point": np.zeros((), np.float32)}
NCHW = (1, 2, 3, 4)


def constant_add():
    return build({"x": (1, 4)}, ["y"], [Node("k", Add, ["c1", "c2"], ["k"]), Node("add", Add, ["x", "k"], ["y"])],
                 {"c1": w(1, 4), "c2": w(1, 4, seed=1)})


def identity_relu():
    return build({"x": (1, 4)}, ["y"], [Node("id", Identity, ["x"], ["i"]), Node("relu", Relu, ["i"], ["y"])])


def gemm():
    attrs = {"alpha": 0.5, "beta": 1.0, "transA": 0, "transB": 1}
    return build({"x": (1, 4)}, ["y"], [Node("gemm", Gemm, ["x", "W", "B"], ["y"], attrs)], {"W": w(3, 4), "B": w(3)})


def dense_bias_add():
    return build({"x": (1, 4)}, ["y"], [dense("fc", "x", "h", 3, 4), Node("add", Add, ["h", "b"], ["y"])], {"b": w(3)})


def dense_batchnorm():
    bn = Node("bn", BatchNormalization, ["h", "gamma", "beta", "mean", "var"], ["y"], {"epsilon": 1e-5})
    stats = {"gamma": w(3), "beta": w(3, seed=1), "mean": w(3, seed=2), "var": np.abs(w(3, seed=3)) + 0.5}
    return build({"x": (1, 4)}, ["y"], [dense("fc", "x", "h", 3, 4), bn], stats)


def conv():
    attrs = {"kernel_shape": [3, 3], "strides": [1, 1], "dilations": [1, 1], "pads": [1, 1, 1, 1],
             "auto_pad": "NOTSET", "group": 1}
    return build({"x": (1, 2, 4, 4)}, ["y"], [Node("conv", Conv, ["x", "W", "B"], ["y"], attrs)],
                 {"W": w(3, 2, 3, 3), "B": w(3)})


def transpose_pair():
    return build({"x": NCHW}, ["y"], [transpose("t1", "x", "t", [0, 2, 3, 1]), transpose("t2", "t", "u", [0, 3, 1, 2]),
                                       Node("relu", Relu, ["u"], ["y"])])


def transpose_fanout():
    return build({"x": NCHW}, ["y1", "y2"], [transpose("t", "x", "t", [0, 2, 3, 1]), Node("r1", Relu, ["t"], ["y1"]),
                                              Node("r2", Relu, ["t"], ["y2"])])


def transpose_relu():
    return build({"x": NCHW}, ["y"], [transpose("t", "x", "t", [0, 2, 3, 1]), Node("relu", Relu, ["t"], ["y"])])


def transposes_into_add():
    return build({"a": NCHW, "b": NCHW}, ["y"], [transpose("ta", "a", "ta", [0, 2, 3, 1]),
                                                 transpose("tb", "b", "tb", [0, 2, 3, 1]),
                                                 Node("add", Add, ["ta", "tb"], ["y"])])


def transpose_flatten_dense():
    return build({"x": (1, 2, 2, 3)}, ["y"], [transpose("t", "x", "t", [0, 3, 1, 2]),
                                              Node("flat", Flatten, ["t"], ["f"], {"axis": 1}),
                                              dense("fc", "f", "y", 4, 12)])


def quantized_weight_transposed():
    """TorchScript's Linear: Quant(W) -> Transpose -> MatMul."""
    return build({"x": (1, 3)}, ["y"], [Node("wq", FakeQuant, ["W"], ["wq"], dict(QUANT8), dict(SCALE)),
                                        transpose("wt", "wq", "wt", [1, 0]),
                                        Node("mm", MatMul, ["x", "wt"], ["y"])], {"W": w(4, 3)})


def quantized_weight():
    return build({"x": (1, 3)}, ["y"], [Node("wq", FakeQuant, ["W"], ["wq"], dict(QUANT8), dict(SCALE)),
                                        Node("mm", MatMul, ["x", "wq"], ["y"])], {"W": w(3, 4)})


def qdq_pair():
    attrs = {"qmin": 0, "qmax": 255, "rounding": "ROUND", "bipolar": False, "zero_after_round": True}
    params = {"scale": np.float32(0.02).reshape(()), "zero_point": np.float32(128).reshape(())}
    return build({"x": (1, 4)}, ["y"], [Node("q", QuantizeLinear, ["x"], ["q"], attrs, dict(params)),
                                        Node("dq", DequantizeLinear, ["q"], ["y"], {}, dict(params))])


CALIB = {"x": np.random.default_rng(1).uniform(-1, 1, (32, 6)).astype(np.float32)}


def mlp():
    return build({"x": (1, 6)}, ["y"], [dense("fc0", "x", "h", 5, 6), Node("relu", Relu, ["h"], ["r"]),
                                        dense("fc1", "r", "y", 3, 5, seed=2)])


def residual_mlp():
    """Layers with a residual add between them: a branch for the folder."""
    return build({"x": (1, 6)}, ["y"], [dense("fc0", "x", "h0", 6, 6), Node("relu0", Relu, ["h0"], ["r0"]),
                                        dense("fc1", "r0", "h1", 6, 6, seed=2), Node("relu1", Relu, ["h1"], ["r1"]),
                                        Node("add", Add, ["r0", "r1"], ["s"]), dense("fc2", "s", "y", 4, 6, seed=4)])


def dead_channel_mlp():
    """fc0's row 1 is all zero with a zero bias: a dead neuron for passes/prune_channels."""
    g = mlp()
    fc0 = g.node("fc0")
    weight, bias = np.array(fc0.params["weight"]), np.array(fc0.params["bias"])
    weight[1], bias[1] = 0, 0
    g.replace_node("fc0", Node("fc0", Dense, fc0.inputs, fc0.outputs, {}, {"weight": weight, "bias": bias}))
    return g


def _remove_elements(f, g):
    from hwcomp.passes.channel_groups import analyze

    flow = analyze(g)
    return f(g, flow, {flow.producer_elements()["fc0"][0]})


def fixed_point(g: Graph) -> Graph:
    return quantize(g, CALIB, QuantConfig(8, 8))


def lowered(g: Graph) -> Graph:
    return run_to_fixed_point(fixed_point(g), [lower_to_hardware])


LOW_BIT = QuantConfig(2, 2)

# Pass name -> its input graph.
CASES = {
    "fold_constants": constant_add,
    "remove_identities": identity_relu,
    "gemm_to_dense": gemm,
    "absorb_bias_add": dense_bias_add,
    "fold_batchnorm": dense_batchnorm,
    "conv_to_windows": conv,
    "cancel_transpose_pairs": transpose_pair,
    "split_transpose_fanout": transpose_fanout,
    "move_transpose_past_relu": transpose_relu,
    "move_transpose_past_join": transposes_into_add,
    "absorb_transpose_into_dense": transpose_flatten_dense,
    "lower_to_hardware": lambda: fixed_point(mlp()),
    "swap_weight_transposes": quantized_weight_transposed,
    "fold_weight_quantizers": quantized_weight,
    "fuse_qdq_pairs": qdq_pair,
    "remove_dead_channels": dead_channel_mlp,
}

# Function name -> (its input graph, how to call it).
FUNCTION_CASES = {
    "canonicalize": (gemm, lambda f, g: f(g)),
    "to_channels_last": (conv, lambda f, g: f(g)),
    "quantize": (mlp, lambda f, g: f(g, CALIB, QuantConfig(8, 8))),
    "lowbit": (mlp, lambda f, g: f(g, CALIB, LOW_BIT)),
    "integerize": (lambda: lowbit(mlp(), CALIB, LOW_BIT), lambda f, g: f(g)),
    "fold": (lambda: lowered(residual_mlp()), lambda f, g: f(g)),  # one folder, branches included
    "prune_channels": (residual_mlp, lambda f, g: f(g, 0.5, "global")),
    "remove_elements": (mlp, _remove_elements),
    "share_weights": (mlp, lambda f, g: f(g, 1)),
    "to_sparse": (lambda: lowered(mlp()), lambda f, g: f(g, ["fc0"])),
    "choose_sparse": (lambda: lowered(mlp()), lambda f, g: f(g, "on")),
}


def test_passes_are_found():
    # guards the discovery itself: an empty list would make the tests below vacuous
    assert len(PASSES) >= 15 and {"quantize", "integerize", "fold"} <= set(FUNCTIONS)
    assert set(CASES) <= set(PASSES) and set(FUNCTION_CASES) <= set(FUNCTIONS), "a case names no pass"


@pytest.mark.parametrize("name", sorted(PASSES))
def test_pass_keeps_its_input(name):
    assert name in CASES, f"pass {name!r} has no input-snapshot case in {__file__}"
    g = CASES[name]()
    before = snapshot(g)
    new, changed = PASSES[name](g)
    assert snapshot(g) == before, f"pass {name!r} edited its input graph"
    assert changed and snapshot(new) != before, f"the case for {name!r} does not exercise it"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_graph_function_keeps_its_input(name):
    assert name in FUNCTION_CASES, f"{name}() has no input-snapshot case in {__file__}"
    make, call = FUNCTION_CASES[name]
    g = make()
    before = snapshot(g)
    new = call(FUNCTIONS[name], g)
    assert snapshot(g) == before, f"{name}() edited its input graph"
    assert new is not g and snapshot(new) != before, f"the case for {name}() does not exercise it"
