"""Golden model of the XNOR-popcount unit (hwcomp.hw.binary), without Verilator."""
from __future__ import annotations

import numpy as np
import pytest

from hwcomp.backends.rom_images import xnor_threshold_lines, xnor_weight_lines
from hwcomp.hw.binary import (XnorLayer, bn_sign_reference, check_xnor_layer, clamped_thresholds,
                              fold_batchnorm_sign, popcounts, xnor_reference)
from hwcomp.hw.design import ceil_div


def random_layer(rng, rows, cols, pe, simd, popcount_out=False) -> XnorLayer:
    rows_p, cols_p = ceil_div(rows, pe) * pe, ceil_div(cols, simd) * simd
    return XnorLayer("l", rows, cols, pe, simd,
                     weights=rng.integers(0, 2, size=(rows_p, cols_p)).astype(np.uint8),
                     thresholds=rng.integers(-3, cols + 4, size=rows_p), popcount_out=popcount_out)


@pytest.mark.parametrize("shape", [(7, 13, 3, 4), (1, 1, 1, 1), (5, 64, 2, 16), (4, 9, 4, 8)])
def test_popcount_is_bipolar_dot(shape) -> None:
    rng = np.random.default_rng(0)
    layer = random_layer(rng, *shape)
    check_xnor_layer(layer)
    x = rng.integers(0, 2, size=(50, layer.cols_p))            # padded lanes random
    p = popcounts(layer, x)
    w_pm = 2 * layer.weights[:, : layer.cols].astype(np.int64) - 1
    x_pm = 2 * x[:, : layer.cols] - 1
    np.testing.assert_array_equal(2 * p - layer.cols, x_pm @ w_pm.T)
    # Padded columns never count, whatever they hold.
    np.testing.assert_array_equal(p, popcounts(layer, x[:, : layer.cols]))
    x2 = x.copy()
    x2[:, layer.cols:] ^= 1
    np.testing.assert_array_equal(p, popcounts(layer, x2))


def test_reference_outputs() -> None:
    rng = np.random.default_rng(1)
    layer = random_layer(rng, 6, 10, 2, 3)
    x = rng.integers(0, 2, size=(40, layer.cols_p))
    p = popcounts(layer, x)
    y = xnor_reference(layer, x)
    np.testing.assert_array_equal(y, (p >= layer.thresholds).astype(np.int64))
    # Clamping the thresholds to [0, cols+1] changes nothing.
    clamped = XnorLayer(**{**layer.__dict__, "thresholds": clamped_thresholds(layer)})
    np.testing.assert_array_equal(xnor_reference(clamped, x), y)
    # T <= 0: always 1; T > cols: always 0.
    edge = XnorLayer(**{**layer.__dict__, "thresholds": np.array([0, -5, layer.cols + 1, 99, 1, 1])})
    ye = xnor_reference(edge, x)
    assert (ye[:, :2] == 1).all() and (ye[:, 2:4] == 0).all()
    pop = XnorLayer(**{**layer.__dict__, "popcount_out": True})
    np.testing.assert_array_equal(xnor_reference(pop, x), p)
    assert pop.out_width == 4 and layer.out_width == 1 and layer.thresh_width == 4


@pytest.mark.parametrize("seed", range(5))
def test_thresholds_reproduce_bn_sign(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = 12, int(rng.integers(1, 40))
    w = rng.integers(0, 2, size=(rows, cols)).astype(np.uint8)
    gamma = rng.normal(size=rows)
    gamma[0] = 0.0                                             # constant sign(beta)
    beta = rng.normal(size=rows) * 3
    mean = rng.normal(size=rows) * cols / 3
    var = rng.uniform(0.1, 4.0, size=rows)
    x = rng.integers(0, 2, size=(200, cols))
    p = (x[:, None, :] == w[None]).sum(2)
    want = bn_sign_reference(p, cols, gamma, beta, mean, var)

    w2, t = fold_batchnorm_sign(w, cols, gamma, beta, mean, var)
    layer = XnorLayer("bn", rows, cols, 1, 1, weights=w2, thresholds=t)
    np.testing.assert_array_equal(xnor_reference(layer, x), want)
    # And at every possible popcount, not only the sampled ones.
    for r in range(rows):
        q = np.arange(cols + 1)
        orig = q if gamma[r] >= 0 else cols - q
        np.testing.assert_array_equal((q >= t[r]).astype(np.int64),
                                      bn_sign_reference(orig[:, None], cols, gamma[r], beta[r], mean[r], var[r])[:, 0])


def test_rom_layout() -> None:
    # rows 3, cols 5, pe 2, simd 3: NF = 2, SF = 2
    w = np.zeros((4, 6), dtype=np.uint8)
    w[3, 4] = 1                                                # nf 1, p 1, sf 1, s 1 -> line 3, bit 4
    w[0, 2] = 1                                                # nf 0, p 0, sf 0, s 2 -> line 0, bit 2
    layer = XnorLayer("l", 3, 5, 2, 3, weights=w, thresholds=np.array([-1, 2, 7, 6]))
    assert xnor_weight_lines(layer) == ["04", "00", "00", "10"]
    # thresholds clamped to [0, 6], 3 bits each
    assert xnor_threshold_lines(layer) == [f"{2 << 3 | 0:02x}", f"{6 << 3 | 6:02x}"]
