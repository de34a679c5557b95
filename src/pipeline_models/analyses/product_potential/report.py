"""The product potential report's content: how each product sells, its volume and pipeline, which
is most likely the best, where a small change would pay most, and which accounts are most likely
to buy each product."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.analyses.product_potential import (
    accounts,
    charts,
    draws,
    levers,
    mix,
    narrative,
    tables,
)
from pipeline_models.analyses.product_potential import ranking as ranks
from pipeline_models.analyses.product_potential import raw as raws
from pipeline_models.analyses.product_potential import spread as spreads
from pipeline_models.analyses.product_potential.intervals import OUTCOMES
from pipeline_models.analyses.unavailable import (
    count_headline,
    missing_models,
    status_reader_table,
)
from pipeline_models.models.period import refusal
from pipeline_models.present.content import ReportContent
from pipeline_models.present.formats import format_pct

if TYPE_CHECKING:
    from pipeline_models.run.catalog import Catalog

AMOUNT_SHARE_FOR_MIX = 0.8
"""The mix by amount is shown only when most deals (this share) carry an amount: otherwise it
describes the few deals that do."""

DEFAULT_MEASURE = "revenue_per_opportunity"

UNAVAILABLE_PARTS = ("spread", "ranking", "levers", "peers", "regions")
"""The notes that stand, on an export that cannot support the models, for the parts built on
them (one per section of the report, so no section is left without a sentence)."""


def build(
    catalog: Catalog,
    lever_pct: float = 10.0,
    horizon_months: int = 3,
    rank_measure: str = DEFAULT_MEASURE,
    top_k: int = 2,
    volume_months: int = 6,
    max_rows: int = 12,
    top_accounts: int = accounts.TOP_ACCOUNTS,
) -> ReportContent:
    """Everything the product potential report shows, from the run's catalog and fits."""
    frame, as_of, seed = catalog.opportunities(), catalog.as_of, catalog.random_seed
    currency = catalog.currency()
    models = catalog.period_models()
    missing = missing_models(models)
    if missing:
        content = _unavailable(catalog, frame, missing, top_accounts)
        content.appendix = models.diagnostic_notes()
        return content
    raw = raws.raw_figures(frame, as_of, volume_months=volume_months)
    drawn = draws.posterior_draws(
        models, frame, as_of, volume_months=volume_months, leads=catalog.leads(), random_seed=seed
    )
    outlook = catalog.forecaster().predict(
        frame[frame["status"] == "open"], horizons=(horizon_months,), random_seed=seed
    )
    drawn = draws.with_forecast(drawn, outlook, horizon_months)
    content = ReportContent(title="Product potential")
    content.warnings = narrative.report_warnings(frame, raw, models)
    content.appendix = models.diagnostic_notes()
    measure = rank_measure if rank_measure in drawn else DEFAULT_MEASURE
    if measure != rank_measure:
        content.warnings.append(
            f"The ranking measure {rank_measure!r} cannot be computed on this export; products "
            f"are ranked on {ranks.MEASURES[measure][0]} instead."
        )
    label, higher_is_better = ranks.MEASURES[measure]
    ranking = ranks.rank_probabilities(drawn[measure], top_k, higher_is_better, random_seed=seed)
    percent = levers.lever_table(drawn, lever_pct, horizon_months, scenarios=("percent",))
    peers = levers.lever_table(
        drawn,
        lever_pct,
        horizon_months,
        scenarios=("peer_median",),
        levers=("win_rate", "cycle_time"),
    )
    head = narrative.headline(drawn, ranking, percent, measure, horizon_months, top_k, currency)
    content.headline = head.items
    content.add_note("reading", narrative.READING_NOTE)
    _selling_parts(content, drawn, raw, models, horizon_months, currency)
    _ranking_parts(content, ranking, drawn[measure], label, top_k, currency)
    _lever_parts(content, percent, peers, lever_pct, horizon_months, max_rows, currency)
    _mix_parts(content, frame, as_of)
    _region_parts(content, models, frame, as_of, volume_months, seed, max_rows, currency)
    content.files = {
        "products": tables.selling_table(drawn, raw).reset_index(),
        "levers": pd.concat([percent, peers]),
        "ranking": ranking.reset_index(),
    }
    content.figures = {**head.figures, "lever_pct": lever_pct, "horizon_months": horizon_months}
    _account_parts(content, catalog, top_accounts)
    content.fits = dict(catalog.loaded)
    return content


