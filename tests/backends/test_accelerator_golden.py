"""Golden text of a generated top with a residual add, a fork, a concat, width
converters and windows: the whole netlist the one writer emits for a branchy
design, compared with whitespace normalized (HWCOMP_UPDATE_GOLDEN=1 rewrites it)."""
from __future__ import annotations

import os
from pathlib import Path

from inline_models import lowered, residual_cnn

from hwcomp.backends.verilog import render_top, top_context
from hwcomp.hw.builder import build_design
from hwcomp.passes.fold import fold

GOLDEN = Path(__file__).parent / "golden" / "rescnn.v"


def normalized(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def test_branchy_top_golden(tmp_path) -> None:
    hw = fold(lowered(residual_cnn(tmp_path)), pe_simd=[(3, 1), (2, 4), (5, 3), (2, 5)])
    text = render_top(top_context(build_design(hw)))
    for needle in ("hwcomp_add #(", "hwcomp_fork #(", "hwcomp_concat #(", "hwcomp_dwc #(", "hwcomp_swu #("):
        assert needle in text
    if os.environ.get("HWCOMP_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert normalized(text) == normalized(GOLDEN.read_text()), "rescnn.v differs from its golden copy"
