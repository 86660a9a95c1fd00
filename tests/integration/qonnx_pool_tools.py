"""QONNX models with Trunc and MultiThreshold, for test_qonnx_trunc_threshold.py.

- A Brevitas CNN on the 8x8 digits with two TruncAvgPool2d, trained a few seeded
  epochs and exported with brevitas.export.export_qonnx (QONNX Trunc v2): one
  pool truncates its 6-bit sums with FLOOR (TruncTo8bit's mode) to 4-bit codes,
  one rounds them half to even (RoundTo8bit's) to 5-bit codes, wider than its input.
- A MultiThreshold MLP written with onnx.helper (no pip tool writes
  MultiThreshold; FINN does): Quant weights, MatMul, then per-channel
  thresholds with out_scale/out_bias, and a first MultiThreshold on the input.

brevitas and qonnx are imported inside the functions, so tests can skip cleanly.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

import quant_tools as qt

QONNX_DOMAIN = "qonnx.custom_op.general"


def brevitas_trunc_cnn(seed: int = 0, epochs: int = 4) -> torch.nn.Module:
    """[1, 8, 8] -> int8 input quant -> QuantConv2d(1, 8, 3, pad 1, int4) -> QuantReLU(4)
    -> TruncAvgPool2d(2, floor to 4 bits) -> QuantConv2d(8, 16, 3, pad 1, int4) -> QuantReLU(4)
    -> TruncAvgPool2d(2, round half even to 5 bits) -> Flatten -> QuantLinear(64, 10, int4)."""
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFloat, RoundTo8bit, TruncTo8bit

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    model = torch.nn.Sequential(
        qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True),
        qnn.QuantConv2d(1, 8, 3, padding=1, bias=False, weight_bit_width=4, return_quant_tensor=True),
        qnn.QuantReLU(bit_width=4, return_quant_tensor=True),
        qnn.TruncAvgPool2d(2, trunc_quant=TruncTo8bit.let(bit_width=4), return_quant_tensor=True),
        qnn.QuantConv2d(8, 16, 3, padding=1, bias=False, weight_bit_width=4, return_quant_tensor=True),
        qnn.QuantReLU(bit_width=4, return_quant_tensor=True),
        qnn.TruncAvgPool2d(2, trunc_quant=RoundTo8bit.let(bit_width=5), return_quant_tensor=True),
        torch.nn.Flatten(),
        qnn.QuantLinear(64, 10, bias=False, weight_bit_width=4),
    )
    xtr, _, ytr, _ = qt.digits_split()
    qt._train(model, as_images(xtr), ytr, epochs, lr=1e-2, seed=seed)
    return model


def as_images(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(-1, 1, 8, 8), dtype=np.float32)


def export_trunc_cnn(model: torch.nn.Module, path: Path) -> Path:
    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.zeros(1, 1, 8, 8), export_path=str(path), dynamo=False)
    return path


def qonnx_run(path: Path, x: np.ndarray, op_type: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """qonnx's executor (batch len(x), cleanup_model): the output, and the outputs of the
    `op_type` nodes in graph order (cleanup renames tensors, not the node order). The
    caller clamps the IR version qonnx stamps (see the test)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.util.cleanup import cleanup_model

    mw = cleanup_model(ModelWrapper(str(path)).transform(ChangeBatchSize(len(x))))
    ctx = execute_onnx(mw, {mw.graph.input[0].name: np.ascontiguousarray(x, dtype=np.float32)},
                       return_full_exec_context=True)
    return ctx[mw.graph.output[0].name], [ctx[n.output[0]] for n in mw.graph.node if n.op_type == op_type]


