"""The patterns report's tables for readers: amounts as money, shares as percentages, estimates
with their interval.

Every function takes a table of the compute modules and returns a new one; the CSV files beside
the report keep the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.narrative import interval_text
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.formats import format_money, format_pct

_INTERVAL = f"{100 * INTERVAL:.0f}% interval"


def conversion_display(conversion: pd.DataFrame) -> pd.DataFrame:
    """The overall stage table for readers: counts, pooled conversion, value lost, months."""
    t = conversion
    return pd.DataFrame(
        {
            "stage": t["stage"].astype(str),
            "moved on": t["passed"].astype(int),
            "lost here": t["lost"].astype(int),
            "still here": t["stayed"].astype(int),
            f"conversion ({_INTERVAL})": interval_text(t["mean"], t["lower"], t["upper"]),
            "value lost here": t["value_lost"].map(format_money),
            f"months in stage ({_INTERVAL})": interval_text(
                t["months_in_stage"], t["months_lower"], t["months_upper"], "months"
            ),
        }
    ).set_index("stage")


def conversion_grid(table: pd.DataFrame, by: str, overall: pd.DataFrame) -> pd.DataFrame:
    """A level-by-stage grid of pooled conversion, e.g. ``62% (55-70)``; ``*`` marks a level whose
    interval excludes the stage's overall rate. Cells with no deal leaving the stage are empty;
    levels with none at all are left out."""
    ref = overall.set_index("stage")["mean"]

    def cell(r: pd.Series) -> str:
        if r["passed"] + r["lost"] == 0:
            return ""
        star = " *" if (r["upper"] < ref[r["stage"]] or r["lower"] > ref[r["stage"]]) else ""
        return f"{100 * r['mean']:.0f}% ({100 * r['lower']:.0f}-{100 * r['upper']:.0f}){star}"

    shown = table.assign(cell=table.apply(cell, axis=1))
    grid = shown.pivot(index=by, columns="stage", values="cell")
    grid.columns = [str(c) for c in grid.columns]
    grid.columns.name = None
    exits = shown.groupby(by)[["passed", "lost"]].sum().sum(axis=1)
    grid.insert(0, "deals that left a stage", exits.reindex(grid.index).astype(int))
    grid = grid[grid["deals that left a stage"] > 0]  # nothing to show for the others
    return grid.sort_values("deals that left a stage", ascending=False)


def stalled_display(outlook: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The stalled-deal list for owners: amounts as money, chances as percentages."""
    t = outlook.rename(columns={"opportunity_id": "deal", "age_days": "age (days)"}).copy()
    est = t.pop("amount estimated") if "amount estimated" in t else pd.Series(False, t.index)
    t["amount"] = [
        format_money(a, currency) + (" (est.)" if e else "")
        for a, e in zip(t["amount"], est, strict=True)
    ]
    # a small chance keeps a decimal: 4% and 4.4% read differently to an owner
    t["chance of being won within two years"] = t.pop("p_won_ever").map(
        lambda p: format_pct(p, 1 if p < 0.1 else 0)
    )
    t["value at risk"] = t.pop("value_at_risk").map(lambda v: format_money(v, currency))
    t["age (days)"] = t["age (days)"].astype(int)
    return t


def hotspots_display(hotspots: pd.DataFrame) -> pd.DataFrame:
    """Stalled hotspots for readers."""
    return pd.DataFrame(
        {
            "attribute": hotspots["attribute"].str.replace("_", " "),
            "level": hotspots["level"],
            "deals old enough": hotspots["deals"],
            "stalled": hotspots["stalled"],
            "stalled share": hotspots["share"].map(format_pct),
            f"stalled vs average deal, adjusted ({_INTERVAL})": interval_text(
                hotspots["ratio"], hotspots["lower"], hotspots["upper"], "ratio"
            ),
        }
    )


def owner_display(owners: pd.DataFrame) -> pd.DataFrame:
    """The owner table for readers."""
    return pd.DataFrame(
        {
            "closed deals": owners["closed"],
            "raw win rate": owners["observed rate"].map(format_pct),
            f"win rate, pooled ({_INTERVAL})": interval_text(
                owners["win rate"], owners["lower"], owners["upper"]
            ),
            "win rate vs team": owners["win rate vs team"],
            "revenue won": owners["revenue won"].map(format_money),
            "revenue per closed deal, pooled": interval_text(
                owners["revenue per closed deal"], owners["rev lower"], owners["rev upper"], "money"
            ),
            "revenue vs team": owners["revenue vs team"],
        },
        index=owners.index,
    )


def effects_display(effects: pd.DataFrame) -> pd.DataFrame:
    """Rate ratios for readers, strongest first."""
    t = effects.assign(_s=np.abs(np.log(effects["rate_ratio"]))).sort_values("_s", ascending=False)
    return pd.DataFrame(
        {
            "attribute": t["term"].str.replace("_", " "),
            "level": t["level"],
            "closed deals": t["deals"],
            f"win rate vs average ({_INTERVAL})": interval_text(
                t["rate_ratio"], t["lower"], t["upper"], "ratio"
            ),
            "credible": np.where(t["credible"], "yes", "no"),
        }
    ).reset_index(drop=True)


def cohort_display(cohorts: pd.DataFrame) -> pd.DataFrame:
    """The cohort table for readers."""
    h = cohorts.attrs.get("horizon_days")
    return pd.DataFrame(
        {
            "deals created": cohorts["created"],
            f"won within {h} days": cohorts["won_within"],
            f"lost within {h} days": cohorts["lost_within"],
            f"win rate within {h} days ({_INTERVAL})": interval_text(
                cohorts["rate"], cohorts["lower"], cohorts["upper"]
            ),
            "median days to win": cohorts["median_days_to_win"],
        },
        index=cohorts.index.astype(str),
    )


def with_money(
    table: pd.DataFrame, columns: Sequence[str] = ("amount",), currency: str = ""
) -> pd.DataFrame:
    """A copy of ``table`` with the given amount columns as money text (empty when missing)."""
    out = table.copy()
    for column in columns:
        out[column] = out[column].map(lambda v: "" if pd.isna(v) else format_money(v, currency))
    return out


def waterfall_display(bars: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The waterfall bars with exact amounts (two decimals, thousands separated)."""
    sign = np.where(bars["kind"] == "total", "", np.where(bars["cents"] >= 0, "+", "-"))
    cents = bars["cents"].abs()
    exact = [
        f"{s}{c // 100:,}.{c % 100:02d}" + (f" {currency}" if currency else "")
        for s, c in zip(sign, cents, strict=True)
    ]
    return pd.DataFrame({"deals": bars["deals"].to_numpy(), "amount": exact}, index=bars["bar"])


def change_display(summary: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The change summary with amounts as money."""
    return summary.assign(amount=summary["amount"].map(lambda v: format_money(v, currency)))


__all__ = [
    "change_display",
    "cohort_display",
    "conversion_display",
    "conversion_grid",
    "effects_display",
    "hotspots_display",
    "owner_display",
    "stalled_display",
    "waterfall_display",
    "with_money",
]
