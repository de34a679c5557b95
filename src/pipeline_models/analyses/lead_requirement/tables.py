"""Reader tables of the lead requirement report: numbers turned into the texts a reader sees.

Rates carry their :data:`~pipeline_models.analyses.policy.INTERVAL` intervals; money, shares and
counts are written by :mod:`pipeline_models.present.formats`.
"""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.in_hand import in_hand_words
from pipeline_models.analyses.lead_requirement.mix import MixPlan
from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.planner import LeadPlanner
from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.lead_requirement.targets import target_text
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.present.formats import format_count, format_money, format_pct, format_points


def _pct_interval(mean: float, lower: float, upper: float, digits: int = 0) -> str:
    return f"{100 * mean:.{digits}f}% ({100 * lower:.{digits}f}-{100 * upper:.{digits}f}%)"


def _intervals(table: pd.DataFrame, name: str, digits: int = 0) -> list[str]:
    columns = [name, f"{name}_lower", f"{name}_upper"]
    return [_pct_interval(*r, digits=digits) for r in table[columns].to_numpy()]


def funnel_display(model: LeadFunnelModel) -> pd.DataFrame:
    """The funnel by source for readers: counts and rates with their intervals."""
    table = model.funnel_table(INTERVAL)
    digits = 1 if (table["lead_to_won"] < 0.1).any() else 0
    out = pd.DataFrame(
        {"source": table["source"], "share of new leads": table["mix"].map(format_pct)}
    )
    if model.has_leads_:
        out["leads"] = table["leads"]
        out["still young"] = table["leads_still_open"].round().astype(int)
        out["lead -> opportunity"] = _intervals(table, "lead_to_opp")
    out["opportunities"] = table["opportunities"]
    out["won"] = table["won"]
    out["open"] = table["open"]
    out["opportunity -> won"] = _intervals(table, "opp_to_won")
    if model.has_leads_:
        out["lead -> won"] = _intervals(table, "lead_to_won", digits)
    return out.set_index("source")


def product_display(model: LeadFunnelModel) -> pd.DataFrame:
    """Per product: opportunities and the chance that one is ever won, with its interval."""
    table = model.product_table(INTERVAL)
    return pd.DataFrame(
        {
            "product": table["product"],
            "opportunities": table["opportunities"],
            "won": table["won"],
            "open": table["open"],
            "opportunity -> won": _intervals(table, "opp_to_won"),
        }
    ).set_index("product")


def lag_display(model: LeadFunnelModel) -> pd.DataFrame:
    """Days per funnel step by source: median, and 80th percentile in brackets."""
    table = model.lag_table().set_index("source")
    steps = [
        ("lead_to_opp", "lead -> opportunity"),
        ("opp_to_won", "opportunity -> won"),
        ("lead_to_won", "lead -> won"),
    ]
    out = pd.DataFrame(index=table.index)
    for key, label in steps:
        if f"{key}_median" in table:
            out[f"{label} (days)"] = [
                "n/a" if pd.isna(a) else f"{a:.0f} ({b:.0f})"
                for a, b in table[[f"{key}_median", f"{key}_p80"]].to_numpy()
            ]
    return out


def outlook_display(
    outlook: WindowOutlook, metric: str = "count", currency: str = ""
) -> pd.DataFrame:
    """Per coming month: what each part is expected to bring, and the total with 80% interval."""
    table = outlook.table(metric).set_index("month")
    fmt = format_count if metric == "count" else (lambda v: format_money(v, currency))
    out = pd.DataFrame(index=table.index)
    for part in outlook.parts:
        out[f"from {part} (expected)"] = table[part].map(fmt)
    out["total (median)"] = table["median"].map(fmt)
    out["80% interval"] = [
        f"{fmt(a)} - {fmt(b)}" for a, b in table[["low_10", "high_90"]].to_numpy()
    ]
    return out


def _vs(per_month: float, current: float) -> str:
    if current <= 0:
        return ""
    return f"; {per_month / current:.1f}x the recent {current:,.0f} a month"


def in_hand_text(req: LeadRequirement, currency: str = "") -> str:
    """What is expected from what is in hand, deals or revenue, with its interval (the same
    words as the forecast report's, :func:`~pipeline_models.analyses.forecast.in_hand.
    in_hand_words`)."""
    return in_hand_words(req.in_hand_expected, req.in_hand_interval, req.metric, currency)


