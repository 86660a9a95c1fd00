"""Folding to a device budget or a frame rate (hw/fit.py), with a stand-in
resource model so the search itself is what is tested: LUTs grow with the
lanes, like every real block's."""
from __future__ import annotations

import dataclasses

import pytest
from inline_models import lowered, mlp, residual_cnn

from hwcomp.devices import device
from hwcomp.errors import HwcompError
from hwcomp.hw.fit import FitGoal, fit_folding
from hwcomp.hw.folder import fastest_target, feasible_folding, fold_at


def lanes_model(graph, folding, goal):
    lanes = sum(k.get("pe", 1) * k.get("simd", k.get("lanes", 1)) for k in folding.blocks.values())
    return {"lut": 400 + 90 * lanes, "ff": 300 + 40 * lanes, "dsp": 0, "bram18": 1}


def small_device(lut):
    return dataclasses.replace(device("xc7a35t"), name=f"test{lut}", lut=lut, ff=2 * lut)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("fit")
    return {"mlp": lowered(mlp(d, [64, 37, 23, 10])), "rescnn": lowered(residual_cnn(d))}


@pytest.mark.parametrize("name", ["mlp", "rescnn"])
@pytest.mark.parametrize("lut", [3_000, 8_000, 20_000])
def test_device_fit_is_the_fastest_folding_within_the_budget(graphs, name, lut):
    g, goal = graphs[name], FitGoal(small_device(lut), max_util=0.8)
    folding, rec = fit_folding(g, goal, lanes_model)
    assert lanes_model(g, folding, goal)["lut"] <= 0.8 * lut
    assert rec["estimate"]["lut"] <= 0.8 * lut and rec["ii"] == folding.ii
    # One cycle faster either cannot be folded or does not fit.
    faster = feasible_folding(g, folding.ii - 1)
    assert faster is None or lanes_model(g, faster, goal)["lut"] > 0.8 * lut


def test_a_device_with_room_gets_the_fastest_folding(graphs):
    g = graphs["mlp"]
    folding, rec = fit_folding(g, FitGoal(small_device(10**9)), lanes_model)
    assert folding.ii == fastest_target(g) and "fastest folding" in rec["why"]


def test_a_model_too_big_for_the_device_names_the_resource_and_the_shortfall(graphs):
    with pytest.raises(HwcompError, match=r"does not fit test500 at 80% .*lut: needs [\d,]+, budget 400 .*short"):
        fit_folding(graphs["mlp"], FitGoal(small_device(500)), lanes_model)


def test_target_fps_takes_the_fewest_lanes_meeting_it(graphs):
    g = graphs["rescnn"]
    goal = FitGoal(small_device(10**6), target_fps=100_000, clock_mhz=100)   # 1000 cycles per image
    folding, rec = fit_folding(g, goal, lanes_model)
    assert folding == fold_at(g, 1000) and folding.ii <= 1000 and rec["mode"] == "target_fps"


def test_device_and_target_fps_pick_different_foldings_and_say_why(graphs):
    g = graphs["mlp"]
    by_device, why_device = fit_folding(g, FitGoal(small_device(20_000)), lanes_model)
    by_rate, why_rate = fit_folding(g, FitGoal(small_device(20_000), target_fps=200_000, clock_mhz=100), lanes_model)
    assert by_device.ii < by_rate.ii
    assert "fastest folding within 80%" in why_device["why"] and "fewest lanes reaching" in why_rate["why"]


def test_a_frame_rate_beyond_the_fastest_folding_is_refused(graphs):
    g = graphs["mlp"]
    with pytest.raises(HwcompError, match=r"fastest folding takes \d+ cycles"):
        fit_folding(g, FitGoal(small_device(10**6), target_fps=1e9, clock_mhz=100), lanes_model)


def test_a_frame_rate_that_does_not_fit_names_the_resource(graphs):
    with pytest.raises(HwcompError, match=r"does not fit test2000: lut: needs"):
        fit_folding(graphs["mlp"], FitGoal(small_device(2_000), target_fps=1e6, clock_mhz=200), lanes_model)


@pytest.mark.parametrize("kw", [{"max_util": 0}, {"max_util": 1.5}, {"target_fps": -1}, {"clock_mhz": 0}])
def test_bad_goals_are_refused(kw):
    with pytest.raises(HwcompError):
        FitGoal(small_device(1000), **kw)
