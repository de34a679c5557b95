"""The forecaster: fit on the pipeline as known at an origin month-end, predict the coming months.

Two sources add up: (a) the **open deals** at the origin, each closing won in a coming month
through the closing hazards of its group and age (:mod:`.hazards`); (b) **deals not yet created**,
arriving by group and month (:mod:`.arrivals`) and closing through the same hazards from age 0.
Amounts come from the deals themselves or from the won amounts (:mod:`.amounts`); the forecaster
checks itself at earlier origins and widens its draws by what it finds (:mod:`.calibration`).

Cost: the export is read once into counts of deals by group, creation month, close month and
status (:class:`~.counts.PipelineCounts`); the fit, the self-calibration at earlier origins and
the simulation then work on groups, not deals (:mod:`.simulation`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import NONE_LEVEL
from pipeline_models.models.contract import Diagnostics, StateEstimator
from pipeline_models.models.forecaster.amounts import AmountPools, won_amounts
from pipeline_models.models.forecaster.arrivals import fit_arrivals
from pipeline_models.models.forecaster.breakdown import region_shares
from pipeline_models.models.forecaster.calibration import calibrate
from pipeline_models.models.forecaster.cells import (
    OpenCells,
    deal_cells,
    group_of_labels,
    odds_steps,
    step_odds,
)
from pipeline_models.models.forecaster.codes import label_codes, month_index, month_of, tally
from pipeline_models.models.forecaster.config import THIN_DEALS, ForecastConfig
from pipeline_models.models.forecaster.counts import DealView, PipelineCounts
from pipeline_models.models.forecaster.hazards import fit_hazards, month_factors, won_by
from pipeline_models.models.forecaster.result import ForecastResult
from pipeline_models.models.forecaster.simulation import simulate
from pipeline_models.models.pooling.dirichlet_hazards import dirichlet_draws

if TYPE_CHECKING:
    from pipeline_models.models.funnel.deal_flow import DealFlow
    from pipeline_models.models.funnel.model import LeadFunnelModel


class PipelineForecaster(StateEstimator):
    """Fit on the pipeline as known at an origin month-end; predict the coming months.

    Closing hazards (won, lost, stay open) by product and age have Dirichlet posteriors pooled
    over products, with a month-of-quarter factor on the won hazard; new deals arrive by product
    as Gamma-Poisson counts; the draws are widened by the forecaster's errors at earlier origins.

    Parameters
    ----------
    config
        Settings of the forecast (:class:`ForecastConfig`; its defaults when ``None``), kept as
        :attr:`forecast_config`; :attr:`config` is the same settings as a JSON-able dict (what
        identifies a saved fit).
    """

    model_type = "forecaster"
    version = 4
    formula = (
        "won(t) ~ [open(product, age) + new(product) ~ GammaPoisson]"
        " x h_won(product, age) x season(month of quarter)"
    )

    def __init__(self, config: ForecastConfig | None = None):
        self.forecast_config = config or ForecastConfig()

    # ------------------------------------------------------------------ identity
    @property
    def model_config(self) -> dict[str, Any]:
        """What the forecaster estimates: every setting of :class:`ForecastConfig` but draws."""
        return self.forecast_config.model_settings()

    @property
    def sampler_config(self) -> dict[str, Any]:
        """How many predictive draws it makes."""
        return self.forecast_config.sampler_settings()

    def _settings(self) -> dict[str, Any]:
        return asdict(self.forecast_config)

    @classmethod
    def _from_settings(cls, settings: dict[str, Any]) -> Self:
        return cls(ForecastConfig(**settings))

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, origin: pd.Timestamp | str) -> Self:
        """Estimate hazards, arrivals and amounts from ``frame`` (all known by ``origin``).

        The export is read once into counts (:class:`PipelineCounts`); the fit and the
        self-calibration at earlier origins work on those counts.
        """
        cfg = self.forecast_config
        origin = pd.Timestamp(origin).normalize()
        counts = PipelineCounts.from_frame(frame, cfg.group, until=origin)
        self._fit_view(counts.view(month_of(origin), as_of=False), origin)
        if cfg.calibration_origins > 0:
            self.calibration_ = calibrate(self, counts)
        return self

    def fit_as_of(self, counts: PipelineCounts, origin: pd.Timestamp | str) -> Self:
        """Fit on the pipeline as it stood at the month-end ``origin``, read from the counts of a
        later export: the same as ``fit(pipeline_as_of(frame, origin), origin)``, without
        rebuilding the table (a back-test counts the export once for all its origins)."""
        cfg = self.forecast_config
        origin = pd.Timestamp(origin).normalize()
        if origin != pd.Period(origin, "M").end_time.normalize():
            raise ValueError(f"origin {origin.date()} is not a month-end")
        if counts.group != cfg.group:
            raise ValueError(f"counts by {counts.group!r}, the forecaster groups by {cfg.group!r}")
        month = month_of(origin)
        self._fit_view(counts.view(month, as_of=True), origin)
        if cfg.calibration_origins > 0:
            self.calibration_ = calibrate(self, counts, created_by=month)
        return self

    def _fit_view(self, view: DealView, origin: pd.Timestamp) -> None:
        """Fit hazards, arrivals and amounts on ``view`` (uncalibrated)."""
        cfg = self.forecast_config
        self.origin_ = origin
        self.origin_month_ = view.month
        self.levels_ = view.levels
        self.first_close_month_ = view.first_close
        hazards = fit_hazards(view, len(view.levels), view.first_close, cfg)
        self.counts_ = hazards.counts
        self.pooled_rate_ = hazards.pooled_rate
        self.alpha_ = hazards.alpha
        self.pooled_alpha_ = hazards.pooled_alpha
        self.season_shape_ = hazards.season_shape
        self.season_rate_ = hazards.season_rate
        self.season_point_ = hazards.season_point
        self.month_sd_ = hazards.month_sd
        arrivals = fit_arrivals(view, len(view.levels), cfg)
        self.arrival_shape_ = arrivals.shape
        self.arrival_rate_ = arrivals.rate
        self.arrival_sd_ = arrivals.sd
        self.arrival_months_ = arrivals.months
        self.amounts_ = won_amounts(view)
        self.all_amounts_ = view.won_amount
        # shares of the other grouping column (region) within each group, for the breakdown
        self.regions_, self.region_shares_ = region_shares(view)
        self.n_deals_ = int(view.n.sum())
        self.calibration_ = {}
        self._pools = None  # drawn from amounts_ on first use (derived, never saved)

    # ------------------------------------------------------------------ predict
    def predict(
        self,
        open_deals: pd.DataFrame | None = None,
        horizons: tuple[int, ...] = (1, 2, 3),
        random_seed: int | None = None,
        breakdown: tuple[str, ...] = ("product", "region"),
        funnel: LeadFunnelModel | None = None,
    ) -> ForecastResult:
        """Predictive draws for the windows of ``horizons`` months after the origin.

        ``open_deals``: the open deals at the origin (the fitted frame's deals are not kept, so
        pass them: ``frame[frame.status == "open"]``). ``breakdown``: columns whose levels get
        their own draws (``ForecastResult.by_group``). ``funnel``: a lead funnel fitted at the
        same origin on a leads table; the deals its open and coming leads bring then take the
        place of the new deals that come from leads (:mod:`~pipeline_models.models.funnel.
        deal_flow`).

        Open deals are simulated by cell (product, age, region, amount known or not; see
        :mod:`~pipeline_models.models.forecaster.simulation`). Up to ``EXACT_SUM_MAX`` (30) won
        deals, and in cells of up to 60 deals, amounts are drawn one by one, so the sum is exact;
        beyond, the sum is drawn from a normal approximation with the exact mean and variance
        (for a subset of known amounts ``k * mean`` and ``k * var * (n - k) / (n - 1)``, the
        finite-population correction, clipped at 0 and at the cell's total). The cost grows with
        the number of cells (products x ages x regions), not with the number of deals.
        """
        rng = np.random.default_rng(random_seed)
        cells = deal_cells(
            open_deals,
            self.levels_,
            self.origin_month_,
            self.forecast_config.group,
            self.forecast_config.max_age_months,
            breakdown,
        )
        flow = self._flow(funnel, max(horizons), rng)
        return self._simulate(cells, tuple(horizons), rng, breakdown, flow)

    def _flow(
        self, funnel: LeadFunnelModel | None, months: int, rng: np.random.Generator
    ) -> DealFlow | None:
        """The deals ``funnel``'s leads bring, when it was fitted on leads at this origin and some
        recent deals came from its leads (else its leads tell nothing the deals do not)."""
        if funnel is None or not funnel.has_leads_ or funnel.linked_share_ <= 0:
            return None
        if pd.Timestamp(funnel.as_of_).normalize() != self.origin_:
            raise ValueError(
                f"the funnel was fitted at {funnel.as_of_.date()}, the forecaster at "
                f"{self.origin_.date()}"
            )
        from pipeline_models.models.funnel.deal_flow import deal_flow

        return deal_flow(
            funnel, self.levels_, self.origin_, months, self.forecast_config.draws, rng
        )

    def predict_as_of(
        self,
        counts: PipelineCounts,
        horizons: tuple[int, ...] = (1, 2, 3),
        random_seed: int | None = None,
        funnel: LeadFunnelModel | None = None,
    ) -> ForecastResult:
        """:meth:`predict` for the deals open at the origin of :meth:`fit_as_of`, read from the
        same counts (totals only: no breakdown). The same draws as ``predict`` on the open deals
        of ``pipeline_as_of(frame, origin)`` with ``breakdown=()``."""
        cells = counts.open_cells(self.origin_month_, self.forecast_config.max_age_months)
        rng = np.random.default_rng(random_seed)
        flow = self._flow(funnel, max(horizons), rng)
        return self._simulate(cells, tuple(horizons), rng, (), flow)

    def chance_won_within(self, deals: pd.DataFrame, horizon: int) -> np.ndarray:
        """Per deal of ``deals`` (all with a creation date), the posterior mean chance of closing
        won within ``horizon`` months of the origin (no month-of-quarter factor). A level never
        seen in the fit takes the all-products hazards; a ``score_odds`` column (the deal score
        against the group's average) moves each deal's chance with its score."""
        group = self.forecast_config.group
        if group in deals:
            label, names = label_codes(deals[group])
        else:
            label, names = np.zeros(len(deals), np.int64), [NONE_LEVEL]
        group_of = group_of_labels(names, self.levels_)
        g = group_of[label] if len(names) else label
        rate = self.alpha_ / self.alpha_.sum(axis=2, keepdims=True)
        haz = np.concatenate([rate, self.pooled_rate_[None, ...]], axis=0)[None, ...]
        age = np.maximum(self.origin_month_ - month_index(deals["created_date"]), 0)
        # deals of one group, age and score step share their chance: compute it once per triple
        step = odds_steps(deals)
        step = np.zeros(len(deals), np.int64) if step is None else step
        (pair_g, pair_age, pair_step), _, pair = tally(g, np.minimum(age + 1, haz.shape[2]), step)
        odds = step_odds(pair_step)
        chance = won_by(haz, np.ones((1, horizon)), pair_g, pair_age, 0, odds)[:, 0, -1]
        return chance[pair] if len(pair) else np.zeros(0)

    def _simulate(
        self,
        cells: OpenCells,
        horizons: tuple[int, ...],
        rng: np.random.Generator,
        breakdown: tuple[str, ...],
        flow: DealFlow | None = None,
        created: np.ndarray | None = None,
    ) -> ForecastResult:
        return simulate(self, cells, horizons, rng, breakdown, flow, created)

    def _amount_pools(self) -> AmountPools:
        if getattr(self, "_pools", None) is None:
            self._pools = AmountPools(
                self.amounts_,
                self.all_amounts_,
                len(self.levels_),
                self.forecast_config.amount_pooling,
            )
        return self._pools

    def _hazard_draws(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        """Dirichlet draws of (won, lost, stay) hazards: array (draws, G, K, 3)."""
        return dirichlet_draws(rng, self.alpha_, draws)

    def _pooled_draws(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        """Dirichlet draws of the all-products hazards: array (draws, K, 3)."""
        return dirichlet_draws(rng, self.pooled_alpha_, draws)

    def _month_factors(self, rng: np.random.Generator, draws: int, months: int) -> np.ndarray:
        """(draws, months) factors on the won hazard of each coming month."""
        return month_factors(
            rng,
            self.season_shape_,
            self.season_rate_,
            self.month_sd_,
            self.origin_month_,
            draws,
            months,
        )

    _won_by = staticmethod(won_by)

    # ------------------------------------------------------------------ diagnostics
    def diagnostics(self) -> Diagnostics:
        """Whether the forecast can be trusted: enough deals (:data:`~pipeline_models.models.
        forecaster.config.THIN_DEALS`) and a self-calibration that could check at least one earlier
        origin, with figures for the appendix."""
        if not self.fitted():
            raise RuntimeError("PipelineForecaster is not fitted: call fit() first")
        checked = max((c["origins"] for c in self.calibration_.values()), default=0)
        figures = {
            "n_deals": float(self.n_deals_),
            "groups": float(len(self.levels_)),
            "month_sd": float(self.month_sd_),
            "arrival_sd": float(self.arrival_sd_),
            "calibration_origins": float(checked),
        }
        for name, c in sorted(self.calibration_.items()):
            h, what = name[0], "_".join(name[1:])  # count, or count_open / count_new
            figures[f"calibration_bias_{h}m_{what}"] = float(c["bias"])
            figures[f"calibration_extra_sd_{h}m_{what}"] = float(c["extra_sd"])
        problems = self._problems(checked, figures)
        if problems:
            text = "; ".join(problems)
            return Diagnostics(ok=False, message=f"{text[0].upper()}{text[1:]}.", figures=figures)
        message = (
            f"Fitted on {self.n_deals_:,} deals in {len(self.levels_)} groups; "
            f"checked itself at {checked} earlier origins."
        )
        return Diagnostics(ok=True, message=message, figures=figures)

    def _problems(self, checked: int, figures: dict[str, float]) -> list[str]:
        problems = []
        if self.n_deals_ < THIN_DEALS:
            problems.append(
                f"only {self.n_deals_} deals with a creation date (fewer than {THIN_DEALS}): "
                "the forecast is uncertain"
            )
        if self.forecast_config.calibration_origins > 0 and checked == 0:
            problems.append(
                "no earlier origin could be checked (too little history): the intervals carry "
                "only the default error spread"
            )
        if not all(np.isfinite(v) for v in figures.values()):
            problems.append("the fit or its self-calibration gave non-finite figures")
        return problems


__all__ = ["PipelineForecaster"]
