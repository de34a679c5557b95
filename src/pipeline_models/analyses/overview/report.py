"""The overview report's content: headline, status, volume, stage mix, products, validation.

The tables shown carry business names and the shared number formats; a figure this export cannot
give is left out of the headline and a sentence says why.
"""

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

NONE_RECORDED = "none recorded"
"""What a money cell says when no deal it sums carries an amount (never 0, never blank)."""

STATUS_WORDS = {"won": "Won", "lost": "Lost", "open": "Open"}


def build(catalog: Catalog) -> ReportContent:
    """Everything the overview shows, from the run's catalog."""
    frame = catalog.opportunities()
    currency = catalog.currency()
    validation = catalog.validation()
    status = figures.status_table(frame)
    rate = figures.win_rate(frame)
    content = ReportContent(title="Pipeline overview")
    content.headline, gaps = headline(frame, status, rate, currency)
    if gaps:
        content.add_note("headline", "{gaps}", gaps=" ".join(gaps))
    content.add_table("status", status_reader_table(status, currency), "Deals and amount by status")
    monthly = figures.monthly_volume(frame)
    content.add_chart(
        "volume", lambda: _volume_chart(monthly, frame, currency), alt=volume_alt(monthly)
    )
    content.add_table(
        "recent_months",
        monthly_reader_table(monthly.tail(RECENT_MONTHS), currency),
        f"The last {RECENT_MONTHS} months: deals created, won and lost, and revenue won",
        empty="No deal has a creation or close date: there is no monthly volume to show.",
    )
    content.add_table(
        "stages",
        stage_reader_table(figures.stage_mix(frame, catalog.as_of), currency),
        "Open deals by stage",
        empty="No open deal as of the period's end: there is no stage mix to show.",
    )
    content.add_table(
        "products",
        product_reader_table(figures.product_table(frame, "product"), currency),
        "Deals, win rate and amounts by product (raw figures from the export)",
        empty="The export names no product.",
    )
    _validation_parts(content, validation, catalog)
    content.warnings = _warnings(validation)
    content.figures = {
        "opportunities": len(frame),
        "status": status["deals"].to_dict(),
        "win_rate": rate,
        "as_of": str(catalog.as_of.date()),
    }
    content.fits = dict(catalog.loaded)
    return content


def headline(
    frame: pd.DataFrame, status: pd.DataFrame, rate: float, currency: str
) -> tuple[list[tuple[str, str]], list[str]]:
    """The headline pairs, and a sentence for each figure this export cannot give (the pair is
    then left out, never shown as "n/a")."""
    items = [
        ("opportunities", format_count(len(frame))),
        ("open deals", format_count(status.loc["open", "deals"])),
    ]
    gaps = []
    pipeline, why = _money_or_why(frame, status, "open", currency)
    if pipeline is None:
        gaps.append(f"The open pipeline's value is not shown: {why}.")
    else:
        items.append(("open pipeline", pipeline))
    if rate == rate:
        items.append(("win rate (closed deals)", format_pct(rate)))
    else:
        gaps.append("No win rate is shown: no deal has closed yet.")
    revenue, why = _money_or_why(frame, status, "won", currency)
    if revenue is None:
        gaps.append(f"No revenue won is shown: {why}.")
    else:
        items.append(("revenue won", revenue))
    return items, gaps


def _money_or_why(
    frame: pd.DataFrame, status: pd.DataFrame, which: str, currency: str
) -> tuple[str | None, str]:
    """The amount of the ``which`` deals as money, or ``None`` and why there is none to show."""
    deals = frame[frame["status"] == which]
    if deals.empty:
        return None, f"the export holds no {which} deal"
    if not (pd.to_numeric(deals["amount"], errors="coerce") > 0).any():
        return None, f"no {which} deal carries an amount"
    return format_money(status.loc[which, "amount"], currency), ""


def _money(value: float, currency: str, missing: str = NONE_RECORDED) -> str:
    return missing if pd.isna(value) else format_money(value, currency)


