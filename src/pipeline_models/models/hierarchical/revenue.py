"""Size of won deals: log-normal with partial pooling over groups, fitted on sufficient statistics.

Why log-normal and not gamma
----------------------------
B2B deal sizes are positive, right-skewed and spread multiplicatively: a product or segment
scales prices by a factor, and a few deals are many times the typical one. On the log scale that
is additive effects plus normal noise, so partial pooling becomes the normal-normal hierarchy,
which samples well and reads plainly (``exp(b)`` is a price factor, ``sigma`` a typical fold-spread).
The log-normal's tail is heavier than the gamma's (whose tail is exponential), so large deals are
not ruled out, and its likelihood factorises exactly into three numbers per cell (``n``, sum of
logs, sum of squared logs). A gamma would need ``n``, sum and sum of logs, and pooled shape and
scale parameters that trade off against each other. The price of the log-normal: the *mean* amount
``exp(mu + sigma^2 / 2)`` leans on ``sigma``, so check the tables' intervals, not just the median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.data.aggregate import amount_stats
from pipeline_models.models.hierarchical.base import ModelRefused, PipelineModel, stack_draws
from pipeline_models.models.hierarchical.effects import term_levels
from pipeline_models.models.hierarchical.laplace import LaplaceDraws, LatentModel, normal_prior
from pipeline_models.models.hierarchical.priors import REVENUE_PRIORS
from pipeline_models.models.hierarchical.winrate import _labelled, _row


def _cell_statistics(used: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Deals, mean log amount per cell, the within-cell sum of squares and its degrees of
    freedom: together the per-deal normal likelihood."""
    n = used["n"].to_numpy(dtype=float)
    mean_log = used["sum_log"].to_numpy() / n
    ss_total = float(np.clip(used["sum_log2"].to_numpy() - n * mean_log**2, 0.0, None).sum())
    return n, mean_log, ss_total, float(n.sum() - len(used))


