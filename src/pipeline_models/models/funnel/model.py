"""The lead funnel model: lead -> opportunity -> won by lead source, with lags and censoring.

Per lead source ``s``::

    lead -> opportunity    converts ~ Bernoulli(c_s),  c_s ~ Beta(mu_c kappa_c, (1 - mu_c) kappa_c)
    opportunity -> won     won      ~ Bernoulli(w_s),  w_s ~ Beta(mu_w kappa_w, (1 - mu_w) kappa_w)
    lags (days)            lead -> opportunity, opportunity -> won, opportunity -> lost and
                           lead -> won: empirical by source, pooled with all sources' lags
                           worth ``lag_pooling`` lags; from items old enough to show them
    deal size              won amounts tied to their lead -> won lag (a short window holds the
                           quick deals, often the small ones)
    quarter rhythm         the calendar month a win lands in: the lag's share times a factor by
                           the quarter position of the lead's month and the months to the win
                           (:mod:`.rhythm`: deals pushed to close by a quarter's end)

``c_s`` and ``w_s`` are the chances of *ever* converting and *ever* being won. A lead's trial
weighs ``0.5 ** (age in months / conversion_half_life)`` in ``c_s`` (a discounted likelihood), so
the rate follows a jump or drift in conversion and its interval widens as fewer recent leads carry
it. A steady drift common to all sources, ``logit c_s(t) = alpha_s + beta t`` over the lookback,
then moves each rate from the months its leads speak for to now (:mod:`.drift`): a weighted rate
alone lags a drift by those months. New leads arrive per source at a Gamma-Poisson rate that
follows recent volume (:mod:`.arrivals`); with the deals the open leads bring (:mod:`.deal_flow`)
they make the funnel's part of the forecast. Partial pooling over sources comes from the Beta
population (``mu``, ``kappa``) whose posterior is computed on a grid, as are the rates given it:
exact Bayesian updating, fitted on counts, in milliseconds, so the back-test refits it at every
origin.

Censoring. A lead (or deal) whose window is still open is not a failure. A lead of age ``a`` not
yet converted has probability ``1 - c F_1(a)`` (``F_1``: lead -> opportunity lag distribution);
an opportunity of age ``a`` neither won nor lost has ``1 - w F_W(a) - (1 - w) lam F_L(a)``, where
``lam`` is the share of not-won deals that are eventually marked lost (the rest stall and never
close) and ``F_W``, ``F_L`` the won and lost cycle-time distributions. A converted lead contributes
``c``, a won deal ``w``, a lost deal ``1 - w`` (times lag densities that do not involve the rates).
Young open items thus count as fractions of a trial, old ones as full failures: a deal that sat
open far longer than won deals take counts as (almost) lost, as stalled deals should.

The deals in hand are simulated by their *product* (known on a deal, and what its cycle and
chance depend on most), so the same censored opportunity -> won model is also fitted by product.

Why our own opportunity -> won rate rather than the period's ``WinRateModel``: the requirement
needs the chance that a new opportunity is *ever* won, open and stalled deals included, and the
back-test must refit it at each past month in milliseconds. ``WinRateModel`` is fitted on closed
deals only (won of won + lost), so where deals stall it overstates the rate and understates the
leads needed, and refitting it by MCMC at each origin is too slow.

Without a leads table the opportunities are the leads: ``c_s = 1`` with no lag.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Self

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import ALL_LEVEL, NONE_LEVEL
from pipeline_models.models.contract import TABLE_INTERVAL, Diagnostics, StateEstimator
from pipeline_models.models.funnel.amounts import fit_amounts
from pipeline_models.models.funnel.arrivals import fit_lead_arrivals
from pipeline_models.models.funnel.config import THIN_SOURCE, FunnelConfig
from pipeline_models.models.funnel.groups import codes
from pipeline_models.models.funnel.items import FunnelItems, funnel_items
from pipeline_models.models.funnel.lost_share import lost_share
from pipeline_models.models.funnel.opportunities import WON
from pipeline_models.models.funnel.rates import conversion_draws, lost_shares, win_draws
from pipeline_models.models.funnel.rhythm import fit_quarter_rhythm
from pipeline_models.models.funnel.source_mix import source_mix
from pipeline_models.models.funnel.tally import (
    OpportunityArrays,
    Tally,
    outcome_counts,
    recorded,
)
from pipeline_models.models.funnel.timing import (
    ALL,
    conversion_lags,
    no_conversion_lags,
    outcome_lags,
    path_lags,
)


def _summ(name: str, draws: np.ndarray, interval: float) -> dict[str, float]:
    lo, hi = np.quantile(draws, [(1 - interval) / 2, (1 + interval) / 2])
    return {name: float(np.mean(draws)), f"{name}_lower": float(lo), f"{name}_upper": float(hi)}


class LeadFunnelModel(StateEstimator):
    """Lead -> opportunity -> won by lead source, with lags and censoring (see the module doc).

    ``LeadFunnelModel(config)`` stores its :class:`FunnelConfig`; ``fit(frame, leads, as_of)``
    stores posterior draws ``conversion_`` and ``win_`` (draws x sources), ``product_win_``
    (draws x products), lag distributions, amounts, the source mix and the items in hand.
    """

    model_type = "lead_funnel"
    version = 6
    formula = (
        "converted ~ 1 + (1 | source) [recency-weighted, since a tested change] "
        "+ drift * month created, "
        "won ~ 1 + (1 | source) and "
        "~ 1 + (1 | product), leads(source, month) ~ GammaPoisson: Beta-pooled rates of ever "
        "converting and ever being won, open items right-censored by truncation-weighted lag "
        "distributions and a stalled share, won month ~ lag x rhythm(quarter position of the "
        "lead's month, months to the win)"
    )

    def __init__(self, config: FunnelConfig | None = None):
        self.funnel_config = config or FunnelConfig()

    # ----------------------------------------------------------------- identity
    @property
    def model_config(self) -> dict[str, Any]:
        """What the funnel estimates: every :class:`FunnelConfig` field but ``draws``."""
        return self.funnel_config.model_settings()

    @property
    def sampler_config(self) -> dict[str, Any]:
        """How precisely: the number of posterior draws."""
        return self.funnel_config.sampler_settings()

    def _settings(self) -> dict[str, Any]:
        return asdict(self.funnel_config)

    @classmethod
    def _from_settings(cls, settings: dict[str, Any]) -> Self:
        return cls(FunnelConfig(**settings))

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        frame: pd.DataFrame,
        leads: pd.DataFrame | None,
        as_of: pd.Timestamp | str,
        random_seed: int | None = None,
    ) -> Self:
        """Fit on the pipeline as known at ``as_of``; the inputs are not modified.

        Parameters
        ----------
        frame
            Canonical opportunities table (as exported at ``as_of``, or rebuilt for a past date
            with :func:`~pipeline_models.data.asof.pipeline_as_of`).
        leads
            Canonical leads table, or None: then each opportunity counts as a lead.
        as_of
            The date the pipeline is seen from (the period's month end).
        random_seed
            Seed of the posterior and amount draws.

        Returns
        -------
        LeadFunnelModel
            ``self``, with ``conversion_``, ``win_``, ``product_win_`` (draws x levels), lag
            distributions, ``amounts_``, ``mix_`` and ``monthly_leads_`` set.
        """
        return self.fit_items(funnel_items(frame, leads, as_of), random_seed)

    def fit_items(self, items: FunnelItems, random_seed: int | None = None) -> Self:
        """Fit on items already put on the time line (see :meth:`fit`).

        Every step works on counts by level (source or product) and distinct day, so its cost
        after one pass over the items does not grow with their number.
        """
        cfg = self.funnel_config
        rng = np.random.default_rng(random_seed)
        self.items_ = items
        self.as_of_ = items.as_of
        self.has_leads_ = items.has_leads
        start = self.as_of_ - pd.DateOffset(months=cfg.lookback_months)
        present = self._fit_levels(items)
        o = OpportunityArrays(items.opportunities, self.sources_, self.products_)
        self._fit_lags(items, o, present)
        self._fit_win(o, start, rng)
        if self.has_leads_:
            self.conversion_, self.lead_counts_, self.conversion_drift_ = conversion_draws(
                items.leads, start, self.first_conversion_, self.sources_, self.lag_convert_,
                cfg, rng,
            )  # fmt: skip
        else:
            self.conversion_ = np.ones((cfg.draws, len(self.sources_)))
            self.lead_counts_, self.conversion_drift_ = None, None
        self._fit_amounts(o, items.opportunities, start, rng)
        self._fit_flow(items, start)
        table = items.leads if self.has_leads_ else items.opportunities
        self.mix_, self.monthly_leads_ = source_mix(
            table, self.as_of_, self.sources_, cfg.mix_months
        )
        return self

    def _fit_flow(self, items: FunnelItems, start: pd.Timestamp) -> None:
        """What the deals the leads bring need: the rate of new leads by source, each source's
        recent deals by product, and the share of recent deals that come from a lead."""
        cfg = self.funnel_config
        opps = items.opportunities
        recent = opps[opps["created"] > start]
        self.source_products_ = pd.crosstab(
            recent["source"].astype(str), recent["product"].astype(str)
        )
        from_lead = recent["from_lead"] if "from_lead" in recent else pd.Series(False, recent.index)
        self.linked_share_ = float(from_lead.mean()) if len(recent) else 0.0
        self.lead_arrivals_ = None
        if self.has_leads_:
            self.lead_arrivals_ = fit_lead_arrivals(
                items.leads, self.as_of_, self.sources_, cfg.arrival_half_life, cfg.arrival_window
            )

    def _fit_levels(self, items: FunnelItems) -> tuple[list[str], list[str]]:
        """Set the fit's sources and products; return those the opportunities hold."""
        opp_sources = items.opportunities["source"].unique().tolist()
        sources = set(opp_sources)
        if self.has_leads_:
            sources |= set(items.leads["source"].unique().tolist())
        self.sources_ = sorted(sources) or [ALL_LEVEL]
        opp_products = items.opportunities["product"].unique().tolist()
        self.products_ = sorted(opp_products) or [NONE_LEVEL]
        return opp_sources, opp_products

    def _fit_lags(
        self, items: FunnelItems, o: OpportunityArrays, present: tuple[list[str], list[str]]
    ) -> None:
        """Lags (point estimates; the new-lead window adds a bootstrap), corrected for
        truncation."""
        pooling = self.funnel_config.lag_pooling
        lags = outcome_lags(
            o,
            items.opportunities["close"].to_numpy(),
            self.as_of_,
            (self.sources_, self.products_),
            present,
            pooling,
        )
        self.first_close_ = lags.first_close
        self.lag_won_, self.lag_lost_ = lags.won, lags.lost
        self.product_lag_won_, self.product_lag_lost_ = lags.product_won, lags.product_lost
        self.paths_, self.lag_total_ = path_lags(
            items.won_paths, self.as_of_, self.first_close_, self.sources_, pooling
        )
        self.quarter_rhythm_ = fit_quarter_rhythm(
            self.paths_, self.as_of_, self.first_close_, self.funnel_config.rhythm_strength
        )
        self.first_conversion_ = None
        if self.has_leads_:
            self.first_conversion_, self.lag_convert_ = conversion_lags(
                items.leads, self.as_of_, self.sources_, pooling
            )
        else:
            self.lag_convert_ = no_conversion_lags(self.sources_)

    def _fit_win(self, o: OpportunityArrays, start: pd.Timestamp, rng: np.random.Generator):
        """Opportunity -> won: by source for new leads, by product for the deals in hand."""
        cfg = self.funnel_config
        recent = recorded(o.created > np.datetime64(start, "ns"), o.created, self.first_close_)
        by_source = Tally(o.source[recent], o.outcome[recent], o.age[recent], len(self.sources_))
        by_product = Tally(o.product[recent], o.outcome[recent], o.age[recent], len(self.products_))
        self.lost_share_ = lost_share(*by_source.overall(), self.lag_won_[ALL], self.lag_lost_[ALL])
        self.source_lost_share_ = lost_shares(
            by_source, self.sources_, self.lag_won_, self.lag_lost_, self.lost_share_
        )
        self.product_lost_share_ = lost_shares(
            by_product, self.products_, self.product_lag_won_, self.product_lag_lost_,
            self.lost_share_,
        )  # fmt: skip
        self.win_ = win_draws(
            by_source, self.sources_, self.lag_won_, self.lag_lost_, self.source_lost_share_,
            self.lost_share_, cfg, rng,
        )  # fmt: skip
        self.product_win_ = win_draws(
            by_product, self.products_, self.product_lag_won_, self.product_lag_lost_,
            self.product_lost_share_, self.lost_share_, cfg, rng,
        )  # fmt: skip
        self.opp_counts_ = by_source.counts(self.sources_)

    def _fit_amounts(
        self,
        o: OpportunityArrays,
        opps: pd.DataFrame,
        start: pd.Timestamp,
        rng: np.random.Generator,
    ) -> None:
        """Won amounts by source and by product (deals won since ``start``); won paths without an
        amount get their source's mean."""
        cfg = self.funnel_config
        won = (o.outcome == WON) & (opps["close"].to_numpy() > np.datetime64(start, "ns"))
        self.amounts_ = fit_amounts(o.amount[won], o.source[won], self.sources_, cfg, rng)
        self.product_amounts_ = fit_amounts(o.amount[won], o.product[won], self.products_, cfg, rng)
        self.has_amounts_ = bool((o.amount[won] > 0).any())
        source = codes(self.paths_["source"], self.sources_)
        amount = self.paths_["amount"].to_numpy(float)
        fill = np.where(source >= 0, self.amounts_.mean[np.maximum(source, 0)], 0.0)
        self.paths_ = self.paths_.assign(amount=np.where(np.isnan(amount), fill, amount))

    # ----------------------------------------------------------------- what it learned
    def won_paths(self, source: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Won paths (lag1, lag_total, amount) of a source pooled with all sources' paths worth
        ``lag_pooling`` paths, with their weights."""
        paths = self.paths_
        own = paths[paths["source"] == source]
        share_own = len(own) / (len(own) + self.funnel_config.lag_pooling)
        both = pd.concat([own, paths], ignore_index=True)
        own_w, all_w = own["weight"].to_numpy(float), paths["weight"].to_numpy(float)
        weights = np.concatenate(
            [
                share_own * own_w / max(own_w.sum(), 1e-300),
                (1 - share_own) * all_w / max(all_w.sum(), 1e-300),
            ]
        )
        return both[["lag1", "lag_total", "amount"]], weights

    @property
    def unit(self) -> str:
        """What a "lead" is in this fit: "lead" or "opportunity" (no leads table)."""
        return "lead" if self.has_leads_ else "opportunity"

    @property
    def units(self) -> str:
        """Plural of :attr:`unit`."""
        return "leads" if self.has_leads_ else "opportunities"

    def thin_sources(self) -> list[str]:
        """Sources with fewer than :data:`~.config.THIN_SOURCE` recent opportunities."""
        counts = self.opp_counts_
        return [s for s in self.sources_ if counts.loc[s, "n"] < THIN_SOURCE]

    def diagnostics(self) -> Diagnostics:
        """Whether the funnel can be trusted: not when nothing was won or converted, or when
        sources are thin (their rates lean on the others)."""
        if not self.fitted():
            raise RuntimeError("LeadFunnelModel is not fitted: call fit() first")
        counts = self.opp_counts_
        won = int(counts["won"].sum())
        figures = {
            "sources": float(len(self.sources_)),
            "opportunities": float(counts["n"].sum()),
            "won": float(won),
            "won_paths": float(len(self.paths_)),
            "lost_share": float(self.lost_share_),
        }
        if self.quarter_rhythm_.observed.size:
            level = self.quarter_rhythm_.levels()[0]
            figures.update(
                {f"wins_in_quarter_month_{q + 1}_factor": float(level[q]) for q in range(3)}
            )
        problems = []
        if not won:
            problems.append("no recent opportunity was won: the win rates are their prior")
        if self.has_leads_:
            converted = int(self.lead_counts_["converted"].sum())
            figures.update(
                leads=float(self.lead_counts_["leads"].sum()), converted=float(converted)
            )
            if not converted:
                problems.append("no recent lead converted: the conversion rates are their prior")
        thin = self.thin_sources()
        if thin:
            problems.append(
                f"{len(thin)} of {len(self.sources_)} sources have fewer than {THIN_SOURCE} "
                f"recent opportunities ({', '.join(map(str, thin))}): their rates lean on the "
                "other sources"
            )
        if problems:
            return Diagnostics(False, "; ".join(problems), figures)
        message = (
            f"{len(self.sources_)} sources, {int(counts['n'].sum()):,} recent opportunities, "
            f"{won:,} won"
        )
        return Diagnostics(True, message, figures)

    # ----------------------------------------------------------------- tables
    def conversion_drift(self) -> tuple[float, float] | None:
        """The drift in conversion common to all sources, posterior mean and sd in logit per
        month of creation date (None without leads)."""
        return self.conversion_drift_

    def conversion_changes(self) -> pd.DataFrame:
        """Sources whose recent leads convert unlike the earlier ones: months since the change
        and the recent rate over the earlier one (empty without leads or change)."""
        if not self.has_leads_ or "changed" not in self.lead_counts_:
            return pd.DataFrame(columns=["months", "ratio"])
        counts = self.lead_counts_[self.lead_counts_["changed"] > 0]
        return pd.DataFrame({"months": counts["changed"], "ratio": counts["change_ratio"]})

    def funnel_table(self, interval: float = TABLE_INTERVAL) -> pd.DataFrame:
        """Per source: leads, opportunities, wins, and the three rates with their intervals."""
        rows = []
        lead_to_won = self.conversion_ * self.win_
        for j, s in enumerate(self.sources_):
            row = {"source": s, "mix": float(self.mix_[s])}
            if self.has_leads_:
                lc = self.lead_counts_.loc[s]
                row.update(
                    leads=int(lc["leads"]),
                    converted=int(lc["converted"]),
                    leads_still_open=float(lc["still_open"]),
                )
                row.update(_summ("lead_to_opp", self.conversion_[:, j], interval))
            oc = self.opp_counts_.loc[s]
            row.update(
                opportunities=int(oc["n"]),
                won=int(oc["won"]),
                lost=int(oc["lost"]),
                open=int(oc["open"]),
            )
            row.update(_summ("opp_to_won", self.win_[:, j], interval))
            row.update(_summ("lead_to_won", lead_to_won[:, j], interval))
            rows.append(row)
        return pd.DataFrame(rows).sort_values("lead_to_won", ascending=False, ignore_index=True)

    def product_table(self, interval: float = TABLE_INTERVAL) -> pd.DataFrame:
        """Per product: opportunities and the chance that one is ever won, with its interval."""
        opps = self.items_.opportunities
        start = self.as_of_ - pd.DateOffset(months=self.funnel_config.lookback_months)
        counts = outcome_counts(opps[opps["created"] > start], "product", self.products_)
        rows = []
        for j, p in enumerate(self.products_):
            c = counts.loc[p]
            rows.append(
                {
                    "product": p,
                    "opportunities": int(c["n"]),
                    "won": int(c["won"]),
                    "open": int(c["open"]),
                    **_summ("opp_to_won", self.product_win_[:, j], interval),
                }
            )
        return pd.DataFrame(rows).sort_values("opp_to_won", ascending=False, ignore_index=True)

    def lag_table(self) -> pd.DataFrame:
        """Per source: median and 80th percentile days of each step of the funnel."""
        rows = []
        for s in self.sources_:
            row = {"source": s}
            if self.has_leads_:
                row["lead_to_opp_median"] = self.lag_convert_[s].quantile(0.5)
                row["lead_to_opp_p80"] = self.lag_convert_[s].quantile(0.8)
            won = self.lag_won_.get(s)
            row["opp_to_won_median"] = won.quantile(0.5) if won is not None else np.nan
            row["opp_to_won_p80"] = won.quantile(0.8) if won is not None else np.nan
            if self.has_leads_:
                row["lead_to_won_median"] = self.lag_total_[s].quantile(0.5)
                row["lead_to_won_p80"] = self.lag_total_[s].quantile(0.8)
            rows.append(row)
        return pd.DataFrame(rows)


__all__ = ["TABLE_INTERVAL", "LeadFunnelModel"]
