"""The period's fits, shared by every report of a run: the three hierarchical models, the
forecaster, the lead funnel and the account model (their track records:
:mod:`pipeline_models.run.tracks`).

The run's fit step calls each function here once, before any report; the reports then ask the
run's catalog, which calls the same functions with the same configuration, seed and table digests
and so loads what the fit step made (the fit cache's key is the estimator's configuration id,
the seed and the digests of what it reads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline_models.contract.schema import present_groups
from pipeline_models.models.cache import (
    CachedFit,
    fit_cached,
    fit_cached_estimator,
)
from pipeline_models.models.hierarchical import (
    CycleTimeModel,
    FitDiagnostics,
    ModelRefused,
    RevenueModel,
    WinRateModel,
)

WIN_GROUPS = ("product", "region", "owner", "lead_source")
"""Grouping columns of the win-rate model, where the export has them."""
REVENUE_GROUPS = ("product", "region")
CYCLE_GROUPS = ("product",)
READER_FIGURES = {
    "win rate": "the win rates (and the figures built on them)",
    "deal size": "the deal sizes and revenue figures",
    "cycle time": "the days to win and the timing of wins",
}
"""What a reader sees of each model's figures, named in the sentence when its fit is rough."""


@dataclass
class PeriodModels:
    """The fitted win-rate, revenue and cycle-time models of one period.

    A model the export cannot support (no closed deal, no won amount) is ``None``, and
    :attr:`skipped` says why in one plain sentence; the reports show that sentence instead.
    """

    win_rate: WinRateModel | None
    revenue: RevenueModel | None
    cycle_time: CycleTimeModel | None
    cached: dict[str, CachedFit] = field(default_factory=dict)
    """How each fit was obtained (cache hit, folder, seconds), by model name."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Why each model that was not fitted was skipped, by model name (``win_rate`` ...)."""
    _diagnostics: dict[str, FitDiagnostics] | None = field(default=None, init=False, repr=False)

    def diagnostics(self) -> dict[str, FitDiagnostics]:
        """Each fit's convergence, computed once (R-hat and ESS read every posterior draw)."""
        if self._diagnostics is None:
            self._diagnostics = {
                label: model.diagnostics()
                for label, model in (
                    ("win rate", self.win_rate),
                    ("deal size", self.revenue),
                    ("cycle time", self.cycle_time),
                )
                if model is not None
            }
        return self._diagnostics

    def reason(self, name: str) -> str | None:
        """Why model ``name`` (``win_rate``, ``revenue``, ``cycle_time``) was not fitted."""
        return self.skipped.get(name)

    def warnings(self) -> list[str]:
        """One plain sentence per model whose fit did not settle, for the top of a report: which
        figures to treat with care and why, without the samplers' words (those are in
        :meth:`diagnostic_notes`)."""
        return [
            f"Treat {READER_FIGURES[name]} with care this month: the model behind them could not "
            "pin them down firmly from this export, so their intervals are rough (the appendix "
            "says how the model fitted)."
            for name, d in self.diagnostics().items()
            if not d.ok
        ]

    def diagnostic_notes(self) -> list[str]:
        """Every fitted model's diagnostics in the samplers' words, for a report's appendix."""
        return [f"{name} model: {d.message}" for name, d in self.diagnostics().items()]

    @property
    def cache_hits(self) -> dict[str, bool]:
        return {name: fit.hit for name, fit in self.cached.items()}


def model_groups(frame: pd.DataFrame, wanted: tuple[str, ...]) -> list[str]:
    """The wanted grouping columns that hold values in ``frame`` (in the wanted order)."""
    present = set(present_groups(frame))
    return [g for g in wanted if g in present]


def period_models(
    frame: pd.DataFrame,
    cache_dir: str | Path,
    random_seed: int,
    as_of: str | pd.Timestamp | None = None,
    table_digest: str | None = None,
    budget: Mapping[str, object] | None = None,
    watch: Callable[[str, Callable[[], CachedFit]], CachedFit] | None = None,
) -> PeriodModels:
    """Fit (or load from the cache) the three models on the canonical table of a period.

    ``table_digest``: SHA-256 of the file ``frame`` was read from, unchanged (the digest the run
    folder's catalog records for its canonical table). Fits recorded under it load without
    aggregating the table again. ``budget``: sampler settings of the three models (``draws``,
    ``tune``, ``target_accept``, ``sampler``) over their defaults; a fit of another budget is
    another fit (the settings are in the cache key). ``watch(name, fit)`` returns ``fit()``
    (a caller's way to say a fit is running).
    """
    as_of = None if as_of is None else str(pd.Timestamp(as_of).date())
    sampler = dict(budget or {})
    unfitted = {
        "win_rate": WinRateModel(groups=model_groups(frame, WIN_GROUPS), **sampler),
        "revenue": RevenueModel(groups=model_groups(frame, REVENUE_GROUPS), **sampler),
        "cycle_time": CycleTimeModel(
            groups=model_groups(frame, CYCLE_GROUPS), as_of=as_of, **sampler
        ),
    }
    watch = watch or (lambda _name, fit: fit())
    cached: dict[str, CachedFit] = {}
    skipped: dict[str, str] = {}
    for name, model in unfitted.items():
        reason = refusal(name, frame)
        if reason is None:
            try:
                cached[name] = watch(
                    name,
                    lambda model=model: fit_cached(
                        model, frame, cache_dir, random_seed, table_digest
                    ),
                )
                continue
            except ModelRefused as exc:
                reason = str(exc)
        skipped[name] = reason
    fitted = {name: fit.model for name, fit in cached.items()}
    return PeriodModels(
        fitted.get("win_rate"),
        fitted.get("revenue"),
        fitted.get("cycle_time"),
        cached,
        skipped,
    )


