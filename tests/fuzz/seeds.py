"""The real models the importer fuzzer mutates, written once per run as .onnx files.

Tiers, by what building them costs:
- "inline": hwcomp's own test models and property-test networks built with
  onnx.helper, inline QONNX (Quant, BipolarQuant, MultiThreshold, Trunc) and
  QDQ models; milliseconds.
- "light": the ImageNet models shipped in onnx's wheel
  (onnx/backend/test/data/light); mutants of these are only imported
  (`import_only`): their weights are full size and compiling them takes minutes.
  "light-large" adds AlexNet, VGG-19 and ZFNet-512 (seconds per import).
- "trained": the examples' models (digits MLP, CNN, ResNet, binary MLP),
  Brevitas QONNX exports, onnxruntime QDQ / QOperator quantizations and FINN's
  reference networks (tests/finn_nets.py), exported through both exporters
  where both exist; a few seconds each (one or two training epochs: the
  weights' values do not matter to an importer).

A seed that cannot be built here (a tool missing) is left out and named in
the summary, never silently.
"""
from __future__ import annotations

import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
for p in (TESTS, TESTS / "property", TESTS / "integration", ROOT / "examples" / "digits_mlp",
          ROOT / "examples" / "digits_cnn", ROOT / "examples" / "digits_resnet", ROOT / "examples" / "digits_binary"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

QONNX = "qonnx.custom_op.general"


@dataclass(frozen=True)
class Seed:
    name: str
    path: Path
    import_only: bool = False   # mutants are imported (load_onnx), not compiled


# --- inline ---------------------------------------------------------------

def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def _graph_model(nodes, inits, x_shape, y_shape, name, domains=()) -> onnx.ModelProto:
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))], inits)
    opsets = [helper.make_opsetid("", 13)] + [helper.make_opsetid(d, 1) for d in domains]
    return helper.make_model(g, opset_imports=opsets, ir_version=8)


def _f32(name, value):
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def qonnx_mlp(path: Path) -> Path:
    """Quant(8-bit input) -> Gemm(2-bit weights) -> Relu -> Quant(2 bits) -> Gemm -> BipolarQuant -> Gemm."""
    rng = np.random.default_rng(3)
    inits = [_f32("w0", rng.normal(0, .3, (6, 8))), _f32("b0", rng.normal(0, .1, 6)),
             _f32("w1", rng.normal(0, .3, (5, 6))), _f32("w2", rng.normal(0, .3, (4, 5))),
             _f32("s_in", 1 / 16), _f32("s_w", 0.25), _f32("s_a", 0.25), _f32("s_b", 1.0), _f32("z", 0.0),
             _f32("bits8", 8.0), _f32("bits2", 2.0)]
    q = dict(domain=QONNX, narrow=0, rounding_mode="ROUND")
    nodes = [helper.make_node("Quant", ["x", "s_in", "z", "bits8"], ["xq"], name="q_in", signed=1, **q),
             helper.make_node("Quant", ["w0", "s_w", "z", "bits2"], ["w0q"], name="q_w0", signed=1, **q),
             helper.make_node("Gemm", ["xq", "w0q", "b0"], ["h0"], name="fc0", transB=1),
             helper.make_node("Relu", ["h0"], ["r0"], name="relu0"),
             helper.make_node("Quant", ["r0", "s_a", "z", "bits2"], ["a0"], name="q_a0", signed=0, **q),
             helper.make_node("Quant", ["w1", "s_w", "z", "bits2"], ["w1q"], name="q_w1", signed=1, **q),
             helper.make_node("MatMul", ["a0", "w1q_t"], ["h1"], name="fc1"),
             helper.make_node("BipolarQuant", ["h1", "s_b"], ["a1"], name="q_a1", domain=QONNX),
             helper.make_node("Quant", ["w2", "s_w", "z", "bits2"], ["w2q"], name="q_w2", signed=1, **q),
             helper.make_node("Gemm", ["a1", "w2q"], ["y"], name="fc2", transB=1)]
    nodes.insert(6, helper.make_node("Transpose", ["w1q"], ["w1q_t"], name="t1", perm=[1, 0]))
    return _save(_graph_model(nodes, inits, [1, 8], [1, 4], "qonnx_mlp", [QONNX]), path)


