"""Hand-made sim.json and report.json `resources` dicts for the report.html tests
(tests/report/): the keys the simulator and the resource model write."""
from hwcomp.devices import device as find_device
from hwcomp.errors import HwcompError


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
    res = {**total, "device": device, "model": "made up for the tests", "per_block": per_block}
    try:
        dev = find_device(device)
    except HwcompError:
        return res
    capacity = {k: getattr(dev, k) for k in total}
    return {**res, "capacity": capacity, "utilization": {k: round(total[k] / capacity[k], 4) for k in total}}


def synthesized(report, device="xc7z020", pnr=True) -> dict:
    """A resources.json as `hwcomp estimate` writes it: per instance u_<stage>, the top's own
    cells under its name, utilization as fractions, nextpnr's Fmax with --pnr."""
    per_module = {f"u_{n['name']}": {"lut": 90 + 11 * i, "ff": 40 + 5 * i, "dsp": 0, "bram18": 0}
                  for i, n in enumerate(report["pipeline"]["nodes"])}
    per_module[report["top"]] = {"lut": 7, "ff": 0, "dsp": 0, "bram18": 0}
    total = {k: sum(m[k] for m in per_module.values()) for k in ("lut", "ff", "dsp", "bram18")}
    res = {**total, "device": device, "top": report["top"], "synth": "synth_xilinx", "flow": "xc7",
           "per_module": per_module, "utilization": {"lut": 0.125, "ff": 0.01, "dsp": 0.0, "bram18": 0.0},
           "shortfall": []}
    if pnr:
        res.update(fmax_mhz=123.4, clock_mhz=100.0, timing_met=True)
    return res
