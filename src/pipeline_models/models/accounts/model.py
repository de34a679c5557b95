"""What each account may buy next: the product of its next won deal, and the chance it buys within
a horizon, pooled over the accounts of its segment.

For account ``i`` of segment ``s`` and products ``j``::

    segment mix      pi_s ~ Dirichlet(c m)                     m: the overall mix of purchases
    account mix      theta_i ~ Dirichlet(a pi_s)
    purchases        n_i ~ Multinomial(theta_i)                 next product ~ Categorical(theta_i)
    buys at all      b_i ~ Bernoulli(p_{s, o_i}),  p_{s, o} ~ Beta(mu_o kappa_o, (1 - mu_o) kappa_o)
    P(i buys j within the horizon) ~= p_{s, o_i} x theta_ij

``n_i`` are the account's won deals by product plus each open deal counted as ``w`` of a won one
(``w``: the export's win rate of closed deals, unless set): an account whose only deals are open
is counted with its open deals as a signal of interest. ``o_i``: whether the account has an open
deal. The concentrations are empirical Bayes: ``c`` maximises the Dirichlet-multinomial marginal
likelihood of the segments' counts (each account's counts scaled to its effective size
``(1 + a) / (N_i + a)``, since an account's purchases are not independent of each other), ``a``
that of the accounts' counts given their segment's mix; the two are found in turn. Given them, the
posteriors are conjugate: ``pi_s | data ~ Dirichlet(c m + counts_s)``, ``theta_i | pi_s, data ~
Dirichlet(a pi_s + n_i)``. The chances to buy ``p`` are learned from the horizon just past, their
Beta population integrated over (:mod:`.buying`). The tables' intervals draw all of them jointly.

The product ``p x theta`` is the chance that the account's *next* purchase falls in the horizon
and is product ``j``: it leaves out a second purchase within the horizon, so it understates the
chance of buying ``j`` at all there for accounts that buy often. A Dirichlet mix also assumes an
account that bought a product is, if anything, more likely to buy it again (repeat purchase);
if accounts rather move on to other products, ``a`` is estimated large and an account's own
purchases count little.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Self

import numpy as np
import pandas as pd

from pipeline_models.models.contract import TABLE_INTERVAL, Diagnostics, StateEstimator
from pipeline_models.models.pooling.dirichlet_multinomial import (
    PooledMixes,
    fit_concentration,
    mix_draws,
    pool_mixes,
)

from .buying import buy_counts, buy_draws, buy_rates
from .config import (
    MAX_ACCOUNT_CONCENTRATION,
    THIN_AT_RISK,
    THIN_REPEAT_ACCOUNTS,
    AccountsConfig,
)
from .purchases import Purchases, account_purchases, refusal

MIN_ACCOUNT_CONCENTRATION = 0.1
"""Smallest weight (in purchases) of the segment's mix in an account's mix: below it one purchase
would decide an account's mix all but alone."""

ROUNDS = 5
"""Most rounds of estimating the segments' and the accounts' concentrations in turn."""

CHUNK = 2_000_000
"""Values drawn at once when a table's intervals are drawn (bounds the memory a table needs)."""


