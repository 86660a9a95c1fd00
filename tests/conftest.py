"""Small MVU layers and designs built inline for backend tests."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# Shared inline models (tests/inline_models.py) import by name from any test directory.
sys.path.insert(0, str(Path(__file__).parent))

from hwcomp.hw.design import Design, MVULayer, ceil_div, chain_design


def make_dense_layer(name: str, weights, bias=None, *, pe: int = 1, simd: int = 1, in_width: int = 4,
                in_signed: bool = False, weight_width: int = 4, acc_width: int = 12, relu: bool = False,
                requant: bool = False, shift: int = 0, out_width: int | None = None,
                out_signed: bool | None = None, out_min: int = 0, out_max: int = 0,
                fifo_depth: int = 2) -> MVULayer:
    """An MVULayer from logical [rows, cols] weights, zero padded to whole folds."""
    w = np.asarray(weights, dtype=np.int64)
    rows, cols = w.shape
    rows_p, cols_p = ceil_div(rows, pe) * pe, ceil_div(cols, simd) * simd
    wp = np.zeros((rows_p, cols_p), dtype=np.int64)
    wp[:rows, :cols] = w
    bp = np.zeros(rows_p, dtype=np.int64)
    if bias is not None:
        bp[:rows] = bias
    if not requant:
        out_width, out_signed = acc_width, True
    return MVULayer(
        name=name, rows=rows, cols=cols, pe=pe, simd=simd, in_width=in_width, in_signed=in_signed,
        weight_width=weight_width, weights=wp, bias=bp, acc_width=acc_width, requant=requant,
        shift=shift, relu=relu, out_width=out_width, out_signed=out_signed, out_min=out_min,
        out_max=out_max, in_fifo_depth=fifo_depth,
    )


def two_layer_design(name: str = "mlp", first: str = "fc1", second: str = "fc2") -> Design:
    """5 -> 3 -> 2: unsigned 4-bit in, requant to unsigned 3-bit, then logits."""
    rng = np.random.default_rng(0)
    l1 = make_dense_layer(first, rng.integers(-8, 8, size=(3, 5)), rng.integers(-20, 20, size=3),
                     pe=2, simd=2, relu=True, requant=True, shift=3, out_width=3, out_signed=False,
                     out_min=0, out_max=7)
    l2 = make_dense_layer(second, rng.integers(-8, 8, size=(2, 3)), rng.integers(-5, 5, size=2),
                     pe=2, simd=2, in_width=3, acc_width=10, fifo_depth=3)
    return chain_design(name, (l1, l2), in_elems=5, out_elems=2)


@pytest.fixture
def dense_layer():
    """Factory: logical weights (and bias) -> padded MVULayer; see make_dense_layer."""
    return make_dense_layer


@pytest.fixture
def design() -> Design:
    return two_layer_design()


@pytest.fixture
def design_factory():
    """Factory: the 5 -> 3 -> 2 design with chosen module and layer names."""
    return two_layer_design
