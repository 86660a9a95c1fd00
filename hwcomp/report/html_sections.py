"""The sections of report.html as plain data: every number formatted here, so
the template only substitutes and loops. Each function takes the build's
files as dicts (report.json; sim.json, resources.json or design.json, None
when absent) and returns that section's context, charts included as SVG."""
from __future__ import annotations

from hwcomp.report import plots
from hwcomp.report.html_format import DASH, kv, num, pct, ratio
from hwcomp.report.html_resources import resources_section
from hwcomp.report.pipeline_plot import pipeline_chart

# The compile options a reader looks for first, in this order; any others follow by name.
OPTION_LABELS = {"bits": "bits", "quantization": "quantization", "target_ii": "target II", "device": "device",
                 "clock_mhz": "clock (MHz)", "clock": "clock (MHz)", "max_util": "utilization ceiling",
                 "target_fps": "target images/s", "edge_bits": "first/last layer bits", "fold": "folding given"}


def _option_rows(options: dict) -> list[dict]:
    keys = [k for k in OPTION_LABELS if k in options] + sorted(k for k in options if k not in OPTION_LABELS)
    rows = []
    for key in keys:
        v = options[key]
        if key == "target_ii" and v is None:
            rows.append(kv("target II", "automatic (fastest)"))
        elif v is not None:
            rows.append(kv(OPTION_LABELS.get(key, key.replace("_", " ")),
                           f"{v:g}" if isinstance(v, float) else str(v)))
    return rows


def _clock(report: dict, synth: dict | None) -> tuple[float | None, str]:
    o = report.get("options", {})
    for key in ("clock_mhz", "clock"):
        if isinstance(o.get(key), (int, float)):
            return float(o[key]), "the target clock"
    if synth and isinstance(synth.get("fmax_mhz"), (int, float)):
        return float(synth["fmax_mhz"]), "the placed design's Fmax"
    return None, ""


