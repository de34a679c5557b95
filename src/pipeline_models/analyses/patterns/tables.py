"""The patterns report's tables for readers: business column names, the label of a row as a
first column (no index), counts with thousands separators, amounts as money, shares as
percentages, estimates with their interval written one way (``54% (52%–55%)``).

Every function takes a table of the compute modules and returns a new one; the CSV files beside
the report keep the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.narrative import interval_text
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.formats import format_count, format_money, format_pct

_INTERVAL = f"{INTERVAL:.0%} interval"

HEADERS = {
    "owner": "Owner",
    "deal": "Deal",
    "product": "Product",
    "region": "Region",
    "segment": "Segment",
    "stage": "Stage",
    "amount": "Amount",
    "age (days)": "Age (days)",
    "same stage": "Same stage as last export",
    "close date last time": "Close date last time",
    "close date now": "Close date now",
    "pushed by (days)": "Pushed by (days)",
    "why flagged": "Why flagged",
    "expected close": "Expected close",
    "days overdue": "Days overdue",
    "pushes": "Pushes",
    "days pushed": "Days pushed",
    "first expected close": "First expected close",
    "expected close now": "Expected close now",
}
"""Column names of the deal lists as a reader sees them."""


def _counts(values: pd.Series) -> np.ndarray:
    return values.map(format_count).to_numpy()


def _label(values: pd.Series | pd.Index) -> np.ndarray:
    return pd.Series(values).astype(str).to_numpy()


def _attribute(terms: pd.Series) -> np.ndarray:
    """An attribute's name as a reader writes it: ``lead_source`` -> ``Lead source``."""
    return np.array([str(t).replace("_", " ").capitalize() for t in terms], dtype=object)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """A deal list for readers: business column names, whole numbers with separators."""
    out = table.rename(columns=lambda c: HEADERS.get(str(c), str(c)[:1].upper() + str(c)[1:]))
    for column in ("Age (days)", "Pushed by (days)", "Days overdue", "Pushes", "Days pushed"):
        if column in out:
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else format_count(v))
    return out.reset_index(drop=True)


def conversion_display(
    conversion: pd.DataFrame, currency: str = "", with_months: bool = True
) -> pd.DataFrame:
    """The overall stage table for readers: counts, pooled conversion, value lost and (without a
    stage history's own time-in-stage table) months in stage."""
    t = conversion
    out = pd.DataFrame(
        {
            "Stage": _label(t["stage"]),
            "Moved on": _counts(t["passed"]),
            "Lost here": _counts(t["lost"]),
            "Still here": _counts(t["stayed"]),
            f"Conversion ({_INTERVAL})": interval_text(t["mean"], t["lower"], t["upper"])
            .replace("", "no deal left")
            .to_numpy(),
            "Value lost here": [format_money(v, currency) for v in t["value_lost"]],
        }
    )
    if with_months:
        months = interval_text(t["months_in_stage"], t["months_lower"], t["months_upper"], "months")
        out[f"Months in stage ({_INTERVAL})"] = months.replace("", "no deal left").to_numpy()
    return out


def conversion_grid(table: pd.DataFrame, by: str, overall: pd.DataFrame) -> pd.DataFrame:
    """A level-by-stage grid of pooled conversion, e.g. ``62% (55%–70%)``; ``*`` marks a level
    whose interval excludes the stage's overall rate. Cells with no deal leaving the stage are
    empty; levels with none at all are left out. The level is the first column."""
    ref = overall.set_index("stage")["mean"]

    def cell(r: pd.Series) -> str:
        if r["passed"] + r["lost"] == 0:
            return ""
        star = " *" if (r["upper"] < ref[r["stage"]] or r["lower"] > ref[r["stage"]]) else ""
        text = interval_text(
            pd.Series([r["mean"]]), pd.Series([r["lower"]]), pd.Series([r["upper"]])
        )
        return text.iloc[0] + star

    shown = table.assign(cell=table.apply(cell, axis=1) if len(table) else "")
    grid = shown.pivot(index=by, columns="stage", values="cell")
    grid.columns = [str(c) for c in grid.columns]
    grid.columns.name = None
    exits = shown.groupby(by)[["passed", "lost"]].sum().sum(axis=1).reindex(grid.index)
    grid = grid[exits.fillna(0).to_numpy() > 0]  # nothing to show for the others
    exits = exits[exits > 0].sort_values(ascending=False, kind="stable")
    grid = grid.reindex(exits.index)
    grid.insert(0, "Deals that left a stage", _counts(exits.astype(int)))
    grid.insert(0, by[:1].upper() + by[1:], _label(grid.index))
    return grid.reset_index(drop=True)


def chance_text(p: float) -> str:
    """A small chance keeps a decimal (4% and 4.4% read differently to an owner); one under a
    tenth of a percent reads ``under 0.1%``; no trailing ``.0``."""
    if pd.isna(p):
        return "unknown"
    if p < 0.001:
        return "under 0.1%"
    if p < 0.1:
        return f"{100 * p:.1f}".removesuffix(".0") + "%"
    return format_pct(p)


