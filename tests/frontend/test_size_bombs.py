"""Size bombs (issue 10, item 3): a tensor whose inferred size exceeds the bound
(default 2^28 elements, --max-tensor-elems) is refused naming the node and the
shape, before anything allocates it.

The bombs are imported in a subprocess whose address space is limited to 2 GB:
each asks for 2^31 or more elements (8 GB and up), so refusing any of them
after allocating it would end in a MemoryError there, not in the message.
"""
import json
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.compile import compile_model
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import DEFAULT_MAX_TENSOR_ELEMS, load_onnx

BIG = 2 ** 31


def _model(nodes, inits, x_shape=(1, 4), out="y"):
    g = helper.make_graph(nodes, "bomb", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["n"])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def _i64(name, v):
    return numpy_helper.from_array(np.asarray(v, np.int64), name)


def _f32(name, v):
    return numpy_helper.from_array(np.asarray(v, np.float32), name)


def _hollow(name, dims, raw):
    """An initializer with huge dims and (almost) no data, as a hostile file would have it."""
    t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    if raw:
        t.raw_data = b"\0" * 16
    return t


def _use(t):
    return helper.make_node("Add", ["x", t], ["y"], name="use")


# name -> (model, what the message must name: node or tensor, shape)
BOMBS = {
    "ConstantOfShape": (_model([helper.make_node("ConstantOfShape", ["s"], ["c"], name="bomb"), _use("c")],
                               [_i64("s", [1, BIG])]), "node 'bomb' (ConstantOfShape)", [1, BIG]),
    "Expand": (_model([helper.make_node("Expand", ["one", "s"], ["c"], name="bomb"), _use("c")],
                      [_f32("one", [1.0]), _i64("s", [1, BIG])]), "node 'bomb' (Expand)", [1, BIG]),
    "Tile": (_model([helper.make_node("Tile", ["one", "r"], ["c"], name="bomb"), _use("c")],
                    [_f32("one", [[1.0]]), _i64("r", [1, BIG])]), "node 'bomb' (Tile)", [1, BIG]),
    "Range": (_model([helper.make_node("Range", ["a", "b", "d"], ["c"], name="bomb"), _use("c")],
                     [_f32("a", 0), _f32("b", float(BIG)), _f32("d", 1)]), "node 'bomb' (Range)", [BIG]),
    "Resize-scales": (_model([helper.make_node("Resize", ["img", "", "sc"], ["c"], name="bomb", mode="nearest"),
                              _use("c")], [_f32("img", np.ones((1, 1, 2, 2))), _f32("sc", [1, 1, 4e4, 4e4])]),
                      "node 'bomb' (Resize)", [1, 1, 80000, 80000]),
    "Resize-sizes": (_model([helper.make_node("Resize", ["img", "", "", "sz"], ["c"], name="bomb", mode="nearest"),
                             _use("c")], [_f32("img", np.ones((1, 1, 2, 2))), _i64("sz", [1, 1, 2 ** 16, 2 ** 16])]),
                     "node 'bomb' (Resize)", [1, 1, 65536, 65536]),
    "Pad": (_model([helper.make_node("Pad", ["w", "p"], ["c"], name="bomb"), _use("c")],
                   [_f32("w", np.ones((1, 4))), _i64("p", [0, 0, 0, BIG])]), "node 'bomb' (Pad)", [1, BIG + 4]),
    "broadcast": (_model([helper.make_node("Add", ["x", "w"], ["y"], name="bomb")],
                         [_f32("w", np.ones((1, 2 ** 16, 1)))], x_shape=(1, 1, 2 ** 16)),
                  "node 'bomb' (Add)", [1, 2 ** 16, 2 ** 16]),
    "initializer": (_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="use")],
                           [_hollow("w", [4, BIG], raw=False)]), "initializer 'w'", [4, BIG]),
    "initializer-raw": (_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="use")],
                               [_hollow("w", [4, BIG], raw=True)]), "initializer 'w'", [4, BIG]),
    "Constant-attribute": (_model([helper.make_node("Constant", [], ["c"], name="bomb",
                                                    value=_hollow("v", [BIG, 4], raw=True)), _use("c")], []),
                           "node 'bomb' (Constant)", [BIG, 4]),
}

# Reshape cannot make elements: a huge target is refused as impossible, also named.
RESHAPES = {
    "Reshape": _model([helper.make_node("Reshape", ["x", "s"], ["y"], name="bomb")], [_i64("s", [BIG, BIG])]),
    "Reshape-constant": _model([helper.make_node("Reshape", ["w", "s"], ["c"], name="bomb"), _use("c")],
                               [_f32("w", np.ones(4)), _i64("s", [BIG, -1])]),
}