def summary(report: dict, sim: dict | None, synth: dict | None, design: dict | None) -> dict:
    t, s = report["totals"], report["stream"]
    cards = [{"title": "Initiation interval", "value": f"{num(t['expected_ii_cycles'])} cycles",
              "note": f"ideal {num(t['ideal_ii_cycles'], 1)}, PE utilization {pct(t['expected_pe_utilization'])}"}]
    mhz, source = _clock(report, synth)
    if mhz:
        cards.append({"title": "Throughput", "value": f"{num(mhz * 1e6 / t['expected_ii_cycles'])} images/s",
                      "note": f"at {num(mhz, 1)} MHz ({source})"})
    if sim is not None:
        rtl = sim.get("accuracy_rtl")
        cards.append({"title": "Accuracy (RTL)", "value": "no labels" if rtl is None else pct(rtl),
                      "note": f"float {pct(sim.get('accuracy_float'))}, fixed {pct(sim.get('accuracy_fixed'))}, "
                              f"{num(sim['samples'])} samples"})
        cards.append({"title": "Bit-exact", "value": "yes" if sim["bit_exact"] else "NO",
                      "note": f"{num(sim['mismatches'])} of {num(sim['samples'])} samples differ from the IR executor",
                      "state": "good" if sim["bit_exact"] else "bad"})
    st = report.get("storage")
    if st:
        cards.append({"title": "Storage", "value": f"{num(st['total_bits'] / 8192, 1)} KiB",
                      "note": f"{ratio(st['ratio'])} smaller than float32 ({ratio(st['huffman_ratio'])} "
                              f"Huffman-coded); weights {num(t['weight_bits'])} bits"})
    else:   # a report.json from before the storage section
        cards.append({"title": "Weights", "value": f"{num(t['weight_bits'] / 8192, 1)} KiB",
                      "note": f"{num(t['weight_bits'])} bits"})
    res = report.get("resources")
    if res:
        cards.append({"title": "Resources (estimate)", "value": f"{num(res.get('lut'))} LUT",
                      "note": f"{num(res.get('ff'))} FF, {num(res.get('dsp'))} DSP, "
                              f"{num(res.get('bram18'), 1)} BRAM18"})
    design_rows = [kv("model", report["model"]), kv("top module", report["top"])] + _option_rows(report["options"])
    design_rows += [
        kv("blocks / layers", f"{num(t['blocks'])} / {num(t['layers'])}"),
        kv("MACs per image", num(t["macs"])),
        kv("lanes (PE\u00d7SIMD)", num(t["lanes"])),
        kv("II expected / ideal", f"{num(t['expected_ii_cycles'])} / {num(t['ideal_ii_cycles'], 1)} cycles"),
        kv("PE utilization", pct(t["expected_pe_utilization"])),
        kv("bottleneck block", t["bottleneck"]),
        kv("input stream", f"{s['in_lanes']}\u00d7{s['in_element']} per beat, {num(s['in_beats'])} beats per image "
                           f"(s_axis {s['s_axis_tdata_bits']} bits)"),
        kv("output stream", f"{s['out_lanes']}\u00d7{s['out_element']} per beat, {num(s['out_beats'])} beats per "
                            f"image (m_axis {s['m_axis_tdata_bits']} bits)"),
    ]
    if design is not None:
        design_rows.append(kv("Verilog sources", num(len(design.get("sources", ())))))
    sim_rows = []
    if sim is not None:
        ii = sim.get("ii_cycles")
        sim_rows = [
            kv("simulator", str(sim.get("simulator", DASH))),
            kv("samples", num(sim["samples"])),
            kv("accuracy float / fixed / RTL", " / ".join(pct(sim.get(k)) for k in
                                                          ("accuracy_float", "accuracy_fixed", "accuracy_rtl"))),
            kv("bit-exact", f"{'yes' if sim['bit_exact'] else 'NO'} ({num(sim['mismatches'])} mismatches)"),
            kv("II measured / expected / ideal", f"{num(ii, 1) if ii is not None else 'n/a (one sample)'} / "
                                                 f"{num(sim.get('expected_ii_cycles'))} / "
                                                 f"{num(sim.get('ideal_ii_cycles'), 1)} cycles"),
            kv("latency", f"{num(sim.get('latency_cycles'))} cycles"),
            kv("stall probability", _plain(sim.get("stall_prob"))),
        ]
    for c in cards:
        c["state"] = f" {c['state']}" if "state" in c else ""
    return {"cards": cards, "design": design_rows, "sim": sim_rows}


def _plain(v) -> str:
    return num(v, 3) if v is None or isinstance(v, (int, float)) else str(v)


def _stages(report: dict) -> list[dict]:
    """The stages in stream order; a report.json from before `pipeline` gives its layers and
    blocks (in that order) instead."""
    if "pipeline" in report:
        return report["pipeline"]["nodes"]
    return [{"name": l["module"], "kind": "MvuBlock", "cycles": l["cycles"]} for l in report["layers"]] + \
        [{"name": b["name"], "kind": b["kind"], "cycles": b["cycles"]} for b in report["blocks"]]


def cycles(report: dict, sim: dict | None) -> dict:
    t = report["totals"]
    ideal = {l["module"]: l["ideal_cycles"] for l in report["layers"]}
    stages = [{"label": f"{n['name']} ({plots.short_kind(n['kind'])})", "kind": n["kind"], "cycles": n["cycles"],
               "ideal": ideal.get(n["name"]), "bottleneck": n["name"] == t["bottleneck"]}
              for n in _stages(report)]
    measured = sim.get("ii_cycles") if sim else None
    return {"chart": plots.cycles_chart(stages, t["expected_ii_cycles"], t["ideal_ii_cycles"], measured)}


def resources(report: dict, synth: dict | None) -> dict:
    return resources_section(report, _stages(report), synth)


# The storage table's bit columns: (heading, roles summed).
STORAGE_COLUMNS = (("weights", ("weights",)), ("indices", ("indices",)), ("codebook", ("codebook",)),
                   ("pointers", ("pointers",)), ("bias, thresholds, shifts", ("bias", "thresholds", "shifts")))