class RevenueModel(PipelineModel):
    """Amount of a won deal, log-normal, pooled over the grouping columns::

        log(amount) ~ 1 + (1 | product) + (1 | region) + (1 | segment) + (1 | owner)

    on won deals with ``amount > 0`` (won deals with an empty or zero amount are excluded and
    counted in ``excluded_``). ``log(amount) ~ Normal(intercept + sum_g b_g[level], sigma)``,
    ``b_g ~ Normal(0, sd_g)`` summing to zero over the fitted levels. The likelihood uses, per cell,
    the mean log amount (``Normal(mu, sigma / sqrt(n))``) and the within-cell sum of squares (a
    ``sigma``-only term): together exactly the per-deal normal likelihood.

    Parameters
    ----------
    groups
        Terms (columns or ``"a:b"`` interactions); default the four above that hold values.
    priors
        Overrides of :data:`~pipeline_models.models.hierarchical.priors.REVENUE_PRIORS`
        (``intercept`` — relative to the export's mean log amount —, ``sd_group``, ``sigma``).
    **sampler
        As in :class:`~pipeline_models.models.hierarchical.base.PipelineModel`.
    """

    model_type = "revenue"
    version = 2
    response = "log(amount)"
    default_groups = ("product", "region", "segment", "owner")
    needs = "won with a positive amount, so deal size cannot be estimated"
    default_priors = REVENUE_PRIORS

    def _aggregate(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        return amount_stats(frame, columns)

    def _cell_table(self, inputs: pd.DataFrame) -> pd.DataFrame:
        cols = self._columns(inputs.attrs.get("terms", []))
        return inputs.loc[inputs["n"] > 0, cols].reset_index(drop=True)

    def _after_inputs(self) -> None:
        table = self.inputs_
        used = table[table["n"] > 0].reset_index(drop=True)
        if used.empty:
            raise ModelRefused(
                "the export holds no won deal with a positive amount, so deal size cannot be "
                "estimated"
            )
        self.used_ = used
        n = used["n"].to_numpy(dtype=float)
        total = float(n.sum())
        self.centre_ = float(used["sum_log"].sum() / total)
        self.excluded_ = {
            "used": int(total),
            "missing": int(table["n_missing"].sum()),
            "zero": int(table["n_zero"].sum()),
        }
        _, mean_log, ss_total, extra_df = _cell_statistics(used)
        within = ss_total / max(extra_df, 1.0)
        self._decide_terms("", mean_log, n / max(within, 1e-6))

    def _fitted_extras(self) -> dict[str, object]:
        return {"centre": self.centre_, "excluded": self.excluded_}

    def _build(self):  # noqa: ANN202 - returns a pymc.Model
        import pymc as pm
        import pytensor.tensor as pt

        priors = self.resolved_priors()
        used = self.used_
        n, mean_log, ss_total, extra_df = _cell_statistics(used)
        coords = {**self._coords(), "cell": np.arange(len(used))}
        with pm.Model(coords=coords) as model:
            offset = priors["intercept"].create("intercept_offset")
            intercept = pm.Deterministic("intercept", self.centre_ + offset)
            sigma = priors["sigma"].create("sigma")
            mu = intercept
            for term, idx in self.cell_index_.items():
                mu = mu + self._effect("", term, priors["sd_group"])[idx]
            pm.Normal(
                "mean_log_amount", mu=mu, sigma=sigma / np.sqrt(n), observed=mean_log, dims="cell"
            )
            pm.Potential("within_cell", -extra_df * pt.log(sigma) - ss_total / (2 * sigma**2))
        return model

    def _latent_model(self) -> LatentModel:
        priors = self.resolved_priors()
        n, mean_log, ss_total, extra_df = _cell_statistics(self.used_)
        offset_mean, offset_sd = normal_prior(priors["intercept"])

        def loglik(mu: np.ndarray, scales: np.ndarray) -> np.ndarray:
            return -0.5 * n * (mean_log - mu[:, 0]) ** 2 / scales[0] ** 2 - np.log(scales[0])

        def derivatives(mu: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            precision = n / scales[0] ** 2
            return (precision * (mean_log - mu[:, 0]))[:, None], precision[:, None, None]

        def within_cells(scales: np.ndarray) -> float:
            return -extra_df * np.log(scales[0]) - ss_total / (2 * scales[0] ** 2)

        within = ss_total / max(extra_df, 1.0)
        return LatentModel(
            predictors=("log_amount",),
            intercepts=((self.centre_ + offset_mean, offset_sd),),
            **self._latent_terms(),
            sd_priors=(priors["sd_group"],),
            scales={"sigma": priors["sigma"]},
            loglik=loglik,
            derivatives=derivatives,
            scale_loglik=within_cells,
            theta_start=np.r_[
                np.full(len(self.terms_), np.log(0.3)), 0.5 * np.log(max(within, 1e-4))
            ],
        )

    def _laplace_variables(self, draws: LaplaceDraws) -> dict[str, tuple[np.ndarray, tuple]]:
        out = super()._laplace_variables(draws)
        out["intercept_offset"] = (draws.intercept[:, 0] - self.centre_, ())
        out["sigma"] = (draws.scales["sigma"], ())
        return out

    # ----------------------------------------------------------------- predictions
    def predict_amount(self, cells: pd.DataFrame, random_seed: int | None = None) -> xr.DataArray:
        """Draws of the amount of one new deal per row of ``cells``, if won.

        Parameters
        ----------
        cells
            Rows with the model's grouping columns; unseen levels are drawn from the population.
        random_seed
            Seed of the draws.

        Returns
        -------
        xarray.DataArray
            Dims ``(sample, cell)``: posterior predictive amounts (same currency as the export).
        """
        self._check_fitted()
        rng = np.random.default_rng(random_seed)
        mu = self._linear(cells, "", rng)
        sigma = stack_draws(self.posterior_, "sigma")[:, None]
        amounts = np.exp(mu + sigma * rng.standard_normal(mu.shape))
        return _labelled(amounts, cells, self.columns_, "amount")

    def expected_amount(self, cells: pd.DataFrame, random_seed: int | None = None) -> xr.DataArray:
        """Posterior draws of the mean amount of a won deal in each row's cell,
        ``exp(mu + sigma^2 / 2)``; dims ``(sample, cell)``."""
        self._check_fitted()
        rng = np.random.default_rng(random_seed)
        mu = self._linear(cells, "", rng)
        sigma = stack_draws(self.posterior_, "sigma")[:, None]
        return _labelled(np.exp(mu + sigma**2 / 2), cells, self.columns_, "mean_amount")

    # ----------------------------------------------------------------- tables
    def mean_amount(self, group: str) -> pd.DataFrame:
        """Mean won-deal amount per level of ``group``, other groups at their average level.

        Returns
        -------
        pandas.DataFrame
            Columns ``level, deals, observed_median, median, mean, lower, upper``: ``deals`` won
            deals with an amount, ``observed_median`` their geometric mean (a median-like raw
            figure), ``median`` = posterior mean of ``exp(mu)``, ``mean`` = posterior mean of
            ``exp(mu + sigma^2/2)`` with its 90% equal-tailed interval ``lower``/``upper``.
        """
        self._check_fitted()
        if group not in self.terms_:
            raise KeyError(f"{group!r} is not a fitted term; fitted: {list(self.terms_)}")
        mu = stack_draws(self.posterior_, "intercept")[:, None] + stack_draws(
            self.posterior_, f"b_{group}", (group,)
        )
        sigma = stack_draws(self.posterior_, "sigma")[:, None]
        means = np.exp(mu + sigma**2 / 2)
        medians = np.exp(mu)
        used = self.used_
        lv = term_levels(used, group)
        sums = used[["n", "sum_log"]].groupby(lv).sum()
        rows = []
        for j, level in enumerate(self.terms_[group]):
            deals = int(sums.loc[level, "n"]) if level in sums.index else 0
            geo = float(np.exp(sums.loc[level, "sum_log"] / deals)) if deals else np.nan
            rows.append(
                {
                    "level": level,
                    "deals": deals,
                    "observed_median": geo,
                    "median": float(medians[:, j].mean()),
                    **_row(draws=means[:, j]),
                }
            )
        table = pd.DataFrame(
            rows, columns=["level", "deals", "observed_median", "median", "mean", "lower", "upper"]
        )
        return table.sort_values("mean", ascending=False, ignore_index=True)
