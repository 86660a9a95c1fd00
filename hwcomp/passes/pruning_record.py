"""What structured pruning changed, as plain data for report.json's `pruning`:
MACs and parameters of the whole float graph before and after, and per layer
(Conv or Dense) its output channels, MACs and parameters."""
from __future__ import annotations

from hwcomp.ir.graph import Graph
from hwcomp.ops.conv import Conv
from hwcomp.ops.dense import Dense


def _layers(g: Graph) -> dict[str, dict]:
    out = {}
    for n in g.nodes():
        if n.op in (Conv, Dense):
            out[n.name] = {"op": n.op.name, "channels": g.tensors[n.outputs[0]].shape[1],
                           "macs": int(n.op.macs(n, g)), "params": int(n.op.param_count(n, g))}
    return out


def _totals(g: Graph) -> tuple[int, int]:
    nodes = g.nodes()
    return sum(int(n.op.macs(n, g)) for n in nodes), sum(int(n.op.param_count(n, g)) for n in nodes)


def pruning_record(before: Graph, after: Graph, ratio: float | None, scope: str, dead: int, ranked: int) -> dict:
    (m0, p0), (m1, p1) = _totals(before), _totals(after)
    b, a = _layers(before), _layers(after)
    layers = [{"name": name, "op": x["op"],
               "channels_before": x["channels"], "channels_after": a[name]["channels"],
               "macs_before": x["macs"], "macs_after": a[name]["macs"],
               "params_before": x["params"], "params_after": a[name]["params"]}
              for name, x in b.items() if name in a]
    return {
        "ratio": ratio, "scope": scope,
        "dead_channels_removed": dead, "ranked_channels_removed": ranked,
        "macs_before": m0, "macs_after": m1, "params_before": p0, "params_after": p1,
        "macs_ratio": round(m1 / m0, 4) if m0 else None,
        "layers": layers,
    }

