"""hwcomp_mvu with bipolar weights and the threshold activation against the
golden model: bit exact under stalls, NF*SF cycles per vector, same latency.

One Verilator build per ModeSpec; every seed reuses it with its own .mem files.
"""
from __future__ import annotations

import numpy as np
import pytest

from cases import stream_case
from cases_mvu_modes import MODE_PIPE_SPECS, MODE_SEEDS, MODE_SPECS, MODE_SPECS_SLOW, ModeSpec, make_mode_layer, random_mode_inputs
from sim_builds import BUILD_ROOT, TEMPLATES, build, run_case, safe_name

from hwcomp.backends.rom_images import bias_lines, threshold_lines, weight_lines, write_lines
from hwcomp.backends.verilog import literal
from hwcomp.hw.blocks.mvu import check_layer, mvu_latency, mvu_parameters
from hwcomp.hw.design import pack_beats
from hwcomp.hw.numerics import accumulate, activate

VECTORS = 24


def run_mode(spec: ModeSpec, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = random_mode_inputs(spec, VECTORS, rng)
    layer = make_mode_layer(spec, rng, x)
    check_layer(layer)
    name = safe_name(f"mvu_modes_{spec.name}")
    runner = build(
        name,
        [TEMPLATES / "hwcomp_fifo.v", TEMPLATES / "hwcomp_mvu_fold.v", TEMPLATES / "hwcomp_add_tree.v", TEMPLATES / "hwcomp_mul.v",
         TEMPLATES / "hwcomp_mvu.v"],
        "hwcomp_mvu",
        {k: literal(v) for k, v in mvu_parameters(layer)},
    )
    case_dir = BUILD_ROOT / name / f"seed{seed}"
    case_dir.mkdir(parents=True, exist_ok=True)
    # Default WEIGHT_FILE / BIAS_FILE / THRESH_FILE: relative to the simulator's working directory.
    write_lines(case_dir / "weights.mem", weight_lines(layer))
    write_lines(case_dir / "bias.mem", bias_lines(layer))
    write_lines(case_dir / "thresh.mem", threshold_lines(layer))

    # Every row's output word, padded rows included (they carry their own codes).
    y = activate(layer, accumulate(layer, x))
    assert len(np.unique(y[:, : layer.rows])) > 1, "the draw should produce more than one code"
    case = stream_case(
        pack_beats(x, layer.simd, layer.in_width),
        pack_beats(y, layer.pe, layer.out_width),
        in_beats=layer.sf,
        out_beats=layer.nf,
        ii=layer.cycles,
        span=VECTORS * layer.cycles - 1 + mvu_latency(layer),
        seed=seed,
    )
    run_case(runner, "hwcomp_mvu", case_dir, case)


@pytest.mark.rtl
@pytest.mark.parametrize("seed", MODE_SEEDS)
@pytest.mark.parametrize("spec", MODE_SPECS, ids=lambda s: s.name)
def test_mvu_modes(spec: ModeSpec, seed: int) -> None:
    run_mode(spec, seed)


@pytest.mark.rtl
@pytest.mark.parametrize("spec", MODE_PIPE_SPECS, ids=lambda s: s.name)
def test_mvu_modes_pipeline(spec: ModeSpec) -> None:
    run_mode(spec, MODE_SEEDS[0])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("seed", MODE_SEEDS)
@pytest.mark.parametrize("spec", MODE_SPECS_SLOW, ids=lambda s: s.name)
def test_mvu_modes_slow(spec: ModeSpec, seed: int) -> None:
    run_mode(spec, seed)
