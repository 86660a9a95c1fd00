"""hwcomp_sparse_mvu against its golden model (and the dense one): bit exact under
random stalls on both sides, and the measured cycles equal to the cycle model.

One Verilator build per SparseSpec; every seed (a new sparsity pattern) reuses it.
"""
from __future__ import annotations

import numpy as np
import pytest

from cases import mvu_expected_words, random_inputs, stream_case
from cases_sparse import SPARSE_SEEDS, SPARSE_SPECS, SparseSpec, make_sparse, natural_entries, sparse_expected_words
from sim_builds import BUILD_ROOT, TEMPLATES, build, run_case, safe_name

from hwcomp.backends.rom_images import write_image
from hwcomp.backends.verilog import literal
from hwcomp.hw.blocks.sparse import SparseMvuBlock, sparse_parameters
from hwcomp.hw.design import pack_beats
from hwcomp.hw.sparse import check_sparse_layer, sparse_span

VECTORS = 12
# The module's default ROM file names: relative to the simulator's working directory.
DEFAULT_FILES = {"WEIGHT_FILE": "weights.mem", "INDEX_FILE": "index.mem", "MAP_FILE": "map.mem",
                 "BIAS_FILE": "bias.mem", "SHIFT_FILE": "shift.mem"}


@pytest.mark.rtl
@pytest.mark.parametrize("spec", SPARSE_SPECS, ids=lambda s: s.name)
def test_sparse_mvu(spec: SparseSpec) -> None:
    entries = spec.entries or natural_entries(spec, SPARSE_SEEDS)
    name = safe_name(f"sparse_{spec.name}")
    for seed in SPARSE_SEEDS:
        layer, rng = make_sparse(spec, seed, entries)
        check_sparse_layer(layer)
        runner = build(name, [TEMPLATES / "hwcomp_fifo.v", TEMPLATES / "hwcomp_sparse_mvu.v"],
                       "hwcomp_sparse_mvu", {k: literal(v) for k, v in sparse_parameters(layer)})
        case_dir = BUILD_ROOT / name / f"seed{seed}"
        case_dir.mkdir(parents=True, exist_ok=True)
        hdl = SparseMvuBlock.hdl(layer, "unit")
        files = {v.name: DEFAULT_FILES[k] for k, v in hdl.params if k in DEFAULT_FILES}
        for image in SparseMvuBlock.memories(layer, "unit"):
            write_image(case_dir, type(image)(files[image.file], image.fields, image.role))

        x = random_inputs(layer.dense, VECTORS, rng)
        want = sparse_expected_words(layer, x)
        # The golden model is the dense unit's arithmetic, whatever the encoding.
        assert np.array_equal(want, mvu_expected_words(layer.dense, x))
        case = stream_case(pack_beats(x, layer.simd, layer.in_width), want, in_beats=layer.sf,
                           out_beats=layer.nf, ii=layer.cycles, span=sparse_span(layer, VECTORS), seed=seed)
        run_case(runner, "hwcomp_sparse_mvu", case_dir, case)
