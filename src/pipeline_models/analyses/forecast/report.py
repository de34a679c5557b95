"""The forecast report's content: deals and revenue won in the coming months as a distribution,
by product and region, the open deals that count and how strong each one is, and the forecast's
track record."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from pipeline_models.analyses.forecast import (
    charts,
    deals,
    ledger,
    narrative,
    strength,
    tables,
    window,
)
from pipeline_models.analyses.forecast.honesty import (
    backtest_limits,
    has_crm_probability,
    limit_sentences,
)
from pipeline_models.analyses.forecast.in_hand import (
    in_hand_figure,
    in_hand_words,
    monthly_parts,
    period_outlook,
)
from pipeline_models.analyses.forecast.tables import MIDDLE_HALF
from pipeline_models.analyses.forecast.track import score_table
from pipeline_models.models.forecaster.result import window_label
from pipeline_models.models.period import refusal
from pipeline_models.present.content import ReportContent
from pipeline_models.present.formats import format_money

if TYPE_CHECKING:
    from pipeline_models.run.catalog import Catalog

HORIZONS = (1, 2, 3)
"""Months ahead the forecast covers: the next month, the one after, and the quarter's span."""
GROUP_HORIZON = 3
"""Window of the tables by product and region and of the open deals' chances."""
TOP_DEALS = 15
"""Open deals listed, most likely to close won first (in the top deals and lead strength)."""


def build(catalog: Catalog, target_revenue: float = 0.0, backtest_months: int = 6) -> ReportContent:
    """Everything the forecast report shows, from the run's catalog and fits.

    ``target_revenue`` 0 means the quarter's default target
    (:func:`~pipeline_models.analyses.forecast.window.default_target`).
    """
    frame, period, currency = catalog.opportunities(), catalog.period, catalog.currency()
    forecaster, score = catalog.forecaster(), catalog.deal_score()
    drawn, open_deals = period_outlook(catalog, max(HORIZONS))
    # the draws reach a month further than the report shows: the ledger's last month
    outlook = replace(drawn, horizons=HORIZONS)
    quarter = window.quarter_window(period)[0]
    target = float(target_revenue) or window.default_target(frame, period)
    table = tables.forecast_table(outlook, frame, period, target_revenue=target)
    content = ReportContent(title="Forecast")
    no_revenue = _no_revenue(frame)
    _in_hand_note(content, outlook, catalog.lead_funnel().has_leads_, currency, not no_revenue)
    content.warnings = narrative.forecast_warnings(forecaster.n_deals_)
    _target_note(content, target, bool(target_revenue), quarter, currency)
    if no_revenue:
        content.warnings.append(f"Revenue is not forecast: {no_revenue}.")
        content.headline = narrative.count_headline(table, quarter)
    else:
        content.headline = narrative.headline_items(table, quarter, target, currency)
    _window_tables(content, table, outlook, frame, no_revenue, target, currency)
    outlooks = deals.open_deal_outlook(forecaster, open_deals, horizon=GROUP_HORIZON)
    within = f"within {GROUP_HORIZON} months"
    content.add_table(
        "age_bands",
        tables.age_band_display(deals.age_band_table(outlooks, GROUP_HORIZON), GROUP_HORIZON),
        f"Open deals by age and their mean chance of closing won {within} (chances of an outcome "
        "still to come, so without an interval)",
        empty="No open deal with a creation date as of the period's end: no deal can be aged.",
    )
    content.add_table(
        "top_deals",
        tables.open_deals_display(outlooks, GROUP_HORIZON, TOP_DEALS, currency),
        f"Open deals most likely to close won {within} (chances, without an interval)",
        empty="No open deal as of the period's end: the forecast rests on deals not yet created.",
    )
    reliability = _strength_parts(content, catalog, open_deals, currency)
    wape = _track_parts(
        content, catalog.forecast_track(backtest_months), frame, catalog.leads(), currency
    )
    content.appendix = _appendix(forecaster, score)
    content.files["forecast_table"] = table.reset_index()
    content.files[tables.DRAWS_FILE] = tables.draws_table(outlook, frame, period)
    content.figures = _figures(content, table, target, wape, reliability, score)
    content.figures["currency"] = currency  # a roll-up adds up only revenue of one currency
    # what each deal adds to each month, so that next month's run can say why the forecast moved
    month_ledger = ledger.build_ledger(drawn, forecaster, open_deals, frame, period)
    content.files[ledger.LEDGER_FILE] = month_ledger
    content.figures["outlook"] = {
        **ledger.outlook_figures(drawn, month_ledger, frame, period, target),
        "metric": "count" if no_revenue else "revenue",
    }
    content.fits = dict(catalog.loaded)
    return content


