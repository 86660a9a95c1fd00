"""Fold a design to fit a device, or to reach a frame rate with the least hardware.

Two goals, both read-only analyses over the folder (hw/folder.py) and the
blocks' resource models:
- device budget (`--device D`, `--max-util U`): the fastest folding whose
  estimated LUT, FF, DSP and BRAM all stay within U of the device. Resources
  fall as the target initiation interval T grows, so a bisection over T finds
  the smallest T that fits (a handful of foldings, each estimated in full);
- frame rate (`--target-fps F --clock MHZ`): T = clock / F cycles per image,
  and the folder's fewest lanes meeting T; checked against the device.
A goal that cannot be met is one error naming the resource that is short and
by how much, or the frame rate the fastest folding reaches. The record (what
was tried and why the choice) goes into report.json as `fit`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hwcomp.devices import Device
from hwcomp.errors import HwcompError
from hwcomp.ir.graph import Graph

from .blocks import block_of_unit
from .builder import build_design
from .folder import fastest_target, feasible_folding, slowest_folding
from .folding import Folding

RESOURCES = ("lut", "ff", "dsp", "bram18")
DEFAULT_MAX_UTIL = 0.8

# (graph, folding, goal) -> estimated totals {lut, ff, dsp, bram18} on goal.device
Estimator = Callable[[Graph, Folding, "FitGoal"], dict]


@dataclass(frozen=True)
class FitGoal:
    device: Device
    max_util: float = DEFAULT_MAX_UTIL
    target_fps: float | None = None      # None: the fastest folding that fits
    clock_mhz: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.max_util <= 1:
            raise HwcompError(f"--max-util must be in (0, 1], got {self.max_util:g}")
        if self.target_fps is not None and not self.target_fps > 0:
            raise HwcompError(f"--target-fps must be positive, got {self.target_fps:g}")
        if not self.clock_mhz > 0:
            raise HwcompError(f"--clock must be positive, got {self.clock_mhz:g} MHz")


def design_estimate(graph: Graph, folding: Folding, goal: FitGoal) -> dict:
    """The analytic resource model's totals for the design `folding` gives at the goal's
    clock (built in full: ROM contents decide how wide a ROM synthesizes)."""
    device = goal.device
    design = build_design(graph, folding, clock_mhz=goal.clock_mhz)
    totals = dict.fromkeys(RESOURCES, 0)
    for s in design.stages:
        r = block_of_unit(s.unit).resources(s.unit, device)
        for k in RESOURCES:
            v = getattr(r, k)
            if v is None:
                raise HwcompError(f"no resource model for {s.name} ({type(s.unit).__name__}): cannot fit to "
                                  f"{device.name}")
            totals[k] += v
    return totals


def shortfall(used: dict, goal: FitGoal) -> list[str]:
    """What exceeds the budget, worst first: 'lut: needs 41,200, budget 16,640 (80% of 20,800): 24,560 short'."""
    cap = goal.device.capacity
    over = []
    for r in RESOURCES:
        budget = goal.max_util * cap[r]
        if used[r] > budget:
            ratio = used[r] / budget if budget else math.inf
            over.append((ratio, f"{r}: needs {_n(used[r])}, budget {_n(budget)} ({goal.max_util:.0%} of "
                                f"{_n(cap[r])}): {_n(used[r] - budget)} short"))
    return [text for _, text in sorted(over, key=lambda o: -o[0])]


def fits(used: dict, goal: FitGoal) -> bool:
    return not shortfall(used, goal)


def fit_folding(graph: Graph, goal: FitGoal, estimate: Estimator = design_estimate) -> tuple[Folding, dict]:
    """The folding `goal` asks for and the record of how it was chosen."""
    probes: list[dict] = []

    def probe(target: int) -> tuple[Folding, dict]:
        folding = feasible_folding(graph, target)
        assert folding is not None, target
        used = estimate(graph, folding, goal)
        probes.append({"target_ii": target, "ii": folding.ii, **{r: used[r] for r in RESOURCES},
                       "fits": fits(used, goal)})
        return folding, used

    fastest = fastest_target(graph)
    if goal.target_fps is not None:
        target = math.floor(goal.clock_mhz * 1e6 / goal.target_fps)
        if target < fastest:
            raise HwcompError(f"--target-fps {goal.target_fps:g} needs an initiation interval of at most {target} "
                              f"cycles at {goal.clock_mhz:g} MHz; the fastest folding takes {fastest} cycles per "
                              f"image ({_fps(fastest, goal):,.0f} frames/s)")
        folding, used = probe(target)
        if not fits(used, goal):
            raise HwcompError(f"--target-fps {goal.target_fps:g} at {goal.clock_mhz:g} MHz does not fit "
                              f"{goal.device.name}: " + "; ".join(shortfall(used, goal)))
        why = (f"II {folding.ii} cycles ({_fps(folding.ii, goal):,.0f} frames/s at {goal.clock_mhz:g} MHz) is the "
               f"fewest lanes reaching {goal.target_fps:g} frames/s (II <= {target})")
        return folding, _record(goal, "target_fps", folding, used, probes, why)

    slowest = slowest_folding(graph).ii
    folding, used = probe(fastest)
    if fits(used, goal):
        why = f"the fastest folding (II {folding.ii}) fits {goal.device.name}"
        return folding, _record(goal, "device", folding, used, probes, why)
    small, small_used = probe(slowest)
    if not fits(small_used, goal):
        raise HwcompError(f"the model does not fit {goal.device.name} at {goal.max_util:.0%} utilization even "
                          f"fully folded (II {small.ii} cycles): " + "; ".join(shortfall(small_used, goal)))
    # Invariant: `lo` does not fit, `hi` fits; bisect on a log scale, then to the cycle.
    lo, hi, best = fastest, slowest, (small, small_used)
    while hi - lo > 1:
        mid = max(lo + 1, min(hi - 1, round(math.sqrt(lo * hi)) if hi > 2 * lo else (lo + hi) // 2))
        f, u = probe(mid)
        if fits(u, goal):
            hi, best = mid, (f, u)
        else:
            lo = mid
    folding, used = best
    denied = next(p for p in probes if p["target_ii"] == lo)
    why = (f"II {folding.ii} is the fastest folding within {goal.max_util:.0%} of {goal.device.name}; "
           f"II {denied['ii']} would need " + "; ".join(shortfall(denied, goal)))
    return folding, _record(goal, "device", folding, used, probes, why)


def _record(goal: FitGoal, mode: str, folding: Folding, used: dict, probes: list[dict], why: str) -> dict:
    return {"mode": mode, "device": goal.device.name, "max_util": goal.max_util, "clock_mhz": goal.clock_mhz,
            "target_fps": goal.target_fps, "ii": folding.ii, "fps": round(_fps(folding.ii, goal), 3),
            "estimate": {r: used[r] for r in RESOURCES}, "utilization": goal.device.utilization(used),
            "why": why, "probes": sorted(probes, key=lambda p: p["target_ii"])}


def _fps(ii: int, goal: FitGoal) -> float:
    return goal.clock_mhz * 1e6 / ii


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() or x >= 100 else f"{x:,.1f}"
