"""The sparse matrix-vector unit on single layers with 50, 80, 90 and 95% zeros
(random pattern, seeded): measured cycles per vector against ceil(nnz / lanes),
and, with --synth, Yosys (synth_xilinx) LUTs and memory bits against the dense
unit with as many multipliers.

Each layer is an ONNX Gemm compiled by hwcomp (w8a8, --sparse on, --fold
LANESxSIMD) and simulated in Verilator over random inputs, bit exact against
the executor; "measured" is the simulator's steady-state cycles per vector.
The dense comparison folds the same layer on the same number of multipliers
(PE x SIMD = lanes).

    python benchmarks/sparse_mvu.py [--synth]   # prints a table, writes results/sparse_mvu[_synth].json
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hwcomp import compile_model, simulate_build

RESULTS = Path(__file__).parent / "results" / "sparse_mvu.json"
ZEROS = (0.5, 0.8, 0.9, 0.95)
# (rows, cols, sparse lanes, SIMD, dense PE x SIMD with as many multipliers)
LAYERS = ((256, 256, 16, 16, (4, 4)), (300, 64, 8, 8, (4, 2)))
VECTORS = 16


def gemm_model(path: Path, rows: int, cols: int, zeros: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.2, (rows, cols)).astype(np.float32) * (rng.random((rows, cols)) >= zeros)
    b = rng.normal(0, 0.1, rows).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)
    graph = helper.make_graph([node], "sparse_layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cols])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, rows])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, path)
    return path


def measure(work: Path, rows: int, cols: int, zeros: float, lanes: int, simd: int, sparse: str,
            fold: tuple[int, int], synth: bool = False) -> dict:
    tag = f"{rows}x{cols}_{int(zeros * 100)}_{sparse}"
    model = gemm_model(work / f"{tag}.onnx", rows, cols, zeros, seed=int(zeros * 100) + rows)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (VECTORS, cols)).astype(np.float32)
    out = work / tag
    res = compile_model(model, out, calib=x, sparse=sparse, pe_simd=[fold])
    sim = simulate_build(out, (x, None))
    assert sim["bit_exact"], tag
    layer = res.report["layers"][0]
    row = {"rows": rows, "cols": cols, "zeros": zeros, "unit": sparse, "pe": layer["pe"], "simd": layer["simd"],
           "measured_cycles": sim["ii_cycles"], "expected_cycles": sim["expected_ii_cycles"],
           "weight_bits": layer["weight_bits"]}
    if "sparse" in layer:
        nnz = layer["sparse"]["nonzeros"]
        row.update(nnz=nnz, ideal=math.ceil(nnz / lanes), entries=layer["sparse"]["entries"],
                   idx_width=layer["sparse"]["idx_width"], ratio=round(sim["ii_cycles"] / math.ceil(nnz / lanes), 4))
    if synth:
        row.update(synth_cells(out / "rtl", res.report["top"]))
    return row


def synth_cells(rtl: Path, top: str) -> dict:
    from hwcomp.synth.cells import count_cells
    from hwcomp.synth.yosys import synthesize

    r = synthesize(rtl, top, synth="synth_xilinx -family xc7", out_dir=rtl.parent / "synth")
    c = count_cells({t: n for t, n in r.cells.items() if not t.startswith("$")}, "xc7")
    mem_bits = rom_bits(rtl)
    return {"lut": c.lut, "ff": c.ff, "dsp": c.dsp, "bram18": c.bram18, "rom_bits": mem_bits,
            "synth_s": round(r.seconds, 1)}


def rom_bits(rtl: Path) -> int:
    """Bits of every ROM image the design reads (lines x word width)."""
    total = 0
    for mem in rtl.glob("*.mem"):
        lines = mem.read_text().split()
        total += len(lines) * len(lines[0]) * 4 if lines else 0
    return total


def matching_fold(rows: int, cols: int, simd: int, cycles: int) -> tuple[int, int]:
    """The dense unit's (PE, SIMD) with the fewest PE whose NF * SF reaches `cycles` per vector."""
    sf = math.ceil(cols / simd)
    return math.ceil(rows / max(1, cycles // sf)), simd


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synth", action="store_true", help="also synthesize (Yosys synth_xilinx) each design")
    synth = p.parse_args().synth
    rows_out = []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        for rows, cols, lanes, simd, dense_fold in LAYERS:
            if synth:   # the dense unit on as many multipliers (its cycles do not depend on the zeros)
                rows_out.append(dict(measure(work, rows, cols, ZEROS[0], lanes, simd, "off", dense_fold, True),
                                     compare="same multipliers"))
                print(rows_out[-1], flush=True)
            for zeros in ZEROS:
                r = measure(work, rows, cols, zeros, lanes, simd, "on", (lanes, simd), synth)
                rows_out.append(r)
                print(f"{rows}x{cols} {zeros:.0%} zeros: {lanes} lanes, nnz {r['nnz']}, ceil(nnz/lanes) {r['ideal']}, "
                      f"entries {r['entries']} (IDX_W {r['idx_width']}), measured {r['measured_cycles']} "
                      f"cycles/vector ({r['ratio']:.3f}x), model {r['expected_cycles']}", flush=True)
                if synth:
                    print(r, flush=True)
                    fold = matching_fold(rows, cols, simd, int(r["measured_cycles"]))
                    rows_out.append(dict(measure(work, rows, cols, zeros, lanes, simd, "off", fold, True),
                                         compare="same cycles"))
                    print(rows_out[-1], flush=True)
    RESULTS.with_name("sparse_mvu_synth.json" if synth else RESULTS.name).write_text(json.dumps(rows_out, indent=1) + "\n")


if __name__ == "__main__":
    main()