def hwcomp_run(path: Path, x: np.ndarray, op_type: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """The same from hwcomp's float executor (canonical graph; ONNX tensor names kept)."""
    from hwcomp.compile import float_pipeline
    from hwcomp.ir.execute import execute

    g = float_pipeline(Path(path))
    values = execute(g, {g.inputs[0]: np.ascontiguousarray(x, dtype=np.float32)}, keep_all=True)
    names = [n.output[0] for n in onnx.load(str(path)).graph.node if n.op_type == op_type]
    return values[g.outputs[0]], [values[t] for t in names]


# ---------------------------------------------------------------- MultiThreshold MLP


def _quant(name: str, w: np.ndarray, scale: np.ndarray, bits: int) -> tuple[list, list]:
    """Initializers and a signed narrow QONNX Quant node for the weight `name`."""
    inits = [numpy_helper.from_array(w.astype(np.float32), name),
             numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
             numpy_helper.from_array(np.zeros((), np.float32), f"{name}_zero"),
             numpy_helper.from_array(np.float32(bits), f"{name}_bits")]
    node = helper.make_node("Quant", [name, f"{name}_scale", f"{name}_zero", f"{name}_bits"], [f"{name}_q"],
                            domain=QONNX_DOMAIN, signed=1, narrow=1, rounding_mode="ROUND")
    return inits, [node]


def _thresholds(name: str, x: str, t: np.ndarray, out: str, scale: float, bias: float, out_dtype: str):
    return ([numpy_helper.from_array(t.astype(np.float32), name)],
            [helper.make_node("MultiThreshold", [x, name], [out], domain=QONNX_DOMAIN, out_scale=scale,
                              out_bias=bias, out_dtype=out_dtype, data_layout="NC")])


def threshold_mlp(path: Path, seed: int = 0, hidden: int = 24) -> Path:
    """x [N, 64] in [0, 1] -> MultiThreshold (3 levels, one row for all pixels, out_scale 1/3)
    -> Quant(W1, 4-bit per output channel) MatMul -> MultiThreshold (7 levels per channel,
    out_scale 0.5, out_bias -1.5) -> Quant(W2, 4-bit) MatMul -> logits [N, 10].

    Random 4-bit first-layer weights and a least-squares second layer on the thresholded
    hidden units, so the model is a weak but real classifier. Hidden thresholds per
    channel from quantiles of the pre-activations (sorted, one tie), moved away from
    every digit's pre-activation: a value within float32 rounding of a threshold would
    make the comparison depend on the MatMul's summation order, not on the quantizer."""
    rng = np.random.default_rng(seed)
    xtr, xte, ytr, _ = qt.digits_split()
    t_in = np.array([[0.2, 0.5, 0.8]], np.float32)
    w1 = rng.normal(0, 1, (64, hidden)).astype(np.float32)
    s1 = (np.abs(w1).max(0) / 7).astype(np.float32)
    w1q = np.clip(np.round(w1 / s1), -7, 7) * s1
    pre = lambda x: ((x[..., None] >= t_in[0]).sum(-1) / 3.0) @ w1q  # noqa: E731
    every = np.concatenate([pre(xtr), pre(xte)])
    t_hidden = np.quantile(pre(xtr), np.linspace(0.1, 0.9, 7), axis=0).T.astype(np.float32)   # [hidden, 7]
    t_hidden[0, 3] = t_hidden[0, 2]                                                        # a tie in one row
    for c in range(hidden):
        for k in range(7):
            while np.abs(every[:, c] - t_hidden[c, k]).min() < 1e-3:
                t_hidden[c, k:] += np.float32(1e-3)  # keeps the row ascending
    h = ((pre(xtr)[..., None] >= t_hidden).sum(-1) * 0.5 - 1.5).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[ytr]
    w2 = np.linalg.lstsq(np.c_[h, np.ones(len(h))], onehot, rcond=None)[0][:-1].astype(np.float32)
    s2 = np.full((1, 10), np.abs(w2).max() / 7, np.float32)

    inits, nodes = [], []
    for part in (_thresholds("t_in", "x", t_in, "x_q", 1 / 3, 0.0, "UINT2"),
                 _quant("w1", w1, s1.reshape(1, -1), 4),
                 ([], [helper.make_node("MatMul", ["x_q", "w1_q"], ["h_pre"])]),
                 _thresholds("t_hidden", "h_pre", t_hidden, "h", 0.5, -1.5, "UINT3"),
                 _quant("w2", w2, s2, 4),
                 ([], [helper.make_node("MatMul", ["h", "w2_q"], ["logits"])])):
        inits += part[0]
        nodes += part[1]
    graph = helper.make_graph(nodes, "threshold_mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, ir_version=10,
                              opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)])
    onnx.save(model, str(path))
    return path
