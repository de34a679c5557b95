"""Lead strength: each open deal's chance of being won this quarter, moved by its deal score, with
the reasons for its score in words, and how well the score's chances matched what happened.

The forecaster gives every open deal of one product and age the same chance; the deal score
(:class:`~pipeline_models.models.deal_score.DealScoreModel`) says how much better or worse than
the deals of its product still open at its age a deal looked when it was created.
:func:`with_score_odds` hands
that ratio to the forecaster (its ``score_odds`` column), which tilts the deal's monthly chances
of closing won. The score is never refitted here: every function reads the period's fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.deals import chance_column, open_deal_outlook
from pipeline_models.analyses.forecast.window import quarter_window
from pipeline_models.analyses.policy import REASON_MIN_EFFECT, RELIABILITY_BINS, TOP_REASONS
from pipeline_models.models.deal_score import DealScoreModel
from pipeline_models.models.deal_score.deals import ACCOUNT_PAST, with_account_past
from pipeline_models.models.deal_score.design import (
    BAND,
    BLANK,
    NO_AMOUNT,
    OTHER,
    PRECISION,
    SMOOTH,
    VALUE,
    attribute_frame,
)
from pipeline_models.models.deal_score.risk import risk_set_odds
from pipeline_models.models.deal_score.scores import ece, reliability
from pipeline_models.models.forecaster import PipelineForecaster
from pipeline_models.models.forecaster.cells import SCORE_ODDS
from pipeline_models.present.formats import format_money
from pipeline_models.present.labels import inert

NOTHING_STANDS_OUT = "nothing stands out: close to the average deal"
"""The reasons of a deal none of whose terms moves its score by :data:`REASON_MIN_EFFECT`."""

ATTRIBUTE_NAMES = {"lead_source": "lead source"}
"""Attributes whose reader's name differs from the column's."""

_ACCOUNT_PAST = {
    "won before": "account won before",
    "lost before": "account lost before, never won",
    "first deal": "account's first deal",
}
_PRECISION = {
    "1": "round amount (1 significant digit)",
    "2": "round amount (2 significant digits)",
    "3": "amount to 3 significant digits",
    "4+": "exact amount (4 or more significant digits)",
    NO_AMOUNT: "no amount",
}

STRENGTH_COLUMNS = (
    "opportunity_id",
    "product",
    "region",
    "owner",
    "stage",
    "amount",
    "age_months",
    "p_quarter",
    "p_won",
    "expected_value",
    SCORE_ODDS,
    "reasons",
)
"""Columns of a :func:`strength_table`."""


def with_score_odds(
    deals: pd.DataFrame,
    score: DealScoreModel | None,
    group: str = "product",
    opportunities: pd.DataFrame | None = None,
    origin: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """A copy of ``deals`` with column ``score_odds``: each deal's odds of being won against the
    deals of its ``group`` level that were open at its age at ``origin``
    (:func:`~pipeline_models.models.deal_score.risk.risk_set_odds`; ``opportunities`` is the whole
    table the deals come from). Without ``origin``, against the average fitted deal of its level
    (:meth:`DealScoreModel.relative_odds`). Without a score the copy is unchanged, and the
    forecaster gives the deals their group's chances."""
    out = deals.copy()
    if score is None:
        return out
    if len(out) == 0:
        out[SCORE_ODDS] = pd.Series(dtype=float)
        return out
    if origin is not None:
        table = deals if opportunities is None else opportunities
        out[SCORE_ODDS] = risk_set_odds(score, table, origin, group).loc[deals.index].to_numpy()
        return out
    out[SCORE_ODDS] = score.relative_odds(with_account_past(deals, opportunities), group)
    return out


def reason_sentences(
    score: DealScoreModel | None,
    deals: pd.DataFrame,
    top: int = TOP_REASONS,
    opportunities: pd.DataFrame | None = None,
    min_effect: float = REASON_MIN_EFFECT,
) -> pd.Series:
    """Per deal (index of ``deals``), the ``top`` strongest reasons for its score in words, joined
    by ``"; "``: ``"product GTX Pro raises it"``, ``"owner A x region West lowers it"``. A term
    whose effect is below ``min_effect`` in log-odds is left out; a deal left with none reads
    :data:`NOTHING_STANDS_OUT`. CRM strings are kept as typed, only made inert: they are text,
    escaped wherever a page shows them."""
    out = pd.Series(NOTHING_STANDS_OUT, index=deals.index, dtype=object)
    if score is None or len(deals) == 0:
        return out
    view = with_account_past(deals, opportunities).reset_index(drop=True)
    cats = attribute_frame(
        view, score.attributes_, score.amount_column_, score.deal_config.bands, score.coding_
    )
    long = score.reasons(view, top)
    long = long[long["effect"].abs() >= min_effect]
    words = {}
    for deal, term, effect in zip(long["deal"], long["term"], long["effect"], strict=True):
        verb = "raises it" if effect > 0 else "lowers it"
        phrase = " x ".join(_phrase(part, cats, view, deal, score) for part in term.split(":"))
        words.setdefault(deal, []).append(f"{phrase} {verb}")
    for deal, reasons in words.items():
        out.iat[deal] = "; ".join(reasons)
    return out


