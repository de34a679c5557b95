"""Time from creation to close, with competing outcomes and open deals right-censored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import norm

from pipeline_models.data.aggregate import cycle_stats, group_levels
from pipeline_models.models.hierarchical.base import ModelRefused, PipelineModel, stack_draws
from pipeline_models.models.hierarchical.cycle_likelihood import (
    OUTCOMES,
    CycleLikelihood,
    days_span,
    pinned_spreads,
)
from pipeline_models.models.hierarchical.diagnostics import FitDiagnostics
from pipeline_models.models.hierarchical.laplace import LaplaceDraws, LatentModel, normal_prior
from pipeline_models.models.hierarchical.priors import CYCLE_PRIORS
from pipeline_models.models.hierarchical.winrate import _row


class CycleTimeModel(PipelineModel):
    """Eventual outcome and days to close of a deal, pooled over groups::

        outcome ~ Categorical(p_won, p_lost, p_stalled),  logit-odds vs stalled ~ 1 + (1 | product)
        log(days) | outcome ~ Normal(mu_outcome, sigma_outcome),   mu_outcome ~ 1 + (1 | product)

    Each deal will end won (probability ``p``), lost (``q``) or never close at all (stalled,
    ``1 - p - q``); given its outcome, the days from creation to close are log-normal with a median
    per cell and outcome and a spread per outcome. A deal closed by ``as_of`` contributes
    ``P(outcome) * P(days in its bin | outcome)``; a deal still open at age ``a`` contributes
    ``S(a) = p (1 - F_won(a)) + q (1 - F_lost(a)) + (1 - p - q)``. The stalled share is what lets
    the model say that a very old open deal will most likely never be won. Fitted on counts per
    (cell, outcome, duration bin) from :func:`~pipeline_models.data.aggregate.cycle_stats`.

    Parameters
    ----------
    groups
        Terms (columns or ``"a:b"`` interactions); default ``product`` if it holds values.
    priors
        Overrides of :data:`~pipeline_models.models.hierarchical.priors.CYCLE_PRIORS`.
    as_of
        Day the pipeline is seen from (ISO date); ``None`` for the latest date in the export.
    **sampler
        As in :class:`~pipeline_models.models.hierarchical.base.PipelineModel`.
    """

    model_type = "cycle_time"
    version = 3
    response = "outcome + log(days) | censored(age)"
    needs = "with a creation date, so time to close cannot be estimated"
    default_groups = ("product",)
    default_priors = CYCLE_PRIORS
    _extra_config = ("as_of",)

    def __init__(
        self,
        groups: Sequence[str] | None = None,
        priors: dict | None = None,
        *,
        as_of: str | None = None,
        **sampler: object,
    ) -> None:
        super().__init__(groups, priors, **sampler)  # type: ignore[arg-type]
        self.as_of = None if as_of is None else str(pd.Timestamp(as_of).date())

    def _aggregate(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        return cycle_stats(frame, columns, as_of=self.as_of)

    def _cell_table(self, inputs: pd.DataFrame) -> pd.DataFrame:
        cols = self._columns(inputs.attrs.get("terms", []))
        if not cols:
            return pd.DataFrame(index=pd.RangeIndex(1))
        return group_levels(inputs, cols).drop_duplicates().sort_values(cols).reset_index(drop=True)

    def _after_inputs(self) -> None:
        table = self.inputs_
        cols = self.columns_
        if cols:
            rows = group_levels(table, cols).agg("\x1f".join, axis=1)
            cells = group_levels(self.cells_, cols).agg("\x1f".join, axis=1)
            self.row_cell_ = pd.Index(cells).get_indexer(rows).astype(np.int64)
        else:
            self.row_cell_ = np.zeros(len(table), dtype=np.int64)
        self.as_of_ = table.attrs.get("as_of")
        n_cells = len(self.cells_)
        count = table["count"].to_numpy(dtype=float)
        outcome = table["outcome"].to_numpy()
        won = np.bincount(self.row_cell_, count * (outcome == "won"), n_cells) + 0.5
        lost = np.bincount(self.row_cell_, count * (outcome == "lost"), n_cells) + 0.5
        self._decide_terms("outcome_", np.log(won / lost), 1 / (1 / won + 1 / lost))
        closed = np.isin(outcome, OUTCOMES)
        lo, hi = table["lo"].to_numpy(), table["hi"].to_numpy()
        _check_spread(lo[closed & (count > 0)], hi[closed & (count > 0)], count[closed].sum())
        self.pinned_spreads_ = pinned_spreads(table, self.row_cell_)
        mid = np.log(np.where(np.isinf(hi), lo + 1, (lo + hi) / 2) + 0.5)
        w = count * closed
        n_closed = np.bincount(self.row_cell_, w, n_cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_mid = np.bincount(self.row_cell_, w * mid, n_cells) / n_closed
        spread = (
            float(np.average((mid - mean_mid[self.row_cell_]) ** 2, weights=w)) if w.sum() else 1.0
        )
        self._decide_terms("duration_", mean_mid, n_closed / max(spread, 1e-3))

    def _fitted_extras(self) -> dict[str, object]:
        return {"as_of": self.as_of_}

    def _build(self):  # noqa: ANN202 - returns a pymc.Model
        import pymc as pm
        import pytensor.tensor as pt
        from pymc.distributions.dist_math import log_diff_normal_cdf, normal_lccdf, normal_lcdf

        priors = self.resolved_priors()
        table = self.inputs_
        cell_idx = {t: idx for t, idx in self.cell_index_.items()}
        coords = {**self._coords(), "outcome": list(OUTCOMES)}
        with pm.Model(coords=coords) as model:
            eta = priors["outcome_intercept"].create("outcome_intercept", dims="outcome")[:, None]
            mu = priors["duration_intercept"].create("duration_intercept", dims="outcome")[:, None]
            for term, idx in cell_idx.items():
                eta = (
                    eta
                    + self._effect("outcome_", term, priors["outcome_sd_group"], ("outcome",))[
                        :, idx
                    ]
                )
                mu = (
                    mu
                    + self._effect("duration_", term, priors["duration_sd_group"], ("outcome",))[
                        :, idx
                    ]
                )
            sigma = self._sigma(priors["duration_sigma"])
            n_cells = len(self.cells_)
            eta = pt.broadcast_to(eta, (2, n_cells))
            mu = pt.broadcast_to(mu, (2, n_cells))
            logits = pt.concatenate([eta, pt.zeros((1, n_cells))], axis=0)
            logp = logits - pt.logsumexp(logits, axis=0, keepdims=True)  # won, lost, stalled

            # closed deals, won and lost together: P(outcome) * P(lo <= T < hi | outcome)
            outcome = table["outcome"].to_numpy()
            closed = np.isin(outcome, OUTCOMES)
            if closed.any():
                k = (outcome[closed] == "lost").astype(np.int64)
                c = self.row_cell_[closed]
                lo = table["lo"].to_numpy()[closed]
                hi = table["hi"].to_numpy()[closed]
                count = table["count"].to_numpy(dtype=float)[closed]
                first, last = lo == 0, np.isinf(hi)
                # stand-in edges where a bin is open on one side; the switch below discards them
                log_lo = np.log(np.where(first, hi / 2, lo))
                log_hi = np.log(np.where(last, lo * 2 + 1, hi))
                m, s_ = mu[k, c], sigma[k]
                log_bin = pt.switch(
                    first,
                    normal_lcdf(m, s_, log_hi),
                    pt.switch(
                        last,
                        normal_lccdf(m, s_, log_lo),
                        log_diff_normal_cdf(m, s_, log_hi, log_lo),
                    ),
                )
                pm.Potential("closed_deals", (count * (logp[k, c] + log_bin)).sum())

            rows = (table["outcome"].to_numpy() == "open") & (table["lo"].to_numpy() > 0)
            if rows.any():
                c = self.row_cell_[rows]
                log_age = np.log(table["lo"].to_numpy()[rows])
                count = table["count"].to_numpy(dtype=float)[rows]
                parts = pt.stack(
                    [
                        logp[0, c] + normal_lccdf(mu[0, c], sigma[0], log_age),
                        logp[1, c] + normal_lccdf(mu[1, c], sigma[1], log_age),
                        logp[2, c],
                    ]
                )
                pm.Potential("open_deals", (count * pt.logsumexp(parts, axis=0)).sum())
        return model

    def _sigma(self, prior):  # noqa: ANN001, ANN202 - a Prior in, a PyTensor vector out
        """The two within-cell spreads as PyMC variables; a pinned one (see
        :func:`pinned_spreads`) is a constant, and ``duration_sigma`` then a deterministic."""
        import pymc as pm
        import pytensor.tensor as pt

        pinned = self.pinned_spreads_
        if not pinned:
            return prior.create("duration_sigma", dims="outcome")
        parts = [
            pt.constant(pinned[o]["sigma"]) if o in pinned else prior.create(f"sigma_{o}")
            for o in OUTCOMES
        ]
        return pm.Deterministic("duration_sigma", pt.stack(parts), dims="outcome")

    def _coords(self) -> dict[str, list[str]]:
        return {**super()._coords(), "outcome": list(OUTCOMES)}

    def _latent_model(self) -> LatentModel:
        """Predictors won and lost log odds against stalling, then won and lost median log days;
        the two within-cell spreads are the likelihood's scales."""
        priors = self.resolved_priors()
        likelihood = CycleLikelihood(self.inputs_, self.row_cell_, len(self.cells_))
        outcome, duration = priors["outcome_intercept"], priors["duration_intercept"]
        pinned = self.pinned_spreads_
        free = [o for o in OUTCOMES if o not in pinned]
        fixed = np.array([pinned[o]["sigma"] if o in pinned else np.nan for o in OUTCOMES])
        slots = [OUTCOMES.index(o) for o in free]

        def spreads(free_sigma: np.ndarray) -> np.ndarray:  # pinned spreads are constants
            full = fixed.copy()
            full[slots] = free_sigma
            return full

        def loglik(eta: np.ndarray, free_sigma: np.ndarray) -> np.ndarray:
            return likelihood.loglik(eta, spreads(free_sigma))

        def derivatives(eta: np.ndarray, free_sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return likelihood.derivatives(eta, spreads(free_sigma))

        return LatentModel(
            predictors=("outcome_won", "outcome_lost", "duration_won", "duration_lost"),
            intercepts=(normal_prior(outcome),) * 2 + (normal_prior(duration),) * 2,
            **self._latent_terms(),
            sd_priors=(priors["outcome_sd_group"],) * 2 + (priors["duration_sd_group"],) * 2,
            scales={f"sigma_{o}": priors["duration_sigma"] for o in free},
            loglik=loglik,
            derivatives=derivatives,
            theta_start=np.r_[np.full(4 * len(self.terms_), np.log(0.3)), np.zeros(len(free))],
        )

    def _laplace_variables(self, draws: LaplaceDraws) -> dict[str, tuple[np.ndarray, tuple]]:
        out = {
            "outcome_intercept": (draws.intercept[:, :2], ("outcome",)),
            "duration_intercept": (draws.intercept[:, 2:], ("outcome",)),
            "duration_sigma": (np.stack(self._spread_draws(draws), axis=1), ("outcome",)),
        }
        for term in self.terms_:
            for part, first in (("outcome", 0), ("duration", 2)):
                sd = [draws.sd[(first + j, term)] for j in range(2)]
                b = [draws.effects[(first + j, term)] for j in range(2)]
                out[f"{part}_sd_{term}"] = (np.stack(sd, axis=1), ("outcome",))
                out[f"{part}_b_{term}"] = (np.stack(b, axis=1), ("outcome", term))
        return out

    def _spread_draws(self, draws: LaplaceDraws) -> list[np.ndarray]:
        n = len(draws.intercept)
        pinned = self.pinned_spreads_
        return [
            np.full(n, pinned[o]["sigma"]) if o in pinned else draws.scales[f"sigma_{o}"]
            for o in OUTCOMES
        ]

    def diagnostics(self) -> FitDiagnostics:
        """As every model's, and says which spread was taken from the bins, not estimated."""
        diag = super().diagnostics()
        notes = [spread["note"] for spread in self.pinned_spreads_.values()]
        if not notes:
            return diag
        return replace(diag, message=" ".join([diag.message, *notes]))

    # ----------------------------------------------------------------- predictions
    def _parts(
        self, cells: pd.DataFrame | None, rng: np.random.Generator, n_samples: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log outcome probabilities (S, 3, D), log-duration means (S, 2, D), sigmas (S, 2, 1)."""
        eta = self._linear(cells, "outcome_", rng, ("outcome",))
        mu = self._linear(cells, "duration_", rng, ("outcome",))
        sigma = stack_draws(self.posterior_, "duration_sigma", ("outcome",))[..., None]
        if n_samples is not None and n_samples < eta.shape[0]:
            keep = np.linspace(0, eta.shape[0] - 1, n_samples).round().astype(int)
            eta, mu, sigma = eta[keep], mu[keep], sigma[keep]
        logits = np.concatenate([eta, np.zeros((eta.shape[0], 1, eta.shape[2]))], axis=1)
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return logp, mu, sigma

    @staticmethod
    def _log_survival(days: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return norm.logsf((np.log(days) - mu) / sigma)

    def predict_outcome(
        self,
        deals: pd.DataFrame,
        horizon_days: float,
        random_seed: int | None = None,
        n_samples: int | None = None,
    ) -> xr.Dataset:
        """Chances that each open deal is won, lost or still open ``horizon_days`` from now.

        Conditional on the deal being open at its current age: with ``S`` the survival above,
        ``P(won within h) = p (F_won(a + h) - F_won(a)) / S(a)``, likewise lost, and the rest is
        still open. A deal far older than deals usually take is most likely stalled, so its
        chance of being won soon is small.

        Parameters
        ----------
        deals
            One row per open deal: the model's grouping columns and ``age_days`` (days since
            creation, >= 0). The index labels the ``deal`` dimension.
        horizon_days
            How far ahead, in days.
        random_seed
            Seed for the effects of levels the fit never saw.
        n_samples
            Use this many evenly spaced posterior draws (less memory for many deals).

        Returns
        -------
        xarray.Dataset
            ``p_won``, ``p_lost``, ``p_open``, each with dims ``(sample, deal)``.
        """
        self._check_fitted()
        age = _ages(deals)
        if not horizon_days >= 0:
            raise ValueError("horizon_days must be >= 0")
        rng = np.random.default_rng(random_seed)
        logp, mu, sigma = self._parts(deals, rng, n_samples)
        log_s_now = self._log_survival(age, mu, sigma)  # (S, 2, D)
        log_s_later = self._log_survival(age + horizon_days, mu, sigma)
        log_alive = logsumexp(
            np.concatenate([logp[:, :2] + log_s_now, logp[:, 2:]], axis=1), axis=1
        )  # (S, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.minimum(log_s_later - log_s_now, 0.0)
            log_closing = log_s_now + np.where(gap < 0, np.log(-np.expm1(gap)), -np.inf)
            p_close = np.exp(logp[:, :2] + log_closing - log_alive[:, None, :])
        p_close = np.nan_to_num(p_close, nan=0.0)
        p_open = np.clip(1.0 - p_close.sum(axis=1), 0.0, 1.0)
        coords = {"sample": np.arange(p_open.shape[0]), "deal": deals.index.to_numpy()}
        dims = ("sample", "deal")
        return xr.Dataset(
            {
                "p_won": (dims, p_close[:, 0]),
                "p_lost": (dims, p_close[:, 1]),
                "p_open": (dims, p_open),
            },
            coords=coords,
            attrs={"horizon_days": float(horizon_days)},
        )

    def p_ever_won(
        self,
        age_days: float | Sequence[float] | np.ndarray,
        cells: pd.DataFrame | None = None,
        random_seed: int | None = None,
        n_samples: int | None = None,
    ) -> xr.DataArray:
        """Chance that a deal still open at ``age_days`` is eventually won:
        ``p (1 - F_won(a)) / S(a)``.

        Parameters
        ----------
        age_days
            One age or several, in days.
        cells
            Rows with the grouping columns; ``None`` for a deal of average levels.
        random_seed, n_samples
            As in :meth:`predict_outcome`.

        Returns
        -------
        xarray.DataArray
            Dims ``(sample, age_days)``, or ``(sample, cell, age_days)`` when ``cells`` is given.
        """
        self._check_fitted()
        ages = np.atleast_1d(np.asarray(age_days, dtype=float))
        if np.any(~(ages >= 0)):
            raise ValueError("ages must be >= 0")
        rng = np.random.default_rng(random_seed)
        logp, mu, sigma = self._parts(cells, rng, n_samples)
        a = ages[None, None, None, :]
        log_s = self._log_survival(a, mu[..., None], sigma[..., None])  # (S, 2, D, A)
        won = logp[:, 0, :, None] + log_s[:, 0]
        alive = logsumexp(
            np.stack(
                [
                    won,
                    logp[:, 1, :, None] + log_s[:, 1],
                    np.broadcast_to(logp[:, 2, :, None], won.shape),
                ]
            ),
            axis=0,
        )
        p = np.exp(won - alive)
        coords = {"sample": np.arange(p.shape[0]), "age_days": ages}
        if cells is None:
            return xr.DataArray(
                p[:, 0], dims=("sample", "age_days"), coords=coords, name="p_ever_won"
            )
        coords["cell"] = cells.index.to_numpy()
        return xr.DataArray(
            p, dims=("sample", "cell", "age_days"), coords=coords, name="p_ever_won"
        )

    # ----------------------------------------------------------------- tables
    def outcome_table(self, group: str | None = None) -> pd.DataFrame:
        """Outcome shares and median days to close per level of ``group`` (others at average).

        Returns
        -------
        pandas.DataFrame
            Columns ``level, quantity, mean, lower, upper`` (90% equal-tailed interval) for the
            quantities ``p_won``, ``p_lost``, ``p_stalled``, ``median_days_won``,
            ``median_days_lost``; ``group=None`` gives one level ``"(average)"``.
        """
        self._check_fitted()
        post = self.posterior_
        eta = stack_draws(post, "outcome_intercept", ("outcome",))[..., None]
        mu = stack_draws(post, "duration_intercept", ("outcome",))[..., None]
        levels = ["(average)"]
        if group is not None:
            if group not in self.terms_:
                raise KeyError(f"{group!r} is not a fitted term; fitted: {list(self.terms_)}")
            eta = eta + stack_draws(post, f"outcome_b_{group}", ("outcome", group))
            mu = mu + stack_draws(post, f"duration_b_{group}", ("outcome", group))
            levels = self.terms_[group]
        logits = np.concatenate([eta, np.zeros((eta.shape[0], 1, eta.shape[2]))], axis=1)
        p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        quantities = {
            "p_won": p[:, 0],
            "p_lost": p[:, 1],
            "p_stalled": p[:, 2],
            "median_days_won": np.exp(mu[:, 0]),
            "median_days_lost": np.exp(mu[:, 1]),
        }
        rows = [
            _row(level=level, quantity=q, draws=d[:, j])
            for j, level in enumerate(levels)
            for q, d in quantities.items()
        ]
        return pd.DataFrame(rows, columns=["level", "quantity", "mean", "lower", "upper"])


def _ages(deals: pd.DataFrame) -> np.ndarray:
    if "age_days" not in deals:
        raise KeyError("deals need an 'age_days' column (days since creation)")
    age = pd.to_numeric(deals["age_days"], errors="coerce").to_numpy(dtype=float)
    if np.any(~(age >= 0)):
        raise ValueError("age_days must be a number >= 0 for every deal")
    return age[None, None, :]


def _check_spread(lo: np.ndarray, hi: np.ndarray, closed: float) -> None:
    """Refuse an export whose closed deals (two or more) all fall in one duration bin: their
    spread is zero as far as the bins tell, and a log-normal spread at zero has no posterior to
    approximate (a sampler only diverges on it)."""
    if closed < 2 or len(np.unique(lo)) != 1:
        return
    raise ModelRefused(
        f"every closed deal took {days_span(lo[0], hi[0])} days from creation to close, so how "
        "much time to close varies cannot be estimated"
    )


__all__ = ["OUTCOMES", "CycleTimeModel"]
