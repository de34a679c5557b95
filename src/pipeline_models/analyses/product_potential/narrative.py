"""Words of the product potential report: lever names, the headline, the warnings a reader should
see before trusting the figures, and the sentences that state an interval (built from
:mod:`pipeline_models.analyses.policy`, so the text always says the interval the figures carry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.formats import format_money, format_pct

from .accounts import chance_text
from .levels import level_dim_of
from .levers import merge_scaling_levers
from .ranking import MEASURES

if TYPE_CHECKING:
    from pipeline_models.models.period import PeriodModels

LEVER_LABELS = {"win_rate": "win rate", "deal_size": "deal size", "cycle_time": "cycle time"}
"""A lever's name for readers."""

MIN_CLOSED = 30
"""A level with fewer closed deals gets a warning: its win rate leans on the other products."""

MIN_WON = 10
"""A level with fewer won deals with an amount gets a warning: its deal size leans on the others."""

READING_NOTE = (
    "**How to read the figures.** Each figure comes twice: the **raw** figure straight from the "
    "export and the **pooled** estimate of the period's models, with its "
    f"{INTERVAL:.0%} interval (the true value lies inside with {INTERVAL:.0%} probability). A "
    "product with few deals borrows strength from the others: its pooled figure sits between its "
    "own raw figure and the common one, and its interval is wide. Where raw and pooled agree, the "
    "product has enough deals to speak for itself. In the charts the dot is the pooled estimate, "
    f"the bar its {INTERVAL:.0%} interval and the cross the raw figure."
)
"""The report's note on raw and pooled figures and their interval (Markdown)."""

SPREAD_SENTENCE = (
    "How much products differ, as the models see it: two products' win odds typically differ by "
    "a factor {w}, their deal sizes by a factor {s} "
    f"({INTERVAL:.0%} intervals "
    "{wl}–{wu} and {sl}–{su}). A factor near 1 means the products hardly differ and their "
    "figures are pulled toward the common one."
)
"""Template of the sentence on :func:`~.spread.spread_table`; fill it with :func:`spread_values`."""


def spread_values(spread: pd.DataFrame) -> dict[str, str]:
    """The placeholders of :data:`SPREAD_SENTENCE` from a spread table with both rows."""
    win, size = spread.loc["win odds"], spread.loc["deal size"]
    return {
        "w": f"{win['typical factor']:.2f}",
        "s": f"{size['typical factor']:.2f}",
        "wl": f"{win['factor lower']:.2f}",
        "wu": f"{win['factor upper']:.2f}",
        "sl": f"{size['factor lower']:.2f}",
        "su": f"{size['factor upper']:.2f}",
    }


ACCOUNTS_SENTENCE = (
    "Of the {listed} accounts listed first, {new} would buy the product for the first time; the "
    "most likely purchase is {account} buying {product}, with a chance of {chance}."
)
"""Template of the sentence under the accounts table; fill it with :func:`accounts_values`."""

ACCOUNTS_ALIKE = (
    " The accounts of a {segment} buy alike in this export, so the lists follow the {segment} "
    "and the open deals more than each account's own purchases."
)
"""Added to :data:`ACCOUNTS_SENTENCE` when the account model finds no difference between the
accounts of a segment."""

ACCOUNTS_UNAVAILABLE = "This export cannot show which accounts may buy each product: {reason}."
"""What the report says in place of the accounts table."""


def accounts_values(top: pd.DataFrame) -> dict[str, str]:
    """The placeholders of :data:`ACCOUNTS_SENTENCE` from the listed accounts
    (:func:`~.accounts.top_accounts`, at least one row)."""
    best = top.loc[top["chance"].idxmax()]
    return {
        "listed": f"{len(top):,}",
        "new": f"{int(top['new_to_account'].sum()):,}",
        "account": str(best["account"]),
        "product": str(best["product"]),
        "chance": chance_text(best["chance"], best["low"], best["high"]),
    }


def lever_label(lever: str) -> str:
    """``"win_rate|deal_size"`` -> ``"win rate or deal size"``."""
    return " or ".join(LEVER_LABELS[part] for part in lever.split("|"))


def thin_data_warnings(
    raw: pd.DataFrame, min_closed: int = MIN_CLOSED, min_won: int = MIN_WON
) -> list[str]:
    """Sentences naming levels whose figures rest on few deals (and so lean on the others)."""
    out = []
    for level, r in raw.iterrows():
        if r["closed"] < min_closed or r["won_with_amount"] < min_won:
            out.append(
                f"{level}: only {int(r['closed'])} closed and {int(r['won_with_amount'])} won "
                "deals with an amount; its estimates lean on the other products (pooled) and "
                "carry wide intervals."
            )
    return out