def storage(report: dict) -> dict:
    layers = [{"name": l["name"], "dtype": l["weight_dtype"], "bits": l["weight_bits"],
               "float_bits": l["float_weight_bits"],
               "ratio": ratio(l["float_weight_bits"] / l["weight_bits"] if l["weight_bits"] else None)}
              for l in report["layers"]]
    t = report["totals"]
    rows = [[l["name"], l["dtype"], num(l["bits"]), num(l["float_bits"]), l["ratio"]] for l in layers]
    total = ["total", "", num(t["weight_bits"]), num(sum(l["float_bits"] for l in layers)),
             ratio(sum(l["float_bits"] for l in layers) / t["weight_bits"] if t["weight_bits"] else None)]
    return {"rows": rows, "total": total, "chart": plots.storage_chart(layers) if layers else None,
            **_storage_table(report.get("storage"))}


def _storage_table(st: dict | None) -> dict:
    """Deep Compression's table: per stage its density and bits by role, plain and
    Huffman-coded (code tables included), then the totals against float32."""
    if not st:
        return {"columns": [], "table": [], "table_total": [], "totals": []}
    def huff(e, role):
        h = e["huffman"][role]
        return num(h["data_bits"] + h["table_bits"]) if e["bits"][role] else DASH
    table = [[e["name"] or e["module"], pct(e.get("density")) if "density" in e else DASH,
              *(num(sum(e["bits"][r] for r in roles)) for _, roles in STORAGE_COLUMNS),
              num(e["total_bits"]), huff(e, "weights"), huff(e, "indices"), num(e["huffman_total_bits"])]
             for e in st["per_layer"]]
    b = st["bits"]
    table_total = ["total", "", *(num(sum(b[r] for r in roles)) for _, roles in STORAGE_COLUMNS),
                   num(st["total_bits"]), "", "", num(st["huffman_total_bits"])]
    totals = [kv("stored bits", f"{num(st['total_bits'])} ({num(st['total_bits'] / 8192, 1)} KiB)"),
              kv("float32 bits", f"{num(st['float32_bits'])} (32 \u00d7 {num(st['float32_bits'] // 32)} parameters)"),
              kv("smaller than float32", ratio(st["ratio"])),
              kv("Huffman-coded bits", num(st["huffman_total_bits"])),
              kv("Huffman-coded, smaller than float32", ratio(st["huffman_ratio"]))]
    return {"columns": [c for c, _ in STORAGE_COLUMNS], "table": table, "table_total": table_total, "totals": totals}


def folding(report: dict) -> dict:
    rows = [[l["name"], l["module"], f"{l['rows']}\u00d7{l['cols']}", num(l["pe"]), num(l["simd"]), num(l["nf"]),
             num(l["sf"]), num(l["cycles"]), num(l["ideal_cycles"], 1), pct(l["ideal_cycles"] / l["cycles"])]
            for l in report["layers"]]
    f = report.get("folding") or {}
    lanes = [[node, num(k["lanes"])] for node, k in sorted((f.get("blocks") or {}).items()) if "lanes" in k]
    fit = report.get("fit")
    probes = [[num(p["target_ii"]), num(p["ii"]), *(num(p[k], 1) for k in ("lut", "ff", "dsp", "bram18")),
               "yes" if p["fits"] else "no"] for p in (fit or {}).get("probes", [])]
    return {"rows": rows, "lanes": lanes, "input_lanes": num(f.get("input_lanes")),
            "fit_why": fit["why"] if fit else None, "fit_probes": probes}


def pipeline(report: dict) -> dict:
    bottleneck = report["totals"]["bottleneck"]
    p = report.get("pipeline")
    if p is None:
        return {"chart": None, "rows": [], "bottleneck": bottleneck,
                "note": "This report.json has no pipeline section (written by an older hwcomp): compile again "
                        "to see the blocks and streams."}
    rows = [[n["name"], plots.short_kind(n["kind"]), n["summary"], num(n["cycles"])] for n in p["nodes"]]
    return {"chart": pipeline_chart(p, report["stream"], bottleneck), "rows": rows, "bottleneck": bottleneck,
            "note": None}
