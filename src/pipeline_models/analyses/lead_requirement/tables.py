"""Reader tables of the lead requirement report: numbers turned into the texts a reader sees.

Rates carry their :data:`~pipeline_models.analyses.policy.INTERVAL` intervals; deals and revenue
still to come carry the planner's :data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL`;
money, shares and counts are written by :mod:`pipeline_models.present.formats`. Every reader table
names its columns in words and keeps its labels in a first column of its own.
"""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.in_hand import in_hand_words
from pipeline_models.analyses.forecast.tables import interval_words, span_text, value_text
from pipeline_models.analyses.lead_requirement.mix import MixPlan
from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.planner import LeadPlanner
from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.lead_requirement.targets import target_text
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.present.formats import format_count, format_money, format_pct, format_points

RATE_NAMES = {
    "lead_to_opp": "Lead \u2192 opportunity",
    "opp_to_won": "Opportunity \u2192 won",
    "lead_to_won": "Lead \u2192 won",
}
"""The funnel's steps as a reader names them."""

NOT_REACHABLE = "not reachable"
"""What a number of leads reads when no number of new leads reaches the target in the window."""


def _percent(share: float, digits: int = 0) -> str:
    """A share as a percentage with ``digits`` decimals, a trailing ``.0`` dropped."""
    text = f"{100 * share:.{digits}f}"
    return text[:-2] if digits and text.endswith(".0") else text


def _pct_interval(mean: float, lower: float, upper: float, digits: int = 0) -> str:
    return f"{_percent(mean, digits)}% ({_percent(lower, digits)}–{_percent(upper, digits)}%)"


def _intervals(table: pd.DataFrame, name: str, digits: int = 0) -> list[str]:
    columns = [name, f"{name}_lower", f"{name}_upper"]
    return [_pct_interval(*r, digits=digits) for r in table[columns].to_numpy()]


def _file_intervals(table: pd.DataFrame, name: str, digits: int = 0) -> list[str]:
    """Rates with their intervals as the funnel's CSV writes them: ``12.0% (10.6-13.4%)``."""
    columns = [name, f"{name}_lower", f"{name}_upper"]
    return [
        f"{100 * m:.{digits}f}% ({100 * lo:.{digits}f}-{100 * hi:.{digits}f}%)"
        for m, lo, hi in table[columns].to_numpy()
    ]


def _counts(values) -> list[str]:
    return [format_count(v) for v in values]


def funnel_display(model: LeadFunnelModel) -> pd.DataFrame:
    """The funnel by source for readers: counts, and rates with their
    :data:`~pipeline_models.analyses.policy.INTERVAL` intervals."""
    table = model.funnel_table(INTERVAL)
    digits = 1 if (table["lead_to_won"] < 0.1).any() else 0
    out = pd.DataFrame(
        {
            "Source": [str(s) for s in table["source"]],
            f"Share of new {model.units}": table["mix"].map(format_pct).to_numpy(),
        }
    )
    if model.has_leads_:
        out["Leads"] = _counts(table["leads"])
        out["Still young"] = _counts(table["leads_still_open"])
        out[RATE_NAMES["lead_to_opp"]] = _intervals(table, "lead_to_opp")
    out["Opportunities"] = _counts(table["opportunities"])
    out["Won"] = _counts(table["won"])
    out["Open"] = _counts(table["open"])
    out[RATE_NAMES["opp_to_won"]] = _intervals(table, "opp_to_won")
    if model.has_leads_:
        out[RATE_NAMES["lead_to_won"]] = _intervals(table, "lead_to_won", digits)
    return out


def funnel_file(model: LeadFunnelModel) -> pd.DataFrame:
    """The funnel by source as the report's ``funnel.csv`` holds it: counts as numbers, rates
    with their intervals as text (``45% (41-48%)``)."""
    table = model.funnel_table(INTERVAL)
    digits = 1 if (table["lead_to_won"] < 0.1).any() else 0
    out = pd.DataFrame(
        {"source": table["source"], "share of new leads": table["mix"].map(format_pct)}
    )
    if model.has_leads_:
        out["leads"] = table["leads"]
        out["still young"] = table["leads_still_open"].round().astype(int)
        out["lead -> opportunity"] = _file_intervals(table, "lead_to_opp")
    out["opportunities"] = table["opportunities"]
    out["won"] = table["won"]
    out["open"] = table["open"]
    out["opportunity -> won"] = _file_intervals(table, "opp_to_won")
    if model.has_leads_:
        out["lead -> won"] = _file_intervals(table, "lead_to_won", digits)
    return out.reset_index(drop=True)


