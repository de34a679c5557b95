"""The report set's first page: the executive page over the links to every report.

Built after the reports, from what they wrote and from last month's published set
(:mod:`~pipeline_models.analyses.executive.page`); rendered with every value escaped.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from pipeline_models import __version__
from pipeline_models.analyses.executive import page as executive
from pipeline_models.run.render import TEMPLATES

CARD_WARNINGS = 1
"""Warnings shown under a report's headline on the first page; the report lists them all."""


def previous_set(reports: Path, period: str) -> Path | None:
    """The published report set of the month before ``period`` in ``reports``, if any."""
    folder = Path(reports) / str(pd.Period(period, "M") - 1)
    return folder if (folder / "index.html").exists() else None


def executive_page(
    folder: Path, manifest: dict, reports: Path, frame: pd.DataFrame | None, currency: str
) -> executive.ExecutivePage:
    """The executive page of the staged set in ``folder``; its figures go into the manifest."""
    page = executive.build(
        folder, manifest, previous_set(reports, manifest["period"]), frame, currency
    )
    manifest["executive"] = page.figures
    return page


def render_index(manifest: dict, path: Path, page: executive.ExecutivePage | None = None) -> None:
    """Write ``index.html``: the executive page, then each report's headline with its link."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    seen = {item.text for item in page.risks} if page is not None else set()
    reports = []
    for name, r in manifest["reports"].items():
        # a warning is shown once on the page: the first report that has it (or the risks)
        fresh = [w for w in r.get("warnings", []) if w not in seen]
        seen.update(fresh)
        reports.append(
            {
                "title": r.get("title", name),
                "href": f"{name}.html",
                "status": r["status"],
                "headline": r.get("headline", []),
                "warnings": fresh[:CARD_WARNINGS],
                "more_warnings": max(len(fresh) - CARD_WARNINGS, 0),
            }
        )
    body = env.get_template("index.html.j2").render(
        period=manifest["period"],
        export_name=Path(manifest["export"]["file"]).name,
        export_hash=manifest["export"]["sha256"],
        n_opportunities=manifest["validation"]["opportunities"],
        generated=manifest["finished"],
        reports=reports,
        page=asdict(page) if page is not None else None,
        run_notes=manifest.get("run_warnings", []),
        version=__version__,
    )
    path.write_text(body, encoding="utf-8")


__all__ = ["executive_page", "previous_set", "render_index"]
