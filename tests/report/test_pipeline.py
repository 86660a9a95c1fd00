"""report.json's `pipeline` (the stream graph) and the picture's layout."""
import json
from pathlib import Path

import numpy as np

from hwcomp.hw.builder import build_design
from hwcomp.passes.fold import fold
from hwcomp.report.pipeline import pipeline_section
from hwcomp.report.pipeline_plot import IN, MAX_COLUMNS, OUT, layout
from inline_models import lowered, mlp, residual_cnn


def _design(path: Path):
    return build_design(fold(lowered(path), None, None))


def test_nodes_are_the_stages_and_edges_the_streams(tmp_path):
    d = _design(residual_cnn(tmp_path))
    p = pipeline_section(d)
    assert [n["name"] for n in p["nodes"]] == [s.name for s in d.stages]
    assert [n["cycles"] for n in p["nodes"]] == [s.cycles for s in d.stages]
    # one edge per stage input, plus the output stream; every stream's width as the design has it
    assert len(p["edges"]) == sum(len(s.inputs) for s in d.stages) + 1
    ends = {(e["from"], e["to"]) for e in p["edges"]}
    for s in d.stages:
        for i in s.inputs:
            src = next((t.name for t in d.stages if i in t.outputs), None)
            assert (src, s.name) in ends
            e = next(e for e in p["edges"] if e["stream"] == i and e["to"] == s.name)
            assert (e["lanes"], e["bits"]) == (d.stream(i).lanes, d.stream(i).word_width)
    assert [e["stream"] for e in p["edges"] if e["from"] is None] == [d.input]
    assert [e["stream"] for e in p["edges"] if e["to"] is None] == [d.output]
    kinds = {n["kind"] for n in p["nodes"]}
    assert {"ForkBlock", "AddBlock", "ConcatBlock", "MvuBlock", "WindowBlock"} <= kinds


def test_layout_left_to_right_with_branches_on_their_own_tracks(tmp_path):
    p = pipeline_section(_design(residual_cnn(tmp_path)))
    pos = layout(p)
    assert len(set(pos.values())) == len(pos)                 # no two blocks on one spot
    ys = sorted({y for _, y in pos.values()})
    for e in p["edges"]:
        (x0, y0), (x1, y1) = pos[e["from"] or IN], pos[e["to"] or OUT]
        assert x1 > x0 or y1 > y0                              # forwards, or onto a later row
    forks = [n["name"] for n in p["nodes"] if n["kind"] == "ForkBlock"]
    for f in forks:
        outs = [pos[e["to"]] for e in p["edges"] if e["from"] == f]
        assert len({y for _, y in outs}) == 2                  # the branches side by side
    assert len(ys) > 2


def test_long_chain_wraps_at_a_single_stream(tmp_path):
    p = pipeline_section(_design(mlp(tmp_path, [12, 10, 9, 8, 7, 6, 5, 4])))
    pos = layout(p)
    xs = [x for x, _ in pos.values()]
    assert max(xs) + 1 <= MAX_COLUMNS and len({y for _, y in pos.values()}) > 1
    wraps = [e for e in p["edges"] if pos[e["to"] or OUT][0] <= pos[e["from"] or IN][0]]
    assert wraps and all(pos[e["to"] or OUT][0] == 0 for e in wraps)


def test_report_json_carries_it(rescnn_build):
    rep = json.loads((rescnn_build / "report.json").read_text())
    assert rep["pipeline"]["nodes"][0]["name"] == "swu0" and rep["pipeline"]["edges"][-1]["to"] is None
    assert np.isclose(max(n["cycles"] for n in rep["pipeline"]["nodes"]), rep["totals"]["expected_ii_cycles"])
