"""What the importer fuzzer found, each as a small model: before its fix every one
ended in a traceback (the exception is in the test's docstring); now each
compiles or ends in one HwcompError naming the file, node and op."""
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp.compile import compile_model
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx

QONNX = "qonnx.custom_op.general"


def _t(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def _save(tmp_path, nodes, inits, x_shape=(1, 4), y_shape=(1, 4), domains=(), ir_version=8, opset=13):
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))], inits)
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=opsets, ir_version=ir_version), str(path))
    return path


def _refused(path, *fragments, compile_it=False):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", "no calibration data")
        with pytest.raises(HwcompError) as e:
            if compile_it:
                compile_model(path, path.parent / "b")
            else:
                load_onnx(path)
    text = str(e.value)
    assert "\n" not in text and "m.onnx" in text
    for f in fragments:
        assert f in text, text


@pytest.mark.parametrize("shape", [np.array(4), np.ones((1, 4)), np.array([1, -4]), np.ones(40)],
                         ids=["0-d", "2-d", "negative", "rank-40"])
def test_constant_of_shape_needs_a_shape_vector(tmp_path, shape):
    """TypeError: iteration over a 0-d array (a shape input of rank 0 or 2)."""
    nodes = [helper.make_node("ConstantOfShape", ["s"], ["c"], name="fill"),
             helper.make_node("Add", ["x", "c"], ["y"], name="use")]
    _refused(_save(tmp_path, nodes, [_t("s", shape, np.int64)]), "node 'fill' (ConstantOfShape)", "shape")


@pytest.mark.parametrize("target, message", [
    ([1, 4, 0], "copies (0) a dimension"), ([2 ** 32, 2 ** 32, 0], "copies (0)"), ([-2, -2], "other than -1"),
    ([2 ** 62, 2 ** 62, 2 ** 62, 2 ** 62], "cannot reshape")])
def test_reshape_targets(tmp_path, target, message):
    """IndexError on a 0 beyond the input's rank; int64 products of huge dims wrapped around."""
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")]
    _refused(_save(tmp_path, nodes, [_t("s", target, np.int64)]), "node 'rs' (Reshape)", message)


def test_required_input_left_empty(tmp_path):
    """KeyError: '' (an IR-4 file whose Concat names its first input ''; the checker let it pass)."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Concat", ["", "r"], ["y"], name="cat", axis=1)]
    _refused(_save(tmp_path, nodes, [], ir_version=4, opset=9), "node 'cat' (Concat)", "required input 0")


def test_qonnx_attribute_of_list_kind(tmp_path):
    """TypeError: int() argument must be ... not 'list' (Quant's narrow given as INTS)."""
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], name="q", domain=QONNX, signed=1,
                              narrow=[0, 1], rounding_mode="ROUND")]
    path = _save(tmp_path, nodes, [_t("s", 0.5), _t("z", 0.0), _t("b", 4.0)], domains=[QONNX])
    _refused(path, "node 'q' (Quant)", "attribute 'narrow' is of kind INTS")


def test_undecodable_integer_initializer(tmp_path):
    """ValueError: cannot reshape array of size 64 into shape (16,) (a bias whose type was changed)."""
    bias = numpy_helper.from_array(np.zeros(16, np.int32), "bias")
    bias.data_type = TensorProto.BOOL  # 64 bytes read as bools: 64 values for dims [16]
    nodes = [helper.make_node("Add", ["x", "bias_f"], ["y"], name="use"),
             helper.make_node("Cast", ["bias"], ["bias_f"], name="cast", to=TensorProto.FLOAT)]
    nodes.reverse()
    _refused(_save(tmp_path, nodes, [bias], x_shape=(1, 16), y_shape=(1, 16)), "initializer 'bias'",
             "cannot decode")


def test_qlinearconv_zero_points_not_per_channel(tmp_path):
    """ValueError: operands could not be broadcast together (16 weight zero points, weights of 3 rows)."""
    w = numpy_helper.from_array(np.ones((3, 1, 1, 1), np.int8), "w")
    inits = [w, _t("sx", 0.1), numpy_helper.from_array(np.array(0, np.uint8), "zx"), _t("sw", np.full(16, 0.1)),
             numpy_helper.from_array(np.zeros(16, np.int8), "zw"), _t("sy", 0.2),
             numpy_helper.from_array(np.array(0, np.uint8), "zy")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="qx"),
             helper.make_node("QLinearConv", ["xq", "sx", "zx", "w", "sw", "zw", "sy", "zy"], ["yq"], name="conv"),
             helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"], name="dq")]
    _refused(_save(tmp_path, nodes, inits, x_shape=(1, 1, 4, 4), y_shape=(1, 3, 4, 4)), "node 'conv' (QLinearConv)",
             "16 values for weights of shape [3, 1, 1, 1]")


