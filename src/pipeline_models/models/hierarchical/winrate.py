"""Win rate of closed deals with partial pooling over groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit

from pipeline_models.data.aggregate import win_counts
from pipeline_models.models.hierarchical.base import INTERVAL, PipelineModel, stack_draws
from pipeline_models.models.hierarchical.effects import term_levels
from pipeline_models.models.hierarchical.laplace import LatentModel, normal_prior
from pipeline_models.models.hierarchical.priors import WINRATE_PRIORS

_LO, _HI = (1 - INTERVAL) / 2, (1 + INTERVAL) / 2


class WinRateModel(PipelineModel):
    """Probability that a closed deal is won, pooled over the grouping columns::

        won | trials(n) ~ 1 + (1 | product) + (1 | region) + (1 | owner) + (1 | lead_source)

    Binomial on won-of-n per cell (one cell per combination of levels seen), logit link,
    varying intercepts ``logit p = intercept + sum_g b_g[level]``, ``b_g ~ Normal(0, sd_g)``
    constrained to sum to zero over the fitted levels, sampled non-centred (``b = sd * z``) unless
    the data say centred samples better (``parametrization``). A group whose levels hardly differ gets ``sd_g`` near 0 and its levels
    pool to the overall rate. Open deals are not used: they have no outcome yet.

    Parameters
    ----------
    groups
        Terms (columns or ``"a:b"`` interactions); default the four above that hold values.
    priors
        Overrides of :data:`~pipeline_models.models.hierarchical.priors.WINRATE_PRIORS`
        (``intercept``, ``sd_group``).
    **sampler
        ``draws``, ``tune``, ``chains``, ``cores``, ``sampler``, ``target_accept``, ``progress``
        as in :class:`~pipeline_models.models.hierarchical.base.PipelineModel`.
    """

    model_type = "win_rate"
    version = 2
    response = "won | trials(n)"
    needs = "closed as won or lost, so no win rate can be estimated"
    default_groups = ("product", "region", "owner", "lead_source")
    default_priors = WINRATE_PRIORS

    def _aggregate(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        return win_counts(frame, columns)

    def _after_inputs(self) -> None:
        won = self.inputs_["won"].to_numpy() + 0.5
        lost = (self.inputs_["n"] - self.inputs_["won"]).to_numpy() + 0.5
        self._decide_terms("", np.log(won / lost), 1 / (1 / won + 1 / lost))

    def _build(self):  # noqa: ANN202 - returns a pymc.Model
        import pymc as pm

        priors = self.resolved_priors()
        table = self.inputs_
        coords = {**self._coords(), "cell": np.arange(len(table))}
        with pm.Model(coords=coords) as model:
            eta = priors["intercept"].create("intercept")
            for term, idx in self.cell_index_.items():
                eta = eta + self._effect("", term, priors["sd_group"])[idx]
            pm.Binomial(
                "won",
                n=table["n"].to_numpy(),
                logit_p=eta,
                observed=table["won"].to_numpy(),
                dims="cell",
            )
        return model

    def _latent_model(self) -> LatentModel:
        priors = self.resolved_priors()
        won = self.inputs_["won"].to_numpy(dtype=float)
        n = self.inputs_["n"].to_numpy(dtype=float)

        def loglik(eta: np.ndarray, scales: np.ndarray) -> np.ndarray:
            return won * eta[:, 0] - n * np.logaddexp(0.0, eta[:, 0])

        def derivatives(eta: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            p = expit(eta[:, 0])
            return (won - n * p)[:, None], (n * p * (1.0 - p))[:, None, None]

        return LatentModel(
            predictors=("logit",),
            intercepts=(normal_prior(priors["intercept"]),),
            **self._latent_terms(),
            sd_priors=(priors["sd_group"],),
            scales={},
            loglik=loglik,
            derivatives=derivatives,
        )

    # ----------------------------------------------------------------- predictions
    def predict_proba(self, cells: pd.DataFrame, random_seed: int | None = None) -> xr.DataArray:
        """Posterior draws of the win probability of each row of ``cells``.

        Parameters
        ----------
        cells
            Rows with the model's grouping columns (missing values mean ``"(none)"``); a level the
            fit never saw gets its effect drawn from the population of levels (wider interval).
        random_seed
            Seed for the draws of unseen levels' effects.

        Returns
        -------
        xarray.DataArray
            Dims ``(sample, cell)``; ``cell`` is labelled with ``cells.index`` and carries the
            grouping columns as coordinates.
        """
        self._check_fitted()
        rng = np.random.default_rng(random_seed)
        p = expit(self._linear(cells, "", rng))
        return _labelled(p, cells, self.columns_, "win_probability")

    # ----------------------------------------------------------------- tables
    def between_group_sd(self) -> pd.DataFrame:
        """Posterior of each term's between-level sd (logit scale): mean and 90% interval."""
        self._check_fitted()
        rows = []
        for term in self.terms_:
            d = stack_draws(self.posterior_, f"sd_{term}")
            rows.append(_row(term=term, draws=d))
        return pd.DataFrame(rows, columns=["term", "mean", "lower", "upper"])

    def group_effects(self) -> pd.DataFrame:
        """Each level's effect on the logit scale (``sd * z``), with its deals and 90% interval.

        Returns
        -------
        pandas.DataFrame
            Columns ``term, level, deals, won, mean, lower, upper``; ``lower``/``upper`` bound the
            90% equal-tailed interval.
        """
        self._check_fitted()
        out = []
        for term in self.terms_:
            eff = self._effect_draws(term)
            counts = self._level_counts(term)
            for j, level in enumerate(self.terms_[term]):
                d = eff[:, j]
                out.append(
                    {
                        "term": term,
                        "level": level,
                        **counts.get(level, {"deals": 0, "won": 0}),
                        **_row(draws=d),
                    }
                )
        return pd.DataFrame(
            out, columns=["term", "level", "deals", "won", "mean", "lower", "upper"]
        )

    def group_rates(self, group: str) -> pd.DataFrame:
        """Win rate of each level of ``group``, the other groups at their population average.

        Parameters
        ----------
        group
            A fitted term (e.g. ``"product"``).

        Returns
        -------
        pandas.DataFrame
            Columns ``level, deals, won, observed, mean, lower, upper``: ``observed`` is the raw
            won/deals, ``mean`` the posterior mean rate and ``lower``/``upper`` its 90%
            equal-tailed interval. Sorted by ``mean``, highest first.
        """
        self._check_fitted()
        if group not in self.terms_:
            raise KeyError(f"{group!r} is not a fitted term; fitted: {list(self.terms_)}")
        intercept = stack_draws(self.posterior_, "intercept")
        rates = expit(intercept[:, None] + self._effect_draws(group))
        counts = self._level_counts(group)
        rows = []
        for j, level in enumerate(self.terms_[group]):
            c = counts.get(level, {"deals": 0, "won": 0})
            observed = c["won"] / c["deals"] if c["deals"] else np.nan
            rows.append({"level": level, **c, "observed": observed, **_row(draws=rates[:, j])})
        table = pd.DataFrame(
            rows, columns=["level", "deals", "won", "observed", "mean", "lower", "upper"]
        )
        return table.sort_values("mean", ascending=False, ignore_index=True)

    def _effect_draws(self, term: str) -> np.ndarray:
        return stack_draws(self.posterior_, f"b_{term}", (term,))

    def _level_counts(self, term: str) -> dict[str, dict[str, int]]:
        levels = term_levels(self.inputs_, term)
        sums = self.inputs_[["won", "n"]].groupby(levels).sum()
        return {str(k): {"deals": int(r["n"]), "won": int(r["won"])} for k, r in sums.iterrows()}


def _row(draws: np.ndarray, **labels: object) -> dict[str, object]:
    lo, hi = np.quantile(draws, [_LO, _HI])
    return {**labels, "mean": float(np.mean(draws)), "lower": float(lo), "upper": float(hi)}


def _labelled(
    values: np.ndarray, cells: pd.DataFrame, columns: list[str], name: str
) -> xr.DataArray:
    coords: dict[str, object] = {
        "sample": np.arange(values.shape[0]),
        "cell": cells.index.to_numpy(),
    }
    for col in columns:
        if col in cells:
            coords[col] = ("cell", cells[col].astype(object).to_numpy())
    return xr.DataArray(values, dims=("sample", "cell"), coords=coords, name=name)
