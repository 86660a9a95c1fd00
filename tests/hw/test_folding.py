import pytest

from hwcomp.errors import HwcompError
from hwcomp.hw.folding import balanced_folding, explicit_folding, fold_chain


def check_chain(f):
    for a, b in zip(f.layers, f.layers[1:]):
        assert b.simd == a.pe


@pytest.mark.parametrize("sizes", [[64, 32, 10], [64, 37, 23, 10], [64, 256, 256, 10], [784, 100, 10], [7, 3]])
def test_balanced_folding_meets_target_with_high_utilization(sizes):
    dims = [(b, a) for a, b in zip(sizes, sizes[1:])]
    f = balanced_folding(dims)
    check_chain(f)
    assert f.ideal_ii / f.ii >= 0.9


@pytest.mark.parametrize("target", [1, 4, 16, 50, 400])
def test_fold_chain_meets_any_reachable_target(target):
    dims = [(37, 64), (23, 37), (10, 23)]
    f = fold_chain(dims, target)
    check_chain(f)
    assert f.ii <= target


def test_fold_chain_minimizes_lanes():
    # 2048 MACs at II 32 need at least 64 lanes for the first layer
    f = fold_chain([(32, 64), (10, 32)], 32)
    assert f.layers[0].lanes == 64 and f.ii == 32


def test_explicit_folding_checks_chain_rule():
    dims = [(32, 64), (10, 32)]
    f = explicit_folding(dims, [(4, 8), (2, 4)], ["a", "b"])
    assert [l.cycles for l in f.layers] == [8 * 8, 5 * 8]
    with pytest.raises(HwcompError, match="must equal the PE"):
        explicit_folding(dims, [(4, 8), (2, 8)], ["a", "b"])
    with pytest.raises(HwcompError, match="PE must be"):
        explicit_folding(dims, [(40, 8), (2, 40)], ["a", "b"])
