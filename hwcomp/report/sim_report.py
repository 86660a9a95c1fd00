"""A short text table of a simulation result (sim.json) and its compile report."""
from __future__ import annotations

from hwcomp.report.storage import format_storage


def format_sim_table(sim: dict, report: dict | None = None) -> str:
    def acc(key: str) -> str:
        return "n/a (no labels)" if sim.get(key) is None else f"{sim[key]:.4f}"

    rows = [
        ("samples", f"{sim['samples']}"),
        ("accuracy float", acc("accuracy_float")),
        ("accuracy fixed", acc("accuracy_fixed")),
        ("accuracy RTL", acc("accuracy_rtl")),
        ("mismatches", f"{sim['mismatches']}  ({'bit-exact' if sim['bit_exact'] else 'NOT bit-exact'})"),
        ("latency", f"{sim['latency_cycles']} cycles"),
        ("II measured / ideal", f"{sim['ii_cycles']} / {sim['ideal_ii_cycles']:g} cycles"
         if sim["ii_cycles"] is not None else f"n/a (needs 2+ samples) / {sim['ideal_ii_cycles']:g} cycles"),
        ("PE utilization", "n/a" if sim["pe_utilization"] is None else f"{sim['pe_utilization']:.3f}"),
        ("total", f"{sim['total_cycles']} cycles"),
    ]
    if report is not None:
        t = report["totals"]
        rows += [
            ("lanes (PE*SIMD)", f"{t['lanes']}"),
            ("weight storage", f"{t['weight_bits']:,} bits of weights"
             + (f"; {format_storage(report['storage'])}" if "storage" in report else "")),
        ]
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(w)}  {v}" for k, v in rows)