def _figures(content, table, target, wape, reliability, score) -> dict:
    """The machine-readable figures of ``summary.json``."""
    next_month, quarter_row = table.iloc[0], table.iloc[-1]
    return {
        "revenue_next_month_median": float(next_month["revenue_median"]),
        "count_next_month_median": float(next_month["count_median"]),
        "target_revenue": target,
        "p_reach_target": float(quarter_row.get("p_reach_target", float("nan"))),
        "backtest_wape": wape,
        "backtest_origins": 0
        if "backtest" not in content.files
        else int(content.files["backtest"]["origin"].nunique()),
        "deal_score_ece": None if reliability is None else float(reliability.attrs["ece"]),
        "deal_score_deals": 0 if score is None else int(score.deals_),
    }


def _target_note(
    content: ReportContent, target: float, given: bool, quarter: str, currency: str
) -> None:
    """Where the quarter's target comes from, or why there is none (in place of its chance)."""
    months = window.RUN_RATE_MONTHS
    if not target > 0:
        content.add_note("target", narrative.NO_TARGET, quarter=quarter, months=months)
        return
    content.add_note(
        "target",
        narrative.TARGET_SET if given else narrative.TARGET_DEFAULT,
        target=format_money(target, currency),
        quarter=quarter,
        months=months,
    )


def _window_tables(content, table, outlook, frame, no_revenue: str, target, currency) -> None:
    """The forecast by window (revenue and deals), its chart, and revenue by product and
    region; where revenue cannot be forecast, a sentence in place of each revenue table."""
    source = table.attrs.get("weighted_pipeline", "estimate")
    revenue = tables.forecast_display(table, "revenue", currency, target)
    content.add_table(
        "revenue",
        revenue.iloc[0:0] if no_revenue else revenue,
        narrative.forecast_caption("revenue", source),
        empty=f"Revenue won cannot be forecast: {no_revenue}. Deals won are forecast below.",
    )
    content.add_table(
        "count",
        tables.forecast_display(table, "count"),
        narrative.forecast_caption("count", source),
        empty="No window to forecast.",
    )
    metrics = ("count",) if no_revenue else ("revenue", "count")
    content.add_chart(
        "outlook",
        lambda: _outlook_chart(outlook, frame, metrics, currency),
        alt=narrative.outlook_alt(outlook, metrics, currency),
    )
    for column in ("product", "region"):
        if frame[column].notna().any():
            shown = tables.group_display(outlook, column, GROUP_HORIZON, currency=currency)
            content.add_table(
                f"by_{column}",
                shown.iloc[0:0] if no_revenue else shown,
                f"Revenue won in the next three months by {column}: median and "
                f"{tables.interval_words()}",
                empty=f"Revenue by {column} cannot be forecast: {no_revenue}."
                if no_revenue
                else f"No {column} to forecast revenue by.",
            )


def _appendix(forecaster, score) -> list[str]:
    """How the forecast's own models fitted, in their words, for the appendix."""
    notes = [f"forecast model: {forecaster.diagnostics().message}"]
    if score is not None:
        notes.append(f"deal score model: {score.diagnostics().message}")
    return notes


def _in_hand_note(
    content: ReportContent, outlook, with_leads: bool, currency: str, revenue: bool = True
) -> None:
    """What is in hand over the forecast's longest window, in the lead requirement's words (in
    deals alone where revenue is not forecast)."""
    months = max(HORIZONS)
    hand = monthly_parts(outlook, months)
    values = {
        "window": window_label(outlook.origin, months),
        "what": "open deals and open leads" if with_leads else "open deals",
        "count": in_hand_words(*in_hand_figure(hand, "count"), "count"),
    }
    if not revenue:
        content.add_note("in_hand", narrative.IN_HAND_COUNT_SENTENCE, **values)
        return
    money = in_hand_words(*in_hand_figure(hand, "revenue"), "revenue", currency)
    content.add_note("in_hand", narrative.IN_HAND_SENTENCE, revenue=money, **values)


