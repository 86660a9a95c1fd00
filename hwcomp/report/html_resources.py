"""report.html's resources section: report.json's `resources` (the analytic
estimate, per stage) beside build/resources.json (`hwcomp estimate`: Yosys'
counts per instance and in total, nextpnr's Fmax), against the device.

The share of the device is computed from the capacity (the report's
`capacity`, else the device database) so both sources agree on it; only
without a capacity are their own `utilization` fractions used."""
from __future__ import annotations

from hwcomp.devices import device as find_device
from hwcomp.errors import HwcompError
from hwcomp.report import plots
from hwcomp.report.html_format import DASH, kv, num, pct

RESOURCES = ("lut", "ff", "dsp", "bram18")
INSTANCE = "u_{}"      # backends/verilog.py's instance name of a stage: resources.json's per_module keys
NO_DATA = ("No resource estimate in this report: report.json has no resources section, and hwcomp estimate "
           "has not written resources.json.")


def _capacity(est: dict | None, synth: dict | None) -> tuple[dict | None, str]:
    name = next((r["device"] for r in (est, synth) if r and isinstance(r.get("device"), str)), "no device")
    for r in (est, synth):
        if r and isinstance(r.get("capacity"), dict):
            return {k: r["capacity"].get(k) for k in RESOURCES}, name
    try:
        dev = find_device(name)
    except HwcompError:
        return None, name
    return dev.capacity, name


def _share(res: dict | None, cap: dict | None, k: str):
    if not res:
        return None
    v = res.get(k)
    if cap and cap.get(k) and isinstance(v, (int, float)):
        return v / cap[k]
    u = (res.get("utilization") or {}).get(k)
    return u if isinstance(u, (int, float)) else None


def _notes(synth: dict | None) -> list[dict]:
    if not synth:
        return []
    rows = []
    if synth.get("fmax_mhz") is not None:
        met = {True: ", timing met", False: ", timing NOT met"}.get(synth.get("timing_met"), "")
        target = f" (target {num(synth['clock_mhz'], 1)} MHz{met})" if synth.get("clock_mhz") else ""
        rows.append(kv("Fmax (nextpnr)", f"{num(synth['fmax_mhz'], 1)} MHz{target}"))
    if synth.get("synth"):
        rows.append(kv("synthesized with", f"yosys {synth['synth']}"))
    if synth.get("shortfall"):
        rows.append(kv("does not fit", "; ".join(map(str, synth["shortfall"]))))
    return rows


def resources_section(report: dict, stages: list[dict], synth: dict | None) -> dict:
    est = report.get("resources") or None
    if est is None and synth is None:
        return {"present": False, "note": NO_DATA}
    cap, dev_name = _capacity(est, synth)
    totals, shares = [], []
    for k in RESOURCES:
        fe, fs = _share(est, cap, k), _share(synth, cap, k)
        totals.append([plots.RESOURCE_LABELS[k], num((est or {}).get(k), 1), num((synth or {}).get(k), 1),
                       num(cap[k], 1) if cap else DASH, pct(fe), pct(fs)])
        if fe is not None or fs is not None:
            shares.append({"label": plots.RESOURCE_LABELS[k], "estimate": fe, "synth": fs})

    est_blocks = (est or {}).get("per_block") or {}
    modules = dict((synth or {}).get("per_module") or {})
    blocks = []
    for st in stages:
        e, s = est_blocks.get(st["name"]), modules.pop(INSTANCE.format(st["name"]), None)
        if e is None and s is None:
            continue
        blocks.append({"name": st["name"], "kind": st["kind"], **{k: (e or {}).get(k) for k in RESOURCES},
                       **{f"synth_{k}": (s or {}).get(k) for k in RESOURCES}, "has_synth": s is not None})
    with_synth = any(b["has_synth"] for b in blocks)
    sub = ["estimate", "Yosys"] if with_synth else ["estimate"]
    rows = [[b["name"], plots.short_kind(b["kind"])]
            + [num(b[f"{p}{k}"], 1) for k in RESOURCES for p in ("", "synth_")[:len(sub)]] for b in blocks]
    drawn = any(b[f"{p}{k}"] for b in blocks for k in RESOURCES for p in ("", "synth_"))
    return {
        "present": True,
        "device": dev_name,
        "sources": " beside ".join(s for s, r in (("The analytic estimate (report.json)", est),
                                                  ("Yosys' synthesized counts (resources.json)", synth)) if r),
        "totals": totals,
        "notes": _notes(synth),
        "utilization_chart": plots.utilization_chart(shares) if shares else None,
        "block_chart": plots.resource_bars(blocks, RESOURCES, with_synth) if drawn else None,
        "block_head": [plots.RESOURCE_LABELS[k] for k in RESOURCES],
        "block_sub": sub,
        "block_rows": rows,
        "other_modules": [[name] + [num(v.get(k), 1) for k in RESOURCES] for name, v in sorted(modules.items())],
        "model": (est or {}).get("model"),
    }