_LIMITED = textwrap.dedent("""
    import json, resource, sys, tracemalloc
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
    from hwcomp.errors import HwcompError
    from hwcomp.frontend.onnx import load_onnx
    out = {}
    for path in sys.argv[1:]:
        tracemalloc.start()
        try:
            load_onnx(path)
            out[path] = ["loaded", None]
        except HwcompError as e:
            out[path] = ["error", str(e)]
        except BaseException as e:
            out[path] = ["crash", f"{type(e).__name__}: {e}"]
        out[path].append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Every bomb, imported in one address-space-limited subprocess: path -> (status, message, peak bytes)."""
    d = tmp_path_factory.mktemp("bombs")
    paths = {}
    for name, model in [(n, m) for n, (m, _, _) in BOMBS.items()] + list(RESHAPES.items()):
        paths[name] = d / f"{name}.onnx"
        onnx.save(model, str(paths[name]))
    p = subprocess.run([sys.executable, "-c", _LIMITED, *map(str, paths.values())], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    return {name: got[str(path)] for name, path in paths.items()}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bomb_refused_before_allocation(refusals, name):
    status, message, peak = refusals[name]
    _, who, shape = BOMBS[name]
    assert status == "error", message
    assert who in message and f"has shape {shape}" in message, message
    assert f"above the limit of {DEFAULT_MAX_TENSOR_ELEMS} elements" in message and "--max-tensor-elems" in message
    assert peak < 64 * 2 ** 20  # traced numpy / Python memory while refusing: nothing near the bomb's size


@pytest.mark.parametrize("name", list(RESHAPES))
def test_huge_reshape_target_refused(refusals, name):
    status, message, _ = refusals[name]
    assert status == "error" and "node 'bomb' (Reshape)" in message and str(BIG) in message, message
    assert "np.int64" not in message


def test_max_tensor_elems_raises_and_lowers_the_bound(tmp_path):
    """Just over the bound is refused; the same model loads once the bound is raised."""
    path = tmp_path / "const.onnx"
    onnx.save(_model([helper.make_node("ConstantOfShape", ["s"], ["c"], name="fill"),
                      helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
                     [_i64("s", [1, 4]), _f32("w", np.ones((3000, 4)))]), str(path))
    with pytest.raises(HwcompError, match=r"initializer 'w' has shape \[3000, 4\] \(12000 elements\), above the "
                                          r"limit of 10000 elements"):
        load_onnx(path, max_tensor_elems=10_000)
    assert load_onnx(path, max_tensor_elems=12_000).outputs == ["y"]


def test_cli_option(tmp_path):
    path = tmp_path / "w.onnx"
    onnx.save(_model([helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
                     [_f32("w", np.ones((300, 4)))]), str(path))
    base = [sys.executable, "-m", "hwcomp"]
    p = subprocess.run(base + ["compile", str(path), "-o", str(tmp_path / "b"), "--max-tensor-elems", "1000"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("hwcomp: error:")]
    assert len(errors) == 1 and "initializer 'w' has shape [300, 4]" in errors[0] and "1000 elements" in errors[0]
    assert not (tmp_path / "b").exists()
    p = subprocess.run(base + ["inspect", str(path), "--max-tensor-elems", "1200"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for bad in ("0", "-5", "lots"):
        p = subprocess.run(base + ["inspect", str(path), "--max-tensor-elems", bad], capture_output=True, text=True)
        assert p.returncode == 2 and "positive integer" in p.stderr and "Traceback" not in p.stderr


def test_sliding_windows_count_against_the_bound(tmp_path):
    """A 7x7 convolution keeps 49 copies of its input in its windows: the compiler's own
    intermediates are checked too (calibration computes them for every sample)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "conv.onnx"
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv7", pads=[3, 3, 3, 3]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w2"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 64, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                          [_f32("w", rng.normal(0, .1, (4, 2, 7, 7))), _f32("w2", rng.normal(0, .1, (3, 4)))])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    # every tensor of the ONNX graph holds at most 2*64*64*... = 16384 elements; the windows 64*64*98
    with pytest.raises(HwcompError, match=r"node 'conv7_window' \(SlidingWindow\): output .* has shape "
                                          r"\[1, 64, 64, 98\] \(401408 elements\), above the limit of 100000"):
        compile_model(path, tmp_path / "b", max_tensor_elems=100_000)
    assert not (tmp_path / "b").exists()
