"""The charts of report.html, drawn with matplotlib into inline SVG strings.

Same input, same bytes: the SVG ids come from a fixed hash salt and the file
carries no date. Figures are made with matplotlib.figure.Figure (no pyplot),
so nothing global is touched and no display backend is needed."""
from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

# Fill and edge colour of each block kind, shared by every chart and the pipeline picture.
KIND_COLORS = {
    "MvuBlock": ("#d4e3f5", "#2c62a8"),
    "WindowBlock": ("#d9efdc", "#38844a"),
    "PoolBlock": ("#fbe6cb", "#b5701a"),
    "GlobalPoolBlock": ("#fbe6cb", "#b5701a"),
    "FifoBlock": ("#ececec", "#7d7d7d"),
    "DwcBlock": ("#ece2f4", "#7a4f99"),
    "ForkBlock": ("#f6dddd", "#a84444"),
    "AddBlock": ("#f6dddd", "#a84444"),
    "ConcatBlock": ("#f6dddd", "#a84444"),
    "FlattenBlock": ("#ececec", "#7d7d7d"),
}
OTHER_KIND = ("#ececec", "#7d7d7d")
ACCENT = "#c0392b"      # the bottleneck and the II line
INK = "#2b2b2b"
MUTED = "#6b6b6b"

STYLE = {
    "svg.hashsalt": "hwcomp-report",
    "svg.fonttype": "none",          # real text: small files, selectable, crisp at any zoom
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.edgecolor": "#9a9a9a",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.7,
    "axes.axisbelow": True,
    "xtick.color": MUTED,
    "ytick.color": INK,
    "legend.frameon": False,
    "figure.dpi": 100,
}


def kind_colors(kind: str) -> tuple[str, str]:
    return KIND_COLORS.get(kind, OTHER_KIND)


def short_kind(kind: str) -> str:
    """MvuBlock -> MVU, WindowBlock -> Window: the label a reader wants."""
    base = kind.removesuffix("Block")
    return {"Mvu": "MVU", "Dwc": "Width conv.", "GlobalPool": "Global pool"}.get(base, base)


def to_svg(fig: Figure) -> str:
    """The figure as an <svg> element for an HTML page, scaled by the page's CSS. The XML
    prolog, the RDF metadata and the namespace declarations go: HTML's parser knows svg
    and xlink:href, and the page then names no URL at all."""
    buf = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text[text.index("<svg"):], flags=re.S)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text).strip()


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout=layout)


WIDTH = 10.0   # inches: the page's content width; narrower screens scale the SVG down


def _bar_height(n: int) -> float:
    return 1.1 + 0.27 * n


