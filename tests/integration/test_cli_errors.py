"""User errors end in one line naming the file (and node/op), exit status 2, no traceback."""
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from hwcomp.cli import main


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def save(model, path):
    onnx.save(model, str(path))
    return path


def lstm_model(path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 16])
    w = helper.make_tensor("W", TensorProto.FLOAT, [1, 64, 8], np.zeros(512, np.float32))
    r = helper.make_tensor("R", TensorProto.FLOAT, [1, 64, 16], np.zeros(1024, np.float32))
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="lstm0", hidden_size=16)]
    g = helper.make_graph(nodes, "lstm", [x], [y], [w, r])
    return save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)


def test_not_onnx(tmp_path, capsys):
    bad = tmp_path / "junk.onnx"
    bad.write_bytes(b"\x00\x01 definitely not a protobuf \xff" * 10)
    code, _, err = run_cli(["inspect", bad], capsys)
    assert code == 2 and "junk.onnx" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file(tmp_path, capsys):
    code, _, err = run_cli(["compile", tmp_path / "nope.onnx", "-o", tmp_path / "b"], capsys)
    assert code == 2 and "nope.onnx" in err
    assert not (tmp_path / "b").exists()


def test_unsupported_op_names_node_and_lists_supported(tmp_path, capsys):
    path = lstm_model(tmp_path / "lstm.onnx")
    code, _, err = run_cli(["compile", path, "-o", tmp_path / "b"], capsys)
    assert code == 2
    assert "lstm.onnx" in err and "lstm0" in err and "LSTM" in err and "Gemm" in err
    assert not (tmp_path / "b").exists()


def test_dynamic_non_batch_dimension_needs_input_shape(tmp_path, capsys):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "features"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "features"])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "dyn", [x], [y])
    path = save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), tmp_path / "dyn.onnx")
    code, _, err = run_cli(["inspect", path], capsys)
    assert code == 2 and "dyn.onnx" in err and "--input-shape" in err
    code, out, _ = run_cli(["inspect", path, "--input-shape", "1,16"], capsys)
    assert code == 0 and "float32[1x16]" in out


def test_output_dir_with_unrelated_files_is_refused(tmp_path, capsys, digits_mlp):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    code, _, err = run_cli(["compile", digits_mlp["onnx"], "-o", out, "--calib", digits_mlp["calib"]], capsys)
    assert code == 2 and "taken" in err
    assert (out / "thesis.tex").read_text() == "precious" and len(list(out.iterdir())) == 1


def test_bad_bits_and_bad_calib(tmp_path, capsys, digits_mlp):
    code, _, err = run_cli(["compile", digits_mlp["onnx"], "-o", tmp_path / "b", "--bits", "eight"], capsys)
    assert code == 2 and "--bits" in err
    np.savez(tmp_path / "c.npz", images=np.zeros((3, 64)))
    code, _, err = run_cli(["compile", digits_mlp["onnx"], "-o", tmp_path / "b", "--calib", tmp_path / "c.npz"], capsys)
    assert code == 2 and "c.npz" in err and "'x'" in err


@pytest.mark.parametrize("spec", ["w0a1", "w1a8", "w5"])
def test_bad_low_bit_spec_is_one_line_before_any_work(tmp_path, capsys, digits_mlp, spec):
    code, _, err = run_cli(["compile", digits_mlp["onnx"], "-o", tmp_path / "b", "--bits", spec], capsys)
    assert code == 2 and spec in err and "1..4" in err and "2..16" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_bad_low_bit_spec_exit_status_from_the_console(tmp_path, digits_mlp):
    p = subprocess.run([sys.executable, "-m", "hwcomp", "compile", str(digits_mlp["onnx"]), "-o", str(tmp_path / "b"),
                        "--bits", "w0a1"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr and "w0a1" in p.stderr


def test_console_script_exit_status_without_traceback(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_text("hello")
    p = subprocess.run([sys.executable, "-m", "hwcomp", "inspect", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "x.onnx" in p.stderr


def test_layers_without_hardware_are_all_named_before_any_work(tmp_path, capsys):
    """A Sigmoid and a Tanh inside the network: one message naming both, before calibration."""
    rng = np.random.default_rng(0)
    w = [helper.make_tensor(f"w{i}", TensorProto.FLOAT, [8, 8], rng.normal(size=64).astype(np.float32))
         for i in range(3)]
    nodes = [helper.make_node("Gemm", ["x", "w0"], ["a"], name="fc0"),
             helper.make_node("Tanh", ["a"], ["a2"], name="tanh_1"),
             helper.make_node("Add", ["a2", "x"], ["b"], name="res_add_1"),
             helper.make_node("Gemm", ["b", "w1"], ["c"], name="fc1"),
             helper.make_node("Sigmoid", ["c"], ["d"], name="squash"),
             helper.make_node("Add", ["d", "b"], ["e"], name="res_add_2"),
             helper.make_node("Gemm", ["e", "w2"], ["y"], name="fc2")]
    g = helper.make_graph(nodes, "res", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], w)
    path = save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), tmp_path / "res.onnx")
    code, _, err = run_cli(["compile", path, "-o", tmp_path / "b"], capsys)
    errors = [line for line in err.splitlines() if line.startswith("hwcomp: error")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    for name in ("res.onnx", "tanh_1", "Tanh", "squash", "Sigmoid"):
        assert name in err
    assert "warning" not in err  # failed before the calibration step
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("clock", ["0", "-5", "5000"])
def test_bad_clock_is_one_line(tmp_path, capsys, digits_mlp, clock):
    code, _, err = run_cli(["compile", digits_mlp["onnx"], "-o", tmp_path / "b", "--clock", clock], capsys)
    assert code == 2 and "clock" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()