def _strength_parts(
    content: ReportContent, catalog: Catalog, open_deals: pd.DataFrame, currency: str
) -> pd.DataFrame | None:
    """The lead strength section: open deals ranked by their chance this quarter with the reasons
    for their scores, and the score's reliability; in its place, why deals are not scored. The
    reliability table is returned (``None``: no score, or too few deals to hold some out)."""
    frame, score = catalog.opportunities(), catalog.deal_score()
    if score is None:
        reason = refusal("deal_score", frame) or "the deal score was not fitted for this run"
        content.add_note("strength", narrative.STRENGTH_UNAVAILABLE, reason=reason)
        return None
    table = strength.strength_table(
        catalog.forecaster(), score, open_deals, catalog.period, frame, rows=TOP_DEALS
    )
    quarter = table.attrs["quarter"]
    if len(table):
        values = narrative.strength_values(table, open_deals[open_deals["created_date"].notna()])
        content.add_note("strength", narrative.STRENGTH_SENTENCE, **values)
    content.add_table(
        "strength",
        tables.strength_display(table, TOP_DEALS, currency),
        f"Open deals most likely to be won in {quarter}, with what moves each one's score "
        "(chances of an outcome still to come, so without an interval)",
        max_rows=TOP_DEALS,
        empty="No open deal with a creation date to score.",
    )
    content.files["lead_strength"] = table
    if getattr(score, "amount_reason_", None):
        content.add_note(
            "strength_amounts", narrative.AMOUNTS_LEFT_OUT, reason=score.amount_reason_
        )
    reliability = strength.reliability_table(score)
    if reliability is not None:
        content.add_chart(
            "reliability",
            lambda: _reliability_chart(reliability),
            alt=narrative.reliability_alt(reliability),
        )
        content.add_note(
            "reliability",
            narrative.RELIABILITY_CAPTION,
            **narrative.reliability_values(reliability),
        )
    return reliability


def _reliability_chart(table: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    charts.plot_reliability(table, ax=ax)
    fig.tight_layout()
    return fig


def _no_revenue(frame: pd.DataFrame) -> str:
    """Why revenue cannot be forecast on this export (``""``: it can)."""
    won = frame[frame["status"] == "won"]
    if won.empty:
        return "the export holds no won deal to learn deal amounts from"
    if not (pd.to_numeric(won["amount"], errors="coerce") > 0).any():
        return "the export records no positive amount on any won deal"
    return ""


def _outlook_chart(outlook, frame, metrics: tuple[str, ...], currency: str = ""):
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(11 if len(metrics) > 1 else 6, 3.8), squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        charts.plot_forecast(outlook, frame, metric, ax=ax, currency=currency)
    fig.tight_layout()
    return fig


def _track_parts(
    content: ReportContent,
    track,
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    currency: str = "",
) -> dict[str, float] | None:
    """The track record's chart and scores, with what it cannot score honestly on this export
    (and its leads); ``None`` when there is no track record."""
    not_scored = backtest_limits(frame, leads)
    if track is not None:  # a track record kept from before these limits applied
        track = track[~track["model"].isin(list(not_scored))]
    limits = limit_sentences(
        not_scored,
        has_crm_probability(frame),
        track is not None and "crm_weighted_pipeline" in set(track["model"]),
    )
    if track is None or track.empty:
        content.add_box("track", narrative.track_warnings(pd.DataFrame()) + limits)
        return None
    content.add_box("track", limits)
    scores = score_table(track)
    content.files["backtest"] = track

    def chart():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        charts.plot_track_record(track, "revenue", 1, ax=axes[0], currency=currency)
        charts.plot_track_record(track, "count", 1, ax=axes[1])
        fig.tight_layout()
        return fig

    off = {metric: charts.off_scale(track, metric, 1) for metric in ("revenue", "count")}
    content.add_chart("track", chart, alt=narrative.track_alt(track, off, scores, currency))
    content.add_table(
        "scores",
        tables.scores_display(scores, currency),
        f"Scores of one-month-ahead forecasts at {track['origin'].nunique()} past month-ends: "
        "error and bias as shares of what was won, and how often what was won fell inside the "
        f"workbench's {tables.interval_words(MIDDLE_HALF[1] - MIDDLE_HALF[0])} and "
        f"{tables.interval_words()} (the baselines give a single figure, no interval)",
        empty="No forecast could be scored on this export.",
    )
    wape = scores.set_index(["model", "target"])["wape"]
    return {f"{m}/{t}": float(v) for (m, t), v in wape.items()}


__all__ = ["build"]