def refusal(name: str, frame: pd.DataFrame, as_of: str | pd.Timestamp | None = None) -> str | None:
    """Why model ``name`` cannot be fitted on ``frame``, in one plain sentence (``None``: it can).

    The win-rate and cycle-time models learn from closed deals; an export of open deals only
    holds no outcome to learn from. The deal-size model learns from won deals with an amount.
    The account model (``account_products``) needs accounts, products and won deals, and, given
    ``as_of``, accounts with deals before its horizon.
    """
    if name == "account_products":
        from pipeline_models.models.accounts import AccountsConfig
        from pipeline_models.models.accounts import refusal as account_refusal

        return account_refusal(frame, as_of, AccountsConfig().horizon_months)
    if name == "deal_score":
        return _score_refusal(frame)
    status = frame["status"].astype(str)
    closed = int(status.isin(["won", "lost"]).sum())
    if name in ("win_rate", "cycle_time") and closed == 0:
        what = "win rate" if name == "win_rate" else "time to close"
        return f"the export holds no closed deal (won or lost), so no {what} can be estimated"
    if name == "revenue":
        amounts = pd.to_numeric(frame["amount"], errors="coerce")
        if not bool(((status == "won") & (amounts > 0)).any()):
            return (
                "the export holds no won deal with a positive amount, so deal size cannot be "
                "estimated"
            )
    return None


def fit_forecaster(
    frame: pd.DataFrame, as_of: pd.Timestamp, cache_dir: str | Path, table_digest: str | None
) -> CachedFit:
    """The pipeline forecaster fitted on what was known at ``as_of`` (from the cache when made)."""
    from pipeline_models.models.forecaster import PipelineForecaster

    origin = pd.Timestamp(as_of).normalize()
    return fit_cached_estimator(
        PipelineForecaster(),
        lambda model: model.fit(frame, origin),
        cache_dir,
        {"opportunities": str(table_digest), "origin": str(origin.date())},
    )


def fit_lead_funnel(
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    as_of: pd.Timestamp,
    cache_dir: str | Path,
    digests: dict[str, str | None],
    random_seed: int,
) -> CachedFit:
    """The lead funnel fitted at ``as_of`` on the opportunities and leads (cached)."""
    from pipeline_models.models.funnel import LeadFunnelModel

    origin = pd.Timestamp(as_of).normalize()
    return fit_cached_estimator(
        LeadFunnelModel(),
        lambda model: model.fit(frame, leads, origin, random_seed=random_seed),
        cache_dir,
        {**{k: str(v) for k, v in digests.items()}, "as_of": str(origin.date())},
        random_seed,
    )


def fit_account_products(
    frame: pd.DataFrame,
    as_of: pd.Timestamp,
    cache_dir: str | Path,
    table_digest: str | None,
    random_seed: int,
) -> CachedFit | None:
    """What each account may buy next, fitted at ``as_of`` on the opportunities (cached);
    ``None`` when the export cannot support it (``refusal("account_products", ...)`` says why)."""
    from pipeline_models.models.accounts import AccountProductsModel

    origin = pd.Timestamp(as_of).normalize()
    if refusal("account_products", frame, origin) is not None:
        return None
    return fit_cached_estimator(
        AccountProductsModel(),
        lambda model: model.fit(frame, origin, random_seed=random_seed),
        cache_dir,
        {"opportunities": str(table_digest), "as_of": str(origin.date())},
        random_seed,
    )


SCORE_MIN_CLOSED = 20
"""Fewer closed deals than this give the deal score nothing to learn: each deal keeps the
forecaster's chance for its product and age."""


def _score_refusal(frame: pd.DataFrame) -> str | None:
    status = frame["status"].astype(str)
    closed = int(status.isin(["won", "lost"]).sum())
    if closed < SCORE_MIN_CLOSED:
        return (
            f"the export holds {closed} closed deals (fewer than {SCORE_MIN_CLOSED}), so deals "
            "cannot be scored one by one"
        )
    if not (status == "won").any() or not (status == "lost").any():
        missing = "lost" if (status == "won").any() else "won"
        return f"no deal was {missing}, so nothing tells a strong deal from a weak one"
    return None


def fit_deal_score(
    frame: pd.DataFrame, cache_dir: str | Path, table_digest: str | None, random_seed: int
) -> CachedFit | None:
    """The deal score fitted on the closed deals of ``frame`` (cached); ``None`` when the
    export cannot support it (``refusal("deal_score", ...)`` says why)."""
    from pipeline_models.models.deal_score import DealScoreModel

    if refusal("deal_score", frame) is not None:
        return None
    return fit_cached_estimator(
        DealScoreModel(),
        lambda model: model.fit_deals(frame, random_seed=random_seed),
        cache_dir,
        {"opportunities": str(table_digest)},
        random_seed,
    )
