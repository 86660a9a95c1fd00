"""The one folder (hw/folder.py) and builder (hw/builder.py) on lowered graphs:
chains, convolutions and branches alike."""
from __future__ import annotations

import itertools

import pytest
from inline_models import lowered, mlp, residual_cnn

from hwcomp.errors import HwcompError
from hwcomp.hw.builder import build_design
from hwcomp.hw.folder import balanced_folding, explicit_folding, fold_at
from hwcomp.hw.window import DwcParams
from hwcomp.numerics import ceil_div
from hwcomp.passes.fold import fold


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("folding")
    return {"mlp": lowered(mlp(d, [64, 37, 23, 10])), "odd": lowered(mlp(d, [31, 7, 13])),
            "rescnn": lowered(residual_cnn(d))}


def units(graph):
    return [n for n in graph.nodes() if "weight" in n.params]


@pytest.mark.parametrize("name", ["mlp", "odd", "rescnn"])
@pytest.mark.parametrize("target", [8, 50, 300, 2000])
def test_every_stage_meets_the_target_and_ii_is_the_slowest_stage(graphs, name, target):
    g = graphs[name]
    try:
        f = fold_at(g, target)
    except HwcompError as e:
        # every graph here reaches 2000 cycles (a 1-channel 3x3 window on 8x8 needs 576)
        assert target < 2000 and "cannot be met" in str(e)
        return
    design = build_design(fold(g, target))
    assert max(s.cycles for s in design.stages) == f.ii == design.expected_ii <= target


def test_fewest_lanes_for_one_layer(graphs):
    """A lone dense layer: the folder's PE*SIMD is the brute-force minimum meeting each target."""
    g = graphs["odd"]
    first = units(g)[0]
    rows, cols = first.params["weight"].shape
    for target in (1, 3, 7, 20, 100, rows * cols):
        best = min(pe * s for pe, s in itertools.product(range(1, rows + 1), range(1, cols + 1))
                   if ceil_div(rows, pe) * ceil_div(cols, s) <= target)
        knobs = fold_at(g, target).blocks[first.name]
        assert knobs["pe"] * knobs["simd"] <= best * 1.25


@pytest.mark.parametrize("name", ["mlp", "odd", "rescnn"])
def test_default_folding_is_balanced_and_deterministic(graphs, name):
    a, b = balanced_folding(graphs[name]), balanced_folding(graphs[name])
    assert a == b
    assert a.ideal_ii / a.ii >= 0.5


def test_explicit_folding_with_simd_unlike_the_previous_pe(graphs):
    g = graphs["mlp"]
    fold_list = [(5, 7), (3, 4), (2, 5)]   # SIMD never equals the PE before it, and divides nothing
    design = build_design(fold(g, pe_simd=fold_list))
    dwcs = design.units(DwcParams)
    assert [(d.in_lanes, d.out_lanes) for d in dwcs] == [(5, 4), (3, 5)]
    assert design.in_stream.lanes == 7
    by_name = {n.name: p for n, p in zip(units(g), fold_list)}
    assert explicit_folding(g, by_name) == explicit_folding(g, fold_list)


def test_explicit_folding_sets_window_lanes_to_the_unit_simd(graphs):
    g = graphs["rescnn"]
    fold_list = [(p, s) for p, s in zip((2, 5, 3, 1), (1, 4, 3, 5))]
    f = explicit_folding(g, fold_list)
    windows = [n for n in g.nodes() if n.op.name == "SlidingWindow"]
    feeding = {n.name: g.consumers(n.outputs[0])[0].name for n in windows}
    for w, unit in feeding.items():
        if unit in f.blocks and "simd" in f.blocks[unit]:
            assert f.blocks[w]["lanes"] == f.blocks[unit]["simd"]


@pytest.mark.parametrize("bad, message", [
    ([(1, 1)], "gives 1 layers but the model has 3"),
    ([(0, 1), (1, 1), (1, 1)], "PE must be 1..37"),
    ([(1, 65), (1, 1), (1, 1)], "SIMD 1..64"),
    ({"nope": (1, 1)}, "not layers of the model"),
])
def test_explicit_folding_errors(graphs, bad, message):
    with pytest.raises(HwcompError, match=message):
        explicit_folding(graphs["mlp"], bad)


def test_unreachable_target_names_the_block(graphs):
    with pytest.raises(HwcompError, match="target initiation interval 1 cycles cannot be met by"):
        fold_at(graphs["rescnn"], 1)


def _pruned_sparse(g, zeros: float = 0.8, seed: int = 0):
    """`g` with `zeros` of every unit's weights set to zero, every unit sparse."""
    import numpy as np

    from hwcomp.ir.graph import Node
    from hwcomp.passes.sparsify import sparse_eligible, to_sparse

    rng = np.random.default_rng(seed)
    p = g.copy()
    for n in units(p):
        w = np.asarray(n.params["weight"])
        p.replace_node(n.name, Node(n.name, n.op, n.inputs, n.outputs, dict(n.attrs),
                                    dict(n.params, weight=np.where(rng.random(w.shape) < zeros, 0, w))))
    return to_sparse(p, [n.name for n in units(p) if sparse_eligible(n)])


@pytest.mark.parametrize("name", ["mlp", "rescnn"])
@pytest.mark.parametrize("target", [8, 50, 300, 2000])
def test_sparse_units_meet_the_target_on_their_entry_steps(graphs, name, target):
    """The folder sizes sparse units by their entry steps (the plan's cycles), and the
    built design has exactly the planned cycles."""
    g = _pruned_sparse(graphs[name])
    try:
        f = fold_at(g, target)
    except HwcompError as e:
        assert target < 2000 and "cannot be met" in str(e)
        return
    design = build_design(fold(g, target))
    assert max(s.cycles for s in design.stages) == f.ii == design.expected_ii <= target
    sparse = [s for s in design.stages if type(s.unit).__name__ == "SparseLayer"]
    assert sparse and all(s.unit.pe == f.blocks[s.node]["pe"] for s in sparse)


def test_sparse_units_take_fewer_lanes_than_dense_ones(graphs):
    """At 80% zeros the same target needs far fewer multipliers (a sparse unit has one per lane)."""
    g = graphs["mlp"]
    dense = sum(v["pe"] * v["simd"] for v in fold_at(g, 100).blocks.values() if "pe" in v)
    sparse = sum(v["pe"] for v in fold_at(_pruned_sparse(g), 100).blocks.values() if "pe" in v)
    assert sparse < 0.5 * dense
