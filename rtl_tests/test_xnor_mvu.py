"""hwcomp_xnor_mvu against xnor_reference: bit exact under stalls, and on the cycle model.

One Verilator build per XnorSpec; every seed reuses it with its own .mem files.
"""
from __future__ import annotations

import numpy as np
import pytest

from cases import stream_case
from cases_xnor import XNOR_PIPE_SPECS, XNOR_SEEDS, XNOR_SPECS, XNOR_SPECS_SLOW, XnorSpec, make_xnor_layer, random_bits
from sim_builds import BUILD_ROOT, TEMPLATES, build, run_case, safe_name

from hwcomp.backends.rom_images import write_lines, xnor_threshold_lines, xnor_weight_lines
from hwcomp.backends.verilog import literal
from hwcomp.hw.binary import xnor_parameters, xnor_reference
from hwcomp.hw.design import pack_beats

VECTORS = 24


def run_xnor(spec: XnorSpec, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = make_xnor_layer(spec, rng)
    name = safe_name(f"xnor_mvu_{spec.name}")
    runner = build(
        name,
        [TEMPLATES / "hwcomp_fifo.v", TEMPLATES / "hwcomp_mvu_fold.v", TEMPLATES / "hwcomp_xnor_mvu.v"],
        "hwcomp_xnor_mvu",
        {k: literal(v) for k, v in xnor_parameters(layer)},
    )
    case_dir = BUILD_ROOT / name / f"seed{seed}"
    case_dir.mkdir(parents=True, exist_ok=True)
    # Default WEIGHT_FILE / THRESH_FILE: relative to the simulator's working directory.
    write_lines(case_dir / "weights.mem", xnor_weight_lines(layer))
    if not layer.popcount_out:
        write_lines(case_dir / "thresh.mem", xnor_threshold_lines(layer))

    x = random_bits(layer, VECTORS, rng)   # padded lanes carry random bits
    y = xnor_reference(layer, x)
    case = stream_case(
        pack_beats(x, layer.simd, 1),
        pack_beats(y, layer.pe, layer.out_width),
        in_beats=layer.sf,
        out_beats=layer.nf,
        ii=layer.cycles,
        span=VECTORS * layer.cycles - 1 + layer.latency,
        seed=seed,
    )
    run_case(runner, "hwcomp_xnor_mvu", case_dir, case)


@pytest.mark.rtl
@pytest.mark.parametrize("seed", XNOR_SEEDS)
@pytest.mark.parametrize("spec", XNOR_SPECS, ids=lambda s: s.name)
def test_xnor_mvu(spec: XnorSpec, seed: int) -> None:
    run_xnor(spec, seed)


@pytest.mark.rtl
@pytest.mark.parametrize("spec", XNOR_PIPE_SPECS, ids=lambda s: s.name)
def test_xnor_mvu_pipeline(spec: XnorSpec) -> None:
    run_xnor(spec, XNOR_SEEDS[0])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("seed", XNOR_SEEDS)
@pytest.mark.parametrize("spec", XNOR_SPECS_SLOW, ids=lambda s: s.name)
def test_xnor_mvu_slow(spec: XnorSpec, seed: int) -> None:
    run_xnor(spec, seed)
