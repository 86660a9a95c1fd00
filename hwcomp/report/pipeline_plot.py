"""The pipeline picture of report.html: report.json's `pipeline` (blocks and
the streams between them) drawn left to right in stream order.

Columns are the longest path from the input (networkx's topological order),
so parallel branches of a fork stack in one column. A long chain wraps onto
the next row rather than shrinking every label; the wrapping stream is drawn
down and back to the row's start."""
from __future__ import annotations

import matplotlib
import networkx as nx
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from hwcomp.report.plots import ACCENT, INK, MUTED, STYLE, kind_colors, new_figure, short_kind, to_svg

IN, OUT = "\0s_axis", "\0m_axis"   # the top's ports; no stage name starts with NUL
MAX_COLUMNS = 6
BOX_W, BOX_H = 0.74, 0.56          # in column / row units
COL_IN, ROW_IN = 1.55, 1.05        # inches per column and per row


def layout(pipeline: dict) -> tuple[dict[str, tuple[float, float]], int, int]:
    """Stage -> (x, y); the columns per row and the number of rows."""
    g = nx.DiGraph()
    g.add_nodes_from([IN] + [n["name"] for n in pipeline["nodes"]] + [OUT])
    for e in pipeline["edges"]:
        g.add_edge(e["from"] or IN, e["to"] or OUT)
    depth: dict[str, int] = {}
    for n in nx.topological_sort(g):
        depth[n] = max((depth[p] + 1 for p in g.predecessors(n)), default=0)
    columns: dict[int, list[str]] = {}
    for n in g.nodes:          # insertion order: stages in build order
        columns.setdefault(depth[n], []).append(n)
    width = max(columns) + 1
    per_row = min(width, MAX_COLUMNS)
    band = max(len(c) for c in columns.values())
    pos = {}
    for d, names in columns.items():
        for k, n in enumerate(names):
            pos[n] = (d % per_row, (d // per_row) * (band + 0.35) + k - (len(names) - 1) / 2)
    rows = -(-width // per_row)
    return pos, per_row, rows


def pipeline_chart(pipeline: dict, stream: dict, bottleneck: str | None) -> str:
    pos, per_row, rows = layout(pipeline)
    ys = [y for _, y in pos.values()]
    with matplotlib.rc_context(STYLE):
        fig = new_figure(COL_IN * per_row, ROW_IN * (max(ys) - min(ys) + 1))
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_xlim(-0.5, per_row - 0.5)
        ax.set_ylim(max(ys) + 0.55, min(ys) - 0.55)
        for e in pipeline["edges"]:
            _edge(ax, pos[e["from"] or IN], pos[e["to"] or OUT], f"{e['lanes']}x{e['element']}")
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
    (x0, y0), (x1, y1) = a, b
    style = dict(arrowstyle="-|>", mutation_scale=9, color="#555555", linewidth=1.0, zorder=1)
    if x1 > x0:    # same row, or a branch: leave the right side, enter the left side
        ax.add_patch(FancyArrowPatch((x0 + BOX_W / 2, y0), (x1 - BOX_W / 2, y1),
                                     connectionstyle="arc3,rad=0" if y0 == y1 else "angle3,angleA=0,angleB=0",
                                     shrinkA=0, shrinkB=0, **style))
        lx, ly = (x0 + x1) / 2, (y0 + y1) / 2 - 0.12
    else:          # wraps onto the next row: down, back to the row's start, down again
        mid = (y0 + y1) / 2
        verts = [(x0, y0 + BOX_H / 2), (x0, mid), (x1, mid), (x1, y1 - BOX_H / 2)]
        ax.add_patch(FancyArrowPatch(path=Path(verts, [Path.MOVETO] + [Path.LINETO] * 3), **style))
        lx, ly = (x0 + x1) / 2, mid - 0.08
    ax.text(lx, ly, label, ha="center", va="center", fontsize=6.8, color=MUTED, zorder=3,
            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
