"""FINN's reference networks (TFC, SFC, LFC, CNV at w1a1, w1a2, w2a2), exported
by Brevitas through both exporters, compile and run bit-exact in RTL, and
hwcomp's executor equals qonnx's execution of the same file.

TFC and SFC run in the default suite; LFC and CNV are slow (make test-slow).
The two exports of a network give the same hardware (the RTL differs only in
comments naming the ONNX nodes, every memory image is identical): the test
checks that and simulates one. tests/finn_nets.py builds the networks.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import finn_nets as fn  # noqa: E402  (tests/, on the path through tests/conftest.py)
import quant_tools as qt  # noqa: E402
from hwcomp.compile import compile_model  # noqa: E402
from hwcomp.hw.design import ceil_div  # noqa: E402
from hwcomp.ir.execute import execute  # noqa: E402
from hwcomp.simulate import simulate_build  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

N_RTL = 4        # samples simulated per build
N_EXEC = 8        # samples for the executor comparisons
EXPORTS = ("torchscript", "dynamo")


def _param(name: str):
    slow = name not in fn.FAST
    return pytest.param(name, marks=[pytest.mark.slow] if slow else [], id=name)


@pytest.fixture(scope="module", params=[_param(n) for n in fn.NETWORKS])
def network(request, tmp_path_factory):
    pytest.importorskip("brevitas_examples")
    pytest.importorskip("onnxscript")
    name = request.param
    root = tmp_path_factory.mktemp(name)
    files = {e: fn.export(name, root / e / f"{name}.onnx", dynamo=e == "dynamo") for e in EXPORTS}
    x, y = fn.images(name, N_EXEC)
    return {"name": name, "root": root, "files": files, "x": x, "y": y, "ref": fn.torch_forward(name, x)}


@pytest.fixture
def qonnx_exec(monkeypatch):
    pytest.importorskip("qonnx")
    qt.clamp_qonnx_ir(monkeypatch)
    return qt.qonnx_forward


@pytest.mark.parametrize("export", EXPORTS)
def test_executor_equals_qonnx_and_torch(network, export, qonnx_exec):
    path, x = network["files"][export], network["x"]
    want = qonnx_exec(path, x)
    got = qt.hwcomp_float_forward(path, x)
    tol = 1e-4 * max(1.0, float(np.abs(want).max()))
    assert got.shape == want.shape
    assert float(np.abs(got - want).max()) <= tol, f"hwcomp vs qonnx on {path.name}"
    assert float(np.abs(network["ref"] - want).max()) <= tol  # and qonnx agrees with torch


@pytest.fixture(scope="module")
def builds(network):
    """Both exports compiled with the default folding."""
    return {e: compile_model(network["files"][e], network["root"] / f"build_{e}") for e in EXPORTS}


@pytest.mark.rtl
def test_rtl_bit_exact_default_folding(network, builds):
    res = builds["torchscript"]
    x, y = network["x"][:N_RTL], network["y"][:N_RTL]
    sim = simulate_build(res.out_dir, (x, y))
    assert sim["bit_exact"], sim["first_mismatches"]
    assert sim["ii_cycles"] == res.report["totals"]["expected_ii_cycles"]


def _uncommented(path: Path) -> str:
    return "\n".join(line.split("//")[0].rstrip() for line in path.read_text().splitlines())


def test_both_exports_give_the_same_hardware(network, builds):
    """The dynamo export's design equals the TorchScript export's (RTL up to comments, which
    name the ONNX nodes; every memory image byte for byte), so the simulation above covers it."""
    a, b = (builds[e].out_dir / "rtl" for e in EXPORTS)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for n in names:
        if n.endswith(".v"):
            assert _uncommented(a / n) == _uncommented(b / n), n
        else:
            assert (a / n).read_bytes() == (b / n).read_bytes(), n


@pytest.mark.parametrize("export", EXPORTS)
def test_integer_graph_equals_the_quantized_model(network, builds, export):
    """The hardware graph computes what the quantized model computes, to float rounding."""
    hw = builds[export].hw_graph
    got = execute(hw, {hw.inputs[0]: network["x"]})[hw.outputs[0]]
    ref = network["ref"]
    assert float(np.abs(got - ref).max()) <= 1e-4 * max(1.0, float(np.abs(ref).max()))


def _finn_formula_ii(report: dict, folding) -> int:
    """FINN's MVAU cycle estimate, max over layers: (MH/PE) (MW/SIMD) output pixels."""
    cycles = []
    for layer, (pe, simd) in zip(report["layers"], folding):
        rows, cols = layer["rows"], layer["cols"]
        cycles.append(ceil_div(rows, pe) * ceil_div(cols, simd) * layer["pixels"])
    return max(cycles)