def stalled_display(outlook: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The stalled-deal list for owners: amounts as money, chances as percentages."""
    t = outlook.rename(columns={"opportunity_id": "deal", "age_days": "age (days)"}).copy()
    est = t.pop("amount estimated") if "amount estimated" in t else pd.Series(False, t.index)
    t["amount"] = [
        ("no amount" if pd.isna(a) else format_money(a, currency) + (" (est.)" if e else ""))
        for a, e in zip(t["amount"], est, strict=True)
    ]
    t["chance of being won within two years"] = t.pop("p_won_ever").map(chance_text)
    t["value at risk"] = [
        "unknown" if pd.isna(v) else format_money(v, currency) for v in t.pop("value_at_risk")
    ]
    return readable(t)


def hotspots_display(hotspots: pd.DataFrame) -> pd.DataFrame:
    """Stalled hotspots for readers."""
    return pd.DataFrame(
        {
            "Attribute": _attribute(hotspots["attribute"]),
            "Group": _label(hotspots["level"]),
            "Deals old enough": _counts(hotspots["deals"]),
            "Stalled": _counts(hotspots["stalled"]),
            "Stalled share": hotspots["share"].map(format_pct).to_numpy(),
            f"Stalled vs average deal, adjusted ({_INTERVAL})": interval_text(
                hotspots["ratio"], hotspots["lower"], hotspots["upper"], "ratio"
            ).to_numpy(),
        }
    )


def owner_display(owners: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The owner table for readers."""
    return pd.DataFrame(
        {
            "Owner": _label(owners.index),
            "Closed deals": _counts(owners["closed"]),
            "Win rate (raw)": owners["observed rate"]
            .map(lambda v: "no closed deal" if pd.isna(v) else format_pct(v))
            .to_numpy(),
            f"Win rate, pooled ({_INTERVAL})": interval_text(
                owners["win rate"], owners["lower"], owners["upper"]
            ).to_numpy(),
            "Win rate vs team": owners["win rate vs team"].to_numpy(),
            "Revenue won": [format_money(v, currency) for v in owners["revenue won"]],
            f"Revenue per closed deal, pooled ({_INTERVAL})": interval_text(
                owners["revenue per closed deal"],
                owners["rev lower"],
                owners["rev upper"],
                "money",
                currency,
            ).to_numpy(),
            "Revenue vs team": owners["revenue vs team"].to_numpy(),
        }
    )


def effects_display(effects: pd.DataFrame) -> pd.DataFrame:
    """Rate ratios for readers, strongest first."""
    t = effects.assign(_s=np.abs(np.log(effects["rate_ratio"]))).sort_values("_s", ascending=False)
    return pd.DataFrame(
        {
            "Attribute": _attribute(t["term"]),
            "Group": _label(t["level"]),
            "Closed deals": _counts(t["deals"]),
            f"Win rate vs average ({_INTERVAL})": interval_text(
                t["rate_ratio"], t["lower"], t["upper"], "ratio"
            ).to_numpy(),
            "Stands out": np.where(t["credible"], "yes", "no"),
        }
    )


def cohort_display(cohorts: pd.DataFrame) -> pd.DataFrame:
    """The cohort table for readers: the month written out, counts, the win rate within the
    window with its interval, whole days."""
    h = format_count(cohorts.attrs.get("horizon_days"))
    return pd.DataFrame(
        {
            "Created in": [p.strftime("%b %Y") for p in cohorts.index],
            "Deals created": _counts(cohorts["created"]),
            f"Won within {h} days": _counts(cohorts["won_within"]),
            f"Lost within {h} days": _counts(cohorts["lost_within"]),
            f"Win rate within {h} days ({_INTERVAL})": interval_text(
                cohorts["rate"], cohorts["lower"], cohorts["upper"]
            ).to_numpy(),
            "Median days to win": cohorts["median_days_to_win"]
            .map(lambda v: "no win" if pd.isna(v) else format_count(v))
            .to_numpy(),
        }
    )


def with_money(
    table: pd.DataFrame, columns: Sequence[str] = ("amount",), currency: str = ""
) -> pd.DataFrame:
    """A copy of ``table`` with the given amount columns as money text (empty when missing)."""
    out = table.copy()
    for column in columns:
        out[column] = out[column].map(lambda v: "" if pd.isna(v) else format_money(v, currency))
    return out


def deal_list(table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """A list of deals (slipping, overdue, pushed) for readers: amounts as money, ``no amount``
    where none is recorded, business column names."""
    out = with_money(table, currency=currency)
    out["amount"] = out["amount"].replace("", "no amount")
    return readable(out)


def open_stages_display(table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Open deals by stage (:func:`~.stages.open_stage_table`) for readers."""
    return pd.DataFrame(
        {
            "Stage": _label(table.index),
            "Open deals": _counts(table["open deals"]),
            "Amount": [
                "none recorded" if pd.isna(v) else format_money(v, currency)
                for v in table["open amount"]
            ],
            "Median age (days)": table["median age (days)"]
            .map(lambda v: "unknown" if pd.isna(v) else format_count(v))
            .to_numpy(),
        }
    )


def waterfall_display(bars: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The waterfall's bars for readers: the step, its deals and its amount (signed steps; the
    ``waterfall`` file beside the report holds the exact cents)."""
    amount = bars["cents"] / 100
    text = [
        format_money(v, currency) if kind == "total" or v <= 0 else "+" + format_money(v, currency)
        for v, kind in zip(amount, bars["kind"], strict=True)
    ]
    return pd.DataFrame(
        {
            "Step": [str(b)[:1].upper() + str(b)[1:] for b in bars["bar"]],
            "Deals": _counts(bars["deals"]),
            "Amount": text,
        }
    )


def change_display(summary: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The change summary for readers: the change, its deals and their amount."""
    return pd.DataFrame(
        {
            "Change": [str(c)[:1].upper() + str(c)[1:] for c in summary.index],
            "Deals": _counts(summary["deals"]),
            "Amount": [format_money(v, currency) for v in summary["amount"]],
        }
    )


__all__ = [
    "HEADERS",
    "change_display",
    "chance_text",
    "cohort_display",
    "conversion_display",
    "conversion_grid",
    "deal_list",
    "effects_display",
    "hotspots_display",
    "open_stages_display",
    "owner_display",
    "readable",
    "stalled_display",
    "waterfall_display",
    "with_money",
]