def requirement_display(
    req: LeadRequirement, monthly_leads: float, currency: str = ""
) -> pd.DataFrame:
    """The answer in a few rows: target, leads needed, median case, what is in hand."""
    unit = f"new {req.units}"

    def leads_text(n: int | None) -> str:
        if n is None:
            return "not reachable by adding leads in this window"
        per_month = n / req.months
        return f"{n:,} ({per_month:,.0f} a month{_vs(per_month, monthly_leads)})"

    rows = [
        ("target", f"{target_text(req.target, req.metric, currency)} in {req.window}"),
        (f"{unit} for a {req.confidence:.0%} chance", leads_text(req.leads_needed)),
        (f"{unit} for an even chance (median case)", leads_text(req.median_case)),
        ("expected from what is already in hand", in_hand_text(req, currency)),
        ("chance with no new leads at all", f"{req.p_in_hand:.0%}"),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure")


def sensitivity_display(table: pd.DataFrame, change: float = 0.10) -> pd.DataFrame:
    """New leads needed now and if one source's rate falls or rises by ``change``."""

    def show(v):
        return "not reachable" if v is None or pd.isna(v) else f"{int(v):,}"

    return pd.DataFrame(
        {
            "source": table["source"],
            "share of new leads": table["mix"].map(format_pct),
            f"leads needed if its rate falls {change:.0%}": table["if_rate_falls"].map(show),
            "leads needed now": table["leads_needed"].map(show),
            f"leads needed if its rate rises {change:.0%}": table["if_rate_rises"].map(show),
        }
    ).set_index("source")


def mix_display(plan: MixPlan, currency: str = "") -> pd.DataFrame:
    """The cheapest mix, sources in order of cost per win: costs, caps and leads."""
    t = plan.table

    def money(v: float) -> str:
        return format_money(v, currency)

    return pd.DataFrame(
        {
            "source": t["source"],
            "cost per lead": t["cost_per_lead"].map(money),
            "wins per 100 leads (in window)": t["wins_per_100_leads"].map(lambda v: f"{v:.1f}"),
            "cost per win": t["cost_per_win"].map(money),
            "most leads (cap)": t["cap"].map(format_count),
            "leads": t["leads"].map(format_count),
            "cost": t["cost"].map(money),
        }
    ).set_index("source")


def win_rate_comparison(model: LeadFunnelModel, win_rate_model) -> pd.DataFrame | None:
    """Our chance that an opportunity is ever won, beside the period's ``WinRateModel`` rate of
    closed deals by lead source (None when that model has no lead-source term)."""
    try:
        theirs = win_rate_model.group_rates("lead_source").set_index("level")
    except (KeyError, AttributeError, ValueError):
        return None
    ours = model.funnel_table(INTERVAL).set_index("source")
    rows = []
    for s in ours.index:
        row = {
            "source": s,
            "ever won (this report)": _pct_interval(
                *ours.loc[s, ["opp_to_won", "opp_to_won_lower", "opp_to_won_upper"]]
            ),
        }
        if s in theirs.index:
            r = theirs.loc[s]
            row["won of closed (win-rate model)"] = _pct_interval(r["mean"], r["lower"], r["upper"])
            row["won of closed (raw)"] = format_pct(r["observed"])
        rows.append(row)
    return pd.DataFrame(rows).set_index("source")


def split_display(req: LeadRequirement, planner: LeadPlanner) -> pd.DataFrame:
    """The recommended new leads by source: over the window, per month, and the wins they are
    expected to bring inside the window."""
    n = req.by_source
    wins = planner.q.mean(axis=0) * n.to_numpy()
    table = pd.DataFrame(
        {
            "source": n.index,
            f"new {req.units}": n.map(format_count).to_numpy(),
            "per month": (n / req.months).map(format_count).to_numpy(),
            "recent per month": planner.model.monthly_leads_.reindex(n.index)
            .map(format_count)
            .to_numpy(),
            "expected wins inside the window": [format_count(v) for v in wins],
        }
    )
    return table.set_index("source")


def coverage_display(coverage: pd.DataFrame) -> pd.DataFrame:
    """The back-test coverage for readers."""
    names = {"count": "deals won", "revenue": "revenue won"}
    return pd.DataFrame(
        {
            "what": coverage["target"].map(names),
            "months ahead": coverage["horizon_months"],
            "origins": coverage["origins"],
            "inside 50% interval": coverage["inside_50"].map(format_pct),
            "inside 80% interval": coverage["inside_80"].map(format_pct),
            "bias of the median": coverage["bias"].map(lambda v: f"{format_points(v)}%"),
        }
    )


__all__ = [
    "coverage_display",
    "funnel_display",
    "in_hand_text",
    "lag_display",
    "mix_display",
    "outlook_display",
    "product_display",
    "requirement_display",
    "sensitivity_display",
    "split_display",
    "win_rate_comparison",
]