def _account_parts(content: ReportContent, catalog: Catalog, top: int) -> None:
    """The accounts most likely to buy each product, or why the export cannot show them."""
    model = catalog.account_products()
    if model is None:
        reason = refusal("account_products", catalog.opportunities(), catalog.as_of)
        content.add_note("accounts", narrative.ACCOUNTS_UNAVAILABLE, reason=reason)
        content.figures["accounts"] = {"unavailable": reason}
        return
    # the means of every account rank them; the intervals are drawn for the listed ones only
    ranked = model.account_table(accounts=())
    listed = accounts.top_accounts(ranked, top)
    new = accounts.top_accounts(ranked, top, new_only=True)
    drawn = model.account_intervals(sorted({*listed["account"], *new["account"]}))
    listed, new = (accounts.with_intervals(shown, drawn) for shown in (listed, new))
    horizon = model.accounts_config.horizon_months
    segment = model.purchases_.segment_column
    for name, shown, new_only in (("accounts", listed, False), ("accounts_new", new, True)):
        content.add_table(
            name,
            accounts.accounts_reader_table(shown, horizon, segment),
            accounts.accounts_caption(horizon, new_only),
            max_rows=len(shown),
            empty="Every account has bought every product before."
            if new_only
            else "No account is likely to buy a product within the horizon.",
        )
    template = narrative.ACCOUNTS_SENTENCE
    values = narrative.accounts_values(listed)
    if model.buys_alike and segment is not None:
        template += narrative.ACCOUNTS_ALIKE
        values["segment"] = segment
    content.add_note("accounts", template, **values)
    content.files["accounts"] = listed
    content.files["accounts_new"] = new
    content.figures["accounts"] = accounts.accounts_figures(model, listed)


def _unavailable(
    catalog: Catalog, frame: pd.DataFrame, missing: list[str], top_accounts: int
) -> ReportContent:
    """The report on an export that cannot support it: why, and the deals each product holds."""
    content = ReportContent(title="Product potential")
    content.warnings = [
        f"Product potential cannot be estimated: {why.split(': ', 1)[-1]}." for why in missing
    ]
    content.headline = count_headline(frame)
    which = ", ".join(why.split(":")[0] for why in missing)
    content.add_note(
        "reading",
        "This export cannot show product potential: it weighs each product's win rate, deal "
        "size and time to close together, and the export cannot support {which}. The deals each "
        "product holds are shown instead; the rest of the report needs closed deals with "
        "amounts.",
        which=which,
    )
    for part in UNAVAILABLE_PARTS:
        content.add_note(part, "Not shown on this export: it cannot support {which}.", which=which)
    by = "product" if frame["product"].notna().any() else None
    content.add_table(
        "win_size",
        status_reader_table(frame, by),
        "Deals by product and status" if by else "Deals by status",
        empty="The export holds no deal.",
    )
    _mix_parts(content, frame, catalog.as_of)  # the mix needs no model
    content.figures = {"unavailable": missing}
    _account_parts(content, catalog, top_accounts)
    content.fits = dict(catalog.loaded)
    return content


def _selling_parts(content, drawn, raw, models, horizon_months, currency) -> None:
    for part in ("win_size", "value"):
        content.add_table(
            part,
            tables.selling_reader_table(drawn, raw, part, currency=currency),
            tables.CAPTIONS[part],
        )

    def estimates():
        charts.plot_estimates(drawn, raw, currency=currency)
        plt.tight_layout()
        return plt.gcf()

    content.add_chart("estimates", estimates, alt=narrative.estimates_alt(drawn, currency))
    spread = spreads.spread_table(models)
    if len(spread):
        content.add_note("spread", narrative.SPREAD_SENTENCE, **narrative.spread_values(spread))
    content.add_table(
        "volume",
        tables.volume_table(drawn, raw, drawn.get("forecast_revenue"), horizon_months, currency),
        tables.CAPTIONS["volume"],
    )


