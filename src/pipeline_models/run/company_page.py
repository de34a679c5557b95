"""The company page of a run-many (``<out>/company/<period>/index.html``): the company's forecast,
how the units are taken to move together, the roll-up's track record, and every unit's status
and headline with a link to its own set. Every value is escaped; sampler words stay in the
appendix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline_models import __version__
from pipeline_models.analyses.forecast.honesty import MODEL_NAMES
from pipeline_models.analyses.forecast.tables import span_text, value_text
from pipeline_models.analyses.policy import FORECAST_INTERVAL
from pipeline_models.analyses.rollup.combine import ROLLUP_FORMULA
from pipeline_models.present.formats import format_pct
from pipeline_models.run.render import TEMPLATES

INTERVAL = f"{round(100 * FORECAST_INTERVAL)}% interval"
TRACK_MODELS = ("workbench", "run_rate", "cure_weighted_pipeline", "weighted_pipeline")
"""The track record's lines on the page: the roll-up, then the baselines summed over units."""


def render_company(path: Path, manifest: dict, rows: list[dict], rollup) -> None:
    """Write the company page."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    counts = {s: sum(r["status"].startswith(s) for r in rows) for s in ("published", "skipped")}
    failed = [r for r in rows if r["status"].startswith("failed")]
    body = env.get_template("company.html.j2").render(
        period=manifest["period"],
        generated=manifest["finished"],
        total=len(rows),
        published=counts["published"],
        skipped=counts["skipped"],
        failed=failed,
        units=[_unit_line(r, manifest["period"]) for r in rows],
        forecast=forecast_lines(rollup) if rollup is not None else [],
        windows=window_rows(rollup) if rollup is not None else [],
        together=together_sentences(rollup) if rollup is not None else [],
        track=track_rows(rollup) if rollup is not None else [],
        track_note=_track_note(rollup),
        missing=[r["unit"] for r in rows if not r["in_total"]],
        appendix=_appendix(manifest, rows, rollup),
        interval=INTERVAL,
        version=__version__,
    )
    path.write_text(body, encoding="utf-8")


def _unit_line(row: dict, period: str) -> dict:
    status = {
        "published": "published this run",
        "skipped": "unchanged, earlier set kept",
        "failed, earlier set kept": "failed this run; its earlier set is added up",
        "failed": "failed this run; no set",
    }[row["status"]]
    return {
        **row,
        "href": f"../../{row['unit']}/{period}/index.html" if row["in_total"] else "",
        "status_text": status,
        "headline": row.get("headline", [])[:2],
    }


def forecast_lines(rollup) -> list[str]:
    """The company's forecast in sentences: revenue (or deals) next month and in the quarter,
    and the chance of reaching the units' targets together."""
    table, currency = rollup.table, rollup.currency
    metric = "count" if rollup.revenue_reason else "revenue"
    what = {"revenue": "Revenue won", "count": "Deals won"}[metric]
    lines = []
    for index in {0, len(table) - 1}:
        row = table.iloc[index]
        lines.append(
            f"{what}, {row['window']}: {value_text(row[f'{metric}_median'], metric, currency)} "
            f"(median; {INTERVAL} {span_text(row[f'{metric}_low'], row[f'{metric}_high'], metric, currency)})"
        )
    quarter = table.iloc[-1]
    if "p_reach_target" in table and pd.notna(quarter.get("p_reach_target")):
        lines.append(
            f"Chance to reach the units' targets together "
            f"({value_text(rollup.target_revenue, 'revenue', currency)}): "
            f"{format_pct(quarter['p_reach_target'])}"
        )
    if rollup.revenue_reason:
        lines.append(f"Revenue is not added up: {rollup.revenue_reason}. Deals won are.")
    return lines