def test_batchnorm_with_negative_variance(tmp_path):
    """RuntimeWarning: invalid value encountered in sqrt (a running_var below -epsilon)."""
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], name="bn")]
    inits = [_t("g", np.ones(4)), _t("b", np.zeros(4)), _t("m", np.zeros(4)), _t("v", [1.0, -3.0, 1.0, 1.0])]
    _refused(_save(tmp_path, nodes, inits), "node 'bn' (BatchNormalization)", "channel 1 has var -3.0")


def _qonnx_layer(tmp_path, alpha=1.0, extra=()):
    """Quant(x) -> Gemm(Quant(w), alpha) -> BatchNorm -> Quant(2 bits) -> Gemm(Quant(w2))."""
    rng = np.random.default_rng(0)
    q = dict(domain=QONNX, narrow=0, rounding_mode="ROUND")
    inits = [_t("w", rng.normal(0, .3, (4, 4))), _t("w2", rng.normal(0, .3, (4, 4))), _t("s", 0.25), _t("z", 0.0),
             _t("b8", 8.0), _t("b2", 2.0), _t("g", np.ones(4)), _t("bb", np.zeros(4)), _t("m", np.zeros(4)),
             _t("v", np.ones(4))]
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b8"], ["xq"], name="qx", signed=1, **q),
             helper.make_node("Quant", ["w", "s", "z", "b2"], ["wq"], name="qw", signed=1, **q),
             helper.make_node("Gemm", ["xq", "wq"], ["h"], name="fc", transB=1, alpha=alpha),
             helper.make_node("BatchNormalization", ["h", "g", "bb", "m", "v"], ["n"], name="bn"),
             helper.make_node("Quant", ["n", "s", "z", "b2"], ["a"], name="qa", signed=1, **q),
             helper.make_node("Quant", ["w2", "s", "z", "b2"], ["w2q"], name="qw2", signed=1, **q),
             helper.make_node("Gemm", ["a", "w2q"], ["y"], name="fc2", transB=1), *extra]
    return _save(tmp_path, nodes, inits, domains=[QONNX])