def product_display(model: LeadFunnelModel) -> pd.DataFrame:
    """Per product: opportunities and the chance that one is ever won, with its interval."""
    table = model.product_table(INTERVAL)
    return pd.DataFrame(
        {
            "Product": [str(p) for p in table["product"]],
            "Opportunities": _counts(table["opportunities"]),
            "Won": _counts(table["won"]),
            "Open": _counts(table["open"]),
            RATE_NAMES["opp_to_won"]: _intervals(table, "opp_to_won"),
        }
    )


LAG_QUANTILE = "80%"
"""The share of eventual wins by whose day :meth:`LeadFunnelModel.lag_table` gives its
``_p80`` columns."""


def lag_display(model: LeadFunnelModel) -> pd.DataFrame:
    """Days per funnel step by source: median, and in brackets the day by which
    :data:`LAG_QUANTILE` of the eventual wins have happened."""
    table = model.lag_table()
    out = pd.DataFrame({"Source": [str(s) for s in table["source"]]})
    for key, label in RATE_NAMES.items():
        if f"{key}_median" in table:
            out[f"{label} (days)"] = [
                "none observed" if pd.isna(a) else f"{a:.0f} ({b:.0f})"
                for a, b in table[[f"{key}_median", f"{key}_p80"]].to_numpy()
            ]
    return out


def outlook_display(
    outlook: WindowOutlook, metric: str = "count", currency: str = ""
) -> pd.DataFrame:
    """Per coming month and for the whole window: what each part is expected to bring, and the
    total's median with the planner's interval."""
    table = outlook.table(metric)
    months = [*outlook.months]
    out = pd.DataFrame(
        {"Month": [m if m in months else f"whole window ({m})" for m in table["month"]]}
    )
    for part in outlook.parts:
        out[f"From {part} (expected)"] = [value_text(v, metric, currency) for v in table[part]]
    out["Total (median)"] = [value_text(v, metric, currency) for v in table["median"]]
    out[interval_words()] = [
        span_text(a, b, metric, currency) for a, b in table[["low", "high"]].to_numpy()
    ]
    return out


def _vs(per_month: float, current: float) -> str:
    if current <= 0:
        return ""
    ratio = f"{per_month / current:.1f}".removesuffix(".0")
    return f"; {ratio}x the recent {format_count(current)} a month"


def in_hand_text(req: LeadRequirement, currency: str = "") -> str:
    """What is expected from what is in hand, deals or revenue, with its interval (the same
    words as the forecast report's, :func:`~pipeline_models.analyses.forecast.in_hand.
    in_hand_words`)."""
    return in_hand_words(req.in_hand_expected, req.in_hand_interval, req.metric, currency)


def chance_words(confidence: float) -> str:
    """``a 60% chance``, ``an 80% chance``."""
    pct = format_pct(confidence)
    digits = pct.rstrip("%")
    article = "an" if digits.startswith("8") or digits in ("11", "18") else "a"
    return f"{article} {pct} chance"


