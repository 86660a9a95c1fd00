"""onnxruntime's QOperator format -> QDQ form with the same integer arithmetic.

onnxruntime.quantization (QuantFormat.QOperator) writes integer operators:
QLinearConv, QLinearMatMul, com.microsoft QGemm and QLinearGlobalAveragePool,
and for dynamic quantization MatMulInteger / ConvInteger. Each computes an exact integer accumulator and,
for the QLinear ones, requantizes it in float32 as onnxruntime's MLAS does:

    acc  = sum (x - zx) * (w - zw) + bias                  (int32)
    code = saturate(round_half_even(f32(acc) * M) + zy),   M = f32(f32(sx * sw) / sy)

(QGemm: M = f32(f32(f32(alpha * sa) * sb) / sy), or a float output
f32(acc) * f32(f32(alpha * sa) * sb) when it has no y_scale.)

This module rewrites each such node into ops hwcomp already has, keeping every
intermediate value an exact float32 integer ("scale 1" codes), so that the
float executor reproduces onnxruntime bit for bit and passes/integerize sees
an ordinary quantized layer:

    DequantizeLinear(x, 1, zx) -> Conv/MatMul/Gemm(DequantizeLinear(w - zw, 1), bias)
      -> Mul(M) -> QuantizeLinear(1, zy)

Value-preserving ops that onnxruntime runs directly on codes (MaxPool, Flatten,
Reshape, ...) get the same DequantizeLinear(1, z) / QuantizeLinear(1, z) frame.
DynamicQuantizeLinear computes its scale per input at run time, which fixed
hardware cannot, and is refused.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from hwcomp.errors import HwcompError

QOPERATOR = {("", "QLinearConv"), ("", "QLinearMatMul"), ("com.microsoft", "QGemm"),
             ("", "MatMulInteger"), ("", "ConvInteger"), ("com.microsoft", "QLinearGlobalAveragePool")}
# ops that onnxruntime applies to codes and that commute with dequantization
ON_CODES = ("MaxPool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity")
SUPPORTED_TEXT = ("QLinearConv, QLinearMatMul, MatMulInteger, ConvInteger, com.microsoft.QGemm, "
                  "com.microsoft.QLinearGlobalAveragePool; on codes: "
                  + ", ".join(ON_CODES))
EXACT_LIMIT = 1 << 24  # integers float32 holds exactly


def _domain(n: onnx.NodeProto) -> str:
    return "" if n.domain in ("", "ai.onnx") else n.domain


def is_qoperator(n: onnx.NodeProto) -> bool:
    return (_domain(n), n.op_type) in QOPERATOR


class _Rewriter:
    def __init__(self, model: onnx.ModelProto, label: str) -> None:
        self.label = label
        self.graph = model.graph
        self.opset_import = model.opset_import
        self.consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        for n in model.graph.node:
            if n.op_type == "Constant" and _domain(n) == "" and n.attribute and n.attribute[0].name == "value":
                self.consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        self.taken = {n.name for n in model.graph.node} | set(self.consts)
        self.taken |= {t for n in model.graph.node for t in n.output}
        self.new_inits: list[onnx.TensorProto] = []
        self.nodes: list[onnx.NodeProto] = []
        self.codes: dict[str, np.ndarray] = {}   # code tensor -> its zero point (typed scalar)
        self.integer_outputs: set[str] = set()   # MatMulInteger / ConvInteger results (float here)
        self.one = self.const("one", np.array(1.0, np.float32))

    # -- helpers ------------------------------------------------------------
    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def const(self, base: str, value: np.ndarray) -> str:
        name = self.unique(base)
        self.new_inits.append(numpy_helper.from_array(np.asarray(value), name))
        self.consts[name] = np.asarray(value)
        return name

    def emit(self, op: str, inputs: list[str], outputs: list[str], name: str,
             copy_from: onnx.NodeProto | None = None, **attrs) -> None:
        """A new node; `copy_from` gives it that node's attributes as they are (of any kind,
        empty lists included, which make_node could not type)."""
        node = helper.make_node(op, inputs, outputs, name=self.unique(name), **attrs)
        if copy_from is not None:
            node.attribute.extend(copy_from.attribute)
        self.nodes.append(node)

    def number(self, n, idx, name: str, default, kind=float):
        """A scalar attribute of a QOperator node (no schema checks these: com.microsoft domain)."""
        v = _attrs(n).get(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
            self.fail(n, idx, f"attribute {name!r} must be one {'integer' if kind is int else 'number'}; "
                              f"got {v!r}"[:200])
        return kind(v)

    def fail(self, n: onnx.NodeProto, idx: int, msg: str) -> None:
        name = n.name or f"{n.op_type}_{idx}"
        raise HwcompError(f"{self.label}: node '{name}' ({n.op_type}): {msg}")

    def get(self, n, idx, i: int, what: str, optional: bool = False) -> np.ndarray | None:
        if i >= len(n.input) or not n.input[i]:
            if optional:
                return None
            self.fail(n, idx, f"missing {what} (input {i})")
        v = self.consts.get(n.input[i])
        if v is None:
            self.fail(n, idx, f"{what} (input {i}, {n.input[i]!r}) must be a constant; hwcomp needs fixed "
                              "quantization parameters and weights to build integer hardware")
        return v

    def scale(self, n, idx, i: int, what: str) -> np.ndarray:
        s = self.get(n, idx, i, what).astype(np.float32)
        if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
            self.fail(n, idx, f"{what} must be positive and finite; got {s.ravel()[:4].tolist()}")
        return s

    def zero(self, n, idx, i: int, what: str) -> np.ndarray:
        z = self.get(n, idx, i, what, optional=True)
        if z is None:
            z = np.zeros((), np.uint8)  # the ONNX default
        if z.dtype not in (np.int8, np.uint8):
            self.fail(n, idx, f"{what} of type {z.dtype} is not supported; supported: int8, uint8")
        return z

    def codes_in(self, n, idx, i: int, zp: np.ndarray, what: str) -> str:
        """DequantizeLinear(codes, 1, zp): the exact integer values x - zx as float32."""
        t = n.input[i]
        if t not in self.codes and t not in self.consts:
            self.fail(n, idx, f"{what} {t!r} is not integer codes from a QuantizeLinear or another QOperator node")
        if np.size(zp) != 1:
            self.fail(n, idx, f"{what} zero point must be per tensor")
        out = self.unique(f"{t}_int")
        self.emit("DequantizeLinear", [t, self.one, self.const(f"{t}_zp", zp.reshape(()))], [out], f"{n.name}_dq_in")
        return out

    def weights(self, n, idx, i: int, zp: np.ndarray, axis: int, what: str) -> str:
        """Constant codes w - zw (zw per tensor or per output channel on `axis`) as DequantizeLinear(.., 1)."""
        w = self.get(n, idx, i, what)
        if w.dtype not in (np.int8, np.uint8):
            self.fail(n, idx, f"{what} of type {w.dtype} is not supported; supported: int8, uint8")
        z = zp.astype(np.int64)
        if z.size > 1:
            if w.ndim <= axis or z.size != w.shape[axis]:
                self.fail(n, idx, f"{what} zero point has {z.size} values for weights of shape {list(w.shape)}; "
                                  f"supported: one, or one per output channel (axis {axis})")
            shape = [1] * w.ndim
            shape[axis] = z.size
            z = z.reshape(shape)
        v = w.astype(np.int64) - z
        dtype = np.int8 if v.min() >= -128 and v.max() <= 127 else np.int16
        out = self.unique(f"{n.input[i]}_int")
        self.emit("DequantizeLinear", [self.const(f"{n.input[i]}_codes", v.astype(dtype)), self.one], [out],
                  f"{n.name}_dq_w")
        return out

    def bias(self, n, idx, i: int) -> str | None:
        b = self.get(n, idx, i, "bias", optional=True)
        if b is None:
            return None
        if b.dtype != np.int32:
            self.fail(n, idx, f"bias of type {b.dtype} is not supported; supported: int32")
        if np.abs(b.astype(np.int64)).max(initial=0) >= EXACT_LIMIT:
            self.fail(n, idx, "bias codes of 2^24 or more are not exact in float32; supported: |bias| < 2^24")
        return self.const(f"{n.input[i]}_float", b.astype(np.float32))

    def requantize(self, n, acc: str, m: np.ndarray, y_zp: np.ndarray | None, out: str) -> None:
        """out = QuantizeLinear(f32(acc) * M, 1, zy), or the float f32(acc) * M when y_zp is None."""
        scaled = out if y_zp is None else self.unique(f"{out}_scaled")
        self.emit("Mul", [acc, self.const(f"{n.name}_multiplier", m)], [scaled], f"{n.name}_requant")
        if y_zp is not None:
            self.emit("QuantizeLinear", [scaled, self.one, self.const(f"{out}_zp", y_zp.reshape(()))], [out],
                      f"{n.name}_quant")
            self.codes[out] = y_zp.reshape(())

    # -- the operators --------------------------------------------------------
    def qlinear_conv(self, n, idx) -> None:
        w = self.get(n, idx, 3, "w")
        sx, sw, sy = (self.scale(n, idx, i, what) for i, what in ((1, "x_scale"), (4, "w_scale"), (6, "y_scale")))
        x = self.codes_in(n, idx, 0, self.zero(n, idx, 2, "x_zero_point"), "input x")
        wf = self.weights(n, idx, 3, self.zero(n, idx, 5, "w_zero_point"), 0, "w")
        b = self.bias(n, idx, 8)
        acc = self.unique(f"{n.output[0]}_acc")
        self.emit("Conv", [x, wf] + ([b] if b else []), [acc], f"{n.name}_conv", copy_from=n)
        m = (np.float32(sx.reshape(())) * sw.reshape(-1)).astype(np.float32) / np.float32(sy.reshape(()))
        m = m.astype(np.float32).reshape((-1,) + (1,) * (w.ndim - 2)) if m.size > 1 else m.reshape(())
        self.requantize(n, acc, m, self.zero(n, idx, 7, "y_zero_point"), n.output[0])

    def qlinear_matmul(self, n, idx) -> None:
        sa, sb, sy = (self.scale(n, idx, i, what) for i, what in ((1, "a_scale"), (4, "b_scale"), (6, "y_scale")))
        a = self.codes_in(n, idx, 0, self.zero(n, idx, 2, "a_zero_point"), "input a")
        b = self.weights(n, idx, 3, self.zero(n, idx, 5, "b_zero_point"), -1, "b (the weights)")
        acc = self.unique(f"{n.output[0]}_acc")
        self.emit("MatMul", [a, b], [acc], f"{n.name}_matmul")
        m = ((np.float32(sa.reshape(())) * sb.reshape(-1)).astype(np.float32) / np.float32(sy.reshape(())))
        self.requantize(n, acc, m.astype(np.float32).reshape(-1 if m.size > 1 else ()), self.zero(n, idx, 7, "y_zero_point"),
                        n.output[0])

    def qgemm(self, n, idx) -> None:
        if self.number(n, idx, "transA", 0, int):
            self.fail(n, idx, "transA=1 is not supported; supported: transA=0")
        trans_b = self.number(n, idx, "transB", 0, int)
        alpha = np.float32(self.number(n, idx, "alpha", 1.0))
        sa, sb = self.scale(n, idx, 1, "a_scale"), self.scale(n, idx, 4, "b_scale")
        a = self.codes_in(n, idx, 0, self.zero(n, idx, 2, "a_zero_point"), "input A")
        b = self.weights(n, idx, 3, self.zero(n, idx, 5, "b_zero_point"), 0 if trans_b else 1, "B (the weights)")
        c = self.bias(n, idx, 6)
        acc = self.unique(f"{n.output[0]}_acc")
        self.emit("Gemm", [a, b] + ([c] if c else []), [acc], f"{n.name}_gemm", transB=trans_b)
        m = ((alpha * np.float32(sa.reshape(()))).astype(np.float32) * sb.reshape(-1)).astype(np.float32)
        has_y = len(n.input) > 7 and bool(n.input[7])
        if has_y:
            m = (m / np.float32(self.scale(n, idx, 7, "y_scale").reshape(()))).astype(np.float32)
        m = m.reshape(-1) if m.size > 1 else m.reshape(())
        self.requantize(n, acc, m, self.zero(n, idx, 8, "y_zero_point") if has_y else None, n.output[0])

    def integer_op(self, n, idx, conv: bool) -> None:
        """MatMulInteger / ConvInteger: the exact int32 result, as float32 integers."""
        zx = self.zero(n, idx, 2, "a_zero_point" if not conv else "x_zero_point")
        x = self.codes_in(n, idx, 0, zx, "input")
        w = self.weights(n, idx, 1, self.zero(n, idx, 3, "b_zero_point" if not conv else "w_zero_point"),
                         0 if conv else -1, "weights")
        if conv:
            self.emit("Conv", [x, w], [n.output[0]], f"{n.name}_conv", copy_from=n)
        else:
            self.emit("MatMul", [x, w], [n.output[0]], f"{n.name}_matmul")
        self.integer_outputs.add(n.output[0])

    def on_codes(self, n, idx) -> None:
        zp = self.codes[n.input[0]]
        x = self.codes_in(n, idx, 0, zp, "input")
        mid = self.unique(f"{n.output[0]}_int")
        self.emit(n.op_type, [x] + list(n.input[1:]), [mid], n.name or f"{n.op_type}_{idx}", copy_from=n)
        self.emit("QuantizeLinear", [mid, self.one, self.const(f"{n.output[0]}_zp", zp)], [n.output[0]],
                  f"{n.name}_quant")
        self.codes[n.output[0]] = zp

    def global_average_pool(self, n, idx, shape: tuple) -> None:
        """onnxruntime sums the codes as integers and requantizes the sum minus zx * K by
        M = f32(sx / f32(sy * K)): a depthwise convolution with a kernel of ones over the
        whole image gives that sum exactly."""
        if len(shape) != 4:
            self.fail(n, idx, f"input of shape {list(shape)} is not supported; supported: NCHW")
        c, h, w = shape[1:]
        sx, sy = self.scale(n, idx, 1, "x_scale"), self.scale(n, idx, 3, "y_scale")
        x = self.codes_in(n, idx, 0, self.zero(n, idx, 2, "x_zero_point"), "input")
        ones = self.const(f"{n.name}_ones", np.ones((c, 1, h, w), np.int8))
        wf = self.unique(f"{n.name}_ones_int")
        self.emit("DequantizeLinear", [ones, self.one], [wf], f"{n.name}_dq_w")
        acc = self.unique(f"{n.output[0]}_acc")
        self.emit("Conv", [x, wf], [acc], f"{n.name}_sum", group=int(c), kernel_shape=[int(h), int(w)])
        m = np.float32(sx.reshape(())) / (np.float32(sy.reshape(())) * np.float32(h * w))
        self.requantize(n, acc, np.asarray(m, np.float32), self.zero(n, idx, 4, "y_zero_point"), n.output[0])

    def finish_pools(self, pending: list[tuple[int, int, onnx.NodeProto]]) -> None:
        """Global average pools need their input's shape: infer it on the rewritten graph."""
        probe = helper.make_model(helper.make_graph(
            self.nodes, "probe", list(self.graph.input), list(self.graph.output),
            list(self.graph.initializer) + self.new_inits), opset_imports=self.opset_import)
        inferred = onnx.shape_inference.infer_shapes(probe)
        shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
                  for v in list(inferred.graph.value_info) + list(inferred.graph.input)}
        for pos, idx, n in reversed(pending):
            shape = shapes.get(n.input[0])
            if not shape or min(shape[1:], default=0) < 1:  # the batch may be dynamic
                self.fail(n, idx, "the shape of its input is unknown; supported: statically shaped inputs")
            done, self.nodes = self.nodes, []
            self.global_average_pool(n, idx, shape)
            done[pos:pos + 1] = self.nodes
            self.nodes = done

    # -- driver ---------------------------------------------------------------
    def run(self) -> list[onnx.NodeProto]:
        pools = []  # (position in self.nodes, index, node): rewritten once shapes are known
        for idx, n in enumerate(self.graph.node):
            dom = _domain(n)
            if dom == "" and n.op_type == "DynamicQuantizeLinear":
                self.fail(n, idx, "dynamic quantization computes its scale from each input at run time, which "
                                  "fixed-point hardware cannot; quantize statically (onnxruntime.quantization."
                                  "quantize_static, QDQ or QOperator format)")
            if dom == "" and n.op_type == "QLinearConv":
                self.qlinear_conv(n, idx)
            elif dom == "" and n.op_type == "QLinearMatMul":
                self.qlinear_matmul(n, idx)
            elif dom == "com.microsoft" and n.op_type == "QGemm":
                self.qgemm(n, idx)
            elif dom == "com.microsoft" and n.op_type == "QLinearGlobalAveragePool":
                if self.number(n, idx, "channels_last", 0, int):
                    self.fail(n, idx, "channels_last=1 is not supported; supported: NCHW")
                pools.append((len(self.nodes), idx, n))
                self.nodes.append(n)
                self.codes[n.output[0]] = self.zero(n, idx, 4, "y_zero_point").reshape(())
            elif dom == "" and n.op_type in ("MatMulInteger", "ConvInteger"):
                self.integer_op(n, idx, conv=n.op_type == "ConvInteger")
            elif dom == "" and n.op_type == "QuantizeLinear":
                self.nodes.append(n)
                zp = self.get(n, idx, 2, "y_zero_point", optional=True)
                if zp is not None and zp.size != 1:
                    self.fail(n, idx, f"y_zero_point has {zp.size} values; supported before QOperator nodes: "
                                      "one zero point per tensor")
                self.codes[n.output[0]] = np.zeros((), np.uint8) if zp is None else zp.reshape(())
            elif dom == "" and n.op_type == "Cast" and n.input[0] in self.integer_outputs:
                to = _attrs(n).get("to")
                if to != onnx.TensorProto.FLOAT:
                    self.fail(n, idx, "supported after MatMulInteger/ConvInteger: Cast to float")
                self.emit("Identity", [n.input[0]], [n.output[0]], n.name or f"Cast_{idx}")
            elif dom == "" and n.op_type in ON_CODES and n.input and n.input[0] in self.codes:
                self.on_codes(n, idx)
            else:
                self.check_reads(n, idx)
                self.nodes.append(n)
        if pools:
            self.finish_pools(pools)
        return self.nodes

    def check_reads(self, n, idx) -> None:
        if _domain(n) == "" and n.op_type == "DequantizeLinear":
            return
        for t in n.input:
            if t in self.codes:
                self.fail(n, idx, f"reads integer codes {t!r}; supported on codes: {SUPPORTED_TEXT}")
            if t in self.integer_outputs:
                self.fail(n, idx, f"reads the int32 result {t!r}; supported after MatMulInteger/ConvInteger: "
                                  "Cast to float")


def _attrs(n: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def desugar_qoperator(model: onnx.ModelProto, label: str) -> onnx.ModelProto:
    """The model with QOperator nodes rewritten (module docstring); the model itself when it has none."""
    if not any(is_qoperator(n) or n.op_type == "DynamicQuantizeLinear" for n in model.graph.node):
        return model
    rw = _Rewriter(model, label)
    nodes = rw.run()
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    out.graph.initializer.extend(rw.new_inits)
    return out