def test_tail_overflowing_float32_saturates(tmp_path):
    """RuntimeWarning: overflow encountered in cast (Gemm alpha 3.4e38: extreme accumulators
    overflow float32 in the threshold search; the quantizer saturates, as the float model does)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            compile_model(_qonnx_layer(tmp_path, alpha=3.4e38), tmp_path / "b")
        except HwcompError as e:
            assert "\n" not in str(e)


def test_dangling_reader_of_a_weight_quantizer(tmp_path):
    """KeyError: '1.weight' (a duplicated Transpose nobody reads kept the weight quantizer from
    folding into its layer). Nodes no output depends on are dropped at import."""
    dangling = helper.make_node("Transpose", ["wq"], ["unused"], name="dangling", perm=[1, 0])
    res = compile_model(_qonnx_layer(tmp_path, extra=[dangling]), tmp_path / "b")
    assert "dangling" not in [n.name for n in res.float_graph.nodes()]


def test_absent_optional_input_and_output_make_no_cycle(tmp_path):
    """NetworkXUnfeasible: Graph contains a cycle (a Dropout's unread mask output and a Conv's
    absent bias, both '', were joined as one tensor)."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w", ""], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Dropout", ["r"], ["d", "mask"], name="drop"),
             helper.make_node("Flatten", ["d"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w2"], ["y"], name="fc", transB=1)]
    path = _save(tmp_path, nodes, [_t("w", rng.normal(0, .3, (2, 1, 3, 3))), _t("w2", rng.normal(0, .3, (4, 8)))],
                 x_shape=(1, 1, 4, 4))
    assert [n.op.name for n in load_onnx(path).nodes()][:3] == ["Conv", "Relu", "Dropout"]
    assert (compile_model(path, tmp_path / "b", calib=np.ones((2, 1, 4, 4), np.float32)).out_dir / "rtl").is_dir()


def test_qonnx_input_left_empty(tmp_path):
    """KeyError: '' (a Quant whose input 0 is '')."""
    nodes = [helper.make_node("Quant", ["", "s", "z", "b"], ["y"], name="q", domain=QONNX, signed=1, narrow=0,
                              rounding_mode="ROUND")]
    path = _save(tmp_path, nodes, [_t("s", 0.5), _t("z", 0.0), _t("b", 4.0)], domains=[QONNX])
    _refused(path, "node 'q' (Quant)", "input 0 is empty")


def _qoperator(tmp_path, pool_attrs=None, zx=np.array(0, np.uint8), gemm_alpha=None):
    """QuantizeLinear -> MaxPool (on codes) -> QLinearConv -> DequantizeLinear, or with
    gemm_alpha a QGemm (com.microsoft) after the pool."""
    rng = np.random.default_rng(0)
    inits = [_t("sx", 0.1), numpy_helper.from_array(zx, "zx"), _t("sy", 0.2),
             numpy_helper.from_array(np.array(0, np.uint8), "zy")]
    pool = dict(kernel_shape=[2, 2], strides=[2, 2]) if pool_attrs is None else pool_attrs
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="qx"),
             helper.make_node("MaxPool", ["xq"], ["pq"], name="pool")]
    nodes[1].attribute.extend(helper.make_attribute(k, v, attr_type=onnx.AttributeProto.INTS) for k, v in pool.items())
    if gemm_alpha is None:
        inits += [numpy_helper.from_array(rng.integers(-5, 5, (2, 1, 1, 1)).astype(np.int8), "w"), _t("sw", 0.1),
                  numpy_helper.from_array(np.array(0, np.int8), "zw")]
        nodes += [helper.make_node("QLinearConv", ["pq", "sx", "zx", "w", "sw", "zw", "sy", "zy"], ["yq"], name="conv"),
                  helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"], name="dq")]
        y_shape = (1, 2, 2, 2)
    else:
        inits += [numpy_helper.from_array(rng.integers(-5, 5, (3, 4)).astype(np.int8), "w"), _t("sw", 0.1),
                  numpy_helper.from_array(np.array(0, np.int8), "zw"), _i64("flat", [1, 4])]
        nodes += [helper.make_node("Reshape", ["pq", "flat"], ["fq"], name="flatten"),
                  helper.make_node("QGemm", ["fq", "sx", "zx", "w", "sw", "zw", "", "sy", "zy"], ["yq"], name="gemm",
                                   domain="com.microsoft", transB=1, alpha=gemm_alpha),
                  helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"], name="dq")]
        y_shape = (1, 3)
    return _save(tmp_path, nodes, inits, x_shape=(1, 1, 4, 4), y_shape=y_shape, domains=["com.microsoft"])


def _i64(name, v):
    return numpy_helper.from_array(np.asarray(v, np.int64), name)


def test_qoperator_seed_compiles(tmp_path):
    compile_model(_qoperator(tmp_path), tmp_path / "b")
    compile_model(_qoperator(tmp_path, gemm_alpha=1.0), tmp_path / "b")


def test_qoperator_pool_with_empty_list_attribute(tmp_path):
    """ValueError: Could not infer attribute `kernel_shape` type from empty iterator (the
    rewriter re-made the node from attribute values; it now copies them)."""
    _refused(_qoperator(tmp_path, pool_attrs=dict(kernel_shape=[])), "(MaxPool)", "kernel_shape []")


def test_qgemm_alpha_of_another_kind(tmp_path):
    """ValueError: could not convert string to float: b'SAME_UPPER'."""
    _refused(_qoperator(tmp_path, gemm_alpha="SAME_UPPER"), "node 'gemm' (QGemm)", "attribute 'alpha'")


def test_quantize_linear_zero_point_vector_before_qoperator(tmp_path):
    """ValueError: cannot reshape array of size 640 into shape ()."""
    _refused(_qoperator(tmp_path, zx=np.zeros(5, np.uint8)), "node 'qx' (QuantizeLinear)", "5 values")


def test_huge_weights_quantizer_saturates(tmp_path):
    """RuntimeWarning: overflow encountered in divide (weights 3.4e38 / scale 0.25: +Inf, then
    the code saturates, as qonnx computes it)."""
    q = dict(domain=QONNX, narrow=0, rounding_mode="ROUND", signed=1)
    w = np.random.default_rng(0).normal(0, .3, (3, 4))
    w[0, 0] = 3.4e38
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b8"], ["xq"], name="qx", **q),
             helper.make_node("Quant", ["w", "s", "z", "b2"], ["wq"], name="qw", **q),
             helper.make_node("Gemm", ["xq", "wq"], ["y"], name="fc", transB=1)]
    path = _save(tmp_path, nodes, [_t("w", w), _t("s", 0.25), _t("z", 0.0), _t("b8", 8.0), _t("b2", 2.0)],
                 y_shape=(1, 3), domains=[QONNX])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        compile_model(path, tmp_path / "b")


def test_batchnorm_fold_beyond_float32_keeps_the_node(tmp_path):
    """RuntimeWarning: overflow encountered in cast (weights 3.4e38 times a BatchNorm scale of 4
    folded to Inf): such a BatchNorm is not folded."""
    from hwcomp.compile import float_pipeline

    w = np.ones((2, 1, 1, 1)) * 3.4e38
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], name="bn")]
    inits = [_t("w", w), _t("g", [4.0, 1.0]), _t("b", np.zeros(2)), _t("m", np.zeros(2)), _t("v", np.ones(2))]
    path = _save(tmp_path, nodes, inits, x_shape=(1, 1, 2, 2), y_shape=(1, 2, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        g = float_pipeline(path)
    assert "BatchNormalization" in [n.op.name for n in g.nodes()]


def test_broadcasting_op_between_layer_and_quantizer(tmp_path):
    """ValueError: cannot reshape array of size 4096 into shape (1,64) (an Add of a [4, 4]
    constant after a [1, 4] layer was taken for a per-channel op)."""
    dangling = [helper.make_node("Add", ["h", "big"], ["hb"], name="broadcast")]
    path = _qonnx_layer(tmp_path)
    m = onnx.load(str(path))
    for n in m.graph.node:
        if n.name == "bn":
            n.input[0] = "hb"
    m.graph.node.insert(3, dangling[0])
    m.graph.initializer.append(_t("big", np.ones((4, 4))))
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4]))
    onnx.save(m, str(path))
    _refused(path, compile_it=True)