def _ranking_parts(content, ranking, values, label, top_k, currency) -> None:
    content.add_note(
        "ranking",
        "Which product is the best on **{label}**? In every joint draw of the posterior the "
        "products are ranked; the chance to be the best is the share of draws in which a product "
        "ranks first. A product with few deals has a wide interval and ranks first only where the "
        "draws really put it ahead, not on luck.",
        label=label,
    )
    interval = FORECAST_INTERVAL if values.name in OUTCOMES else INTERVAL
    content.add_table(
        "ranking",
        tables.ranking_reader_table(ranking, values, top_k, currency),
        f"Ranking on {label} (estimate: median and {interval:.0%} interval; rank: "
        f"{INTERVAL:.0%} interval)",
    )

    def chart():
        charts.plot_rank_probabilities(ranking, top_k)
        plt.title(f"Chance to be the best on {label}", fontsize=10, loc="left")
        return plt.gcf()

    content.add_chart("ranking", chart, alt=narrative.ranking_alt(ranking, label, top_k))


def _lever_parts(content, percent, peers, lever_pct, horizon_months, max_rows, currency) -> None:
    content.add_table(
        "levers",
        tables.lever_reader_table(percent, max_rows, currency=currency),
        f"Levers of {lever_pct:g}%, ranked by expected added revenue over {horizon_months} "
        f"months (mean and {INTERVAL:.0%} interval)",
        empty=f"No product would add revenue from a {lever_pct:g}% change.",
    )

    def chart():
        charts.plot_levers(percent, top=max_rows, currency=currency)
        return plt.gcf()

    content.add_chart(
        "levers", chart, alt=narrative.levers_alt(percent, lever_pct, horizon_months, currency)
    )
    behind = tables.lever_reader_table(peers, max_rows, currency=currency)
    if len(behind):
        content.add_table(
            "peers",
            behind,
            f"Moving to the peers' median, added revenue over {horizon_months} months "
            f"(mean and {INTERVAL:.0%} interval)",
        )
    else:
        content.add_note("peers", "No product is behind its peers on win rate or days to win.")


def _mix_parts(content, frame, as_of) -> None:
    share = mix.amount_recorded_share(frame)
    with_amounts = share >= AMOUNT_SHARE_FOR_MIX
    created = mix.mix_by_month(frame, "created", "count", as_of=as_of)
    panels = [(created, "Share of deals created")]
    if with_amounts:
        amount = mix.mix_by_month(frame, "created", "amount", as_of=as_of)
        panels.append((amount, "Share of amount created"))
    panels.append((mix.mix_by_month(frame, "won", "amount", as_of=as_of), "Share of revenue won"))

    def chart():
        fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels) + 0.1))
        for ax, (table, title) in zip(axes, panels, strict=True):
            charts.plot_mix(table, ax=ax, title=title)
        fig.tight_layout()
        return fig

    content.add_chart("mix", chart, alt=narrative.mix_alt(created, with_amounts))
    if not with_amounts:
        content.add_note(
            "mix",
            "The share of amount created is not shown: only {share} of the deals carry an amount.",
            share=format_pct(share),
        )


def _region_parts(content, models, frame, as_of, volume_months, seed, max_rows, currency) -> None:
    if not frame["region"].notna().any():
        content.add_note("regions", "The export has no region column.")
        return
    by = ("product", "region")
    raw_region = raws.raw_figures(frame, as_of, by, volume_months)
    draws_region = draws.posterior_draws(
        models, frame, as_of, by, volume_months, random_seed=seed, with_open_pipeline=False
    )
    content.add_table(
        "regions",
        tables.selling_reader_table(draws_region, raw_region, top=max_rows, currency=currency),
        f"Product by region: the {max_rows} cells with the highest expected revenue per "
        f"opportunity (estimates: median and {INTERVAL:.0%} interval)",
    )


__all__ = ["build"]