def status_reader_table(status: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`~.figures.status_table` for readers: one row per status, counts and money."""
    return pd.DataFrame(
        {
            "Status": [STATUS_WORDS.get(str(s), str(s)) for s in status.index],
            "Deals": status["deals"].map(format_count).to_numpy(),
            "Amount": [
                "no deal" if n == 0 else _money(v, currency)
                for n, v in zip(status["deals"], status["amount"], strict=True)
            ],
            "Deals with an amount": status["amount_recorded"].map(format_count).to_numpy(),
        }
    )


def monthly_reader_table(monthly: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`~.figures.monthly_volume` for readers: the month written out, counts, money."""
    return pd.DataFrame(
        {
            "Month": [p.strftime("%b %Y") for p in monthly.index],
            "Deals created": monthly["created"].map(format_count).to_numpy(),
            "Won": monthly["won"].map(format_count).to_numpy(),
            "Lost": monthly["lost"].map(format_count).to_numpy(),
            "Revenue won": [format_money(v, currency) for v in monthly["revenue_won"]],
        }
    )


def stage_reader_table(stages: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`~.figures.stage_mix` for readers (ages in whole days)."""
    return pd.DataFrame(
        {
            "Stage": stages.index.astype(str),
            "Open deals": stages["deals"].map(format_count).to_numpy(),
            "Amount": [_money(v, currency) for v in stages["amount"]],
            "Median age (days)": [
                "unknown" if pd.isna(v) else format_count(v) for v in stages["median_age_days"]
            ],
        }
    )


def product_reader_table(products: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`~.figures.product_table` for readers: counts, the raw win rate, money."""
    return pd.DataFrame(
        {
            "Product": products.index.astype(str),
            "Deals": products["deals"].map(format_count).to_numpy(),
            "Won": products["won"].map(format_count).to_numpy(),
            "Lost": products["lost"].map(format_count).to_numpy(),
            "Open": products["open"].map(format_count).to_numpy(),
            "Win rate": [
                "no closed deal" if pd.isna(v) else format_pct(v) for v in products["win_rate"]
            ],
            "Median won deal": [_money(v, currency) for v in products["median_won_amount"]],
            "Revenue won": [format_money(v, currency) for v in products["revenue_won"]],
            "Open amount": [format_money(v, currency) for v in products["open_amount"]],
        }
    )


def volume_alt(monthly: pd.DataFrame) -> str:
    """The volume chart in words: what it shows over which months, and the last month's counts."""
    if monthly.empty:
        return "No deal has a creation or close date, so the monthly volume chart is empty."
    first, last = monthly.index[0].strftime("%b %Y"), monthly.index[-1].strftime("%b %Y")
    span = f"in {last}" if first == last else f"from {first} to {last}"
    row = monthly.iloc[-1]
    return (
        f"Deals created, won and lost per month {span}, and revenue won per month by product. "
        f"{last}: {format_count(row['created'])} created, {format_count(row['won'])} won and "
        f"{format_count(row['lost'])} lost."
    )


def _volume_chart(monthly: pd.DataFrame, frame: pd.DataFrame, currency: str):
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    charts.plot_monthly_volume(monthly, ax=axes[0])
    charts.plot_revenue_by_product(frame, ax=axes[1], currency=currency)
    fig.tight_layout()
    return fig


def _warnings(validation: dict) -> list[str]:
    problems = [f"{p['column'] or 'export'}: {p['reason']}" for p in validation["problems"]]
    out = [w for w in problems if "rows skipped" in w]
    later = validation["info"].get("after_period")
    if later:
        out.append(
            f"The export holds events after the period ended ({later['period_end']}); it is shown "
            f"as it stood that day: {format_count(later['created_after'])} deal(s) created later "
            f"are left out and {format_count(later['closed_after'])} deal(s) closed later count "
            "as still open."
        )
    return out


def understood_table(info: dict) -> pd.DataFrame:
    """What the loader understood, for readers: the file, the column layout, and which export
    column each field was read from."""
    rows = [
        ("File", Path(str(info.get("file", ""))).name or "unknown"),
        ("Column names read as", str(info.get("mapping") or "detected from the header")),
    ]
    rows += [(f"Field {k}", str(v)) for k, v in info.get("columns", {}).items()]
    return pd.DataFrame(rows, columns=["Item", "Value"])


def problems_table(problems: list[dict]) -> pd.DataFrame:
    """Validation's findings for readers: severity, column, what is wrong and how many rows."""
    return pd.DataFrame(
        {
            "Severity": [str(p.get("severity", "")).capitalize() for p in problems],
            "Column": [str(p.get("column") or "whole export") for p in problems],
            "Problem": [str(p.get("reason", "")) for p in problems],
            "Rows": [format_count(len(p.get("rows") or [])) for p in problems],
        },
        columns=["Severity", "Column", "Problem", "Rows"],
    )


def _validation_parts(content: ReportContent, validation: dict, catalog: Catalog) -> None:
    content.add_table("understood", understood_table(validation["info"]), "What was understood")
    problems = validation["problems"]
    content.add_table(
        "problems",
        problems_table(problems),
        f"{format_count(len(problems))} warning(s) from validation",
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
