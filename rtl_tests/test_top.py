"""A generated top (13 -> 7 -> 5 -> 3, PE/SIMD dividing nothing) end to end.

Bit exact against chained mvu_reference under random stalls; tlast on the
last beat of every vector; steady-state interval = the slowest layer's cycles.
The .mem files stay in the output directory and are found through MEM_DIR.
"""
from __future__ import annotations

import numpy as np
import pytest

from cases import chain_specs, make_layer, random_inputs, stream_case
from sim_builds import BUILD_ROOT, build, run_case

from hwcomp.backends.verilog import write_verilog
from hwcomp.hw.design import chain_design, pack_beats
from hwcomp.hw.numerics import mvu_reference

VECTORS = 20


@pytest.mark.rtl
def test_generated_top() -> None:
    rng = np.random.default_rng(7)
    layers = tuple(make_layer(spec, rng) for spec in chain_specs())
    design = chain_design("mlp_13_7_5_3", layers, in_elems=layers[0].cols, out_elems=layers[-1].rows)
    out = BUILD_ROOT / "top_mlp_13_7_5_3"
    files = write_verilog(design, out / "rtl")
    sources = [f for f in files if f.suffix == ".v"]
    mem_dir = f'"{(out / "rtl").resolve()}/"'
    runner = build("top_mlp_13_7_5_3", sources, design.name, {"MEM_DIR": mem_dir})

    x = random_inputs(layers[0], VECTORS, rng)
    y = x
    for layer in layers:
        y = mvu_reference(layer, y)
    case = stream_case(
        pack_beats(x, design.in_stream.lanes, design.in_stream.width),
        pack_beats(y, design.out_stream.lanes, design.out_stream.width),
        in_beats=design.in_beats,
        out_beats=design.out_beats,
        ii=max(layer.cycles for layer in layers),
        seed=7,
        check_tlast=True,
    )
    run_case(runner, design.name, out / "run", case)
