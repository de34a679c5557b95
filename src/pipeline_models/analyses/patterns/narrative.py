"""The patterns report in words: headline figures, findings, warnings and interval texts.

Strings built here hold export values (stage, product and owner names); the report escapes them
when it shows them (:func:`pipeline_models.present.display.show_table`, :func:`pipeline_models.present.display.say`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.fields import CLOSED, OPEN, deal_status
from pipeline_models.analyses.patterns.stages import bottleneck
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.formats import format_count, format_money, format_pct

TERM_WORDS = {
    "product": "Deals for product {level}",
    "region": "Deals in region {level}",
    "owner": "Deals of {level}",
    "lead_source": "Deals from lead source {level}",
    "segment": "Deals in segment {level}",
    "deal size": "Deals of size {level}",
    "cycle length": "Deals that took {level} to close",
}
"""How a finding names the deals of one level of an attribute."""

MAX_MONTHS = 24
"""Beyond two years a time in stage says only "very long": it prints as ``24+``."""

MIN_CLOSED = 100
"""Fewer closed deals, and win drivers, owner comparisons and cohorts are called rough."""

MIN_EXITS = 50
"""Fewer stage exits between the two exports, and stage conversion is called rough."""


def _months(value: float) -> str:
    return f"{MAX_MONTHS}+" if value > MAX_MONTHS else f"{value:.1f}".removesuffix(".0")


def _pct(value: float) -> str:
    return format_pct(value)


def _ratio(value: float) -> str:
    return f"{value:.2f}"


def _days(value: float) -> str:
    return format_count(value)


BOUNDS = {"pct": _pct, "ratio": _ratio, "money": format_money, "days": _days, "months": _months}
"""How each kind writes the bounds of its interval."""


def bounds_text(lower: float, upper: float, kind: str = "pct") -> str:
    """An interval's bounds in the report's one style: ``52%–55%``, ``1.20–1.60``,
    ``9.80k–15.1k``, ``21–25`` (days) or ``1.2–24+`` (months)."""
    fmt = BOUNDS[kind]
    return f"{fmt(lower)}–{fmt(upper)}"


def _one_interval(m: float, lo: float, hi: float, kind: str, currency: str = "") -> str:
    if pd.isna(m):
        return ""
    if kind == "ratio":
        value = f"{m:.2f}x"
    elif kind == "money":
        value = format_money(m, currency)
    else:
        value = BOUNDS[kind](m)
    return f"{value} ({bounds_text(lo, hi, kind)})"


def interval_text(
    mean: pd.Series, lower: pd.Series, upper: pd.Series, kind: str = "pct", currency: str = ""
) -> pd.Series:
    """``estimate (lower–upper)`` as text: ``kind`` ``pct`` (62% (55%–70%)), ``ratio``
    (1.40x (1.20–1.60)), ``money`` (12.3k USD (9.80k–15.1k), the currency after the estimate),
    ``days`` (23 (21–25)) or ``months`` (1.4 (1.2–1.7), above 24 shown as ``24+``); empty where
    there is no estimate."""
    return pd.Series(
        [
            _one_interval(m, lo, hi, kind, currency)
            for m, lo, hi in zip(mean, lower, upper, strict=True)
        ],
        index=mean.index,
    )


def effect_sentences(
    effects: pd.DataFrame, top: int = 8, interval: float = INTERVAL
) -> pd.DataFrame:
    """Plain-words findings for the credible effects, strongest first.

    e.g. ``Deals from lead source Referral win 1.40x as often as the average deal (90% interval
    1.20–1.60; 1,339 closed deals).`` Returns a one-column table (``finding``); its strings hold export values, so
    show it with :func:`pipeline_models.present.display.show_table` (which escapes them).
    """
    credible = effects[effects["credible"]].copy()
    credible["strength"] = np.abs(np.log(credible["rate_ratio"]))
    credible = credible.sort_values("strength", ascending=False).head(top)
    pct = f"{100 * interval:.0f}%"
    findings = []
    for r in credible.itertuples(index=False):
        subject = TERM_WORDS.get(r.term, f"Deals with {r.term} {{level}}").format(level=r.level)
        findings.append(
            f"{subject} win {r.rate_ratio:.2f}x as often as the average deal "
            f"({pct} interval {bounds_text(r.lower, r.upper, 'ratio')}; "
            f"{format_count(r.deals)} closed deals)."
        )
    return pd.DataFrame({"finding": findings})


def bullets(items: Sequence[str]) -> tuple[str, dict[str, str]]:
    """A Markdown bullet list as a template and its values, for
    :func:`pipeline_models.present.display.say` (which escapes the values, not the list structure)."""
    items = list(items)
    template = "\n".join(f"- {{item{i}}}" for i in range(len(items)))
    return template, {f"item{i}": str(v) for i, v in enumerate(items)}


Lines = list[tuple[str, str]]


def _stage_lines(conversion: pd.DataFrame | None, currency: str) -> tuple[Lines, list[str]]:
    if conversion is None:
        return [], [
            "The weakest stage is not shown: stage moves need last period's export or the CRM's "
            "stage history."
        ]
    b = bottleneck(conversion)
    if b["lowest_stage"] is None:
        return [], ["The weakest stage is not shown: no deal left an open stage in the period."]
    rate = format_pct(b["lowest_conversion"])
    out = [("weakest stage", f"{b['lowest_stage']} ({rate} move on)")]
    if b.get("most_value_lost_stage"):
        lost = format_money(b["value_lost"], currency)
        out.append(("most value lost at", f"{b['most_value_lost_stage']} ({lost})"))
    return out, []


def _stalled_line(stalled: pd.DataFrame, currency: str) -> tuple[Lines, list[str]]:
    if stalled.attrs.get("unavailable"):
        return [], [f"Stalled deals are not counted: {stalled.attrs['unavailable']}."]
    if not len(stalled):
        return [("stalled deals", "0")], []
    risk = float(stalled["value_at_risk"].sum())
    amounts = stalled["amount"] if "amount" in stalled else stalled["value_at_risk"]
    known = pd.to_numeric(amounts, errors="coerce").gt(0).any()
    at_risk = f"{format_money(risk, currency)} at risk" if known else "no amount recorded"
    return [("stalled deals", f"{format_count(len(stalled))} ({at_risk})")], []


def _change_line(bars: pd.DataFrame | None, currency: str) -> tuple[Lines, list[str]]:
    if bars is None:
        return [], [
            "The change in open pipeline is not shown: it needs last period's export, and none "
            "was given."
        ]
    delta = (int(bars["cents"].iloc[-1]) - int(bars["cents"].iloc[0])) / 100
    text = format_money(delta, currency)
    return [("open pipeline change", text if delta < 0 else "+" + text)], []


def _effect_line(effects: pd.DataFrame) -> tuple[Lines, list[str]]:
    # owners have their own section; a cycle length is known only at the close
    label = "strongest effect on win rate"
    if effects.attrs.get("unavailable"):
        return [], [f"What wins is not shown: {effects.attrs['unavailable']}."]
    credible = effects[effects["credible"] & ~effects["term"].isin(["owner", "cycle length"])]
    if not len(credible):
        return [(label, "no attribute stands out")], []
    top = credible.loc[np.abs(np.log(credible["rate_ratio"])).idxmax()]
    term = str(top["term"]).replace("_", " ")
    return [(label, f"{term} {top['level']}: {top['rate_ratio']:.2f}x the average")], []


def headline(
    conversion: pd.DataFrame | None,
    stalled: pd.DataFrame,
    bars: pd.DataFrame | None,
    effects: pd.DataFrame,
    owners: pd.DataFrame | None,
    currency: str = "",
) -> tuple[Lines, list[str]]:
    """The report's headline figures for the index page, as (figure, value) pairs, and a
    sentence for each figure this export cannot give (its pair is left out)."""
    items: Lines = []
    gaps: list[str] = []
    for lines, why in (
        _stage_lines(conversion, currency),
        _stalled_line(stalled, currency),
        _change_line(bars, currency),
        _effect_line(effects),
    ):
        items += lines
        gaps += why
    if owners is not None:
        v = owners["win rate vs team"]
        above, below = int((v == "higher").sum()), int((v == "lower").sum())
        items.append(("owners vs team win rate", f"{above} above, {below} below"))
    return items, gaps


def thin_data_warnings(
    frame: pd.DataFrame,
    moves: pd.DataFrame | None,
    min_closed: int = MIN_CLOSED,
    min_exits: int = MIN_EXITS,
    where: str | None = None,
) -> list[str]:
    """Sentences for the top of the report when the data are too thin for firm conclusions
    (``where`` the stage moves were seen; default: between the two exports)."""
    out = []
    status = deal_status(frame)
    closed = int(status.isin(CLOSED).sum())
    if closed == 0:
        out.append(
            "No closed deal yet: win drivers, owner comparisons and cohorts cannot be shown."
        )
    elif closed < min_closed:
        out.append(
            f"Only {closed} closed deals: win drivers, owner comparisons and cohorts are rough."
        )
    if moves is not None:
        exits = int(moves["outcome"].isin(["passed", "lost"]).sum())
        if exits < min_exits:
            out.append(
                f"Only {exits} stage exits {where or 'between the two exports'}: stage "
                "conversion is rough."
            )
    no_age = int((status.eq(OPEN) & frame["created_date"].isna()).sum())
    if no_age:
        out.append(
            f"{no_age} open deals have no creation date: their age is unknown, so they cannot be "
            "judged stalled and are left out of the cohorts."
        )
    return out


__all__ = [
    "MAX_MONTHS",
    "MIN_CLOSED",
    "MIN_EXITS",
    "TERM_WORDS",
    "bounds_text",
    "bullets",
    "effect_sentences",
    "headline",
    "interval_text",
    "thin_data_warnings",
]