@pytest.fixture(scope="module")
def finn_build(network):
    folding = fn.finn_folding(network["name"])
    if folding is None:
        pytest.skip("FINN folds SFC by a target-fps search, not a fixed folding")
    res = compile_model(network["files"]["torchscript"], network["root"] / "build_finn", pe_simd=folding)
    return res, folding


def test_finn_folding_gives_finn_cycles(finn_build):
    """With the (PE, SIMD) of FINN's end-to-end test, hwcomp's cycle model gives FINN's II."""
    res, folding = finn_build
    got = [(b["pe"], b["simd"]) for b in res.report["layers"]]
    assert got == [tuple(f) for f in folding]
    assert res.report["totals"]["expected_ii_cycles"] == _finn_formula_ii(res.report, folding)


@pytest.mark.slow
@pytest.mark.rtl
def test_finn_folding_bit_exact(network, finn_build):
    """FINN's wide foldings (up to 1,568 lanes in one layer) make large simulators: slow."""
    res, _ = finn_build
    sim = simulate_build(res.out_dir, (network["x"][:N_RTL], network["y"][:N_RTL]))
    assert sim["bit_exact"], sim["first_mismatches"]
    assert sim["ii_cycles"] == res.report["totals"]["expected_ii_cycles"]


def _binary_in_multibit_out(seed: int = 0):
    """Binary input -> binary-weight layer -> BatchNorm (some gammas negative) -> 2-bit
    activation -> binary-weight layer: FINN's XNOR popcount into a multi-threshold stage."""
    import brevitas.nn as qnn
    import torch
    from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

    torch.manual_seed(seed)
    bn = torch.nn.BatchNorm1d(48)
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_(0, 2)
        bn.running_mean.normal_(0, 3)
        bn.running_var.uniform_(1, 20)
    model = torch.nn.Sequential(
        qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True),
        qnn.QuantLinear(64, 48, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
        bn,
        qnn.QuantReLU(bit_width=2, return_quant_tensor=True),
        qnn.QuantLinear(48, 10, bias=False, weight_quant=SignedBinaryWeightPerTensorConst),
    )
    return model.eval()


@pytest.mark.rtl
def test_binary_input_layer_with_multibit_output_bit_exact(tmp_path):
    pytest.importorskip("brevitas")
    model = _binary_in_multibit_out()
    path = qt.export_brevitas(model, tmp_path / "bin_in_2bit_out.onnx", dynamo=False)
    res = compile_model(path, tmp_path / "build")
    descending = [np.asarray(n.params.get("descending", [])) for n in res.hw_graph.nodes() if "thresholds" in n.params]
    assert any(d.any() for d in descending)  # the negative gammas made descending rows
    first = next(n for n in res.hw_graph.nodes() if "thresholds" in n.params)
    assert first.attrs.get("weight_bipolar") and np.shape(first.params["thresholds"])[1] == 3  # 2-bit codes
    x = qt.digits_split()[1][:8] - 0.5       # signs of both kinds into the binary input
    sim = simulate_build(tmp_path / "build", (x, None))
    assert sim["bit_exact"], sim["first_mismatches"]
    hw_out = execute(res.hw_graph, {res.hw_graph.inputs[0]: x})[res.hw_graph.outputs[0]]
    ref = qt.torch_forward(model, x)
    assert float(np.abs(hw_out - ref).max()) <= 1e-4 * max(1.0, float(np.abs(ref).max()))
