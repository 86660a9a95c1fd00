"""The sparse unit's storage format, balancing, golden model and cycle model (hw/sparse.py),
on random sparse matrices: shapes and lanes that divide nothing, 0 to 99% zeros, empty
rows, gaps far beyond the index width, narrow indices, a shift per row."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hwcomp.hw.numerics import accumulate, activate
from hwcomp.hw.sparse import (buffer_columns, check_sparse_layer, decode, row_entry_counts, sparse_layer,
                              sparse_reference)
from hwcomp.numerics import ceil_div


@st.composite
def sparse_dense_layer(draw):
    rows, cols = draw(st.integers(1, 40)), draw(st.integers(1, 70))
    pe, simd = draw(st.integers(1, rows)), draw(st.integers(1, cols))
    zeros = draw(st.sampled_from((0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    w = rng.integers(-8, 8, size=(rows, cols)) * (rng.random((rows, cols)) >= zeros)
    if draw(st.booleans()):
        w[rng.random(rows) < 0.3] = 0                       # empty rows
    relu, requant = draw(st.booleans()), draw(st.booleans())
    kw = dict(pe=pe, simd=simd, in_width=4, in_signed=draw(st.booleans()), weight_width=4, acc_width=14,
              relu=relu, requant=requant)
    if requant:
        kw.update(shift=draw(st.integers(0, 6)), out_width=4, out_signed=True, out_min=-8, out_max=7)
    idx = draw(st.integers(1, 4))
    return (w, rng.integers(-50, 50, size=rows), kw), idx, rng


# dense_layer is a stateless factory: sharing it between examples is fine.
FACTORY_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=150, deadline=None, suppress_health_check=FACTORY_OK)
@given(sparse_dense_layer())
def test_golden_model_equals_dense_numpy(dense_layer, case):
    (w, bias, kw), idx, rng = case
    dense = dense_layer("l", w, bias, **kw)
    layer = sparse_layer(dense, idx)
    check_sparse_layer(layer)
    x = rng.integers(-8 if dense.in_signed else 0, 8 if dense.in_signed else 16, size=(5, dense.cols))
    assert np.array_equal(sparse_reference(layer, x), activate(dense, accumulate(dense, x)))


@settings(max_examples=150, deadline=None, suppress_health_check=FACTORY_OK)
@given(sparse_dense_layer())
def test_format_and_cycle_model(dense_layer, case):
    (w0, bias, kw), idx, _ = case
    dense = dense_layer("l", w0, bias, **kw)
    layer = sparse_layer(dense, idx)
    w = np.asarray(dense.weights)
    assert np.array_equal(decode(layer), w)
    # Only non-zeros and the entries the format needs are stored.
    assert int((layer.values != 0).sum()) == np.count_nonzero(w)
    assert layer.deltas.max(initial=0) < 1 << idx and set(np.unique(layer.lasts)) <= {0, 1}
    assert (layer.lasts.sum(axis=0) == dense.nf).all()
    per_pe = row_entry_counts(w, dense.simd, idx)          # padded rows: empty, one entry
    loads = per_pe[layer.pe_rows].sum(axis=0)
    assert layer.entries == loads.max()
    # One row of every group per lane, heaviest onto the lightest: the lanes differ by at most one row.
    assert loads.max() - loads.min() <= per_pe.max()
    assert layer.entries <= ceil_div(int(per_pe.sum()), dense.pe) + per_pe.max()
    assert layer.cycles == max(layer.entries, dense.sf) and layer.entries >= dense.nf


def test_gap_beyond_the_index_width_takes_padding_entries(dense_layer):
    """Columns 0 and 41 of one row with 2-bit indices (3 zeros per entry at most):
    the 40 zeros between them take 10 padding entries of 4 columns each."""
    w = np.zeros((1, 42), dtype=np.int64)
    w[0, [0, 41]] = (3, -2)
    layer = sparse_layer(dense_layer("l", w, pe=1, simd=1), idx_width=2)
    assert layer.entries == 1 + 10 + 1
    assert layer.values[:, 0].tolist() == [3] + [0] * 10 + [-2]
    assert layer.deltas[:, 0].tolist() == [0] + [3] * 10 + [0]
    assert layer.lasts[:, 0].tolist() == [0] * 11 + [1]


def test_buffer_columns_split_word_and_lane():
    """SIMD 3: lane bits 2, so column 4 (word 1, lane 1) is buffer column 5."""
    assert buffer_columns(7, 3).tolist() == [0, 1, 2, 4, 5, 6, 8]


def test_balancing_evens_random_layers(dense_layer):
    """256x256 at 80% zeros on 16 lanes: within 1% of ceil(nnz / lanes)."""
    rng = np.random.default_rng(0)
    w = rng.integers(-8, 8, size=(256, 256)) * (rng.random((256, 256)) < 0.2)
    layer = sparse_layer(dense_layer("l", w, pe=16, simd=16, acc_width=20))
    assert layer.entries <= 1.01 * ceil_div(np.count_nonzero(w), 16)


def test_row_shifts_follow_their_rows(dense_layer):
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, size=(7, 9)) * (rng.random((7, 9)) < 0.4)
    d = dense_layer("l", w, rng.integers(-30, 30, 7), pe=3, simd=2, acc_width=12, requant=True,
                    out_width=4, out_signed=True, out_min=-8, out_max=7)
    shifts = np.zeros(d.rows_p, dtype=np.int64)
    shifts[:7] = rng.integers(0, 12, 7)
    d = dataclasses.replace(d, row_shifts=shifts)
    layer = sparse_layer(d, 2)
    x = rng.integers(0, 16, size=(6, 9))
    assert np.array_equal(sparse_reference(layer, x), activate(d, accumulate(d, x)))


def test_check_refuses_threshold_units(dense_layer):
    d = dense_layer("l", [[1, 0], [0, 2]], pe=1, simd=1)
    d = dataclasses.replace(d, thresholds=np.zeros((2, 1), dtype=np.int64), relu=False, requant=False)
    with pytest.raises(ValueError, match="no thresholds"):
        check_sparse_layer(sparse_layer(d, 1))
