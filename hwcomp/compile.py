"""compile_model: ONNX file -> build directory (Verilog, .mem weights, IR, report)."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from hwcomp.backends.netlist import top_module_name as netlist_top_name
from hwcomp.backends.netlist import write_netlist
from hwcomp.backends.verilog import top_module_name, write_verilog
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.hw.chain import hardware_blocks
from hwcomp.hw.dag import hardware_region, has_branches, region_io
from hwcomp.hw.netlist_builder import build_netlist_design
from hwcomp.hw.support import check_hardware_support
from hwcomp.hw.stream_design import build_stream_design
from hwcomp.ir.graph import Graph
from hwcomp.ir.serialize import save_graph
from hwcomp.outdir import staged_dir, write_manifest
from hwcomp.passes.canonicalize import canonicalize
from hwcomp.passes.fold import fold, fold_branches
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.lowbit import lowbit
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.integerize import integerize
from hwcomp.passes.quantize import QuantConfig, quantize
from hwcomp.passes.weight_grid import has_quantizers
from hwcomp.passes.streamline_transposes import to_channels_last
from hwcomp.report.compile_report import compile_report, netlist_report

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
    return x.astype(np.float32)


def float_pipeline(model: Path, input_shape=None) -> Graph:
    return canonicalize(load_onnx(model, input_shape))


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
                      pe_simd: list[tuple[int, int]] | None) -> Graph:
    q = integer_graph(g, calib, cfg)
    lowered = run_to_fixed_point(q, [lower_to_hardware])
    if has_branches(lowered):
        if pe_simd:
            raise HwcompError("--fold sets PE/SIMD for chains of layers; this model has branches: use --ii")
        return fold_branches(lowered, target_ii)
    return fold(lowered, target_ii, pe_simd)


def _stream_info(top: str, files: list[Path], root: Path, hw_input: str, hw_output: str, d, i, o) -> dict:
    """design.json: what the simulator needs to drive the top (i, o: input/output streams)."""
    return {
        "top": top,
        "sources": [str(p.relative_to(root)) for p in files if p.suffix in (".v", ".sv")],
        "hw_input": hw_input, "hw_output": hw_output,
        "in_elems": d.in_elems, "in_pixels": d.in_pixels, "out_pixels": d.out_pixels,
        "in_lanes": i[0], "in_width": i[1], "in_beats": d.in_beats, "s_tdata_width": d.s_tdata_width,
        "out_elems": d.out_elems, "out_lanes": o[0], "out_width": o[1], "out_signed": o[2],
        "out_beats": d.out_beats, "m_tdata_width": d.m_tdata_width,
    }


def _write_chain(hw: Graph, root: Path, model: str, options: dict) -> tuple[dict, dict]:
    design = build_stream_design(hw)
    blocks = hardware_blocks(hw)
    files = write_verilog(design, root / "rtl")
    info = _stream_info(top_module_name(design), files, root, blocks[0].inputs[0], blocks[-1].outputs[0], design,
                        (design.in_lanes, design.in_width), (design.out_lanes, design.out_width, design.out_signed))
    return info, compile_report(hw, design, model, options)


def _write_netlist(hw: Graph, root: Path, model: str, options: dict) -> tuple[dict, dict]:
    design = build_netlist_design(hw)
    hw_in, hw_out = region_io(hw, hardware_region(hw))
    files = write_netlist(design, root / "rtl")
    i, o = design.stream(design.input), design.stream(design.output)
    info = _stream_info(netlist_top_name(design), files, root, hw_in, hw_out, design, (i.lanes, i.width),
                        (o.lanes, o.width, o.signed))
    return info, netlist_report(hw, design, model, options)


def compile_model(model: str | Path, out_dir: str | Path, calib: str | Path | np.ndarray | None = None,
                  bits: str | QuantConfig = "w8a8", target_ii: int | None = None,
                  pe_simd: list[tuple[int, int]] | None = None, input_shape=None,
                  progress: Progress | None = None) -> CompileResult:
    say = progress or (lambda _msg: None)
    model, out_dir = Path(model), Path(out_dir)
    cfg = bits if isinstance(bits, QuantConfig) else QuantConfig.parse(bits)
    say(f"importing {model}")
    g = float_pipeline(model, input_shape)
    if has_quantizers(g):
        say("quantized model: integerizing with its own quantizers (thresholds from its activation functions)")
        hw = hardware_pipeline(g, None, cfg, target_ii, pe_simd)
        options = {"bits": "from the model", "quantization": "the model's own quantizers", "target_ii": target_ii,
                   "fold": [list(p) for p in pe_simd] if pe_simd else None}
        return _write_build(model, out_dir, g, hw, options, say)
    check_hardware_support(to_channels_last(g), str(model))
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
    hw = hardware_pipeline(g, x, cfg, target_ii, pe_simd)
    options = {"bits": cfg.spec, "quantization": "low-bit" if cfg.low_bit else "fixed point",
               "target_ii": target_ii, "fold": [list(p) for p in pe_simd] if pe_simd else None}
    if cfg.low_bit:
        options["edge_bits"] = cfg.edge_bits
    return _write_build(model, out_dir, g, hw, options, say)


def _write_build(model: Path, out_dir: Path, g: Graph, hw: Graph, options: dict, say: Progress) -> CompileResult:
    say(f"writing {out_dir}")
    with staged_dir(out_dir) as tmp:
        (tmp / "ir").mkdir()
        save_graph(g, tmp / "ir" / "float")
        save_graph(hw, tmp / "ir" / "hw")
        write = _write_netlist if has_branches(hw) else _write_chain
        stream, report = write(hw, tmp, model.name, options)
        (tmp / "design.json").write_text(json.dumps(stream, indent=1, sort_keys=True) + "\n")
        (tmp / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        write_manifest(tmp, {"tool": "hwcomp", "kind": "build", "model": model.name})
    return CompileResult(out_dir, g, hw, report)