def _phrase(part: str, cats: pd.DataFrame, view: pd.DataFrame, i: int, score) -> str:
    """One attribute of deal ``i`` as a reader names it."""
    if part == SMOOTH:
        amount = pd.to_numeric(view[score.amount_column_], errors="coerce").iloc[i]
        return f"deal size {format_money(amount)}" if amount > 0 else "no amount"
    value = str(cats[part].iloc[i]) if part in cats else BLANK
    if part == ACCOUNT_PAST:
        return _ACCOUNT_PAST.get(value, "account's past unknown")
    if part == PRECISION:
        return _PRECISION.get(value, f"amount precision {value}")
    if part == BAND:
        return _band_text(value, score.coding_.band_edges)
    if part == VALUE:
        if value == OTHER or value not in score.coding_.levels.get(VALUE, []):
            return "an amount few deals share"
        return f"amount of exactly {format_money(float(value.replace(',', '')))}, a common figure"
    name = ATTRIBUTE_NAMES.get(part, part)
    if value == BLANK:
        return f"no {name}"
    levels = score.coding_.levels.get(part, [])
    if value in levels:
        return f"{name} {inert(value)}"
    # the fit kept a level of its own for common values only; this one takes the rest's effect
    seen = "a rarely seen" if OTHER in levels else "a never seen"
    return f"{seen} {name} ({inert(value)})"


def _band_text(value: str, edges: np.ndarray | None) -> str:
    """An amount band (``band 2``) as the range of amounts it holds."""
    if value == NO_AMOUNT or not value.startswith("band ") or edges is None or not len(edges):
        return "no amount" if value == NO_AMOUNT else f"amount {value}"
    k = int(value.split()[1]) - 1
    bounds = np.exp(np.asarray(edges, dtype=float))
    if k == 0:
        return f"amount up to {format_money(bounds[0])}"
    if k >= len(bounds):
        return f"amount over {format_money(bounds[-1])}"
    return f"amount {format_money(bounds[k - 1])} to {format_money(bounds[k])}"


def strength_table(
    forecaster: PipelineForecaster,
    score: DealScoreModel | None,
    open_deals: pd.DataFrame,
    period: str,
    opportunities: pd.DataFrame | None = None,
    rows: int | None = None,
) -> pd.DataFrame:
    """Open deals ranked by their chance of being won in the quarter of ``period`` (the months
    of it still to come, :func:`~pipeline_models.analyses.forecast.window.quarter_window`), most
    likely first, larger expected value first among equals.

    ``p_quarter`` is the forecaster's chance moved by the deal's score (``score_odds``);
    ``p_won`` the score's chance of being won, as of the deal's creation; ``expected_value`` is
    ``p_quarter`` times the amount (NaN without one); ``reasons`` the score's reasons in words.
    ``rows`` keeps the most likely deals only (the reasons, the costly part, are given for those).
    Deals without a creation date cannot be aged and are left out; deals that carry
    ``score_odds`` already (:func:`with_score_odds`) are not scored again. ``attrs`` holds the
    quarter and the months of it still to come.
    """
    quarter, months, _ = quarter_window(period)
    dated = open_deals[open_deals["created_date"].notna()]
    group = forecaster.forecast_config.group
    # deals that already carry their odds (the report scores the open deals once) keep them
    scored = (
        dated
        if SCORE_ODDS in dated
        else with_score_odds(dated, score, group, opportunities, forecaster.origin_)
    )
    ranked = open_deal_outlook(forecaster, scored, horizon=months)
    ranked = ranked.rename(columns={chance_column(months): "p_quarter"})
    amount = pd.to_numeric(ranked["amount"], errors="coerce")
    ranked["expected_value"] = ranked["p_quarter"] * amount
    ranked = ranked.sort_values(
        ["p_quarter", "expected_value"], ascending=False, kind="stable", na_position="last"
    ).reset_index(drop=True)
    if rows is not None:
        ranked = ranked.head(rows)
    ids = dated["opportunity_id"].astype(str).to_numpy()
    # the listed deals in their ranked order, looked up by id (ids are unique in an export)
    listed = scored.set_axis(ids).loc[ranked["opportunity_id"].astype(str)].reset_index(drop=True)
    ranked[SCORE_ODDS] = listed[SCORE_ODDS].to_numpy() if SCORE_ODDS in listed else 1.0
    if score is None or not len(listed):
        ranked["p_won"] = np.nan
    else:
        ranked["p_won"] = score.predict(with_account_past(listed, opportunities))
    ranked["reasons"] = reason_sentences(score, listed, opportunities=opportunities).to_numpy()
    out = ranked[[c for c in STRENGTH_COLUMNS if c in ranked]]
    out.attrs = {"quarter": quarter, "months": months}
    return out


def reliability_table(
    score: DealScoreModel | None, bins: int = RELIABILITY_BINS
) -> pd.DataFrame | None:
    """The score's out-of-fold chances of the fitted closed deals (each scored by a fit that never
    saw it, as if the deal were new) against what happened, by bin of chance
    (:func:`~pipeline_models.models.deal_score.scores.reliability`); ``attrs`` holds the expected
    calibration error (``ece``) and the deals (``deals``). ``None`` without out-of-fold chances
    (too few closed deals to hold some out)."""
    chances = None if score is None else getattr(score, "oof_", None)
    if chances is None:
        return None
    won = np.asarray(score.oof_won_, dtype=float)
    table = reliability(chances, won, bins)
    table.attrs = {"ece": ece(chances, won, bins), "deals": len(chances)}
    return table


__all__ = [
    "NOTHING_STANDS_OUT",
    "STRENGTH_COLUMNS",
    "reason_sentences",
    "reliability_table",
    "strength_table",
    "with_score_odds",
]
