"""The small ImageNet CNNs shipped with onnx (backend/test/data/light) import and
run in agreement with onnxruntime.

The shipped models generate every weight with ConstantOfShape(0.02), which
makes them degenerate (logits ~1e9, all channels equal), so two checks:
per node on the shipped model, and end to end with random weights.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from hwcomp.frontend.onnx import load_onnx
from hwcomp.ir.execute import execute
from hwcomp.ir.graph import Graph

TOL = 1e-4


def rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    """max |diff| / max |ref| (0 when both are all zero)."""
    assert ours.shape == ref.shape, f"shape {ours.shape} != onnxruntime {ref.shape}"
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    diff = float(np.abs(ours.astype(np.float64) - ref).max()) if ref.size else 0.0
    return diff / scale if scale else diff


def session(model: onnx.ModelProto | str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # unused-initializer warnings from old exporters are noise here
    src = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def random_feeds(graph: Graph, seed: int = 0, batch: int | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in graph.inputs:
        shape = graph.tensors[name].shape
        if batch is not None:
            shape = (batch,) + shape[1:]
        feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def with_all_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of the model that also outputs the given intermediate tensors."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    m.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names if n not in have)
    return m


def agree_end_to_end(graph: Graph, model: onnx.ModelProto | str, feeds: dict) -> dict[str, float]:
    """Errors of every graph output, hwcomp vs onnxruntime."""
    ours = execute(graph, feeds)
    refs = session(model).run(graph.outputs, feeds)
    return {name: rel_err(ours[name], ref) for name, ref in zip(graph.outputs, refs)}


def agree_per_node(graph: Graph, model: onnx.ModelProto, feeds: dict) -> dict[str, float]:
    """Each node's error when it is fed onnxruntime's values for its inputs.

    Unlike an end-to-end comparison this does not let an ill-conditioned model
    (e.g. constant weights giving logits ~1e9) amplify rounding into a softmax.
    """
    computed = [t for n in graph.nodes() for t in n.outputs if t and graph.tensors[t].dtype.is_float]
    refs = dict(zip(computed, session(with_all_outputs(model, computed)).run(computed, feeds)))
    refs.update(feeds)
    errors = {}
    for node in graph.nodes():
        ins = [graph.constants[t] if t in graph.constants else refs[t] if t else None for t in node.inputs]
        outs = node.op.execute(node, ins, graph)
        for t, v in zip(node.outputs, outs):
            if t in refs:
                errors[f"{node.name} ({node.op.name}) -> {t}"] = rel_err(v, refs[t])
    return errors

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = sorted(LIGHT.glob("*.onnx"))


def test_light_models_found():
    assert len(MODELS) >= 9


def randomize_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Replace each ConstantOfShape weight generator by a random initializer with a
    scale that keeps activations O(1): He-normal weights, BN variances in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    uses = {}
    for n in model.graph.node:
        for k, t in enumerate(n.input):
            uses.setdefault(t, (n, k))
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = []
    for n in m.graph.node:
        if n.op_type != "ConstantOfShape" or n.input[0] not in consts:
            keep.append(n)
            continue
        shape = tuple(int(d) for d in consts[n.input[0]])
        user, k = uses[n.output[0]]
        if user.op_type in ("Conv", "Gemm") and k == 1:
            trans_b = any(a.name == "transB" and a.i for a in user.attribute)
            fan_in = shape[0] if user.op_type == "Gemm" and not trans_b else math.prod(shape[1:])
            value = rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
        elif (user.op_type == "BatchNormalization" and k in (1, 4)) or user.op_type in ("Unsqueeze", "Mul"):
            # BN scale and variance; DenseNet spells its BN scale as Unsqueeze + Mul.
            value = np.float32(0.5) + rng.random(shape, dtype=np.float32)
        else:
            value = (rng.random(shape, dtype=np.float32) - np.float32(0.5)) * np.float32(0.2)
        m.graph.initializer.append(numpy_helper.from_array(value, n.output[0]))
        # IR version 3 (these models) requires every initializer to be listed as a graph input too.
        m.graph.input.append(onnx.helper.make_tensor_value_info(n.output[0], onnx.TensorProto.FLOAT, shape))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return m


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_light_model_shipped_weights_per_node(path):
    graph = load_onnx(path)
    assert len(graph) > 0 and not graph.meta["dynamic_batch"]
    errors = agree_per_node(graph, onnx.load(path), random_feeds(graph))
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOL, f"{worst}: rel err {errors[worst]:.2e}"


# These have 60-140 M fully-connected weights: writing, reading and checking random
# ones takes 5-10 s each, our executor ~1 s of it. Their shipped-weight checks above
# run by default, and the other models cover the same ops end to end.
HEAVY = {"light_vgg19", "light_bvlc_alexnet", "light_zfnet512"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in HEAVY else p for p in MODELS],
                         ids=lambda p: p.stem)
def test_light_model_random_weights_end_to_end(path, tmp_path):
    model = randomize_weights(onnx.load(path))
    onnx.save(model, tmp_path / path.name)
    graph = load_onnx(tmp_path / path.name)
    # Weights are now constants, so they count as parameters.
    assert sum(n.op.param_count(n, graph) for n in graph.nodes()) > 0
    errors = agree_end_to_end(graph, str(tmp_path / path.name), random_feeds(graph))
    assert max(errors.values()) <= TOL, errors
