"""The pipeline picture of report.html: report.json's `pipeline` (blocks and
the streams between them) drawn left to right in stream order.

Columns are the longest path from the input (networkx's topological order);
each fork's branches run on tracks one below the other. A long chain wraps
onto the next row rather than shrinking every label."""
from __future__ import annotations

import matplotlib
import networkx as nx
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from hwcomp.report.plots import ACCENT, INK, MUTED, STYLE, kind_colors, new_figure, short_kind, to_svg

IN, OUT = "\0s_axis", "\0m_axis"   # the top's ports; no stage name starts with NUL
MAX_COLUMNS = 6
ROW_GAP = 0.45                     # between wrapped rows, in tracks
BOX_W, BOX_H = 0.72, 0.56          # in column / track units
COL_IN, ROW_IN = 1.6, 1.0          # inches per column and per track


def layout(pipeline: dict) -> dict[str, tuple[float, float]]:
    """Stage -> (x, y): x the column within its row, y grows downwards."""
    g = nx.DiGraph()
    g.add_nodes_from([IN] + [n["name"] for n in pipeline["nodes"]] + [OUT])
    for e in pipeline["edges"]:
        g.add_edge(e["from"] or IN, e["to"] or OUT)
    depth: dict[str, int] = {}
    track: dict[str, int] = {}
    taken: set[tuple[int, int]] = set()
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        depth[n] = max((depth[p] + 1 for p in preds), default=0)
        # A branch keeps its track; a fork's k-th output goes k tracks down; a join takes the upper one.
        t = track[preds[0]] + list(g.successors(preds[0])).index(n) if len(preds) == 1 else \
            min((track[p] for p in preds), default=0)
        while (depth[n], t) in taken:
            t += 1
        taken.add((depth[n], t))
        track[n] = t
    starts = _row_starts(g, depth)
    row = {c: max(i for i, s in enumerate(starts) if s <= c) for c in range(max(depth.values()) + 1)}
    top = [0.0]
    for r in range(1, len(starts)):
        top.append(top[-1] + 1 + ROW_GAP + max(track[n] for n in g.nodes if row[depth[n]] == r - 1))
    return {n: (depth[n] - starts[row[depth[n]]], top[row[depth[n]]] + track[n]) for n in g.nodes}


def _row_starts(g: nx.DiGraph, depth: dict[str, int]) -> list[int]:
    """The first column of each row. A row ends after at most MAX_COLUMNS columns, at a
    column one stream alone leaves (never inside a fork's branches); without one the
    row grows until there is."""
    last = max(depth.values())
    single = [sum(depth[u] <= c < depth[v] for u, v in g.edges) == 1 for c in range(last)]
    starts = [0]
    while last - starts[-1] + 1 > MAX_COLUMNS:
        cuts = [c for c in range(starts[-1], last) if single[c]]
        fits = [c for c in cuts if c - starts[-1] + 1 <= MAX_COLUMNS]
        if not cuts:
            break
        starts.append((fits[-1] if fits else cuts[0]) + 1)
    return starts


def pipeline_chart(pipeline: dict, stream: dict, bottleneck: str | None) -> str:
    pos = layout(pipeline)
    per_row = max(x for x, _ in pos.values()) + 1
    ys = [y for _, y in pos.values()]
    with matplotlib.rc_context(STYLE):
        # no layout engine: no axes to fit (about half the drawing time of a big design)
        fig = new_figure(COL_IN * per_row, ROW_IN * (max(ys) - min(ys) + 1.1), layout=None)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(-0.5, per_row - 0.5)
        ax.set_ylim(max(ys) + 0.55, min(ys) - 0.55)
        for e in pipeline["edges"]:
            _edge(ax, pos[e["from"] or IN], pos[e["to"] or OUT], f"{e['lanes']}\u00d7{e['element']}")
        for n in pipeline["nodes"]:
            _block(ax, pos[n["name"]], n, n["name"] == bottleneck)
        _port(ax, pos[IN], "s_axis", f"{stream['s_axis_tdata_bits']} bits")
        _port(ax, pos[OUT], "m_axis", f"{stream['m_axis_tdata_bits']} bits")
        return to_svg(fig)


def _block(ax, xy, node: dict, bottleneck: bool) -> None:
    x, y = xy
    fill, edge = kind_colors(node["kind"])
    ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=fill, edgecolor=ACCENT if bottleneck else edge,
                                linewidth=2.0 if bottleneck else 1.0, zorder=2))
    ax.text(x, y - 0.13, node["name"], ha="center", va="center", fontsize=8.5, fontweight="bold", color=INK, zorder=3)
    ax.text(x, y + 0.03, short_kind(node["kind"]), ha="center", va="center", fontsize=7.5, color=edge, zorder=3)
    ax.text(x, y + 0.17, f"{node['cycles']:,} cycles", ha="center", va="center", fontsize=7.5,
            color=ACCENT if bottleneck else MUTED, zorder=3)


def _port(ax, xy, name: str, width: str) -> None:
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - BOX_W / 2.6, y - BOX_H / 3), BOX_W / 1.3, BOX_H / 1.5,
                                boxstyle="round,pad=0,rounding_size=0.12", facecolor="white", edgecolor=INK,
                                linewidth=1.0, linestyle=(0, (3, 2)), zorder=2))
    ax.text(x, y - 0.05, name, ha="center", va="center", fontsize=8, fontweight="bold", color=INK, zorder=3)
    ax.text(x, y + 0.09, width, ha="center", va="center", fontsize=7, color=MUTED, zorder=3)


def _edge(ax, a, b, label: str) -> None:
    """Right side to left side, turning between columns so it never crosses a block; a
    stream wrapping onto the next row runs down, back to the row's start, and down."""
    (x0, y0), (x1, y1) = a, b
    if x1 > x0 and y0 == y1:
        verts = [(x0 + BOX_W / 2, y0), (x1 - BOX_W / 2, y1)]
        lx, ly = (x0 + x1) / 2, y0 - 0.11
    elif x1 > x0:   # into a branch: turn right after the source; out of one: right before the target
        xm = x0 + 0.5 if y1 > y0 else x1 - 0.5
        verts = [(x0 + BOX_W / 2, y0), (xm, y0), (xm, y1), (x1 - BOX_W / 2, y1)]
        lx, ly = xm, (y0 + y1) / 2
    else:
        mid = y1 - BOX_H / 2 - ROW_GAP / 2 - 0.04
        verts = [(x0, y0 + BOX_H / 2), (x0, mid), (x1, mid), (x1, y1 - BOX_H / 2)]
        lx, ly = (x0 + x1) / 2, mid - 0.09
    ax.add_patch(FancyArrowPatch(path=Path(verts, [Path.MOVETO] + [Path.LINETO] * (len(verts) - 1)),
                                 arrowstyle="-|>", mutation_scale=9, color="#555555", linewidth=1.0, zorder=1))
    ax.text(lx, ly, label, ha="center", va="center", fontsize=6.8, color=MUTED, zorder=3,
            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
