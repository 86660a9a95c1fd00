"""Compile writes a complete, deterministic build directory and a full report."""
import json
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwcomp import compile_model
from hwcomp.outdir import MANIFEST


def test_same_input_same_output_byte_for_byte(tmp_path, digits_mlp):
    a = compile_model(digits_mlp["onnx"], tmp_path / "a", calib=digits_mlp["calib"]).out_dir
    b = compile_model(digits_mlp["onnx"], tmp_path / "b", calib=digits_mlp["calib"]).out_dir
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_recompile_into_own_build_dir_replaces_it(tmp_path, digits_mlp):
    out = tmp_path / "b"
    compile_model(digits_mlp["onnx"], out, calib=digits_mlp["calib"], target_ii=64)
    (out / "stale.txt").write_text("x")
    compile_model(digits_mlp["onnx"], out, calib=digits_mlp["calib"])
    assert not (out / "stale.txt").exists() and (out / MANIFEST).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_report_has_per_layer_folding_and_totals(tmp_path, digits_mlp):
    res = compile_model(digits_mlp["onnx"], tmp_path / "b", calib=digits_mlp["calib"], pe_simd=[(4, 8), (2, 4)])
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    assert rep == json.loads(json.dumps(res.report))
    l0, l1 = rep["layers"]
    assert (l0["rows"], l0["cols"], l0["pe"], l0["simd"], l0["cycles"]) == (32, 64, 4, 8, 64)
    assert (l1["pe"], l1["simd"], l1["cycles"]) == (2, 4, 40)
    assert l0["weight_bits"] == 32 * 64 * 8
    assert rep["totals"]["expected_ii_cycles"] == 64 and rep["totals"]["macs"] == 2048 + 320


def test_odd_node_names_give_legal_files(tmp_path):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(6, 5)).astype(np.float32), "w/1"),
             numpy_helper.from_array(rng.normal(size=(6,)).astype(np.float32), "b 1")]
    nodes = [helper.make_node("Gemm", ["in put", "w/1", "b 1"], ["h"], name="module", transB=1),
             helper.make_node("Relu", ["h"], ["../../evil"], name="../../evil")]
    g = helper.make_graph(nodes, "wire", [helper.make_tensor_value_info("in put", TensorProto.FLOAT, [1, 5])],
                          [helper.make_tensor_value_info("../../evil", TensorProto.FLOAT, [1, 6])], inits)
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    out = tmp_path / "b"
    compile_model(path, out, calib=rng.normal(size=(20, 5)).astype(np.float32))
    for p in tmp_path.rglob("*"):
        assert out in p.parents or p == out or p == path, p
    top = json.loads((out / "design.json").read_text())["top"]
    assert top.isidentifier() and top != "wire"


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed")
def test_icarus_accepts_generated_verilog(tmp_path, digits_odd_mlp):
    out = tmp_path / "b"
    compile_model(digits_odd_mlp["onnx"], out, calib=digits_odd_mlp["calib"])
    d = json.loads((out / "design.json").read_text())
    p = subprocess.run(["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.vvp"), "-s", d["top"]]
                       + [str(out / s) for s in d["sources"]], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr


def test_clock_target_sets_the_units_register_stages(tmp_path, digits_mlp):
    """--clock: recorded in the report; a faster target adds MVU stages, a slow one none."""
    slow = compile_model(digits_mlp["onnx"], tmp_path / "s", calib=digits_mlp["calib"], clock_mhz=20)
    fast = compile_model(digits_mlp["onnx"], tmp_path / "f", calib=digits_mlp["calib"])
    assert slow.report["options"]["clock_mhz"] == 20.0 and fast.report["options"]["clock_mhz"] == 100.0
    top = {k: next((tmp_path / k / "rtl").glob("hwcomp_main*.v")).read_text() for k in ("s", "f")}
    assert ".OP_REG(0)" in top["s"] and ".PROD_REG(1)" not in top["s"] and ".PROD_REG(2)" not in top["s"]
    # 74 multipliers: more than 64, so a second register at each end of the DSP nets (hw/pipeline.py)
    assert ".OP_REG(2)" in top["f"] and ".PROD_REG(2)" in top["f"]
    # Only latency changes: the II is the same.
    assert slow.report["totals"]["expected_ii_cycles"] == fast.report["totals"]["expected_ii_cycles"]
