"""build/report.html: the build's reports as one self-contained page (CSS and
SVG charts inline, no script, nothing fetched), opened from disk.

Compile writes it beside report.json; simulate (sim.json) and estimate
(resources.json) rewrite it with their results, through `refresh_html_report`,
which also records the new page in the build's manifest."""
from __future__ import annotations

import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from hwcomp.errors import HwcompError
from hwcomp.outdir import update_manifest, write_atomic
from hwcomp.resources import templates_dir

PAGE = "report.html"
TEMPLATE = "report.html.j2"


def _read(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise HwcompError(f"{path}: cannot read as JSON ({e})") from None


def render_report(report: dict, sim: dict | None = None, synth: dict | None = None,
                  design: dict | None = None) -> str:
    """The page from report.json's dict and the optional ones beside it."""
    from hwcomp.report import html_sections as sec   # matplotlib: imported only when a page is drawn

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "report")),
                             undefined=jinja2.StrictUndefined, autoescape=True, keep_trailing_newline=True)
    env.filters["svg"] = Markup   # the charts are our own SVG; everything else is escaped
    return env.get_template(TEMPLATE).render(
        title=f"{report['model']} \u2192 {report['top']}",
        summary=sec.summary(report, sim, synth, design),
        cycles=sec.cycles(report, sim),
        resources=sec.resources(report, synth),
        storage=sec.storage(report),
        folding=sec.folding(report),
        pipeline=sec.pipeline(report),
        simulated=sim is not None,
        sources=_and([name for name, d in (("report.json", report), ("sim.json", sim), ("resources.json", synth),
                                           ("design.json", design)) if d is not None]),
    )


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def write_html_report(build_dir: str | Path) -> Path:
    """Write build_dir/report.html from report.json and whichever of sim.json,
    resources.json and design.json are there."""
    root = Path(build_dir)
    report = _read(root / "report.json")
    if report is None:
        raise HwcompError(f"{root}: no report.json; run `hwcomp compile` first")
    page = render_report(report, _read(root / "sim.json"), _read(root / "resources.json"),
                         _read(root / "design.json"))
    write_atomic(root / PAGE, page)
    return root / PAGE


def refresh_html_report(build_dir: str | Path) -> Path:
    """Rewrite the page of a finished build and keep its manifest's hash of it true."""
    path = write_html_report(build_dir)
    update_manifest(Path(build_dir), [PAGE])
    return path