def _value(ax, x: float, y: float, text: str) -> None:
    """A bar's number just past its end, on white so a line behind it stays readable."""
    ax.annotate(text, (x, y), xytext=(6, 0), textcoords="offset points", va="center", ha="left", fontsize=7.5,
                color=INK, bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none"), zorder=4)


def _thousands(ax) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"))


def _legend(fig: Figure, handles: list) -> None:
    fig.legend(handles=handles, loc="outside upper right", ncols=len(handles), fontsize=7.5)


def cycles_chart(stages: list[dict], ii: float, ideal_ii: float, measured_ii: float | None) -> str:
    """Horizontal bars, one per stage in stream order: its cycles per image, the
    layers' ideal MACs/(PE*SIMD) as a marker, the II as a line."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(WIDTH, _bar_height(len(stages)))
        ax = fig.add_subplot()
        ys = list(range(len(stages)))
        for y, s in zip(ys, stages):
            fill, edge = kind_colors(s["kind"])
            ax.barh(y, s["cycles"], height=0.62, color=fill, edgecolor=ACCENT if s["bottleneck"] else edge,
                    linewidth=1.6 if s["bottleneck"] else 0.8)
            _value(ax, max(s["cycles"], s["ideal"] or 0), y, f"{s['cycles']:,}")
        ideal = [(y, s["ideal"]) for y, s in zip(ys, stages) if s["ideal"] is not None]
        if ideal:
            ax.scatter([v for _, v in ideal], [y for y, _ in ideal], marker="D", s=18, color=INK, zorder=3)
        ax.axvline(ii, color=ACCENT, linestyle="--", linewidth=1.1)
        handles = [Line2D([], [], color=ACCENT, linestyle="--", label=f"expected II {ii:,g}")]
        if ideal_ii != ii:
            ax.axvline(ideal_ii, color=MUTED, linestyle=":", linewidth=1.1)
            handles.append(Line2D([], [], color=MUTED, linestyle=":", label=f"ideal II {ideal_ii:,g}"))
        if measured_ii is not None and measured_ii != ii:
            ax.axvline(measured_ii, color="#1f7a4d", linestyle="-.", linewidth=1.1)
            handles.append(Line2D([], [], color="#1f7a4d", linestyle="-.", label=f"measured II {measured_ii:,g}"))
        if ideal:
            handles.append(Line2D([], [], color=INK, marker="D", linestyle="", markersize=4,
                                  label="ideal MACs/(PE*SIMD)"))
        ax.set_yticks(ys, [s["label"] for s in stages])
        ax.invert_yaxis()
        ax.set_xlabel("cycles per image")
        _thousands(ax)
        ax.set_xlim(0, max([s["cycles"] for s in stages] + [ii, measured_ii or 0]) * 1.12)
        _legend(fig, handles)
        return to_svg(fig)


RESOURCE_LABELS = {"lut": "LUT", "ff": "FF", "dsp": "DSP", "bram18": "BRAM18"}


def resource_bars(blocks: list[dict], kinds: tuple[str, ...], with_synth: bool) -> str:
    """One panel per resource type, the blocks as rows: the estimate, and Yosys' count of the
    block's instance below it when synthesized (None: unknown, not drawn)."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(WIDTH, _bar_height(len(blocks) * (1.6 if with_synth else 1)) + 0.2)
        axes = fig.subplots(1, len(kinds), sharey=True)
        ys = list(range(len(blocks)))
        h = 0.36 if with_synth else 0.62
        for ax, kind in zip(axes, kinds):
            for y, b in zip(ys, blocks):
                fill, edge = kind_colors(b["kind"])
                if b[kind]:       # None: no model for this block; 0: nothing to draw
                    ax.barh(y - (h / 2 if with_synth else 0), b[kind], height=h, color=fill, edgecolor=edge,
                            linewidth=0.8)
                if with_synth and b[f"synth_{kind}"]:
                    ax.barh(y + h / 2, b[f"synth_{kind}"], height=h, color="white", edgecolor=edge,
                            linewidth=0.8, hatch="////")
            ax.set_title(RESOURCE_LABELS[kind], fontsize=9, color=INK)
            ax.tick_params(axis="x", labelsize=7)
            _thousands(ax)
            ax.set_xlim(left=0)
        axes[0].set_yticks(ys, [b["name"] for b in blocks])
        axes[0].invert_yaxis()
        if with_synth:
            _legend(fig, [Patch(facecolor="#d4e3f5", edgecolor="#2c62a8", label="estimate"),
                          Patch(facecolor="white", edgecolor="#2c62a8", hatch="////", label="synthesized")])
        return to_svg(fig)


def utilization_chart(rows: list[dict]) -> str:
    """Each resource's share of the device: the estimate and, when synthesized, Yosys' count."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(WIDTH, 0.9 + 0.42 * len(rows))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))
        has_synth = any(r["synth"] is not None for r in rows)
        h = 0.36 if has_synth else 0.55
        for y, r in zip(ys, rows):
            if r["estimate"] is not None:
                ax.barh(y - (h / 2 if has_synth else 0), 100 * r["estimate"], height=h, color="#d4e3f5",
                        edgecolor="#2c62a8", linewidth=0.8)
                _value(ax, 100 * r["estimate"], y - (h / 2 if has_synth else 0), f"{100 * r['estimate']:.1f}%")
            if r["synth"] is not None:
                ax.barh(y + h / 2, 100 * r["synth"], height=h, color="#d9efdc", edgecolor="#38844a", linewidth=0.8)
                _value(ax, 100 * r["synth"], y + h / 2, f"{100 * r['synth']:.1f}%")
        ax.axvline(100, color=ACCENT, linewidth=1.1)
        top = max([100.0] + [100 * (r[k] or 0) for r in rows for k in ("estimate", "synth")])
        ax.set_xlim(0, top * 1.12)
        ax.set_yticks(ys, [r["label"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel("% of the device")
        handles = [Patch(facecolor="#d4e3f5", edgecolor="#2c62a8", label="estimate")]
        if has_synth:
            handles.append(Patch(facecolor="#d9efdc", edgecolor="#38844a", label="synthesized"))
        handles.append(Line2D([], [], color=ACCENT, label="device capacity"))
        _legend(fig, handles)
        return to_svg(fig)


def storage_chart(layers: list[dict]) -> str:
    """Each layer's weight bits against the same weights in float32."""
    with matplotlib.rc_context(STYLE):
        fig = new_figure(WIDTH, 0.9 + 0.5 * len(layers))
        ax = fig.add_subplot()
        ys = list(range(len(layers)))
        for y, l in zip(ys, layers):
            ax.barh(y - 0.19, l["float_bits"], height=0.36, color="#ececec", edgecolor="#7d7d7d", linewidth=0.8)
            ax.barh(y + 0.19, l["bits"], height=0.36, color="#d4e3f5", edgecolor="#2c62a8", linewidth=0.8)
            _value(ax, l["bits"], y + 0.19, f"{l['ratio']} smaller")
        _thousands(ax)
        ax.set_xlim(0, max(l["float_bits"] for l in layers) * 1.08)
        ax.set_yticks(ys, [l["name"] for l in layers])
        ax.invert_yaxis()
        ax.set_xlabel("weight bits")
        _legend(fig, [Patch(facecolor="#ececec", edgecolor="#7d7d7d", label="float32"),
                      Patch(facecolor="#d4e3f5", edgecolor="#2c62a8", label="in hardware")])
        return to_svg(fig)
