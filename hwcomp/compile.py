"""compile_model: ONNX file -> build directory (Verilog, .mem weights, IR, report)."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from hwcomp.backends.verilog import top_module_name, write_verilog
from hwcomp.design_file import DesignFile
from hwcomp.devices import DEFAULT_DEVICE, device as find_device
from hwcomp.errors import HwcompError
from hwcomp.frontend.const_fold import check_size
from hwcomp.frontend.onnx import DEFAULT_MAX_TENSOR_ELEMS, load_onnx
from hwcomp.hw.builder import build_design
from hwcomp.hw.fit import DEFAULT_MAX_UTIL, FitGoal, fit_folding
from hwcomp.hw.pipeline import DEFAULT_CLOCK_MHZ
from hwcomp.hw.region import hardware_region, region_io
from hwcomp.hw.support import check_hardware_support
from hwcomp.ir.graph import Graph
from hwcomp.ir.serialize import save_graph
from hwcomp.outdir import staged_dir, write_manifest
from hwcomp.passes.canonicalize import canonicalize
from hwcomp.passes.fold import fold
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.lowbit import lowbit
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.integerize import integerize
from hwcomp.passes.prune_channels import check_prune_options, prune_channels
from hwcomp.passes.quantize import QuantConfig, quantize
from hwcomp.passes.share_weights import check_share_bits, check_shared, share_weights as shared_graph
from hwcomp.passes.sparsify import SPARSE_MODES, choose_sparse
from hwcomp.passes.weight_grid import has_quantizers
from hwcomp.passes.streamline_transposes import to_channels_last
from hwcomp.report.compile_report import compile_report
from hwcomp.report.html_report import write_html_report
from hwcomp.report.storage import onnx_float_parameters

Progress = Callable[[str], None]


@dataclass
class CompileResult:
    out_dir: Path
    float_graph: Graph
    hw_graph: Graph
    report: dict


def load_npz(path: Path, need_labels: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z.files:
                raise HwcompError(f"{path}: no array named 'x' (found: {', '.join(z.files) or 'none'})")
            x = z["x"]
            y = z["y"] if "y" in z.files else None
    except HwcompError:
        raise
    except (OSError, ValueError) as e:
        raise HwcompError(f"{path}: cannot read as .npz ({e})") from None
    if need_labels and y is None:
        raise HwcompError(f"{path}: no labels array 'y'")
    return x, y


def shape_batch(graph: Graph, x: np.ndarray, source: str) -> np.ndarray:
    """Check samples against the model input ([N, ...] with the model's per-sample shape)."""
    name = graph.inputs[0]
    want = graph.tensors[name].shape[1:]
    if x.ndim == len(want):
        x = x[None]
    if tuple(x.shape[1:]) != tuple(want):
        if int(np.prod(x.shape[1:])) == int(np.prod(want)):
            x = x.reshape((x.shape[0],) + tuple(want))
        else:
            raise HwcompError(f"{source}: samples have shape {tuple(x.shape[1:])}, model input {name!r} "
                              f"expects {tuple(want)}")
    if x.shape[0] == 0:
        raise HwcompError(f"{source}: no samples (array of shape {tuple(x.shape)})")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise HwcompError(f"{source}: samples have dtype {x.dtype}; supported: real numbers")
    with np.errstate(over="ignore"):
        x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise HwcompError(f"{source}: {int(bad.sum())} values are NaN or Inf (as float32), the first at index "
                          f"{first}; supported: finite samples")
    return x


def float_pipeline(model: Path, input_shape=None, max_tensor_elems: int = DEFAULT_MAX_TENSOR_ELEMS,
                   prune_structured: float | None = None, prune_scope: str = "layer") -> Graph:
    """The canonical float graph, its dead channels removed (and, with prune_structured, that share of
    the L1-smallest filters and neurons: passes/prune_channels)."""
    return prune_channels(canonicalize(load_onnx(model, input_shape, max_tensor_elems)), prune_structured, prune_scope)


def check_tensor_sizes(g: Graph, max_tensor_elems: int) -> None:
    """The tensors hwcomp itself makes (a convolution's sliding windows hold k*k copies
    of its input) stay within the bound too: calibration evaluates them on every sample."""
    producers = g.producers()
    for t, ty in g.tensors.items():
        node = producers.get(t)
        what = f"node '{node.name}' ({node.op.name})" if node is not None else f"tensor {t!r}"
        check_size(f"{g.meta.get('source', g.name)}: {what}: output {t!r}", ty.shape, max_tensor_elems)


def integer_graph(g: Graph, calib: np.ndarray | None, cfg: QuantConfig) -> Graph:
    """The exact integer form: a trained quantized model's own quantizers; else, from
    calibration data, low-bit grids (w1a1 .. w4a4: passes/lowbit, then the same
    integerize) or power-of-two fixed point."""
    if has_quantizers(g):
        return _integerized(g, to_channels_last(g))
    if cfg.low_bit:
        return _integerized(g, lowbit(to_channels_last(g), {g.inputs[0]: calib}, cfg))
    return quantize(to_channels_last(g), {g.inputs[0]: calib}, cfg)


def _integerized(g: Graph, quantized: Graph) -> Graph:
    ig = to_channels_last(integerize(quantized))
    check_hardware_support(ig, g.meta.get("source", g.name))
    return ig


def hardware_pipeline(g: Graph, calib: np.ndarray | None, cfg: QuantConfig, target_ii: int | None,
                      pe_simd=None, fit: FitGoal | None = None, say: Progress | None = None,
                      sparse: str = "off") -> Graph:
    q = integer_graph(g, calib, cfg)
    # Fitting to a device needs every block's resource model, which the sparse unit lacks yet.
    mode = "off" if fit is not None and sparse == "auto" else sparse
    lowered = choose_sparse(run_to_fixed_point(q, [lower_to_hardware]), mode, target_ii, pe_simd)
    if fit is None:
        return fold(lowered, target_ii, pe_simd)
    if say is not None:
        say(f"folding to fit {fit.device.name} (" + (f"{fit.target_fps:g} frames/s at {fit.clock_mhz:g} MHz"
            if fit.target_fps is not None else f"at most {fit.max_util:.0%} of every resource") + ")")
    folding, record = fit_folding(lowered, fit)
    hw = fold(lowered, folding=folding)
    hw.meta["fit"] = record
    return hw


def fit_goal(device: str | None, max_util: float | None, target_fps: float | None, clock_mhz: float,
             target_ii: int | None, pe_simd) -> FitGoal | None:
    """What folding to fit, if any: `device` or `target_fps` without --ii or --fold."""
    if target_fps is not None and (target_ii or pe_simd):
        raise HwcompError("--target-fps chooses the folding: give it or --ii / --fold, not both")
    if max_util is not None and device is None:
        raise HwcompError("--max-util is a share of a device: give --device too")
    if (device is None and target_fps is None) or target_ii or pe_simd:
        return None
    return FitGoal(find_device(device or DEFAULT_DEVICE), DEFAULT_MAX_UTIL if max_util is None else max_util,
                   target_fps, clock_mhz)


def write_design(hw: Graph, root: Path, model: str, options: dict, float_params: int,
                 device: str = DEFAULT_DEVICE, original: Graph | None = None) -> tuple[DesignFile, dict]:
    """The one back end: build the design for options["clock_mhz"], write its Verilog, describe its top.
    `float_params` and `original` (the float graph) are what the storage report compares with."""
    design = build_design(hw, clock_mhz=options["clock_mhz"])
    files = write_verilog(design, root / "rtl")
    hw_in, hw_out = region_io(hw, hardware_region(hw))
    i, o = design.in_stream, design.out_stream
    info = DesignFile(
        top=top_module_name(design), sources=tuple(str(p.relative_to(root)) for p in files if p.suffix == ".v"),
        hw_input=hw_in, hw_output=hw_out, in_elems=design.in_elems, in_pixels=design.in_pixels, in_lanes=i.lanes,
        in_width=i.width, in_beats=design.in_beats, s_tdata_width=design.s_tdata_width,
        out_elems=design.out_elems, out_pixels=design.out_pixels, out_lanes=o.lanes, out_width=o.width,
        out_signed=o.signed, out_beats=design.out_beats, m_tdata_width=design.m_tdata_width,
        expected_ii_cycles=design.expected_ii)
    return info, compile_report(hw, design, model, options, float_params, device, original)


def compile_model(model: str | Path, out_dir: str | Path, calib: str | Path | np.ndarray | None = None,
                  bits: str | QuantConfig = "w8a8", target_ii: int | None = None,
                  pe_simd=None, input_shape=None,
                  progress: Progress | None = None,
                  max_tensor_elems: int = DEFAULT_MAX_TENSOR_ELEMS,
                  device: str | None = None, max_util: float | None = None,
                  target_fps: float | None = None, clock_mhz: float = DEFAULT_CLOCK_MHZ,
                  prune_structured: float | None = None, prune_scope: str = "layer",
                  share_weights: int | None = None, sparse: str = "off") -> CompileResult:
    """max_tensor_elems bounds every tensor (weights, folded constants, intermediates, the
    sliding windows hwcomp makes); a model needing more is refused before allocating it.
    `device` (hwcomp/devices.py; default xc7z020) is what report.json's resource estimate is
    against. Given (and no target_ii or pe_simd), the folding is the fastest whose estimate
    stays within `max_util` (default 0.8) of it; with `target_fps`, the fewest lanes that
    reach it at `clock_mhz` (hw/fit.py). clock_mhz is also the clock target the units are
    pipelined for (hw/pipeline.py). prune_structured removes that share of the channels by
    L1 norm, per layer or global (prune_scope), before quantization (passes/prune_channels).
    `share_weights` K limits each layer's weights to 2^K values (passes/share_weights.py:
    k-means on a float model, one weight format per layer). `sparse` (auto, on, off) picks
    the layers built as sparse units (passes/sparsify.py); off by default until the sparse
    unit has a resource model (a design with one has no resource estimate)."""
    say = progress or (lambda _msg: None)
    check_prune_options(prune_structured, prune_scope)
    if share_weights is not None:
        check_share_bits(share_weights)
    if sparse not in SPARSE_MODES:
        raise HwcompError(f"sparse {sparse!r}: supported {', '.join(SPARSE_MODES)}")
    if not (isinstance(clock_mhz, (int, float)) and 1 <= clock_mhz <= 1000):
        raise HwcompError(f"clock target {clock_mhz!r} MHz: supported 1 to 1000 MHz")
    fit = fit_goal(device, max_util, target_fps, clock_mhz, target_ii, pe_simd)
    device = find_device(device or DEFAULT_DEVICE).name   # an unknown name fails before any work
    folding_options = {"device": device, "max_util": None if fit is None else fit.max_util,
                       "target_fps": target_fps, "clock_mhz": float(clock_mhz), "sparse": sparse}
    model, out_dir = Path(model), Path(out_dir)
    cfg = bits if isinstance(bits, QuantConfig) else QuantConfig.parse(bits)
    say(f"importing {model}")
    g = float_pipeline(model, input_shape, max_tensor_elems, prune_structured, prune_scope)
    if len(g.inputs) != 1:
        raise HwcompError(f"{model}: the model has {len(g.inputs)} inputs ({', '.join(map(repr, g.inputs)) or 'none'}); "
                          "supported: one input, the stream the accelerator reads")
    channels_last = to_channels_last(g)
    check_tensor_sizes(channels_last, max_tensor_elems)
    if has_quantizers(g):
        say("quantized model: integerizing with its own quantizers (thresholds from its activation functions)")
        hw = hardware_pipeline(g, None, cfg, target_ii, pe_simd, fit, say, sparse)
        options = {"bits": "from the model", "quantization": "the model's own quantizers", "target_ii": target_ii,
                   "fold": _fold_option(pe_simd), **folding_options}
        if share_weights is not None:
            _mark_shared(hw, share_weights, str(model))
            options["share_weights"] = share_weights
        return _write_build(model, out_dir, g, hw, options, say)
    check_hardware_support(channels_last, str(model))
    if share_weights is not None and cfg.low_bit:
        raise HwcompError(f"--share-weights with --bits {cfg.spec}: low-bit grids give every row its own scale, "
                          "so a layer's codes are not one codebook; supported: fixed point (--bits with weights "
                          "or activations above 4 bits, default w8a8) or a quantized model")
    if calib is None:
        warnings.warn("no calibration data (--calib): activation ranges come from random normal inputs; "
                      "accuracy may suffer", stacklevel=2)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((32,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
    elif isinstance(calib, np.ndarray):
        x = shape_batch(g, calib, "calibration data")
    else:
        x = shape_batch(g, load_npz(Path(calib))[0], str(calib))
    if cfg.low_bit:
        edges = "as the others" if cfg.edge_bits is None else f"at {cfg.edge_bits} bits"
        say(f"low-bit quantization ({cfg.weight_bits}-bit weights, {cfg.act_bits}-bit activations, first and last "
            f"layers {edges}, {len(x)} calibration samples)")
    else:
        say(f"quantizing ({cfg.weight_bits}-bit weights, {cfg.act_bits}-bit activations, {len(x)} calibration samples)")
    shared = g
    if share_weights is not None:
        say(f"sharing weights: at most {1 << share_weights} non-zero values per layer (k-means), one weight format per layer")
        shared, cfg = shared_graph(g, share_weights), replace(cfg, per_channel=False)
    hw = hardware_pipeline(shared, x, cfg, target_ii, pe_simd, fit, say, sparse)
    if share_weights is not None:
        _mark_shared(hw, share_weights, str(model))
    options = {"bits": cfg.spec, "quantization": "low-bit" if cfg.low_bit else "fixed point",
               "target_ii": target_ii, "fold": _fold_option(pe_simd), **folding_options}
    if cfg.low_bit:
        options["edge_bits"] = cfg.edge_bits
    if share_weights is not None:
        options["share_weights"] = share_weights
    return _write_build(model, out_dir, g, hw, options, say)


def _mark_shared(hw: Graph, bits: int, source: str) -> None:
    """Every layer within 2^bits codes; the builder then gives the units a codebook."""
    check_shared(hw, bits, source)
    hw.meta["share_weights"] = bits


def _fold_option(pe_simd):
    if not pe_simd:
        return None
    if isinstance(pe_simd, dict):
        return {k: list(v) for k, v in sorted(pe_simd.items())}
    return [list(p) for p in pe_simd]


def _write_build(model: Path, out_dir: Path, g: Graph, hw: Graph, options: dict, say: Progress) -> CompileResult:
    say(f"writing {out_dir}")
    with staged_dir(out_dir) as tmp:
        (tmp / "ir").mkdir()
        save_graph(g, tmp / "ir" / "float")
        save_graph(hw, tmp / "ir" / "hw")
        info, report = write_design(hw, tmp, model.name, options, onnx_float_parameters(model), options["device"], g)
        info.write(tmp / "design.json")
        (tmp / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        write_html_report(tmp)
        write_manifest(tmp, {"tool": "hwcomp", "kind": "build", "model": model.name})
    return CompileResult(out_dir, g, hw, report)