def qonnx_threshold_cnn(path: Path) -> Path:
    """Conv -> MultiThreshold (2 bits) -> AveragePool -> Trunc -> Flatten -> Gemm, as FINN and
    Brevitas' TruncAvgPool2d leave them."""
    rng = np.random.default_rng(4)
    t = np.sort(rng.normal(0, 1, (4, 3)), axis=1)
    inits = [_f32("w0", rng.normal(0, .3, (4, 1, 3, 3))), _f32("thr", t), _f32("w1", rng.normal(0, .3, (3, 16))),
             _f32("s_in", 1 / 16), _f32("z", 0.0), _f32("bits8", 8.0), _f32("s_t", 1.0 / 4), _f32("s_o", 1.0),
             _f32("bits_in", 4.0), _f32("bits_out", 2.0)]
    q = dict(domain=QONNX, narrow=0, rounding_mode="ROUND")
    nodes = [helper.make_node("Quant", ["x", "s_in", "z", "bits8"], ["xq"], name="q_in", signed=0, **q),
             helper.make_node("Quant", ["w0", "s_t", "z", "bits_in"], ["w0q"], name="q_w0", signed=1, **q),
             helper.make_node("Quant", ["w1", "s_t", "z", "bits_in"], ["w1q"], name="q_w1", signed=1, **q),
             helper.make_node("Conv", ["xq", "w0q"], ["c0"], name="conv0", pads=[1, 1, 1, 1]),
             helper.make_node("MultiThreshold", ["c0", "thr"], ["m0"], name="mt0", domain=QONNX, out_scale=1.0,
                              out_bias=0.0, data_layout="NCHW"),
             helper.make_node("AveragePool", ["m0"], ["p0"], name="pool0", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Trunc", ["p0", "s_t", "z", "bits_in", "bits_out"], ["t0"], name="trunc0",
                              domain=QONNX, rounding_mode="FLOOR"),
             helper.make_node("Flatten", ["t0"], ["f0"], name="flat"),
             helper.make_node("Gemm", ["f0", "w1q"], ["y"], name="fc", transB=1)]
    return _save(_graph_model(nodes, inits, [1, 1, 4, 4], [1, 3], "qonnx_threshold_cnn", [QONNX]), path)


def qdq_mlp(path: Path) -> Path:
    """QuantizeLinear/DequantizeLinear pairs on input, weights and activations (onnxruntime's QDQ form)."""
    rng = np.random.default_rng(5)
    w0 = rng.integers(-100, 100, (6, 8)).astype(np.int8)
    w1 = rng.integers(-100, 100, (3, 6)).astype(np.int8)
    inits = [numpy_helper.from_array(w0, "w0"), numpy_helper.from_array(w1, "w1"),
             _f32("sx", 1 / 64), _f32("sw", 1 / 128), _f32("sa", 1 / 16),
             numpy_helper.from_array(np.array(0, np.uint8), "zx"), numpy_helper.from_array(np.array(0, np.int8), "zw")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="qx"),
             helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"], name="dqx"),
             helper.make_node("DequantizeLinear", ["w0", "sw", "zw"], ["w0d"], name="dqw0"),
             helper.make_node("Gemm", ["xd", "w0d"], ["h0"], name="fc0", transB=1),
             helper.make_node("Relu", ["h0"], ["r0"], name="relu0"),
             helper.make_node("QuantizeLinear", ["r0", "sa", "zx"], ["aq"], name="qa"),
             helper.make_node("DequantizeLinear", ["aq", "sa", "zx"], ["ad"], name="dqa"),
             helper.make_node("DequantizeLinear", ["w1", "sw", "zw"], ["w1d"], name="dqw1"),
             helper.make_node("Gemm", ["ad", "w1d"], ["y"], name="fc1", transB=1)]
    return _save(_graph_model(nodes, inits, [1, 8], [1, 3], "qdq_mlp"), path)


def property_nets(directory: Path) -> list[Seed]:
    from random_nets import Concat, Conv, Dense, GlobalAvgPool, Net, Pool, Residual, build_onnx

    nets = {
        "prop_mlp": Net("mlp", (7,), (Dense(5), Dense(3, op="MatMul", trans_b=False), Dense(2, relu=False)), seed=2),
        "prop_cnn": Net("cnn", (2, 7, 7), (Conv(3, 3, stride=2, pads=(1, 0, 1, 1)), Pool("avg", 2, 1),
                                           Conv(4, 1, groups=1, bias=False), GlobalAvgPool(), Dense(3, relu=False)),
                        seed=3),
        "prop_branchy": Net("residual-conv", (3, 5, 5), (Conv(4, 3, pads=(1, 1, 1, 1)),
                                                         Residual((Conv(4, 1),), (), op="Sum"),
                                                         Concat((Conv(2, 1),), ()), Pool("max", 2, 2),
                                                         Dense(2, relu=False)), seed=4),
    }
    return [Seed(n, _save(build_onnx(net), directory / f"{n}.onnx")) for n, net in nets.items()]