def window_rows(rollup) -> list[dict]:
    """The forecast table's rows for readers: per window, expected, median and interval."""
    out = []
    for _, row in rollup.table.iterrows():
        cells = {"window": row["window"]}
        for metric in ("revenue", "count"):
            if f"{metric}_median" not in row or pd.isna(row[f"{metric}_median"]):
                cells[metric] = None
                continue
            cells[metric] = {
                "expected": value_text(row[f"{metric}_expected"], metric, rollup.currency),
                "median": value_text(row[f"{metric}_median"], metric, rollup.currency),
                "interval": span_text(
                    row[f"{metric}_low"], row[f"{metric}_high"], metric, rollup.currency
                ),
            }
        out.append(cells)
    return out


def together_sentences(rollup) -> list[str]:
    """What the roll-up assumes about how units move together, and what the other assumptions
    would give for the first window."""
    dependence = rollup.dependence
    metric = "count" if rollup.revenue_reason else "revenue"
    row = rollup.table.iloc[0]
    currency = rollup.currency
    said = [
        f"The units' forecasts are added up assuming they move together with a correlation of "
        f"{dependence.rho:.2f} (0: independent; 1: fully together): {dependence.reason}."
    ]
    if len(rollup.units) > 1:
        independent = span_text(
            row[f"{metric}_low_independent"], row[f"{metric}_high_independent"], metric, currency
        )
        together = span_text(
            row[f"{metric}_low_together"], row[f"{metric}_high_together"], metric, currency
        )
        said.append(
            f"For {row['window']} the {INTERVAL} would be {independent} were the units "
            f"independent, and {together} were they to move fully together."
        )
    said.append("The expected figures do not depend on this: they are the sums of the units' own.")
    return said


def track_rows(rollup) -> list[dict]:
    """The roll-up's track record beside the baselines summed over units: error of the point
    forecast (WAPE) and how often the interval held, for deals and revenue."""
    scores = rollup.scores
    if scores is None or scores.empty:
        return []
    rows = []
    for model in TRACK_MODELS:
        mine = scores[scores["model"] == model]
        if mine.empty:
            continue
        row = {"model": "company roll-up" if model == "workbench" else MODEL_NAMES[model]}
        for metric in ("revenue", "count"):
            line = mine[mine["target"] == metric]
            if line.empty:
                row[metric] = None
                continue
            line = line.iloc[0]
            held = line.get("coverage_80")
            row[metric] = {
                "wape": format_pct(line["wape"]),
                "held": "" if pd.isna(held) else format_pct(held),
                "origins": int(line["origins"]),
            }
        rows.append(row)
    return rows


def _track_note(rollup) -> str:
    if rollup is None:
        return ""
    if rollup.scores is None or rollup.scores.empty:
        return (
            "The roll-up has no track record yet: the units share no past month-end with a "
            "forecast to score."
        )
    origins = int(rollup.scores["origins"].max())
    return (
        f"One-month forecasts from the last {origins} month-ends, added up over the units as "
        "this month's are, scored against what the units won together. The error is the "
        "forecast's miss as a share of what was won (lower is better); the baselines give a "
        f"point only. Where the {INTERVAL} held in about 8 months of 10, it is honest."
    )


def _appendix(manifest: dict, rows: list[dict], rollup) -> list[str]:
    notes = [f"How units are added up: {ROLLUP_FORMULA}."]
    if rollup is not None:
        d = rollup.dependence
        notes.append(
            f"Correlation {d.rho:.3f} ({d.source}; {d.origins} month-ends, {d.pairs} pairs of "
            "units), estimated on the normal scores of each unit's forecast at what happened."
        )
        for name, why in rollup.excluded.items():
            notes.append(f"{name} is not added up: {why}.")
    for row in rows:
        if row["status"] in ("published", "failed") and row.get("worker"):
            notes.append(f"{row['unit']}: {row['seconds']:.0f} s on {row['worker']}")
    notes.append(f"Random seed {manifest['random_seed']}; Pipeline Workbench {__version__}.")
    return notes


__all__ = ["forecast_lines", "render_company", "together_sentences", "track_rows", "window_rows"]
