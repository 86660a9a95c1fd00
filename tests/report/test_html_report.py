"""report.html: its sections, its numbers, the optional files beside report.json,
its bytes (deterministic, no URL, no script) and its place in the manifest."""
import copy
import hashlib
import json
import re
import subprocess
import sys

import pytest

from hwcomp.devices import device
from hwcomp.errors import HwcompError
from hwcomp.outdir import read_manifest
from hwcomp.report.html_format import ratio
from hwcomp.report.html_report import refresh_html_report, render_report, write_html_report
from report_inputs import estimate, sim_result, synthesized

SECTIONS = ("summary", "cycles", "resources", "storage", "folding", "pipeline")


def section(page: str, name: str) -> str:
    """The text of one <section> of the page."""
    m = re.search(rf'<section id="{name}">(.*?)</section>', page, flags=re.S)
    assert m, name
    return m.group(1)


def test_compile_writes_the_page_and_lists_it_in_the_manifest(rescnn_build):
    page = (rescnn_build / "report.html").read_text(encoding="utf-8")
    for name in SECTIONS:
        assert f'<section id="{name}">' in page
    files = read_manifest(rescnn_build)["files"]
    assert files["report.html"] == hashlib.sha256((rescnn_build / "report.html").read_bytes()).hexdigest()


def test_every_section_from_report_json_alone(report):
    page = render_report(report)
    t = report["totals"]
    assert f"{t['weight_bits']:,} bits" in section(page, "summary")
    assert f"{t['expected_ii_cycles']:,} cycles" in section(page, "summary")
    assert "Not simulated yet" in section(page, "summary")
    # the charts are inline SVG, one each for cycles, storage and the pipeline
    for name in ("cycles", "storage", "pipeline"):
        assert section(page, name).count("<svg") == 1, name
    # every compile now carries the analytic estimate; without it the section says so
    assert "The analytic estimate (report.json), against xc7z020" in section(page, "resources")
    bare = render_report({k: v for k, v in report.items() if k != "resources"})
    assert "No resource estimate in this report" in section(bare, "resources")
    assert "<svg" not in section(bare, "resources")


def test_folding_and_storage_tables_hold_each_layer(report):
    page = render_report(report)
    fold, store = section(page, "folding"), section(page, "storage")
    for l in report["layers"]:
        row = re.search(rf"<tr><td>{re.escape(l['name'])}</td><td>{l['module']}</td>(.*?)</tr>", fold).group(1)
        cells = re.findall(r'<td class="r">([^<]*)</td>', row)
        assert cells[:7] == [f"{l['rows']}\u00d7{l['cols']}", str(l["pe"]), str(l["simd"]), str(l["nf"]),
                             str(l["sf"]), f"{l['cycles']:,}", f"{l['ideal_cycles']:,g}"]
        assert f"{l['weight_bits']:,}" in store and f"{l['float_weight_bits']:,}" in store
    st = report["storage"]
    assert f"{st['total_bits']:,}" in store and f"{st['huffman_total_bits']:,}" in store
    assert ratio(st["ratio"]) in store and ratio(st["huffman_ratio"]) in store
    for e in st["per_layer"]:
        assert re.search(rf"<tr><td>{re.escape(e['name'] or e['module'])}</td>.*?<td class=\"r\">"
                         rf"{e['total_bits']:,}</td>", store), e["module"]


def test_pipeline_table_lists_every_stage_with_its_cycles(report):
    pipe = section(render_report(report), "pipeline")
    for n in report["pipeline"]["nodes"]:
        assert re.search(rf"<tr><td>{n['name']}</td>.*?<td class=\"r\">{n['cycles']:,}</td></tr>", pipe), n["name"]
    # every block is drawn, named in the picture
    svg = pipe[pipe.index("<svg"):pipe.index("</svg>")]
    assert all(f">{n['name']}<" in svg for n in report["pipeline"]["nodes"])


def test_simulation_results_appear(report):
    page = render_report(report, sim_result(report))
    s = section(page, "summary")
    assert "98.0%" in s and "96.0%" in s and "Not simulated yet" not in s
    assert "580 / " in s and "1,234 cycles" in s and "verilator" in s
    assert 'class="card good"' in s
    bad = section(render_report(report, sim_result(report, bit_exact=False, mismatches=3)), "summary")
    assert 'class="card bad"' in bad and "3 mismatches" in bad
    unlabelled = render_report(report, sim_result(report, accuracy_float=None, accuracy_fixed=None,
                                                  accuracy_rtl=None, ii_cycles=None, samples=1))
    assert "no labels" in unlabelled and "n/a (one sample)" in unlabelled


def test_resource_estimate_against_the_device(report):
    rep = copy.deepcopy(report)
    rep["resources"] = estimate(rep)
    res = section(render_report(rep), "resources")
    dev = device("xc7z020")
    r = rep["resources"]
    assert "No resource estimate" not in res
    assert f"{dev.lut:,}" in res and f"{r['lut']:,}" in res
    assert f"{100 * r['lut'] / dev.lut:.1f}%" in res
    assert res.count("<svg") == 2     # the share of the device, and the blocks per resource type
    for name in r["per_block"]:
        assert f"<tr><td>{name}</td>" in res


def test_utilization_fractions_in_the_report_win(report):
    rep = copy.deepcopy(report)
    rep["resources"] = {**estimate(rep, device="not-a-device"), "utilization": {"lut": 0.25}}
    res = section(render_report(rep), "resources")
    assert "25.0%" in res and "not-a-device" in res


