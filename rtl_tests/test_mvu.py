"""hwcomp_mvu against mvu_reference: bit exact under stalls, and on the cycle model.

One Verilator build per LayerSpec; every seed reuses it with its own .mem files.
"""
from __future__ import annotations

import numpy as np
import pytest

from cases import (MVU_CODEBOOK_SPECS, MVU_PIPE_SPECS, MVU_SEEDS, MVU_SPECS, MVU_SPECS_SLOW, LayerSpec, make_layer,
                   mvu_expected_words, random_inputs, stream_case)
from sim_builds import BUILD_ROOT, TEMPLATES, build, run_case, safe_name

from hwcomp.backends.rom_images import bias_lines, codebook_lines, shift_lines, weight_lines, write_lines
from hwcomp.backends.verilog import literal
from hwcomp.hw.blocks.mvu import check_layer, mvu_latency, mvu_parameters
from hwcomp.hw.design import pack_beats

VECTORS = 24


def run_mvu(spec: LayerSpec, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = make_layer(spec, rng)
    check_layer(layer)
    name = safe_name(f"mvu_{spec.name}")
    runner = build(
        name,
        [TEMPLATES / "hwcomp_fifo.v", TEMPLATES / "hwcomp_mvu_fold.v", TEMPLATES / "hwcomp_add_tree.v", TEMPLATES / "hwcomp_mul.v",
         TEMPLATES / "hwcomp_mvu.v"],
        "hwcomp_mvu",
        {k: literal(v) for k, v in mvu_parameters(layer)},
    )
    case_dir = BUILD_ROOT / name / f"seed{seed}"
    case_dir.mkdir(parents=True, exist_ok=True)
    # Default WEIGHT_FILE / BIAS_FILE / SHIFT_FILE: relative to the simulator's working directory.
    write_lines(case_dir / "weights.mem", weight_lines(layer))
    write_lines(case_dir / "bias.mem", bias_lines(layer))
    if layer.row_shifts is not None:
        write_lines(case_dir / "shift.mem", shift_lines(layer))
    if layer.codebook is not None:
        write_lines(case_dir / "codebook.mem", codebook_lines(layer))

    x = random_inputs(layer, VECTORS, rng)
    case = stream_case(
        pack_beats(x, layer.simd, layer.in_width),
        mvu_expected_words(layer, x),
        in_beats=layer.sf,
        out_beats=layer.nf,
        ii=layer.cycles,
        span=VECTORS * layer.cycles - 1 + mvu_latency(layer),
        seed=seed,
    )
    run_case(runner, "hwcomp_mvu", case_dir, case)


@pytest.mark.rtl
@pytest.mark.parametrize("seed", MVU_SEEDS)
@pytest.mark.parametrize("spec", MVU_SPECS, ids=lambda s: s.name)
def test_mvu(spec: LayerSpec, seed: int) -> None:
    run_mvu(spec, seed)


@pytest.mark.rtl
@pytest.mark.parametrize("spec", MVU_PIPE_SPECS, ids=lambda s: s.name)
def test_mvu_pipeline(spec: LayerSpec) -> None:
    """The register stages of a clock target: still exact, II unchanged, latency as modelled."""
    run_mvu(spec, MVU_SEEDS[0])


@pytest.mark.rtl
@pytest.mark.parametrize("seed", MVU_SEEDS)
@pytest.mark.parametrize("spec", MVU_CODEBOOK_SPECS, ids=lambda s: s.name)
def test_mvu_codebook(spec: LayerSpec, seed: int) -> None:
    """Shared weights: the ROM holds codebook indices; the golden model multiplies codebook[index]."""
    assert make_layer(spec, np.random.default_rng(seed)).codebook_width == spec.codebook_bits
    run_mvu(spec, seed)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("seed", MVU_SEEDS)
@pytest.mark.parametrize("spec", MVU_SPECS_SLOW, ids=lambda s: s.name)
def test_mvu_slow(spec: LayerSpec, seed: int) -> None:
    run_mvu(spec, seed)
