"""Human-readable listing of a graph: one row per node, then totals."""
from __future__ import annotations

from .graph import Graph


def summarize(graph: Graph) -> list[dict]:
    rows = []
    for node in graph.nodes():
        rows.append({
            "name": node.name,
            "op": node.op.name,
            "inputs": [str(graph.tensors[t]) if t in graph.tensors else "const" for t in node.inputs if t],
            "outputs": [str(graph.tensors[t]) for t in node.outputs if t],
            "params": node.op.param_count(node, graph),
            "macs": node.op.macs(node, graph),
        })
    return rows


def format_graph(graph: Graph) -> str:
    rows = summarize(graph)
    head = ("node", "op", "output", "params", "MACs")
    table = [head] + [
        (r["name"], r["op"], ", ".join(r["outputs"]), f"{r['params']:,}", f"{r['macs']:,}") for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = [f"graph {graph.name}"]
    lines += [f"  input  {t}: {graph.tensors[t]}" for t in graph.inputs]
    lines += [f"  output {t}: {graph.tensors[t]}" for t in graph.outputs]
    for i, row in enumerate(table):
        lines.append("  " + "  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    total_p = sum(r["params"] for r in rows)
    total_m = sum(r["macs"] for r in rows)
    lines.append(f"  total: {len(rows)} nodes, {total_p:,} params, {total_m:,} MACs")
    return "\n".join(lines)