def test_synthesized_numbers_beside_the_estimate(report):
    rep = copy.deepcopy(report)
    rep["resources"] = estimate(rep)
    synth = synthesized(rep)
    res = section(render_report(rep, synth=synth), "resources")
    assert f"{synth['lut']:,}" in res and "123.4 MHz (target 100 MHz, timing met)" in res
    assert f"{100 * synth['lut'] / device('xc7z020').lut:.1f}%" in res
    # each block's row: LUT estimate, LUT synthesized, FF estimate, ...
    first = rep["pipeline"]["nodes"][0]["name"]
    row = re.search(rf"<tr><td>{first}</td><td>[^<]*</td>(.*?)</tr>", res).group(1)
    est, syn = rep["resources"]["per_block"][first], synth["per_module"][f"u_{first}"]
    assert re.findall(r'<td class="r">([^<]*)</td>', row)[:4] == [f"{est['lut']:,}", f"{syn['lut']:,}",
                                                                  f"{est['ff']:,}", f"{syn['ff']:,}"]
    # the top's own cells are no stage: listed apart
    assert "Other modules" in res and f"<td>{rep['top']}</td>" in res
    # without the estimate, resources.json alone still fills the section
    alone = section(render_report(report, synth=synth), "resources")
    assert f"{synth['lut']:,}" in alone and "No resource estimate" not in alone


def test_resources_json_utilization_without_a_known_device(report):
    bare = {k: v for k, v in report.items() if k != "resources"}   # no capacity from the estimate either
    synth = synthesized(bare, device="not-a-device", pnr=False)
    res = section(render_report(bare, synth=synth), "resources")
    assert "12.5%" in res and "1250" not in res and "Fmax" not in res


def test_storage_numbers_come_from_the_storage_section(report):
    rep = copy.deepcopy(report)
    rep["storage"].update(total_bits=1000, float32_bits=32000, ratio=32.0, huffman_ratio=40.5)
    page = render_report(rep)
    store = section(page, "storage")
    assert "total bits" in store and "32,000 (32 \u00d7 1,000 parameters)" in store
    assert "32\u00d7" in store and "40.5\u00d7" in store
    assert "32\u00d7 smaller than float32 (40.5\u00d7 Huffman-coded)" in section(page, "summary")
    old = {k: v for k, v in report.items() if k != "storage"}   # a report.json from before it
    assert "Storage report" not in section(render_report(old), "storage")


def test_same_input_same_bytes_in_another_process(build):
    (build / "sim.json").write_text(json.dumps(sim_result(json.loads((build / "report.json").read_text()))))
    first = write_html_report(build).read_bytes()
    assert write_html_report(build).read_bytes() == first
    code = "import sys; from hwcomp.report.html_report import write_html_report; write_html_report(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(build)], check=True)
    assert (build / "report.html").read_bytes() == first


def test_self_contained(report):
    page = render_report(report, sim_result(report))
    assert "http" not in page
    assert "<script" not in page and "<link" not in page and "<img" not in page and "@import" not in page


def test_user_text_is_escaped(report):
    rep = copy.deepcopy(report)
    rep["model"] = "<b>m&</b>.onnx"
    page = render_report(rep)
    assert "<b>m&" not in page and "&lt;b&gt;m&amp;&lt;/b&gt;.onnx" in page


def test_refresh_keeps_the_manifest_true(build):
    rep = json.loads((build / "report.json").read_text())
    (build / "sim.json").write_text(json.dumps(sim_result(rep)))
    before = read_manifest(build)["files"]
    refresh_html_report(build)
    after = read_manifest(build)["files"]
    assert after["report.html"] == hashlib.sha256((build / "report.html").read_bytes()).hexdigest()
    assert after["report.html"] != before["report.html"]
    assert {k: v for k, v in after.items() if k != "report.html"} == \
        {k: v for k, v in before.items() if k != "report.html"}


def test_missing_or_broken_report_is_one_error(tmp_path):
    with pytest.raises(HwcompError, match="no report.json"):
        write_html_report(tmp_path)
    (tmp_path / "report.json").write_text("{")
    with pytest.raises(HwcompError, match="cannot read as JSON"):
        write_html_report(tmp_path)


def test_report_from_before_the_pipeline_section(report):
    """A build compiled by an older hwcomp still gets a page when simulated."""
    rep = copy.deepcopy(report)
    del rep["pipeline"]
    page = render_report(rep, sim_result(rep))
    assert "no pipeline section" in section(page, "pipeline")
    cyc = section(page, "cycles")
    assert cyc.count("<svg") == 1 and all(f">{b['name']} (" in cyc for b in rep["blocks"])


def test_options_named_and_in_order(report):
    rep = copy.deepcopy(report)
    rep["options"] = {**rep["options"], "clock_mhz": 125.0, "device": "xc7z020", "max_util": 0.8, "zz_new": "x"}
    s = section(render_report(rep), "summary")
    labels = re.findall(r"<tr><td>([^<]*)</td><td>", s)
    assert labels.index("bits") < labels.index("device") < labels.index("clock (MHz)") < labels.index("zz new")
    assert "<td>0.8</td>" in s and "<td>125</td>" in s
    t = rep["totals"]
    assert f"{round(125e6 / t['expected_ii_cycles']):,} images/s" in s     # throughput at the target clock