def inline_seeds(directory: Path) -> list[Seed]:
    from inline_models import mlp, residual_cnn

    seeds = [Seed("mlp", mlp(directory, [8, 6, 4])), Seed("rescnn", residual_cnn(directory))]
    seeds += property_nets(directory)
    for name, make in (("qonnx_mlp", qonnx_mlp), ("qonnx_threshold_cnn", qonnx_threshold_cnn), ("qdq_mlp", qdq_mlp)):
        seeds.append(Seed(name, make(directory / f"{name}.onnx")))
    return seeds


# --- onnx's light models ---------------------------------------------------

# Their fully connected layers generate 60-140 M weights at import (1-3 s a mutant).
LARGE_LIGHT = ("light_bvlc_alexnet", "light_vgg19", "light_zfnet512")


def light_seeds(directory: Path, large: bool) -> list[Seed]:
    import onnx.backend.test

    light = Path(onnx.backend.test.__file__).parent / "data" / "light"
    return [Seed(p.stem, p, import_only=True) for p in sorted(light.glob("light_*.onnx"))
            if large or p.stem not in LARGE_LIGHT]


# --- trained and exported with the real tools ---------------------------------

def _examples(directory: Path) -> list[Seed]:
    import train_binary
    import train_cnn
    import train_mlp
    import train_resnet

    out = []
    m = train_mlp.build(directory / "digits_mlp", [64, 16, 10], epochs=1)
    out.append(Seed("example_digits_mlp", m["onnx"]))
    out.append(Seed("example_digits_cnn", train_cnn.build(directory / "digits_cnn", epochs=1)["onnx"]))
    out.append(Seed("example_digits_resnet", train_resnet.build(directory / "digits_resnet", epochs=1)["onnx"]))
    b = train_binary.build_mlp(directory / "digits_binary", epochs=1)
    out.append(Seed("example_digits_binary_mlp", Path(b["onnx"])))
    return out


def _brevitas(directory: Path) -> list[Seed]:
    from quant_tools import brevitas_mlp, export_brevitas

    out = []
    for act in ("bipolar", "relu2"):
        for dynamo in (False, True):
            name = f"brevitas_{act}_{'dynamo' if dynamo else 'torchscript'}"
            out.append(Seed(name, export_brevitas(brevitas_mlp(act, epochs=1), directory / f"{name}.onnx", dynamo)))
    return out


def _onnxruntime(directory: Path) -> list[Seed]:
    from quant_tools import (digits_split, export_float, float_cnn, float_mlp, quantize_qdq,
                             quantize_qoperator)

    xtr = digits_split()[0]
    fp_mlp = export_float(float_mlp(epochs=1), directory / "ort_float_mlp.onnx")
    fp_cnn = export_float(float_cnn(epochs=1), directory / "ort_float_cnn.onnx", (1, 1, 8, 8))
    qop = quantize_qoperator(fp_cnn, directory / "ort_qop_cnn.onnx", xtr[:64].reshape(-1, 1, 8, 8), (1, 1, 8, 8),
                             signed=False, per_channel=True)
    return [Seed("ort_qdq_mlp", quantize_qdq(fp_mlp, directory / "ort_qdq_mlp.onnx", xtr[:64])),
            Seed("ort_qoperator_cnn", qop)]


def _finn(directory: Path) -> list[Seed]:
    import finn_nets

    out = []
    for name in ("tfc_1w1a", "tfc_2w2a"):
        for dynamo in (False, True):
            tag = f"finn_{name}_{'dynamo' if dynamo else 'torchscript'}"
            out.append(Seed(tag, finn_nets.export(name, directory / f"{tag}.onnx", dynamo)))
    return out


TRAINED: dict[str, Callable[[Path], list[Seed]]] = {
    "examples": _examples, "brevitas": _brevitas, "onnxruntime": _onnxruntime, "finn": _finn,
}


def build_seeds(directory: Path, tiers: tuple[str, ...]) -> tuple[list[Seed], dict[str, str]]:
    """The seeds of the given tiers ("inline", "light" or "light-large" (all nine), "trained"),
    and the groups that could not be built here with the reason."""
    directory.mkdir(parents=True, exist_ok=True)
    seeds: list[Seed] = []
    missing: dict[str, str] = {}
    if "inline" in tiers:
        seeds += inline_seeds(directory)
    if "light" in tiers or "light-large" in tiers:
        seeds += light_seeds(directory, large="light-large" in tiers)
    if "trained" in tiers:
        for group, make in TRAINED.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    (directory / group).mkdir(exist_ok=True)
                    seeds += make(directory / group)
            except Exception as e:  # a tool that is not installed here, or that changed its API
                missing[group] = f"{type(e).__name__}: {' '.join(str(e).split())[:200]} " \
                                 f"({traceback.extract_tb(e.__traceback__)[-1].name})"
    return seeds, missing