def requirement_display(
    req: LeadRequirement, monthly_leads: float, currency: str = ""
) -> pd.DataFrame:
    """The answer in a few rows: target, leads needed, median case, what is in hand."""
    unit = f"New {req.units}"

    def leads_text(n: int | None) -> str:
        if n is None:
            return "not reachable by adding leads in this window"
        per_month = n / req.months
        return (
            f"{format_count(n)} ({format_count(per_month)} a month{_vs(per_month, monthly_leads)})"
        )

    rows = [
        ("Target", f"{target_text(req.target, req.metric, currency)} in {req.window}"),
        (f"{unit} for {chance_words(req.confidence)}", leads_text(req.leads_needed)),
        (f"{unit} for an even chance (median case)", leads_text(req.median_case)),
        ("Expected from what is already in hand", in_hand_text(req, currency)),
        ("Chance with no new leads at all", format_pct(req.p_in_hand)),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def sensitivity_display(
    table: pd.DataFrame, change: float = 0.10, units: str = "leads"
) -> pd.DataFrame:
    """New ``units`` (leads, or opportunities without a leads file) needed now and if one
    source's rate falls or rises by ``change``."""

    def show(v):
        return NOT_REACHABLE if v is None or pd.isna(v) else format_count(v)

    by, name = format_pct(change), units.capitalize()
    return pd.DataFrame(
        {
            "Source": [str(s) for s in table["source"]],
            f"Share of new {units}": table["mix"].map(format_pct).to_numpy(),
            f"{name} needed if its rate falls {by}": table["if_rate_falls"].map(show).to_numpy(),
            f"{name} needed now": table["leads_needed"].map(show).to_numpy(),
            f"{name} needed if its rate rises {by}": table["if_rate_rises"].map(show).to_numpy(),
        }
    )


def _decimal(value: float) -> str:
    """A small figure with one decimal (``2.3``), a whole one without (``12``)."""
    text = f"{value:,.1f}" if abs(value) < 10 else format_count(value)
    return text[:-2] if text.endswith(".0") else text


def mix_display(plan: MixPlan, currency: str = "") -> pd.DataFrame:
    """The cheapest mix, sources in order of cost per win: costs, caps and leads."""
    t = plan.table

    def money(values) -> list[str]:
        return [format_money(v, currency) for v in values]

    return pd.DataFrame(
        {
            "Source": [str(s) for s in t["source"]],
            "Cost per lead": money(t["cost_per_lead"]),
            "Wins per 100 leads (in window)": [_decimal(v) for v in t["wins_per_100_leads"]],
            "Cost per win": money(t["cost_per_win"]),
            "Most leads (cap)": _counts(t["cap"]),
            "Leads": _counts(t["leads"]),
            "Cost": money(t["cost"]),
        }
    )


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
            "Source": str(s),
            "Ever won (this report)": _pct_interval(
                *ours.loc[s, ["opp_to_won", "opp_to_won_lower", "opp_to_won_upper"]]
            ),
            "Won of closed (win-rate model)": "",
            "Won of closed (as recorded)": "",
        }
        if s in theirs.index:
            r = theirs.loc[s]
            row["Won of closed (win-rate model)"] = _pct_interval(r["mean"], r["lower"], r["upper"])
            row["Won of closed (as recorded)"] = format_pct(r["observed"])
        rows.append(row)
    return pd.DataFrame(rows)


def split_display(req: LeadRequirement, planner: LeadPlanner) -> pd.DataFrame:
    """The recommended new leads by source: over the window, per month, and the wins they are
    expected to bring inside the window."""
    n = req.by_source
    wins = planner.q.mean(axis=0) * n.to_numpy()
    return pd.DataFrame(
        {
            "Source": [str(s) for s in n.index],
            f"New {req.units}": _counts(n),
            "Per month": _counts(n / req.months),
            "Recent per month": _counts(planner.model.monthly_leads_.reindex(n.index).fillna(0)),
            "Expected wins inside the window": _counts(wins),
        }
    )


def _signed_percent(share: float) -> str:
    """A signed share to one decimal, a trailing ``.0`` dropped: ``+2.1%``, ``-3%``."""
    text = format_points(share)
    return f"{text[:-2] if text.endswith('.0') else text}%"


def coverage_display(coverage: pd.DataFrame) -> pd.DataFrame:
    """The back-test coverage for readers (each interval named by its level)."""
    names = {"count": "Deals won", "revenue": "Revenue won"}
    out = pd.DataFrame(
        {
            "Forecast of": coverage["target"].map(names).to_numpy(),
            "Months ahead": _counts(coverage["horizon_months"]),
            "Month-ends scored": _counts(coverage["origins"]),
        }
    )
    for column in [c for c in coverage if c.startswith("inside_")]:
        level = float(column.split("_")[1]) / 100
        out[f"Inside the {interval_words(level)}"] = coverage[column].map(format_pct).to_numpy()
    out["Bias of the median"] = [_signed_percent(v) for v in coverage["bias"]]
    return out


__all__ = [
    "NOT_REACHABLE",
    "RATE_NAMES",
    "chance_words",
    "coverage_display",
    "funnel_display",
    "funnel_file",
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
