"""Property tests: random MLPs, CNNs and branchy networks (ONNX built inline),
random quantization and folding, compiled and simulated in Verilator. Every
example must simulate bit-exact against the IR executor, at the initiation
interval the compile report expects (within 2%).

Budgets: `make test` runs a few examples per family; `make fuzz` (HWCOMP_FUZZ=1)
runs hundreds, and HWCOMP_FUZZ=N runs N per family. Examples are derandomized:
every run draws the same ones. A failure prints the example as a call of
run_example(...), which pastes into a regression test.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import onnx
import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import net_strategies as ns  # noqa: E402
from net_strategies import Folding  # noqa: E402
from random_nets import (Concat, Conv, Dense, GlobalAvgPool, Net, Pool, Residual,  # noqa: E402,F401
                         build_onnx, has_average_pool, has_branches, pads_hidden_activations, sample_inputs,
                         walk)

from hwcomp import HwcompError, compile_model, simulate_build  # noqa: E402
from hwcomp.passes.quantize import QuantConfig  # noqa: E402

pytestmark = pytest.mark.rtl

II_TOLERANCE = 0.02
CALIB_SAMPLES = 64


# No shrinking: each example costs a Verilator build, and a failing example is
# already small enough to read (its description says everything about it).
settings.register_profile("hwcomp-small", max_examples=3, derandomize=True, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate], print_blob=False,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("hwcomp-fuzz", settings.get_profile("hwcomp-small"), max_examples=150)


def _settings() -> settings:
    """Per family: 3 examples; HWCOMP_FUZZ=1 selects the fuzz profile, HWCOMP_FUZZ=N runs N."""
    v = os.environ.get("HWCOMP_FUZZ", "0")
    if v == "0":
        return settings.get_profile("hwcomp-small")
    fuzz = settings.get_profile("hwcomp-fuzz")
    return fuzz if v == "1" else settings(fuzz, max_examples=int(v))


SETTINGS = _settings()


def describe(net: Net, bits, fold: Folding, n_test: int) -> str:
    out_shape, units, lower = walk(net)
    unit_text = ", ".join(f"{u.rows}x{u.channels}" + (f"@{u.positions}pos*{u.pixels}px" if u.positions * u.pixels > 1
                                                        else "") for u in units)
    return (f"{net.family}: input {net.input_shape} -> output {out_shape}, units (rows x channels) [{unit_text}], "
            f"bits {bits}, folding {fold}, II lower bound {lower}\n"
            f"reproduce: run_example({net!r}, {bits!r}, {fold!r}, {n_test}, tmp_path)")


def _note(text: str) -> None:
    if currently_in_test_context():  # run_example also runs outside hypothesis, as a regression test
        note(text)


def documented_refusal(net: Net, bits, fold: Folding) -> str | None:
    """Why the compiler may refuse this example with a HwcompError, if the docs say it does."""
    _, _, lower = walk(net)
    if fold.target_ii is not None and fold.target_ii < lower:
        # a beat carries at most one pixel and a unit reads a whole window per output pixel
        return f"target II {fold.target_ii} is below any folding's ({lower})"
    cfg = bits if isinstance(bits, QuantConfig) else QuantConfig.parse(bits)
    if cfg.low_bit and (has_branches(net) or has_average_pool(net)):
        return "low-bit modes compile chains of layers joined by moves only (docs/architecture.md)"
    if cfg.low_bit and cfg.act_bits == 1 and pads_hidden_activations(net):
        # the compiler's message: +1/-1 codes have no 0 to pad a convolution with
        return "1-bit activations cannot be zero-padded"
    return None


def fold_by_name(model: onnx.ModelProto, net: Net, bits, fold: Folding) -> dict:
    """An explicit folding, given per unit in ONNX node order, as --fold by layer name.

    The compiler's positional order is its own topological order (report.json's
    layers), which on branches need not be the model's; by name it is unambiguous.
    A unit keeps its Gemm/MatMul's node name, or is its Conv's name + "_dense"."""
    from hwcomp.compile import float_pipeline, integer_graph
    from hwcomp.hw.region import hardware_region
    from hwcomp.passes.base import run_to_fixed_point
    from hwcomp.passes.lower import lower_to_hardware

    path = Path(tempfile.mkdtemp()) / "model.onnx"
    onnx.save(model, path)
    g = float_pipeline(path)
    cfg = bits if isinstance(bits, QuantConfig) else QuantConfig.parse(bits)
    hw = run_to_fixed_point(integer_graph(g, sample_inputs(net, CALIB_SAMPLES, 0), cfg), [lower_to_hardware])
    units = {n.name for n in hardware_region(hw) if "weight" in n.params}
    layers = [n.name for n in model.graph.node if n.op_type in ("Gemm", "MatMul", "Conv")]
    names = [next(u for u in (name, f"{name}_dense") if u in units) for name in layers]
    return dict(zip(names, fold.pe_simd))


def prune(model: onnx.ModelProto, zeros: float, seed: int = 0) -> onnx.ModelProto:
    """The model with `zeros` of every weight matrix or filter set to zero at random (seeded).
    Every slice along the first two axes keeps its largest weight: no filter, row or column
    is all zero, so the compiler's dead-channel removal leaves the layer shapes (and the
    folding drawn for them) as they are."""
    import numpy as np
    from onnx import numpy_helper

    rng = np.random.default_rng(seed)
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i, init in enumerate(m.graph.initializer):
        a = numpy_helper.to_array(init)
        if a.ndim >= 2 and a.dtype.kind == "f":
            keep = rng.random(a.shape) >= zeros
            for axis in (0, 1):
                k, mag = np.moveaxis(keep, axis, 0), np.moveaxis(np.abs(a), axis, 0)   # views of keep
                for j in np.flatnonzero(~k.reshape(len(k), -1).any(1)):
                    k[j][np.unravel_index(mag[j].argmax(), mag[j].shape)] = True
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.where(keep, a, 0).astype(a.dtype), init.name))
    return m


def run_example(net: Net, bits, fold: Folding, n_test: int, work: Path, zeros: float | None = None) -> str:
    """Compile `net` with `bits` and `fold`, simulate n_test samples, check bit-exactness and II.
    With `zeros`, that share of its weights is zero and the plain units are sparse (--sparse on).
    Returns "simulated", or "refused" for a documented refusal."""
    desc = describe(net, bits, fold, n_test)
    if zeros is not None:   # pruned, with sparse units
        desc = desc.replace(", tmp_path)", f", tmp_path, zeros={zeros})")
    _note(desc)
    model, out = work / "model.onnx", work / "build"
    proto = build_onnx(net) if zeros is None else prune(build_onnx(net), zeros)
    onnx.save(proto, model)
    pe_simd = None
    if fold.pe_simd is not None:
        pe_simd = fold_by_name(proto, net, bits, fold) if has_branches(net) else list(fold.pe_simd)
    try:
        res = compile_model(model, out, calib=sample_inputs(net, CALIB_SAMPLES, 0), bits=bits,
                            target_ii=fold.target_ii, pe_simd=pe_simd, sparse="off" if zeros is None else "on")
    except HwcompError as e:
        reason = documented_refusal(net, bits, fold)
        if reason is None and zeros is not None and fold.target_ii is not None and "cannot be met" in str(e):
            reason = "a sparse unit takes at least its longest row's entries per vector"
        if reason is not None:
            _note(f"refused as documented ({reason}): {e}")
            return "refused"
        raise AssertionError(f"{desc}\ncompile refused: {e}") from e
    except Exception as e:
        raise AssertionError(f"{desc}\ncompile crashed: {type(e).__name__}: {e}") from e
    totals = res.report["totals"]
    if fold.target_ii is not None:
        assert totals["expected_ii_cycles"] <= fold.target_ii, (
            f"{desc}\nreport expects II {totals['expected_ii_cycles']}, above the target {fold.target_ii}")
    if fold.pe_simd is not None:
        got = {layer["name"]: (layer["pe"], layer["simd"]) for layer in res.report["layers"]}
        want = pe_simd if isinstance(pe_simd, dict) else dict(zip(got, fold.pe_simd))
        assert got == want, f"{desc}\nreport has PE/SIMD {got}, not the folding asked for"
    x = sample_inputs(net, n_test, 1)
    try:
        sim = simulate_build(out, (x, None))
    except Exception as e:
        raise AssertionError(f"{desc}\nsimulation failed: {type(e).__name__}: {e}") from e
    assert sim["samples"] == n_test, f"{desc}\nsimulated {sim['samples']} samples, not {n_test}"
    assert sim["bit_exact"] and sim["mismatches"] == 0, (
        f"{desc}\n{sim['mismatches']} of {n_test} samples differ from the executor "
        f"(first: {sim['first_mismatches']})")
    ii, want = sim["ii_cycles"], sim["expected_ii_cycles"]
    assert ii is not None and abs(ii - want) <= II_TOLERANCE * want, (
        f"{desc}\nmeasured II {ii} cycles, report expects {want}")
    return "simulated"


# 5..8 samples: the measured II is the median gap over the second half of the run,
# which needs at least 4 gaps to leave the pipeline fill out.
def _check(net: Net, bits, data, tmp_path_factory, zeros: float | None = None) -> None:
    n_test = data.draw(st.integers(5, 8), label="test samples")
    _, units, lower = walk(net)
    fold = data.draw(ns.folding(units, lower), label="folding")
    work = tmp_path_factory.mktemp(net.family)
    event(run_example(net, bits, fold, n_test, work, zeros))  # --hypothesis-show-statistics counts refusals
    shutil.rmtree(work)  # kept only when the example fails


@SETTINGS
@given(net=ns.mlp(), bits=ns.bits(), data=st.data())
def test_random_mlp(net, bits, data, tmp_path_factory):
    _check(net, bits, data, tmp_path_factory)


@SETTINGS
@given(net=ns.cnn(), bits=ns.bits(), data=st.data())
def test_random_cnn(net, bits, data, tmp_path_factory):
    _check(net, bits, data, tmp_path_factory)


@SETTINGS
@given(net=ns.branchy(), bits=ns.bits(low_bit_share=0.1), data=st.data())
def test_random_branchy(net, bits, data, tmp_path_factory):
    _check(net, bits, data, tmp_path_factory)


# Sparse units (--sparse on) on pruned networks: fixed point (the sparse unit's kind of layer).
@SETTINGS
@given(net=ns.mlp(), bits=st.sampled_from(ns.FIXED_BITS), zeros=st.sampled_from((0.5, 0.8, 0.95)), data=st.data())
def test_random_sparse_mlp(net, bits, zeros, data, tmp_path_factory):
    _check(net, bits, data, tmp_path_factory, zeros)


@SETTINGS
@given(net=ns.cnn(), bits=st.sampled_from(ns.FIXED_BITS), zeros=st.sampled_from((0.5, 0.8, 0.95)), data=st.data())
def test_random_sparse_cnn(net, bits, zeros, data, tmp_path_factory):
    _check(net, bits, data, tmp_path_factory, zeros)


@SETTINGS
@given(net=ns.branchy(), bits=st.sampled_from(ns.FIXED_BITS), zeros=st.sampled_from((0.5, 0.8, 0.95)),
       data=st.data())
def test_random_sparse_branchy(net, bits, zeros, data, tmp_path_factory):
    _check(net, bits, data, tmp_path_factory, zeros)