def test_gemm_alpha_zero_on_quantized_weights(tmp_path):
    """RuntimeWarning: invalid value encountered in divide (alpha 0 makes the weight scale 0,
    and the codes 0 / 0)."""
    _refused(_qonnx_layer(tmp_path, alpha=0.0), "node 'fc'", "weight scale is 0", compile_it=True)


def test_second_graph_input(tmp_path):
    """KeyError: "missing input 'extra'" (calibration feeds the first input only)."""
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    path = _save(tmp_path, nodes, [])
    m = onnx.load(str(path))
    m.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1]))
    onnx.save(m, str(path))
    _refused(path, "2 inputs ('x', 'extra')", "one input", compile_it=True)


@pytest.mark.rtl
def test_unsigned_weight_quantizer(tmp_path):
    """ValueError: layer mvu0: weights outside int2 (codes 0..3 of an unsigned 2-bit weight
    quantizer need a 3-bit signed weight in the unit)."""
    from hwcomp.simulate import simulate_build

    path = _qonnx_layer(tmp_path)
    m = onnx.load(str(path))
    for n in m.graph.node:
        if n.name == "qw":
            next(a for a in n.attribute if a.name == "signed").i = 0
    onnx.save(m, str(path))
    res = compile_model(path, tmp_path / "b")
    layer = res.report["layers"][0]
    assert layer["weight_bits"] == 3 * layer["rows"] * layer["cols"]  # int<3> weights in the unit
    x = np.random.default_rng(1).normal(0, 1, (8, 4)).astype(np.float32)
    sim = simulate_build(tmp_path / "b", (x, None))
    assert sim["bit_exact"], sim["first_mismatches"]


def test_add_of_a_tensor_to_itself_after_a_conv(tmp_path):
    """KeyError: '..._to_nchw' (both inputs of the Add come through one Transpose, which
    was removed twice). x + x streams as a fork into the add."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["h", "h"], ["s"], name="double"),
             helper.make_node("Relu", ["s"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w2"], ["y"], name="fc", transB=1)]
    path = _save(tmp_path, nodes, [_t("w", rng.normal(0, .5, (2, 1, 3, 3))), _t("w2", rng.normal(0, .5, (4, 32)))],
                 x_shape=(1, 1, 4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", "no calibration data")
        res = compile_model(path, tmp_path / "b")
    assert any(b["kind"] == "AddBlock" for b in res.report["blocks"]), [b["kind"] for b in res.report["blocks"]]
