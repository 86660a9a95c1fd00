"""compile_model: ONNX file -> build directory (Verilog, .mem weights, IR, report)."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from hwcomp.backends.verilog import top_module_name, write_verilog
from hwcomp.errors import HwcompError
from hwcomp.frontend.onnx import load_onnx
from hwcomp.hw.chain import hardware_blocks
from hwcomp.hw.support import check_hardware_support
from hwcomp.hw.stream_design import build_stream_design
from hwcomp.ir.graph import Graph
from hwcomp.ir.serialize import save_graph
from hwcomp.outdir import staged_dir, write_manifest
from hwcomp.passes.canonicalize import canonicalize
from hwcomp.passes.fold import fold
from hwcomp.passes.lower import lower_to_hardware
from hwcomp.passes.base import run_to_fixed_point
from hwcomp.passes.quantize import QuantConfig, quantize
from hwcomp.passes.streamline_transposes import to_channels_last
from hwcomp.report.compile_report import compile_report

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


def hardware_pipeline(g: Graph, calib: np.ndarray, cfg: QuantConfig, target_ii: int | None,
                      pe_simd: list[tuple[int, int]] | None) -> Graph:
    q = quantize(to_channels_last(g), {g.inputs[0]: calib}, cfg)
    lowered = run_to_fixed_point(q, [lower_to_hardware])
    return fold(lowered, target_ii, pe_simd)


def compile_model(model: str | Path, out_dir: str | Path, calib: str | Path | np.ndarray | None = None,
                  bits: str | QuantConfig = "w8a8", target_ii: int | None = None,
                  pe_simd: list[tuple[int, int]] | None = None, input_shape=None,
                  progress: Progress | None = None) -> CompileResult:
    say = progress or (lambda _msg: None)
    model, out_dir = Path(model), Path(out_dir)
    cfg = bits if isinstance(bits, QuantConfig) else QuantConfig.parse(bits)
    say(f"importing {model}")
    g = float_pipeline(model, input_shape)
    check_hardware_support(to_channels_last(g), str(model))
    if calib is None:
        warnings.warn("no calibration data (--calib): activation ranges come from random normal inputs; "
                      "accuracy may suffer", stacklevel=2)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((256,) + g.tensors[g.inputs[0]].shape[1:]).astype(np.float32)
    elif isinstance(calib, np.ndarray):
        x = shape_batch(g, calib, "calibration data")
    else:
        x = shape_batch(g, load_npz(Path(calib))[0], str(calib))
    say(f"quantizing ({cfg.weight_bits}-bit weights, {cfg.act_bits}-bit activations, {len(x)} calibration samples)")
    hw = hardware_pipeline(g, x, cfg, target_ii, pe_simd)
    design = build_stream_design(hw)
    blocks = hardware_blocks(hw)
    options = {"bits": f"w{cfg.weight_bits}a{cfg.act_bits}", "target_ii": target_ii,
               "fold": [list(p) for p in pe_simd] if pe_simd else None}
    report = compile_report(hw, design, model.name, options)
    say(f"writing {out_dir}")
    with staged_dir(out_dir) as tmp:
        (tmp / "ir").mkdir()
        save_graph(g, tmp / "ir" / "float")
        save_graph(hw, tmp / "ir" / "hw")
        files = write_verilog(design, tmp / "rtl")
        stream = {
            "top": top_module_name(design),
            "sources": sorted(str(p.relative_to(tmp)) for p in files if p.suffix in (".v", ".sv")),
            "hw_input": blocks[0].inputs[0], "hw_output": blocks[-1].outputs[0],
            "in_elems": design.in_elems, "in_pixels": design.in_pixels, "out_pixels": design.out_pixels,
            "in_lanes": design.in_lanes, "in_width": design.in_width,
            "in_beats": design.in_beats, "s_tdata_width": design.s_tdata_width,
            "out_elems": design.out_elems, "out_lanes": design.out_lanes, "out_width": design.out_width,
            "out_signed": design.out_signed, "out_beats": design.out_beats, "m_tdata_width": design.m_tdata_width,
        }
        (tmp / "design.json").write_text(json.dumps(stream, indent=1, sort_keys=True) + "\n")
        (tmp / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        write_manifest(tmp, {"tool": "hwcomp", "kind": "build", "model": model.name})
    return CompileResult(out_dir, g, hw, report)
