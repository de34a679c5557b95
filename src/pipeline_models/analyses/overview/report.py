"""The overview report's content: headline, status, volume, stage mix, products, validation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from pipeline_models.analyses.overview import charts, figures
from pipeline_models.present.content import ReportContent
from pipeline_models.present.formats import format_count, format_money, format_pct

if TYPE_CHECKING:
    from pipeline_models.run.catalog import Catalog

RECENT_MONTHS = 12
"""Months shown in the volume table (the chart shows all of them)."""


def build(catalog: Catalog) -> ReportContent:
    """Everything the overview shows, from the run's catalog."""
    frame = catalog.opportunities()
    currency = catalog.currency()
    validation = catalog.validation()
    status = figures.status_table(frame)
    rate = figures.win_rate(frame)
    content = ReportContent(title="Pipeline overview")
    content.headline = [
        ("opportunities", format_count(len(frame))),
        ("open deals", format_count(status.loc["open", "deals"])),
        ("open pipeline", _money_or_why(frame, status, "open", currency)),
        ("win rate (closed deals)", format_pct(rate) if rate == rate else "no closed deal yet"),
        ("revenue won", _money_or_why(frame, status, "won", currency)),
    ]
    content.add_table("status", status, "Deals and amount by status")
    monthly = figures.monthly_volume(frame)
    content.add_chart("volume", lambda: _volume_chart(monthly, frame))
    content.add_table(
        "recent_months",
        monthly.tail(RECENT_MONTHS),
        "The last twelve months",
        empty="No deal has a creation or close date: there is no monthly volume to show.",
    )
    content.add_table(
        "stages",
        figures.stage_mix(frame, catalog.as_of),
        "Open deals by stage",
        empty="No open deal as of the period's end: there is no stage mix to show.",
    )
    content.add_table(
        "products",
        figures.product_table(frame, "product"),
        "Deals, win rate and amounts by product (raw figures)",
    )
    _validation_parts(content, validation, catalog)
    problems = [f"{p['column'] or 'export'}: {p['reason']}" for p in validation["problems"]]
    content.warnings = [w for w in problems if "rows skipped" in w]
    later = validation["info"].get("after_period")
    if later:
        content.warnings.append(
            f"The export holds events after the period ended ({later['period_end']}); it is shown "
            f"as it stood that day: {later['created_after']} deal(s) created later are left out "
            f"and {later['closed_after']} deal(s) closed later count as still open."
        )
    content.figures = {
        "opportunities": len(frame),
        "status": status["deals"].to_dict(),
        "win_rate": rate,
        "as_of": str(catalog.as_of.date()),
    }
    content.fits = dict(catalog.loaded)
    return content


def _money_or_why(frame: pd.DataFrame, status: pd.DataFrame, which: str, currency: str) -> str:
    """The amount of the ``which`` deals, or why there is none to show."""
    deals = frame[frame["status"] == which]
    if deals.empty:
        return f"no {which} deal"
    if not (pd.to_numeric(deals["amount"], errors="coerce") > 0).any():
        return f"no amount recorded on {which} deals"
    return format_money(status.loc[which, "amount"], currency)


def _volume_chart(monthly: pd.DataFrame, frame: pd.DataFrame):
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    charts.plot_monthly_volume(monthly, ax=axes[0])
    charts.plot_revenue_by_product(frame, ax=axes[1])
    fig.tight_layout()
    return fig


def _validation_parts(content: ReportContent, validation: dict, catalog: Catalog) -> None:
    info = validation["info"]
    understood = pd.DataFrame(
        [("file", Path(str(info.get("file", ""))).name), ("mapping", info.get("mapping"))]
        + [(f"column {k}", v) for k, v in info.get("columns", {}).items()],
        columns=["item", "value"],
    ).set_index("item")
    content.add_table("understood", understood, "What was understood")
    problems = pd.DataFrame(
        validation["problems"], columns=["severity", "column", "reason", "rows"]
    )
    problems["rows"] = problems["rows"].map(len)
    content.add_table(
        "problems",
        problems,
        f"{len(problems)} warning(s) from validation",
        empty="Validation found no problem in the export.",
    )
    leads = catalog.leads()
    if leads is not None:
        content.add_note(
            "leads",
            "The leads file holds {n} leads, {c} of them converted to an opportunity.",
            n=format_count(len(leads)),
            c=format_count(leads["opportunity_id"].notna().sum()),
        )