def report_warnings(
    frame: pd.DataFrame, raw: pd.DataFrame, models: PeriodModels | None = None
) -> list[str]:
    """Everything a reader should know before trusting the figures: fits that did not converge,
    products with few deals, open deals without a creation date, no product column."""
    out = list(models.warnings()) if models is not None else []
    if not frame["product"].notna().any():
        out.append(
            "The export has no product column: every deal counts as one product, so there is "
            "nothing to compare."
        )
    out += thin_data_warnings(raw)
    missing = int(raw["open_without_created"].sum())
    if missing:
        out.append(
            f"{missing} open deals have no creation date: they are not in the monthly volumes "
            "(recent volume and its trend may read low) and count as just created in the open "
            "pipeline's expected value."
        )
    return out


@dataclass(frozen=True)
class Headline:
    """The report's headline figures (label, value) and the numbers behind them."""

    items: list[tuple[str, str]]
    figures: dict


def headline(
    draws: xr.Dataset,
    ranking: pd.DataFrame,
    levers: pd.DataFrame,
    rank_measure: str,
    horizon_months: int,
    top_k: int = 1,
    currency: str = "",
) -> Headline:
    """Headline figures: the likely best product on the ranking measure, the largest lever."""
    dim = level_dim_of(draws["win_rate"])
    label = MEASURES[rank_measure][0]
    items = [(f"{dim}s", str(draws.sizes[dim]))]
    figures: dict = {
        "levels": draws[dim].values.tolist(),
        "rank_measure": rank_measure,
        "p_best": {str(k): float(v) for k, v in ranking["p_best"].items()},
        "p_top_k": {str(k): float(v) for k, v in ranking["p_top_k"].items()},
        "top_k": top_k,
    }
    if len(ranking):
        best = ranking.index[0]
        items.append(
            (
                f"most likely best on {label}",
                f"{best} ({format_pct(ranking['p_best'].iloc[0])} chance)",
            )
        )
    positive = merge_scaling_levers(levers)
    positive = positive[positive["mean"] > 0]
    if len(positive):
        top = positive.iloc[0]
        items.append(
            (
                f"largest lever ({horizon_months} months)",
                f"{top[dim]}, {lever_label(top['lever'])}: +{format_money(top['mean'], currency)}",
            )
        )
        figures["top_lever"] = {
            "level": str(top[dim]),
            "lever": top["lever"],
            "scenario": top["scenario"],
            "mean": float(top["mean"]),
            "lower": float(top["lower"]),
            "upper": float(top["upper"]),
        }
    for variable in ("win_rate", "deal_size"):
        figures[f"{variable}_median"] = {
            str(k): float(v) for k, v in draws[variable].median("sample").to_series().items()
        }
    return Headline(items, figures)


def estimates_alt(draws: xr.Dataset, currency: str = "") -> str:
    """The alt text of the estimates chart: what it shows, and the product ahead on value."""
    dim = level_dim_of(draws["win_rate"])
    value = draws["revenue_per_opportunity"].median("sample").to_series()
    best = value.idxmax() if value.notna().any() else None
    lead = (
        f" Highest expected revenue per opportunity: {best}, {format_money(value[best], currency)}."
        if best is not None
        else ""
    )
    return (
        f"Win rate, mean won deal, median days to win and expected revenue per opportunity of "
        f"each {dim}: pooled estimates with their {INTERVAL:.0%} intervals beside the raw "
        f"figures.{lead}"
    )


def ranking_alt(ranking: pd.DataFrame, label: str, top_k: int) -> str:
    """The alt text of the ranking chart: each level's chance to be the best, the likeliest."""
    among = f", and to be in the top {top_k}," if top_k > 1 else ""
    text = f"Chance of each product to be the best{among} on {label}."
    if len(ranking):
        text += (
            f" Most likely the best: {ranking.index[0]}, {format_pct(ranking['p_best'].iloc[0])}."
        )
    return text


def levers_alt(levers: pd.DataFrame, lever_pct: float, horizon_months: int, currency: str) -> str:
    """The alt text of the levers chart: what a change adds, and the largest addition."""
    shown = merge_scaling_levers(levers)
    text = (
        f"Revenue a {lever_pct:g}% change would add over {horizon_months} months, per product "
        f"and lever, with {INTERVAL:.0%} intervals."
    )
    if len(shown) and shown["mean"].max() > 0:
        top = shown.loc[shown["mean"].idxmax()]
        text += (
            f" The largest: {top[shown.columns[0]]}, {lever_label(top['lever'])}, "
            f"+{format_money(top['mean'], currency)}."
        )
    return text


def mix_alt(created: pd.DataFrame, with_amounts: bool) -> str:
    """The alt text of the mix chart: the shares it shows over which months, and the largest
    share of deals created in the last month."""
    parts = (
        "deals created, amount created and revenue won"
        if with_amounts
        else ("deals created and revenue won")
    )
    if created.empty:
        return f"Each product's monthly share of {parts}; no month has a deal to show."
    last = created.iloc[-1]
    first, final = (created.index[i].strftime("%b %Y") for i in (0, -1))
    span = final if first == final else f"{first} to {final}"
    return (
        f"Each product's monthly share of {parts}, {span}. In {final} the largest share of deals "
        f"created was {last.idxmax()}'s, {format_pct(last.max())}."
    )
