"""The deal score: the chance that a deal is won, from everything known about it when it was
created.

``DealScoreModel(config).fit(frame, won)`` fits on closed deals (any table, any attributes);
``fit_deals(opportunities)`` reads a canonical table, adds the account's past and decides whether
amounts may be read (:mod:`.deals`). The model is a logistic regression with partial pooling: one
varying effect per attribute, one per pair of attributes (kept near zero unless the data insist),
a smooth effect of log amount, and the amount's band and precision; every spread is estimated
from the data and the posterior is a Laplace approximation (:mod:`.laplace`; it was checked
against NUTS on simulated deals in the tests).

The fitted deals are also scored *out of fold* (each fold by a fit on the others, with the same
spreads): those chances, never the in-sample ones, show how well calibrated the score is on the
user's own deals.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from pipeline_models.models.contract import TABLE_INTERVAL, Diagnostics, StateEstimator
from pipeline_models.models.deal_score.config import DealScoreConfig
from pipeline_models.models.deal_score.deals import (
    ACCOUNT_PAST,
    amount_reason,
    with_account_past,
)
from pipeline_models.models.deal_score.design import (
    BLANK,
    SMOOTH,
    aggregate,
    attribute_frame,
    design,
    distinct_design,
    learn_coding,
    log_amounts,
)
from pipeline_models.models.deal_score.laplace import fit_laplace, predictive
from pipeline_models.models.deal_score.scores import ece, log_loss

FOLDS = 5


class DealScoreModel(StateEstimator):
    """P(won) for a deal, as of its creation.

    ``won ~ 1 + (1 | a) for each attribute a + (1 | a:b) for each pair + s(log amount, rw2)
    + (1 | amount band) + (1 | amount precision) + (1 | account past)``, every spread estimated.
    """

    model_type = "deal_score"
    version = 2
    formula = (
        "won ~ 1 + (1 | attribute) + (1 | attribute:attribute) + s(log amount, rw2) "
        "+ (1 | amount band) + (1 | amount precision) + (1 | account past), "
        "Laplace approximation, spreads by empirical Bayes"
    )

    def __init__(self, config: DealScoreConfig | None = None):
        self.deal_config = config or DealScoreConfig()

    @property
    def model_config(self) -> dict[str, Any]:
        return self.deal_config.model_settings()

    def _settings(self) -> dict[str, Any]:
        return {"config": self.deal_config.model_settings()}

    @classmethod
    def _from_settings(cls, settings: dict[str, Any]) -> Self:
        return cls(DealScoreConfig(**settings["config"]))

    # -------------------------------------------------------------------------- fit
    def fit(
        self,
        frame: pd.DataFrame,
        won: np.ndarray,
        random_seed: int | None = 0,
        start: pd.Series | None = None,
        out_of_fold: bool = True,
    ) -> Self:
        """Fit on the deals of ``frame`` (closed deals; ``won`` says which were won).

        ``start``: spreads to start from (a :meth:`spreads` of an earlier fit, by term name;
        a back-test passes the last origin's, so each origin settles in a few rounds).
        ``out_of_fold``: also score the fitted deals out of fold (five more mode searches) for
        the reliability chart; a back-test needs only the fit. Neither changes the estimate
        beyond the fixed point's tolerance.
        """
        won = np.asarray(won, dtype=bool)
        if len(won) != len(frame):
            raise ValueError(f"won has {len(won)} entries for {len(frame)} deals")
        if not len(frame):
            raise ValueError("no closed deal to fit the deal score on")
        cfg = self.deal_config
        self.subsampled_ = len(frame) > cfg.max_deals
        if self.subsampled_:  # the cost grows with distinct deals; this many pin every term down
            keep = np.sort(
                np.random.default_rng(random_seed).permutation(len(frame))[: cfg.max_deals]
            )
            frame, won = frame.iloc[keep], won[keep]
        names = [a for a in cfg.attributes if a in frame]
        if ACCOUNT_PAST in frame and ACCOUNT_PAST not in names:
            names.append(ACCOUNT_PAST)
        amount = cfg.amount if cfg.amount is not None and cfg.amount in frame else None
        cats = attribute_frame(frame, names, amount, cfg.bands)
        log_amount = log_amounts(frame[amount]) if amount else None
        coding, blocks = learn_coding(cats, log_amount, cfg)
        X = design(cats, log_amount, coding)
        rows, n, y = aggregate(X, won)
        tau = None
        if start is not None:
            known = {name: sd for name, sd in start.items() if np.isfinite(sd) and sd > 0}
            tau = np.array(
                [
                    1.0 / known[t.name] ** 2 if t.name in known else (b.fixed_precision or 1.0)
                    for t, b in zip(coding.terms, blocks, strict=True)
                ]
            )
        fit = fit_laplace(rows, n, y, blocks, (cfg.min_sd, cfg.max_sd), tau)
        self.attributes_, self.amount_column_ = names, amount
        self.coding_, self.blocks_, self.fit_ = coding, blocks, fit
        self.deals_, self.won_share_ = len(won), float(won.mean())
        self.term_means_ = self._term_values(X).mean(axis=0)
        self.oof_ = self._out_of_fold(X, won, random_seed) if out_of_fold else None
        self.oof_won_ = won
        chance = self.oof_ if self.oof_ is not None else predictive(X, fit)[2]
        self.mean_chance_ = float(chance.mean())
        self.level_chance_ = {
            name: pd.Series(chance, index=cats.index)
            .groupby(cats[name].to_numpy())
            .mean()
            .to_dict()
            for name in names
        }
        return self

    def fit_deals(
        self, opportunities: pd.DataFrame, random_seed: int | None = 0, **options: Any
    ) -> Self:
        """Fit on the closed deals of a canonical opportunities table (``options``: those of
        :meth:`fit`)."""
        frame = score_frame(opportunities, self.deal_config.amount)
        self.amount_reason_ = frame.attrs.get("amount_reason")
        closed = frame[frame["status"].isin(["won", "lost"])]
        return self.fit(closed, (closed["status"] == "won").to_numpy(), random_seed, **options)

    def _out_of_fold(self, X, won: np.ndarray, random_seed: int | None) -> np.ndarray | None:
        if len(won) < 4 * FOLDS or won.all() or not won.any():
            return None
        fold = np.random.default_rng(random_seed).permutation(len(won)) % FOLDS
        out = np.empty(len(won))
        for k in range(FOLDS):
            train = fold != k
            rows, n, y = aggregate(X.take(train), won[train])
            part = fit_laplace(
                rows,
                n,
                y,
                self.blocks_,
                (1e-9, 1e9),
                self.fit_.tau,
                estimate_spreads=False,
                beta=self.fit_.beta,
            )
            out[~train] = predictive(X.take(~train), part)[2]
        return out

    # ---------------------------------------------------------------------- predict
    def _attributes(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
        """The fitted attributes of the deals of ``frame`` as text, and their log amounts."""
        self._check_fitted()
        cats = attribute_frame(
            frame, self.attributes_, self.amount_column_, self.deal_config.bands, self.coding_
        )
        log_amount = log_amounts(frame[self.amount_column_]) if self.amount_column_ else None
        return cats, log_amount

    def _design(self, frame: pd.DataFrame):
        cats, log_amount = self._attributes(frame)
        return cats, design(cats, log_amount, self.coding_)

    def _predictive(self, frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
        """:func:`predictive` per deal of ``frame``, each distinct deal computed once."""
        rows, inverse = distinct_design(*self._attributes(frame), self.coding_)
        return predictive(rows, self.fit_, inverse=inverse)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Posterior mean chance of winning, per deal of ``frame``."""
        return self._predictive(frame)[2]

    def predict_table(self, frame: pd.DataFrame, interval: float = TABLE_INTERVAL) -> pd.DataFrame:
        """Chance with its equal-tailed ``interval`` per deal (index of ``frame``)."""
        mean, sd, chance = self._predictive(frame)
        z = norm.ppf(0.5 + interval / 2)
        return pd.DataFrame(
            {"chance": chance, "low": expit(mean - z * sd), "high": expit(mean + z * sd)},
            index=frame.index,
        )

    def relative_odds(self, frame: pd.DataFrame, group: str) -> np.ndarray:
        """Each deal's odds of winning against the average fitted deal of its ``group`` level
        (the level's mean chance; the overall mean for a level or column the fit never saw).
        A model that already estimates by ``group`` (the forecaster's hazards by product)
        moves each deal by this ratio."""
        chance = np.clip(self.predict(frame), 1e-6, 1 - 1e-6)
        means = self.level_chance_.get(group, {})
        if group in frame and means:
            text = frame[group].astype("string").str.strip().fillna("")
            ref = text.map(
                lambda v: (
                    means.get(v, means.get(BLANK, self.mean_chance_))
                    if v
                    else means.get(BLANK, self.mean_chance_)
                )
            )
            ref = ref.astype(float).to_numpy()
        else:
            ref = np.full(len(frame), self.mean_chance_)
        ref = np.clip(ref, 1e-6, 1 - 1e-6)
        return (chance / (1 - chance)) / (ref / (1 - ref))

    def score_deals(self, opportunities: pd.DataFrame, group: str = "product") -> pd.DataFrame:
        """Every deal of a canonical table scored as of its creation: ``chance``, ``low``,
        ``high`` and ``odds`` against its ``group`` level's average (index of the table).

        Pass the whole table, not only its open deals: an account's past is read from the
        deals of the account that closed before each deal was created."""
        frame = with_account_past(opportunities)
        out = self.predict_table(frame)
        out["odds"] = self.relative_odds(frame, group)
        return out

    def _term_values(self, X) -> np.ndarray:
        """Each term's share of each deal's log-odds, (deals, terms)."""
        cols = X.columns()
        return np.where(cols >= 0, self.fit_.beta[np.maximum(cols, 0)], 0.0)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per deal and term: how far the term moves the deal's log-odds from the average fitted
        deal (positive: more likely to be won). Columns are the term names."""
        _, X = self._design(frame)
        values = self._term_values(X) - self.term_means_
        names = [t.name for t in self.coding_.terms]
        return pd.DataFrame(values, index=frame.index, columns=names).drop(columns="intercept")

    def reasons(self, frame: pd.DataFrame, top: int = 3) -> pd.DataFrame:
        """The ``top`` terms that move each deal's chance most, long: deal (index of ``frame``),
        rank, term, value (the deal's level or amount) and effect (log-odds)."""
        contrib = self.contributions(frame)
        cats, _ = self._design(frame)
        order = np.argsort(-np.abs(contrib.to_numpy()), axis=1)[:, :top]
        records = []
        for i, deal in enumerate(frame.index):
            for rank, j in enumerate(order[i]):
                term = contrib.columns[j]
                records.append(
                    {
                        "deal": deal,
                        "rank": rank + 1,
                        "term": term,
                        "value": _value_text(term, cats, frame, i, self.amount_column_),
                        "effect": float(contrib.iat[i, j]),
                    }
                )
        return pd.DataFrame(records, columns=["deal", "rank", "term", "value", "effect"])

    def spreads(self) -> pd.Series:
        """Each term's estimated spread (prior sd) on the log-odds scale."""
        self._check_fitted()
        names = [t.name for t in self.coding_.terms]
        return pd.Series(1.0 / np.sqrt(self.fit_.tau), index=names).drop("intercept")

    # ------------------------------------------------------------------ diagnostics
    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_"):
            raise RuntimeError("DealScoreModel is not fitted: call fit() first")

    def diagnostics(self) -> Diagnostics:
        """Newton reached the mode and the spreads settled; out-of-fold log loss and ECE."""
        self._check_fitted()
        fit = self.fit_
        figures = {
            "deals": float(self.deals_),
            "largest_gradient": fit.gradient,
            "spread_steps": float(fit.eb_steps),
            "effective_parameters": float(fit.effective.sum()),
        }
        if self.oof_ is not None:
            figures["out_of_fold_log_loss"] = log_loss(self.oof_, self.oof_won_)
            figures["out_of_fold_ece"] = ece(self.oof_, self.oof_won_)
        problems = []
        if not fit.newton_converged:
            problems.append(f"the mode was not reached (largest gradient {fit.gradient:.2g})")
        if not fit.spreads_converged:
            problems.append(f"the spreads did not settle in {fit.eb_steps} steps")
        message = "; ".join(problems) or (
            f"converged on {self.deals_:,} deals with "
            f"{figures['effective_parameters']:.0f} effective parameters"
        )
        return Diagnostics(not problems, message, figures)


def _value_text(term: str, cats: pd.DataFrame, frame: pd.DataFrame, i: int, amount) -> str:
    if term == SMOOTH:
        return f"{float(frame[amount].iloc[i]):,.0f}" if amount else ""
    parts = term.split(":")
    return " x ".join(str(cats[p].iloc[i]) for p in parts if p in cats)


def score_frame(opportunities: pd.DataFrame, amount: str | None = "amount") -> pd.DataFrame:
    """A canonical table as the deal score reads it: with ``account past`` and, when amounts
    would leak the outcome, without them (``attrs['amount_reason']`` says why)."""
    frame = with_account_past(opportunities)
    reason = amount_reason(frame, amount) if amount else "amounts are not read"
    if reason is not None and amount in frame:
        frame = frame.drop(columns=amount)
    frame.attrs["amount_reason"] = reason
    return frame


__all__ = ["DealScoreModel", "score_frame"]