class AccountProductsModel(StateEstimator):
    """The products each account is most likely to buy next, and with what chance (module doc).

    ``AccountProductsModel(config)`` stores its :class:`AccountsConfig`; ``fit(frame, as_of)``
    stores the accounts and their counts, the segments' posterior mixes, the concentrations and
    the chance to buy by segment and state; the tables draw their intervals from these.
    """

    model_type = "account_products"
    version = 1
    formula = (
        "next_product ~ 1 + (1 | segment) + (1 | account), Dirichlet-multinomial; "
        "bought ~ 1 + (1 | segment) by open deal, Beta-binomial; "
        "P(buys j within horizon) ~= P(bought) x P(next product = j)"
    )

    def __init__(self, config: AccountsConfig | None = None):
        self.accounts_config = config or AccountsConfig()

    # ----------------------------------------------------------------- identity
    @property
    def model_config(self) -> dict[str, Any]:
        return self.accounts_config.model_settings()

    @property
    def sampler_config(self) -> dict[str, Any]:
        return self.accounts_config.sampler_settings()

    def _settings(self) -> dict[str, Any]:
        return asdict(self.accounts_config)

    @classmethod
    def _from_settings(cls, settings: dict[str, Any]) -> Self:
        return cls(AccountsConfig(**settings))

    # ----------------------------------------------------------------- fitting
    def fit(
        self, frame: pd.DataFrame, as_of: pd.Timestamp | str, random_seed: int | None = None
    ) -> Self:
        """Fit on the canonical opportunities table as known at ``as_of``; the input is not
        modified.

        Raises
        ------
        ValueError
            With the plain reason (:func:`~.purchases.refusal`) when the table has no account or
            product, no won deal, or no account with deals before the horizon's start.
        """
        cfg = self.accounts_config
        as_of = pd.Timestamp(as_of).normalize()
        reason = refusal(frame, as_of, cfg.horizon_months)
        if reason is not None:
            raise ValueError(reason)
        bought = account_purchases(frame, as_of, cfg.open_weight, cfg.half_life_months)
        self.as_of_ = as_of
        self.random_seed_ = random_seed
        self.purchases_ = bought
        self.data_hash_ = bought.digest()
        self._fit_mixes(bought)
        self.buy_counts_ = buy_counts(frame, bought, as_of, cfg.horizon_months)
        self.buy_draws_ = buy_draws(
            self.buy_counts_,
            cfg.draws,
            np.random.default_rng(random_seed),
            cfg.kappa_median,
            cfg.kappa_log_sd,
        )
        return self

    def _fit_mixes(self, p: Purchases) -> None:
        """The segments' mixes and the accounts' concentration ``a``, estimated in turn."""
        counts = p.weighted
        size = counts.sum(axis=1)
        a = MAX_ACCOUNT_CONCENTRATION
        for _ in range(ROUNDS):
            effective = counts * np.where(size > 0, (1 + a) / (size + a), 0.0)[:, None]
            by_segment = np.zeros((len(p.segments), len(p.products)))
            np.add.at(by_segment, p.segment_of, effective)
            mixes = pool_mixes(by_segment)
            before, a = (
                a,
                fit_concentration(
                    counts,
                    mixes.mean[p.segment_of],
                    MIN_ACCOUNT_CONCENTRATION,
                    MAX_ACCOUNT_CONCENTRATION,
                ),
            )
            if abs(np.log(a / before)) < 0.01:
                break
        self.segment_mixes_: PooledMixes = mixes
        self.account_concentration_ = float(a)

    # ----------------------------------------------------------------- what it learned
    @property
    def products(self) -> list[str]:
        return list(self.purchases_.products)

    @property
    def segments(self) -> list[str]:
        return list(self.purchases_.segments)

    @property
    def buys_alike(self) -> bool:
        """Whether the accounts of a segment were found to buy alike (``a`` at its cap): then an
        account's own purchases hardly move its mix, and its segment and state decide."""
        return self.account_concentration_ >= 0.99 * MAX_ACCOUNT_CONCENTRATION

    def next_product(self) -> pd.DataFrame:
        """Posterior mean of ``P(next product = j | the account buys)``: accounts x products."""
        p, a = self.purchases_, self.account_concentration_
        prior = a * self.segment_mixes_.mean[p.segment_of]
        alpha = prior + p.weighted
        return pd.DataFrame(
            alpha / alpha.sum(axis=1, keepdims=True), index=p.accounts, columns=p.products
        )

    def buy_table(self, interval: float = TABLE_INTERVAL) -> pd.DataFrame:
        """Per state (open deal or not) and segment: accounts at risk at the window's start, those
        that bought, and the pooled chance to buy within the horizon with its interval."""
        return buy_rates(self.buy_counts_, self.buy_draws_, interval)

    def segment_table(self, interval: float = TABLE_INTERVAL) -> pd.DataFrame:
        """Per segment and product: the share of the segment's next purchases, with its interval
        (marginal Beta of the segment's Dirichlet), and the won deals behind it."""
        from scipy import stats

        p, alpha = self.purchases_, self.segment_mixes_.alpha
        total = alpha.sum(axis=1, keepdims=True)
        won = np.zeros_like(alpha)
        np.add.at(won, p.segment_of, p.won)
        lo, hi = (1 - interval) / 2, (1 + interval) / 2
        return pd.DataFrame(
            {
                "segment": np.repeat(p.segments, len(p.products)),
                "product": np.tile(p.products, len(p.segments)),
                "share": (alpha / total).ravel(),
                "low": stats.beta.ppf(lo, alpha, total - alpha).ravel(),
                "high": stats.beta.ppf(hi, alpha, total - alpha).ravel(),
                "won": won.ravel().astype(int),
            }
        )

    def account_table(
        self, interval: float = TABLE_INTERVAL, accounts: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Per account and product: the chance the account buys the product within the horizon
        (mean, ``low``/``high`` of the equal-tailed ``interval``), the share of its next purchase
        (``next_share``, ``next_low``, ``next_high``), whether it bought the product before, and
        its won and open deals.

        The means are exact for every account. The intervals come from each account's own
        draws; with ``accounts`` they are drawn for those accounts only (the others' are NaN;
        ``()``: none, to rank accounts by their means, then :meth:`account_intervals` for the
        few listed). An account's interval is the same whichever others are drawn (each
        account draws from its own stream).
        """
        p = self.purchases_
        cell = self._buy_cell()
        p_buy = self.buy_draws_.mean(axis=1)[cell]
        share = self.next_product().to_numpy()
        rows = None if accounts is None else self._account_rows(accounts)
        low, high, next_low, next_high = self._intervals(cell, interval, rows)
        k = len(p.products)
        return pd.DataFrame(
            {
                "account": np.repeat(p.accounts, k),
                "segment": np.repeat(np.asarray(p.segments)[p.segment_of], k),
                "product": np.tile(p.products, len(p.accounts)),
                "chance": (p_buy[:, None] * share).ravel(),
                "low": low.ravel(),
                "high": high.ravel(),
                "next_share": share.ravel(),
                "next_low": next_low.ravel(),
                "next_high": next_high.ravel(),
                "bought_before": (p.won > 0).ravel(),
                "deals_won": np.repeat(p.deals_won, k).astype(int),
                "open_deals": np.repeat(p.open_deals, k).astype(int),
            }
        )

    def account_intervals(
        self, accounts: Sequence[str], interval: float = TABLE_INTERVAL
    ) -> pd.DataFrame:
        """The intervals of :meth:`account_table` for ``accounts`` only, one row per account and
        product: ``low``, ``high``, ``next_low``, ``next_high`` (each account's the same as in
        the full table)."""
        p = self.purchases_
        rows = self._account_rows(accounts)
        bounds = self._intervals(self._buy_cell(), interval, rows)
        k = len(p.products)
        out = {"account": np.repeat(np.asarray(p.accounts)[rows], k)}
        out["product"] = np.tile(p.products, len(rows))
        for name, values in zip(("low", "high", "next_low", "next_high"), bounds, strict=True):
            out[name] = values[rows].ravel()
        return pd.DataFrame(out)

    def _account_rows(self, accounts: Sequence[str]) -> np.ndarray:
        """The positions of ``accounts`` among the fitted accounts (unknown ones left out)."""
        return np.flatnonzero(pd.Index(self.purchases_.accounts).isin(list(accounts)))

    def _buy_cell(self) -> np.ndarray:
        """Each account's row of :attr:`buy_counts_`: its state today and its segment."""
        p = self.purchases_
        cells = pd.MultiIndex.from_arrays([p.open_deals > 0, np.asarray(p.segments)[p.segment_of]])
        return self.buy_counts_.index.get_indexer(cells)

    def _intervals(
        self, cell: np.ndarray, interval: float, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """Quantiles of ``p x theta`` and of ``theta`` per account and product, from joint draws
        (one set of segment and buy-rate draws shared by every account; each account's own
        ``theta`` from a stream of its own), for the accounts at ``rows`` (``None``: all; the
        others NaN)."""
        p, a = self.purchases_, self.account_concentration_
        draws = self.buy_draws_.shape[1]
        seed = None if self.random_seed_ is None else [self.random_seed_, 1]
        pi = mix_draws(self.segment_mixes_.alpha, draws, np.random.default_rng(seed))
        q = [(1 - interval) / 2, (1 + interval) / 2]
        out = np.full((4, len(p.accounts), len(p.products)), np.nan)
        rows = np.arange(len(p.accounts)) if rows is None else np.asarray(rows, dtype=int)
        step = max(1, CHUNK // max(1, len(p.products) * draws))
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            alpha = a * pi[p.segment_of[chunk]] + p.weighted[chunk][:, :, None]
            theta = _account_draws(alpha, chunk, self.random_seed_)
            chance = self.buy_draws_[cell[chunk]][:, None, :] * theta
            out[0:2, chunk] = np.quantile(chance, q, axis=2)
            out[2:4, chunk] = np.quantile(theta, q, axis=2)
        return out[0], out[1], out[2], out[3]

    # ----------------------------------------------------------------- trust
    def diagnostics(self) -> Diagnostics:
        """Whether the fit can be trusted: not when few accounts bought twice (how much an
        account's own purchases count is then poorly known) or few accounts had deals before the
        horizon's start (the chance to buy rests on few)."""
        if not self.fitted():
            raise RuntimeError("AccountProductsModel is not fitted: call fit() first")
        p = self.purchases_
        repeat = int((p.won.sum(axis=1) >= 2).sum())
        at_risk = int(self.buy_counts_["at_risk"].sum())
        figures = {
            "accounts": float(len(p.accounts)),
            "segments": float(len(p.segments)),
            "products": float(len(p.products)),
            "won_deals": float(p.won.sum()),
            "repeat_accounts": float(repeat),
            "at_risk_accounts": float(at_risk),
            "segment_concentration": float(self.segment_mixes_.concentration),
            "account_concentration": float(self.account_concentration_),
            "open_weight": float(p.open_weight),
        }
        problems = []
        if repeat < THIN_REPEAT_ACCOUNTS:
            problems.append(
                f"only {repeat} accounts won two or more deals with a product: how much an "
                "account's own purchases count rests on few accounts"
            )
        if at_risk < THIN_AT_RISK:
            problems.append(
                f"only {at_risk} accounts had deals before the last "
                f"{self.accounts_config.horizon_months} months: the chance to buy rests on few"
            )
        if problems:
            return Diagnostics(False, "; ".join(problems), figures)
        a = self.account_concentration_
        weight = (
            "accounts of a segment buy alike: an account's own purchases hardly move its mix"
            if self.buys_alike
            else f"an account's segment weighs in its mix as {a:,.1f} purchases of its own"
        )
        message = (
            f"{len(p.accounts):,} accounts in {len(p.segments)} segments, "
            f"{int(p.won.sum()):,} won deals; {weight}"
        )
        return Diagnostics(True, message, figures)


def _account_draws(alpha: np.ndarray, rows: np.ndarray, random_seed: int | None) -> np.ndarray:
    """One draw of ``Dirichlet(alpha[i, :, d])`` per account ``i`` and draw ``d``, each account
    (its index in ``rows``) from a stream of its own, so its draws do not depend on the others."""
    gammas = np.empty_like(alpha)
    for i, row in enumerate(rows):
        seed = None if random_seed is None else [random_seed, 2, int(row)]
        gammas[i] = np.random.default_rng(seed).standard_gamma(alpha[i])
    total = gammas.sum(axis=1, keepdims=True)
    return gammas / np.where(total > 0, total, 1.0)


__all__ = ["AccountProductsModel"]
