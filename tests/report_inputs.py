"""Hand-made sim.json and report.json `resources` dicts for the report.html tests
(tests/report/): the keys the simulator and the resource model write."""


def sim_result(report, **changes) -> dict:
    """A sim.json as simulate_build writes it (its keys), for pages without Verilator."""
    t = report["totals"]
    sim = {"samples": 50, "mismatches": 0, "first_mismatches": [], "bit_exact": True, "accuracy_float": 0.98,
           "accuracy_fixed": 0.96, "accuracy_rtl": 0.96, "latency_cycles": 1234, "ii_cycles": 580.0,
           "ideal_ii_cycles": t["ideal_ii_cycles"], "expected_ii_cycles": t["expected_ii_cycles"],
           "pe_utilization": 0.99, "total_cycles": 30000, "stall_prob": 0.1, "seed": 1, "simulator": "verilator"}
    sim.update(changes)
    return sim


def estimate(report, device="xc7z020") -> dict:
    """report.json's `resources` (the resource model's keys): made-up numbers per stage."""
    per_block = {n["name"]: {"lut": 100 + 10 * i, "ff": 50 + 7 * i, "dsp": 2 if n["kind"] == "MvuBlock" else 0,
                             "bram18": 1 if n["kind"] == "MvuBlock" else 0}
                 for i, n in enumerate(report["pipeline"]["nodes"])}
    total = {k: sum(b[k] for b in per_block.values()) for k in ("lut", "ff", "dsp", "bram18")}
    return {**total, "device": device, "per_block": per_block}
