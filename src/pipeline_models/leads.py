"""Lead requirement: how many new leads reach a target of deals or revenue, and with what chance.

A CRM answers "how many leads do we need?" with one funnel ratio (target / conversion). This
module answers with a probability: the number of new leads that reaches the target in a coming
window with a chosen chance, counting what the pipeline already holds and the time leads take to
close.

The funnel model (:class:`LeadFunnelModel`), per lead source ``s``::

    lead -> opportunity    converts ~ Bernoulli(c_s),  c_s ~ Beta(mu_c kappa_c, (1 - mu_c) kappa_c)
    opportunity -> won     won      ~ Bernoulli(w_s),  w_s ~ Beta(mu_w kappa_w, (1 - mu_w) kappa_w)
    lags (days)            lead -> opportunity, opportunity -> won, opportunity -> lost and
                           lead -> won: empirical by source, pooled with all sources' lags
                           worth ``lag_pooling`` lags; from items old enough to show them
    deal size              won amounts tied to their lead -> won lag (a short window holds the
                           quick deals, often the small ones)

``c_s`` and ``w_s`` are the chances of *ever* converting and *ever* being won. Partial pooling
over sources comes from the Beta population (``mu``, ``kappa``) whose posterior is computed on a
grid, as are the rates given it: exact Bayesian updating, fitted on counts, in milliseconds, so the
back-test refits it at every origin.

Censoring. A lead (or deal) whose window is still open is not a failure. A lead of age ``a`` not
yet converted has probability ``1 - c F_1(a)`` (``F_1``: lead -> opportunity lag distribution);
an opportunity of age ``a`` neither won nor lost has ``1 - w F_W(a) - (1 - w) lam F_L(a)``, where
``lam`` is the share of not-won deals that are eventually marked lost (the rest stall and never
close) and ``F_W``, ``F_L`` the won and lost cycle-time distributions. A converted lead contributes
``c``, a won deal ``w``, a lost deal ``1 - w`` (times lag densities that do not involve the rates).
Young open items thus count as fractions of a trial, old ones as full failures: a deal that sat
open far longer than won deals take counts as (almost) lost, as stalled deals should.

Why our own opportunity -> won rate rather than the period's ``WinRateModel``: the requirement
needs the chance that a new opportunity is *ever* won, open and stalled deals included, and the
back-test must refit it at each past month in milliseconds. ``WinRateModel`` is fitted on closed
deals only (won of won + lost), so where deals stall it overstates the rate and understates the
leads needed, and refitting it by MCMC at each origin is too slow. The report shows its lead-source
rates beside ours as a cross-check.

Without a leads table the opportunities are the leads: ``c_s = 1`` with no lag, and the
requirement counts new opportunities.

What is in hand. An open lead of age ``a`` converts later with ``c S_1(a) / (1 - c F_1(a))``
and its win lands where the observed lead -> won paths that had not converted by ``a`` put it.
An open deal is simulated by its *product* (known on a deal, and what its cycle and chance depend
on most) with the same censored model fitted by product: ``P(won in month k | open at a) =
w (F_W(a + x_k) - F_W(a + x_(k-1))) / (1 - w F_W(a) - (1 - w) lam F_L(a))``; its own amount when
it has one. Items that share these chances (open deals of one product and age, open leads of one
source and age) are simulated together as cells: their wins per month are drawn exactly
(binomial, then multinomial over the months), and the revenue of a cell's wins comes from its
deals' amounts, drawn exactly for a few wins and by a normal approximation with
finite-population correction for many (:func:`_cell_revenue`). So the simulation costs
draws x cells whatever the number of deals, and the fit works on counts by level and day.

The requirement (:meth:`LeadPlanner.requirement`). New leads are created evenly (uniformly in time) over
the window of the next ``horizon_months`` months in the current source mix. A lead of source ``s``
created at a uniform time is won inside the window with probability
``q_s = c_s w_s G_s`` with ``G_s = E[max(0, X - L_s) / X]`` (``X`` the window's days, ``L_s`` the
lead -> won lag): leads created late have less time to close. Wins from ``n_s`` leads are then
``Binomial(n_s, q_s)``, revenue of ``k`` wins ``Gamma`` with the mean and variance of ``k`` won
amounts. Every draw combines parameter uncertainty (posterior draws of ``c``, ``w``, ``m``; lag
uncertainty by a Bayesian bootstrap of the lags), binomial noise, and what is in hand (open leads
and open deals, simulated from the same parameters). The binomial and gamma draws use common
random numbers through their inverse CDFs, so each draw has a threshold: the fewest leads with
which it reaches the target. ``P(target | leads)`` is the empirical CDF of the thresholds (exactly
non-decreasing), the requirement its ``confidence`` quantile and the median case its median.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import betaln, expit, logsumexp, ndtri
from scipy.stats import binom, gamma

from .asof import month_end
from .scoring import quantile_row

NONE_LABEL = "(none)"
ALL_LABEL = "(all)"
INTERVAL = 0.90
"""Probability of the equal-tailed intervals in the tables (as the models' tables)."""

_LO, _HI = (1 - INTERVAL) / 2, (1 + INTERVAL) / 2
_F_MAX = 0.999  # no lag CDF reaches 1: a lag longer than any seen is always possible
_LAM_MAX = 0.99


@dataclass(frozen=True)
class FunnelConfig:
    """Settings of the funnel model, each with a default that suits a monthly B2B pipeline."""

    lookback_months: int = 12  # leads and deals created this recently estimate the rates
    mix_months: int = 3  # the current source mix and lead volume: leads of the last months
    min_lag_samples: int = 30  # fewer won deals with a known lag than this: a warning
    lag_pooling: float = 5.0  # lags worth of the all-source lag distribution in each source's
    amount_pooling: float = 20.0  # won deals worth of the all-source mean amount in a source's
    kappa_median: float = 20.0  # prior median of the Beta population's concentration
    kappa_log_sd: float = 1.5  # prior sd of log(kappa): sources may differ a little or a lot
    draws: int = 2000


# --------------------------------------------------------------------------------------------------
# lag distributions


@dataclass(frozen=True)
class LagDistribution:
    """An empirical distribution of days (values with weights summing to 1).

    Kept as its distinct values in increasing order with their summed weights and the cumulative
    weights, so that ``cdf`` and ``quantile`` cost a binary search whatever the number of lags.
    """

    values: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        weights = np.broadcast_to(np.asarray(self.weights, dtype=float), values.shape)
        distinct, position = np.unique(values, return_inverse=True)
        summed = np.bincount(position.ravel(), weights=weights.ravel(), minlength=len(distinct))
        object.__setattr__(self, "values", distinct)
        object.__setattr__(self, "weights", summed)
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(summed)]))

    @property
    def n(self) -> int:
        """Number of distinct values."""
        return len(self.values)

    def cdf(self, days: np.ndarray | float) -> np.ndarray:
        """P(lag <= days)."""
        idx = np.searchsorted(self.values, np.asarray(days, dtype=float), side="right")
        return self._cum[idx]

    def quantile(self, q: float) -> float:
        if not self.n:
            return float("nan")
        return float(self.values[min(np.searchsorted(self._cum[1:], q), self.n - 1)])


def truncation_weights(
    lag: np.ndarray, lower: np.ndarray, upper: np.ndarray, iterations: int = 500
) -> np.ndarray:
    """Weights that undo the truncation of observed lags (Efron-Petrosian NPMLE).

    An item's lag (days, e.g. from creation to won) is seen only if it falls inside the item's
    window ``[lower, upper]``: ``upper`` is the days from its creation to the as-of date (a deal
    created last month is seen only if it was won fast), ``lower`` the days from its creation to
    the first recorded outcome of the export (an export whose history starts later than its
    oldest deals has lost their quick outcomes). Plain counts would make lags look short (and,
    where early outcomes are missing, long). The nonparametric maximum likelihood of the lag
    distribution under double truncation gives each item the weight ``f(x) / n(x)``; iterate
    ``F_i = f([lower_i, upper_i])``, ``f(t) = n(t) / sum_i 1[lower_i <= t <= upper_i] / F_i``.

    Returns
    -------
    numpy.ndarray
        One weight per item, summing to 1 (empty input: empty output).
    """
    x = np.rint(np.asarray(lag, float)).astype(np.int64)
    if not len(x):
        return np.zeros(0)
    top = int(x.max())
    lo = np.clip(np.rint(np.asarray(lower, float)).astype(np.int64), 0, None)
    hi = np.clip(np.rint(np.asarray(upper, float)).astype(np.int64), None, top)
    lo, hi = np.minimum(lo, x), np.maximum(hi, x)  # an observed lag lies in its own window
    # items with the same window enter the iteration alike: iterate over distinct windows
    key = lo * (top + 2) + hi
    if (top + 2) ** 2 <= 4 * len(key) + 2**20:  # count rather than sort
        n_window = np.bincount(key)
        windows = np.flatnonzero(n_window)
        n_window = n_window[windows]
    else:
        windows, n_window = np.unique(key, return_counts=True)
    w_lo, w_hi = windows // (top + 2), windows % (top + 2)
    counts = np.bincount(x, minlength=top + 1).astype(float)
    f = counts / counts.sum()
    at_risk = np.ones(top + 1)
    for _ in range(iterations):
        cum = np.concatenate([[0.0], np.cumsum(f)])
        share = n_window / np.maximum(cum[w_hi + 1] - cum[w_lo], 1e-300)
        change = np.bincount(w_lo, weights=share, minlength=top + 2) - np.bincount(
            w_hi + 1, weights=share, minlength=top + 2
        )
        at_risk = np.cumsum(change)[: top + 1]
        new = np.where(counts > 0, counts / np.maximum(at_risk, 1e-300), 0.0)
        new /= new.sum()
        done = np.abs(new - f).max() < 1e-9
        f = new
        if done:
            break
    w = 1 / np.maximum(at_risk[x], 1e-300)
    return w / w.sum()


def _windows(created, as_of: pd.Timestamp, first: pd.Timestamp | None):
    """Each item's observable lag window ``[lower, upper]`` in days (see truncation_weights);
    ``created``: the items' creation dates (datetime64)."""
    created = np.asarray(created, dtype="datetime64[ns]")
    upper = _whole_days(np.datetime64(as_of, "ns"), created)
    if first is None:
        return np.zeros(len(created)), upper
    return np.clip(_whole_days(np.datetime64(first, "ns"), created), 0, None), upper


# --------------------------------------------------------------------------------------------------
# partially pooled rates with censored trials, on a grid


def _censored_loglik(p: np.ndarray, k: float, exposure: np.ndarray) -> np.ndarray:
    """log L(p) = k log p + sum n log(1 - p A - (1 - p) B) for rows (A, B, n) of ``exposure``."""
    ll = k * np.log(p)
    if len(exposure):
        a, b, n = exposure[:, 0], exposure[:, 1], exposure[:, 2]
        inside = 1 - p[..., None] * a - (1 - p[..., None]) * b
        ll = ll + (n * np.log(np.maximum(inside, 1e-300))).sum(axis=-1)
    return ll


def pooled_rates(
    successes: np.ndarray,
    exposures: list[np.ndarray],
    draws: int,
    rng: np.random.Generator,
    kappa_median: float = 20.0,
    kappa_log_sd: float = 1.5,
    grid_points: int = 120,
) -> np.ndarray:
    """Posterior draws of per-level rates under a Beta population, with censored trials.

    ``p_l ~ Beta(mu kappa, (1 - mu) kappa)``, ``mu ~ Uniform(0, 1)``,
    ``log kappa ~ Normal(log kappa_median, kappa_log_sd)``; level ``l`` has ``successes[l]``
    successes and, in ``exposures[l]``, rows ``(A, B, n)``: ``n`` trials without success whose
    probability is ``1 - p A - (1 - p) B`` (a plain failure is ``(1, 0, n)``, a censored one has
    ``A < 1``). The posterior is computed exactly on grids (hyper-parameters, then each level's
    rate on its own logit grid around its likelihood), so a level without data gets the
    population's predictive rate.

    Returns
    -------
    numpy.ndarray
        Shape ``(draws, levels)``.
    """
    n_levels = len(successes)
    coarse = np.linspace(-9.2, 9.2, 369)
    etas = np.empty((n_levels, grid_points))
    lls = np.empty((n_levels, grid_points))
    for j in range(n_levels):
        ll = _censored_loglik(expit(coarse), successes[j], exposures[j])
        keep = np.flatnonzero(ll > ll.max() - 30)
        step = coarse[1] - coarse[0]
        lo, hi = coarse[keep[0]] - step, coarse[keep[-1]] + step
        etas[j] = np.linspace(lo, hi, grid_points)
        lls[j] = _censored_loglik(expit(etas[j]), successes[j], exposures[j])
    p = expit(etas)
    deta = etas[:, 1] - etas[:, 0]
    log_dp = np.log(p) + np.log1p(-p) + np.log(deta)[:, None]  # dp = p (1 - p) d eta

    mu = expit(np.linspace(-6, 6, 41))
    log_kappa = np.linspace(np.log(0.5), np.log(5000), 31)
    mu_g, lk_g = (a.ravel() for a in np.meshgrid(mu, log_kappa, indexing="ij"))
    kappa = np.exp(lk_g)
    a, b = mu_g * kappa, (1 - mu_g) * kappa
    log_hyper = (
        np.log(mu_g) + np.log1p(-mu_g)  # uniform mu on a logit grid
        - 0.5 * ((lk_g - np.log(kappa_median)) / kappa_log_sd) ** 2
    )  # fmt: skip
    log_prior = (
        (a[:, None, None] - 1) * np.log(p)[None]
        + (b[:, None, None] - 1) * np.log1p(-p)[None]
        - betaln(a, b)[:, None, None]
        + log_dp[None]
    )  # (hyper, level, grid)
    joint = log_prior + lls[None]
    log_marginal = logsumexp(joint, axis=2)  # (hyper, level)
    log_post = log_hyper + log_marginal.sum(axis=1)
    post = np.exp(log_post - log_post.max())
    hyper = rng.choice(len(post), size=draws, p=post / post.sum())
    out = np.empty((draws, n_levels))
    for h in np.unique(hyper):
        rows = np.flatnonzero(hyper == h)
        cond = np.exp(joint[h] - joint[h].max(axis=1, keepdims=True))
        cum = np.cumsum(cond, axis=1)
        cum /= cum[:, -1:]
        u = rng.random((len(rows), n_levels))
        idx = (u[:, :, None] > cum[None]).sum(axis=2)
        eta = etas[np.arange(n_levels), idx] + (rng.random((len(rows), n_levels)) - 0.5) * deta
        out[rows] = expit(eta)
    return out


def _exposure_rows(a: np.ndarray, b: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Rows (A, B, n) with equal (A, B) merged."""
    if not len(a):
        return np.zeros((0, 3))
    n = np.ones(len(a)) if n is None else np.asarray(n, dtype=float)
    a, b = np.round(a, 6), np.round(b, 6)
    first, group = _groups(a, b)
    return np.column_stack([a[first], b[first], np.bincount(group, weights=n)])


# --------------------------------------------------------------------------------------------------
# the funnel items as known at a date


def _labels(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna(NONE_LABEL)


def _days(later: pd.Series | pd.Timestamp, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days.astype(float)


def leads_as_of(leads: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """The leads table as it stood at the end of ``as_of``: later leads left out, later
    conversions undone. The input is not modified."""
    cutoff = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    out = leads[leads["created_date"] < cutoff].copy()
    later = out["converted_date"].notna() & (out["converted_date"] >= cutoff)
    out.loc[later, ["opportunity_id"]] = pd.NA
    out.loc[later, "converted_date"] = pd.NaT
    return out.reset_index(drop=True)


def _known_sources(frame: pd.DataFrame, leads: pd.DataFrame | None) -> pd.Series:
    """Each opportunity's ``lead_source``, else its lead's source; missing where neither is known."""
    source = frame["lead_source"].astype("string")
    if leads is not None and len(leads) and source.isna().any():
        by_opp = leads.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
        by_opp = by_opp.set_index("opportunity_id")["source"].astype("string")
        by_lead = leads.drop_duplicates("lead_id").set_index("lead_id")["source"].astype("string")
        source = source.fillna(frame["opportunity_id"].map(by_opp))
        source = source.fillna(frame["lead_id"].map(by_lead))
    return source


def opportunity_sources(frame: pd.DataFrame, leads: pd.DataFrame | None) -> pd.Series:
    """Lead source of each opportunity: its ``lead_source``, else its lead's source, else (none)."""
    source = _known_sources(frame, leads)
    if source.notna().sum() == 0:
        return pd.Series(ALL_LABEL, index=frame.index, dtype="string")
    return source.fillna(NONE_LABEL)


_DAY_NS = 86_400 * 10**9
OUTCOMES = ["won", "lost", "open"]
"""The outcomes of an opportunity at a date, in the order of their codes."""
_WON, _LOST, _OPEN = 0, 1, 2


@dataclass
class FunnelItems:
    """The leads and opportunities of a fit, as known at ``as_of`` (ages and lags in days).

    ``source``, ``product`` and ``outcome`` are categorical columns.
    """

    as_of: pd.Timestamp
    has_leads: bool
    leads: pd.DataFrame  # source, created, age, converted, lag1 (empty without leads)
    opportunities: (
        pd.DataFrame
    )  # (opportunity_id, with leads), source, product, created, age, outcome, lag, close, amount
    won_paths: pd.DataFrame  # per won opportunity: source, lead_created, lag1, lag_total, amount
    undated_open: int = 0  # open deals without a creation date (left out)


def _whole_days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Whole days from ``earlier`` to ``later`` (datetime64), rounded down as
    ``Series.dt.days``; NaN where either is missing. In integer nanoseconds: no timedeltas."""
    later = np.asarray(later, dtype="datetime64[ns]")
    earlier = np.asarray(earlier, dtype="datetime64[ns]")
    days = (later.view(np.int64) - earlier.view(np.int64)) // _DAY_NS
    return np.where(np.isnat(later) | np.isnat(earlier), np.nan, days)


def _categories(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of ``values`` into their distinct labels; missing values get code -1."""
    codes, labels = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), pd.Index(labels.astype(str), dtype=object)


def _codes(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Position of each value in ``levels`` (-1 where it is not one of them)."""
    index = pd.Index(levels, dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype):  # by category, not by row
        where = np.append(index.get_indexer(values.cat.categories), -1)
        return where[values.cat.codes.to_numpy()].astype(np.int64)
    return index.get_indexer(values.astype(object)).astype(np.int64)


class _Opportunities:
    """The columns of an opportunities table that the funnel reads, read once.

    :meth:`at` gives the opportunities as known at a date, as :func:`funnel_items` would on the
    table rebuilt for that date by :func:`~pipeline_models.asof.pipeline_as_of`: the back-test
    derives every origin from one read instead of copying the table at each.
    """

    def __init__(self, frame: pd.DataFrame, leads: pd.DataFrame | None):
        self.frame = frame
        self.created = frame["created_date"].to_numpy(dtype="datetime64[ns]")
        self.close = frame["close_date"].to_numpy(dtype="datetime64[ns]")
        self.dated, self.has_close = ~np.isnat(self.created), ~np.isnat(self.close)
        self.created_ns, self.close_ns = self.created.view(np.int64), self.close.view(np.int64)
        status = frame["status"].astype("string")
        self.status = np.select(
            [(status == "won").to_numpy(bool, na_value=False),
             (status == "lost").to_numpy(bool, na_value=False)],
            [_WON, _LOST],
            _OPEN,
        )  # fmt: skip
        self.amount = frame["amount"].to_numpy(dtype=float)
        self.ids = frame["opportunity_id"].astype("string").array
        self.source, self.source_labels = _categories(_known_sources(frame, leads))
        self.product, self.product_labels = _categories(frame["product"].astype("string"))
        self.undated_open = int(
            ((status == "open").to_numpy(bool, na_value=False) & np.isnat(self.created)).sum()
        )

    def at(
        self, as_of: pd.Timestamp, hide_open_amounts: bool, ids: bool = True
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The opportunities created by the end of ``as_of`` (the ``opportunities`` table of
        :class:`FunnelItems`) and which rows of the table they are. ``hide_open_amounts``:
        deals still open then have no amount (their amount in the table is a later one);
        ``ids``: with the ``opportunity_id`` column (only leads need it)."""
        cutoff = (as_of + pd.Timedelta(days=1)).value
        rows = np.flatnonzero(self.dated & (self.created_ns < cutoff))
        created, close, status = self.created[rows], self.close[rows], self.status[rows]
        created_ns, close_ns = self.created_ns[rows], self.close_ns[rows]
        closed = (status != _OPEN) & self.has_close[rows] & (close_ns < cutoff)
        outcome = np.where(closed, status, _OPEN)
        source = self.source[rows]
        labels = [*self.source_labels, NONE_LABEL, ALL_LABEL]
        if (source >= 0).any():  # a source unknown where others are known: (none)
            source = np.where(source >= 0, source, len(labels) - 2)
        else:  # no source known at all: one source for everything
            source = np.full(len(rows), len(labels) - 1)
        product = self.product[rows]
        product_labels = [*self.product_labels, NONE_LABEL]
        product = np.where(product >= 0, product, len(product_labels) - 1)
        amount = self.amount[rows]
        if hide_open_amounts:
            amount = np.where(closed, amount, np.nan)
        lag = np.where(closed, np.maximum((close_ns - created_ns) // _DAY_NS, 0), -1)
        columns = {
            "opportunity_id": self.ids[rows] if ids else None,
            "source": _categorical(source, labels),
            "product": _categorical(product, product_labels),
            "created": created,
            "age": ((as_of.value - created_ns) // _DAY_NS).astype(float),
            "outcome": pd.Categorical.from_codes(outcome, categories=OUTCOMES),
            "lag": np.where(closed, lag, np.nan),
            "close": np.where(closed, close, np.datetime64("NaT", "ns")),
            "amount": amount,
        }
        if not ids:
            del columns["opportunity_id"]
        return pd.DataFrame(columns), rows


def _categorical(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical of ``codes`` into ``labels``; labels that repeat (a source named like
    :data:`NONE_LABEL`) are merged."""
    distinct, position = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(position[codes], categories=distinct.tolist())


def funnel_items(
    frame: pd.DataFrame, leads: pd.DataFrame | None, as_of: pd.Timestamp | str
) -> FunnelItems:
    """Put the canonical tables on one time line at ``as_of``; the inputs are not modified."""
    has_leads = leads is not None and len(leads) > 0
    table = _Opportunities(frame, leads if has_leads else None)
    return _items_at(table, leads, pd.Timestamp(as_of).normalize(), False)


def _items_at(
    table: _Opportunities, leads: pd.DataFrame | None, as_of: pd.Timestamp, back_test: bool
) -> FunnelItems:
    """:func:`funnel_items` from a read table; ``back_test``: as for the table rebuilt at
    ``as_of`` (amounts of deals open then unknown, undated deals left out)."""
    has_leads = leads is not None and len(leads) > 0
    undated_open = 0 if back_test else table.undated_open
    o, rows = table.at(as_of, hide_open_amounts=back_test, ids=has_leads)
    won = o[o["outcome"] == "won"]
    if not has_leads:
        ld = pd.DataFrame(columns=["source", "created", "age", "converted", "lag1"])
        paths = pd.DataFrame(
            {
                "source": won["source"].array,
                "lead_created": won["created"].to_numpy(),
                "lag1": 0.0,
                "lag_total": won["lag"].to_numpy(),
                "amount": won["amount"].to_numpy(),
            }
        )
        return FunnelItems(as_of, False, ld, o, paths, undated_open)

    frame = table.frame[["opportunity_id", "created_date", "lead_id"]]
    if back_test:
        frame = frame.iloc[rows]
    known = leads_as_of(leads, as_of)
    opp_created = frame.set_index("opportunity_id")["created_date"]
    opp_created = opp_created[~opp_created.index.duplicated()]
    converted_on = known["converted_date"].fillna(known["opportunity_id"].map(opp_created))
    converted_on = converted_on.fillna(known["created_date"])
    is_converted = known["opportunity_id"].notna()
    ld = pd.DataFrame(
        {
            "source": _labels(known["source"]).astype("category").array,
            "created": known["created_date"].to_numpy(),
            "age": _days(as_of, known["created_date"]).to_numpy(),
            "converted": is_converted.to_numpy(),
            "lag1": np.where(
                is_converted, _days(converted_on, known["created_date"]).clip(lower=0), np.nan
            ),
        }
    )
    # won opportunities with their lead: lead -> opportunity and lead -> won lags together
    link = known.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
    link = link.set_index("opportunity_id")
    lead_created = won["opportunity_id"].map(link["created_date"])
    by_lead_id = frame.set_index("opportunity_id")["lead_id"]
    by_lead_id = by_lead_id[~by_lead_id.index.duplicated()]
    lead_by_id = known.drop_duplicates("lead_id").set_index("lead_id")["created_date"]
    lead_created = lead_created.fillna(won["opportunity_id"].map(by_lead_id).map(lead_by_id))
    has = lead_created.notna()
    lag1 = _days(won["created"], lead_created).clip(lower=0)
    paths = pd.DataFrame(
        {
            "source": won["source"].array,
            "lead_created": lead_created.to_numpy(),
            "lag1": lag1.to_numpy(),
            "lag_total": (lag1 + won["lag"]).to_numpy(),
            "amount": won["amount"].to_numpy(),
        }
    )[has.to_numpy()]
    return FunnelItems(as_of, True, ld, o, paths.reset_index(drop=True), undated_open)


class _OppArrays:
    """The opportunities table of a fit as arrays, with levels as codes into the fit's levels."""

    def __init__(self, opps: pd.DataFrame, sources: list[str], products: list[str]):
        self.source = _codes(opps["source"], sources)
        self.product = _codes(opps["product"], products)
        self.outcome = _codes(opps["outcome"], OUTCOMES)
        self.created = opps["created"].to_numpy(dtype="datetime64[ns]")
        self.age = opps["age"].to_numpy(float)
        self.lag = opps["lag"].to_numpy(float)
        self.amount = opps["amount"].to_numpy(float)


class _Tally:
    """Opportunities of one set counted by level: won, lost, and the open ones by distinct age."""

    def __init__(self, level: np.ndarray, outcome: np.ndarray, age: np.ndarray, n_levels: int):
        self.won = np.bincount(level[outcome == _WON], minlength=n_levels)
        self.lost = np.bincount(level[outcome == _LOST], minlength=n_levels)
        is_open = outcome == _OPEN
        self.open_level, self.open_age, self.open_n = _distinct_pairs(level[is_open], age[is_open])

    def level(self, j: int) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Won, lost, and the distinct ages of open deals with their counts, of level ``j``."""
        pick = self.open_level == j
        return float(self.won[j]), float(self.lost[j]), self.open_age[pick], self.open_n[pick]

    def overall(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        """As :meth:`level` for all levels together."""
        ages, position = np.unique(self.open_age, return_inverse=True)
        n = np.bincount(position, weights=self.open_n, minlength=len(ages))
        return float(self.won.sum()), float(self.lost.sum()), ages, n

    def counts(self, levels: list[str]) -> pd.DataFrame:
        """Won, lost, open and all opportunities per level."""
        n_open = np.bincount(self.open_level, weights=self.open_n, minlength=len(levels))
        table = pd.DataFrame(
            {"won": self.won, "lost": self.lost, "open": n_open.astype(int)}, index=levels
        )
        table["n"] = table.sum(axis=1)
        return table


def _groups(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with equal ``keys`` (the first key sorts first): the first row of each group, in
    sorted order, and each row's group number. Keys of whole numbers in a modest range (codes,
    days) are counted rather than sorted."""
    n = len(keys[0]) if keys else 0
    whole = n > 0 and all(np.all(np.isfinite(k)) and np.array_equal(k, np.floor(k)) for k in keys)
    if whole:
        lows = [int(np.min(k)) for k in keys]
        spans = [int(np.max(k)) - lo + 1 for k, lo in zip(keys, lows, strict=True)]
        if np.prod(np.array(spans, dtype=float)) <= 4 * n + 2**20:
            combined = np.zeros(n, dtype=np.int64)
            for k, lo, span in zip(keys, lows, spans, strict=True):
                combined = combined * span + (np.asarray(k).astype(np.int64) - lo)
            seen = np.bincount(combined) > 0
            group = (np.cumsum(seen) - 1)[combined]
            first = np.full(int(seen.sum()), n, dtype=np.int64)
            np.minimum.at(first, group, np.arange(n))
            return first, group
    order = np.lexsort(keys[::-1])
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for key in keys:
        ranked = key[order]
        new[1:] |= ranked[1:] != ranked[:-1]
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return order[new], group


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values in order and each value's position among them (``np.unique`` with
    ``return_inverse``; by counting when the values are whole days, as lags are)."""
    values = np.asarray(values, dtype=float)
    if len(values) and values.min() >= 0 and values.max() < 1e6:
        whole = values.astype(np.int64)
        if np.array_equal(whole, values):
            seen = np.bincount(whole) > 0
            rank = np.cumsum(seen) - 1
            return np.flatnonzero(seen).astype(float), rank[whole]
    return np.unique(values, return_inverse=True)


def _distinct_pairs(codes: np.ndarray, values: np.ndarray):
    """The distinct ``(code, value)`` pairs, ordered, and how many items have each."""
    if not len(codes):
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    first, group = _groups(codes, values)
    return codes[first], values[first], np.bincount(group, minlength=len(first))


def _pooled_by(
    values: np.ndarray,
    weights: np.ndarray,
    codes: np.ndarray,
    levels: list[str],
    strength: float,
    distinct: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, LagDistribution]:
    """Each level's lags (weighted) mixed with all levels' lags worth ``strength`` observations.

    ``codes`` gives each lag's level (a position in ``levels``); a level's own lags weigh
    ``n / (n + strength)`` (``n`` its lags), all levels' together the rest. Without any lag
    every level gets a lag of 0 days. ``distinct``: ``_distinct(values)``, when known.
    """
    values = np.asarray(values, float)
    if not len(values):
        return {lv: LagDistribution(np.zeros(1), np.ones(1)) for lv in levels}
    weights = np.asarray(weights, float)
    days, position = _distinct(values) if distinct is None else distinct
    k = len(days)
    every = np.bincount(position, weights=weights, minlength=k)
    own = np.bincount(codes * k + position, weights=weights, minlength=len(levels) * k)
    own = own.reshape(len(levels), k)
    n = np.bincount(codes, minlength=len(levels))
    out = {}
    for j, lv in enumerate(levels):
        share_own = n[j] / (n[j] + strength)
        mixed = share_own * own[j] / max(own[j].sum(), 1e-300) + (1 - share_own) * every / (
            every.sum()
        )
        out[lv] = LagDistribution(days, mixed)
    return out


# --------------------------------------------------------------------------------------------------
# the model


class LeadFunnelModel:
    """Lead -> opportunity -> won by lead source, with lags and censoring (see the module doc)::

        converted ~ Bernoulli(c[source]),  won ~ Bernoulli(w[source])   (Beta over sources)

    ``fit(frame, leads, as_of)`` stores posterior draws ``conversion_`` and ``win_`` (draws x
    sources), lag distributions, amounts, the source mix and the items in hand.
    """

    def __init__(self, config: FunnelConfig | None = None):
        self.config = config or FunnelConfig()

    def fit(
        self,
        frame: pd.DataFrame,
        leads: pd.DataFrame | None,
        as_of: pd.Timestamp | str,
        random_seed: int | None = None,
    ) -> LeadFunnelModel:
        """Fit on the pipeline as known at ``as_of``; the inputs are not modified.

        Parameters
        ----------
        frame
            Canonical opportunities table (as exported at ``as_of``, or rebuilt for a past date
            with :func:`~pipeline_models.asof.pipeline_as_of`).
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

    def fit_items(self, items: FunnelItems, random_seed: int | None = None) -> LeadFunnelModel:
        """Fit on items already put on the time line (see :meth:`fit`).

        Every step works on counts by level (source or product) and distinct day, so its cost
        after one pass over the items does not grow with their number.
        """
        cfg = self.config
        rng = np.random.default_rng(random_seed)
        self.items_ = items
        self.as_of_ = items.as_of
        self.has_leads_ = items.has_leads
        start = self.as_of_ - pd.DateOffset(months=cfg.lookback_months)
        opps = items.opportunities
        lds = items.leads
        opp_sources = opps["source"].unique().tolist()
        sources = set(opp_sources)
        if self.has_leads_:
            sources |= set(lds["source"].unique().tolist())
        self.sources_ = sorted(sources) or [ALL_LABEL]
        opp_products = opps["product"].unique().tolist()
        self.products_ = sorted(opp_products) or [NONE_LABEL]
        o = _OppArrays(opps, self.sources_, self.products_)

        # lags (point estimates; the new-lead window adds a bootstrap), corrected for truncation
        closes = opps["close"].to_numpy()[o.outcome != _OPEN]
        self.first_close_ = pd.Timestamp(closes.min()) if len(closes) else None
        lags = {}
        for code, name in ((_WON, "won"), (_LOST, "lost")):
            rows = np.flatnonzero((o.outcome == code) & ~np.isnan(o.lag))
            lower, upper = _windows(o.created[rows], self.as_of_, self.first_close_)
            lag = o.lag[rows]
            lags[name] = (rows, lag, truncation_weights(lag, lower, upper), _distinct(lag))
        self.lag_won_, self.lag_lost_ = (
            self._outcome_lags(o.source, self.sources_, opp_sources, *lags[name])
            for name in ("won", "lost")
        )
        self.product_lag_won_, self.product_lag_lost_ = (
            self._outcome_lags(o.product, self.products_, opp_products, *lags[name])
            for name in ("won", "lost")
        )
        paths = items.won_paths.dropna(subset=["lag_total"])
        lower, upper = _windows(paths["lead_created"], self.as_of_, self.first_close_)
        self._paths = paths.assign(weight=truncation_weights(paths["lag_total"], lower, upper))
        self.lag_total_ = _pooled_by(
            self._paths["lag_total"].to_numpy(float),
            self._paths["weight"].to_numpy(float),
            _codes(self._paths["source"], self.sources_),
            self.sources_,
            cfg.lag_pooling,
        )
        self.first_conversion_ = None
        if self.has_leads_:
            conv = lds[lds["converted"]].dropna(subset=["lag1"])
            if len(conv):
                self.first_conversion_ = pd.Timestamp(
                    (conv["created"] + pd.to_timedelta(conv["lag1"], unit="D")).min()
                )
            lower, upper = _windows(conv["created"], self.as_of_, self.first_conversion_)
            self.lag_convert_ = _pooled_by(
                conv["lag1"].to_numpy(float),
                truncation_weights(conv["lag1"], lower, upper),
                _codes(conv["source"], self.sources_),
                self.sources_,
                cfg.lag_pooling,
            )
        else:
            self.lag_convert_ = {s: LagDistribution(np.zeros(1), np.ones(1)) for s in self.sources_}

        # opportunity -> won: by source for new leads, by product for the deals in hand
        recent = _recorded(o.created > np.datetime64(start, "ns"), o.created, self.first_close_)
        by_source = _Tally(o.source[recent], o.outcome[recent], o.age[recent], len(self.sources_))
        by_product = _Tally(
            o.product[recent], o.outcome[recent], o.age[recent], len(self.products_)
        )
        self.lost_share_ = _lost_share(
            *by_source.overall(), self.lag_won_["__all__"], self.lag_lost_["__all__"]
        )
        self.source_lost_share_ = self._lost_shares(by_source, "source", self.sources_)
        self.product_lost_share_ = self._lost_shares(by_product, "product", self.products_)
        self.win_ = self._win_draws(by_source, "source", self.sources_, rng)
        self.product_win_ = self._win_draws(by_product, "product", self.products_, rng)
        self.opp_counts_ = by_source.counts(self.sources_)

        # lead -> opportunity, by source
        if self.has_leads_:
            created = lds["created"].to_numpy(dtype="datetime64[ns]")
            recent = _recorded(
                created > np.datetime64(start, "ns"), created, self.first_conversion_
            )
            source = _codes(lds["source"], self.sources_)[recent]
            converted = lds["converted"].to_numpy(bool)[recent]
            n_leads = np.bincount(source, minlength=len(self.sources_))
            n_converted = np.bincount(source[converted], minlength=len(self.sources_))
            level, ages, n = _distinct_pairs(
                source[~converted], lds["age"].to_numpy(float)[recent][~converted]
            )
            k, exposures, counts = [], [], []
            for j, s in enumerate(self.sources_):
                pick = level == j
                f1 = np.minimum(self.lag_convert_[s].cdf(ages[pick]), _F_MAX)
                k.append(float(n_converted[j]))
                exposures.append(_exposure_rows(f1, np.zeros(len(f1)), n[pick].astype(float)))
                young = float(((1 - f1) * n[pick]).sum())
                counts.append((int(n_leads[j]), int(n_converted[j]), young))
            self.conversion_ = pooled_rates(
                np.array(k), exposures, cfg.draws, rng, cfg.kappa_median, cfg.kappa_log_sd
            )
            self.lead_counts_ = pd.DataFrame(
                counts, index=self.sources_, columns=["leads", "converted", "still_open"]
            )
        else:
            self.conversion_ = np.ones((cfg.draws, len(self.sources_)))
            self.lead_counts_ = None

        won = (o.outcome == _WON) & (opps["close"].to_numpy() > np.datetime64(start, "ns"))
        self.amounts_ = _fit_amounts(o.amount[won], o.source[won], self.sources_, cfg, rng)
        self.product_amounts_ = _fit_amounts(
            o.amount[won], o.product[won], self.products_, cfg, rng
        )
        self.has_amounts_ = bool((o.amount[won] > 0).any())
        source = _codes(self._paths["source"], self.sources_)
        amount = self._paths["amount"].to_numpy(float)
        fill = np.where(source >= 0, self.amounts_.mean[np.maximum(source, 0)], 0.0)
        self._paths = self._paths.assign(amount=np.where(np.isnan(amount), fill, amount))
        self._fit_mix()
        return self

    def won_paths(self, source: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Won paths (lag1, lag_total, amount) of a source pooled with all sources' paths worth
        ``lag_pooling`` paths, with their weights."""
        paths = self._paths
        own = paths[paths["source"] == source]
        share_own = len(own) / (len(own) + self.config.lag_pooling)
        both = pd.concat([own, paths], ignore_index=True)
        own_w, all_w = own["weight"].to_numpy(float), paths["weight"].to_numpy(float)
        weights = np.concatenate(
            [
                share_own * own_w / max(own_w.sum(), 1e-300),
                (1 - share_own) * all_w / max(all_w.sum(), 1e-300),
            ]
        )
        return both[["lag1", "lag_total", "amount"]], weights

    # ------------------------------------------------------------------ fitting parts
    def _outcome_lags(
        self,
        level: np.ndarray,
        levels: list[str],
        present: list[str],
        rows: np.ndarray,
        lag: np.ndarray,
        weights: np.ndarray,
        distinct: tuple[np.ndarray, np.ndarray],
    ) -> dict[str, LagDistribution]:
        """Lags of one outcome (``lag`` of the opportunities ``rows``, with truncation
        ``weights`` and their ``distinct`` days) for each level present in the opportunities
        (pooled with all levels' lags), and ``"__all__"``."""
        pooled = _pooled_by(lag, weights, level[rows], levels, self.config.lag_pooling, distinct)
        out = {lv: pooled[lv] for lv in present}
        out["__all__"] = _pooled_by(
            lag, weights, np.zeros(len(rows), np.int64), ["__all__"], 0.0, distinct
        )["__all__"]
        return out

    def _lost_shares(self, tally: _Tally, by: str, levels: list[str], strength: float = 30.0):
        """Each level's share of not-won deals that are marked lost, shrunk toward all levels'
        share with the weight of ``strength`` lost deals (stalling differs by product)."""
        if by == "product":
            lag_won, lag_lost = self.product_lag_won_, self.product_lag_lost_
        else:
            lag_won, lag_lost = self.lag_won_, self.lag_lost_
        out = {}
        for j, lv in enumerate(levels):
            won, lost, ages, n = tally.level(j)
            own = _lost_share(
                won,
                lost,
                ages,
                n,
                lag_won.get(lv, lag_won["__all__"]),
                lag_lost.get(lv, lag_lost["__all__"]),
            )
            out[lv] = (lost * own + strength * self.lost_share_) / (lost + strength)
        return out

    def _win_draws(self, tally: _Tally, by: str, levels: list[str], rng) -> np.ndarray:
        cfg = self.config
        if by == "product":
            lag_won, lag_lost = self.product_lag_won_, self.product_lag_lost_
            shares = self.product_lost_share_
        else:
            lag_won, lag_lost = self.lag_won_, self.lag_lost_
            shares = self.source_lost_share_
        k, exposures = [], []
        for j, lv in enumerate(levels):
            lam = shares.get(lv, self.lost_share_)
            won, lost, ages, n = tally.level(j)
            fw = lag_won.get(lv, lag_won["__all__"])
            fl = lag_lost.get(lv, lag_lost["__all__"])
            a = np.minimum(fw.cdf(ages), _F_MAX)
            b = lam * np.minimum(fl.cdf(ages), _F_MAX)
            rows_ab = _exposure_rows(a, b, n.astype(float))
            if lost:
                rows_ab = np.vstack([rows_ab, [[1.0, 0.0, lost]]])
            k.append(won)
            exposures.append(rows_ab)
        return pooled_rates(
            np.array(k), exposures, cfg.draws, rng, cfg.kappa_median, cfg.kappa_log_sd
        )

    def _fit_mix(self) -> None:
        cfg = self.config
        start = np.datetime64(self.as_of_ - pd.DateOffset(months=cfg.mix_months), "ns")
        table = self.items_.leads if self.has_leads_ else self.items_.opportunities
        source = _codes(table["source"], self.sources_)
        recent = table["created"].to_numpy(dtype="datetime64[ns]") > start
        if recent.any():
            source = source[recent]
        counts = pd.Series(
            np.bincount(source[source >= 0], minlength=len(self.sources_)), index=self.sources_
        )
        total = counts.sum()
        self.mix_ = (
            (counts / total) if total else pd.Series(1 / len(self.sources_), index=self.sources_)
        )
        self.monthly_leads_ = counts / cfg.mix_months

    # ------------------------------------------------------------------ tables
    @property
    def unit(self) -> str:
        """What a "lead" is in this fit: "lead" or "opportunity" (no leads table)."""
        return "lead" if self.has_leads_ else "opportunity"

    @property
    def units(self) -> str:
        return "leads" if self.has_leads_ else "opportunities"

    def funnel_table(self) -> pd.DataFrame:
        """Per source: leads, opportunities, wins, and the three rates with 90% intervals."""
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
                row.update(_summ("lead_to_opp", self.conversion_[:, j]))
            oc = self.opp_counts_.loc[s]
            row.update(
                opportunities=int(oc["n"]),
                won=int(oc["won"]),
                lost=int(oc["lost"]),
                open=int(oc["open"]),
            )
            row.update(_summ("opp_to_won", self.win_[:, j]))
            row.update(_summ("lead_to_won", lead_to_won[:, j]))
            rows.append(row)
        return pd.DataFrame(rows).sort_values("lead_to_won", ascending=False, ignore_index=True)

    def product_table(self) -> pd.DataFrame:
        """Per product: opportunities and the chance that one is ever won, with 90% interval."""
        opps = self.items_.opportunities
        recent = opps[
            opps["created"] > self.as_of_ - pd.DateOffset(months=self.config.lookback_months)
        ]
        counts = _outcome_counts(recent, "product", self.products_)
        rows = []
        for j, p in enumerate(self.products_):
            c = counts.loc[p]
            rows.append(
                {
                    "product": p,
                    "opportunities": int(c["n"]),
                    "won": int(c["won"]),
                    "open": int(c["open"]),
                    **_summ("opp_to_won", self.product_win_[:, j]),
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
            row["opp_to_won_median"] = (
                self.lag_won_[s].quantile(0.5) if s in self.lag_won_ else np.nan
            )
            row["opp_to_won_p80"] = self.lag_won_[s].quantile(0.8) if s in self.lag_won_ else np.nan
            if self.has_leads_:
                row["lead_to_won_median"] = self.lag_total_[s].quantile(0.5)
                row["lead_to_won_p80"] = self.lag_total_[s].quantile(0.8)
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class Amounts:
    """Won deal size per level: pooled mean and variance, and draws of the mean (draws x levels)."""

    mean: np.ndarray
    var: np.ndarray
    draws: np.ndarray


def _fit_amounts(
    amount: np.ndarray,
    codes: np.ndarray,
    levels: list[str],
    cfg: FunnelConfig,
    rng: np.random.Generator,
) -> Amounts:
    """Each level's mean won amount shrunk toward all levels' by ``amount_pooling`` wins; the
    mean's uncertainty is normal with the pooled variance over (wins + pooling). ``amount`` and
    ``codes`` (positions in ``levels``): the won deals."""
    keep = amount > 0
    amounts, codes = amount[keep], codes[keep]
    all_mean = float(amounts.mean()) if len(amounts) else 0.0
    all_var = float(amounts.var(ddof=1)) if len(amounts) > 1 else max(all_mean**2, 1e-9)
    n_won = np.bincount(codes, minlength=len(levels))
    own_mean = np.bincount(codes, weights=amounts, minlength=len(levels)) / np.maximum(n_won, 1)
    squares = np.bincount(codes, weights=(amounts - own_mean[codes]) ** 2, minlength=len(levels))
    own_var = np.where(n_won > 1, squares / np.maximum(n_won - 1, 1), all_var)
    weight = n_won / (n_won + cfg.amount_pooling)
    mean = weight * own_mean + (1 - weight) * all_mean
    var = np.maximum(weight * own_var + (1 - weight) * all_var, 1e-9)
    se = np.sqrt(var / (n_won + cfg.amount_pooling))
    draws = mean + se * rng.standard_normal((cfg.draws, len(levels)))
    return Amounts(mean, var, np.maximum(draws, 0.05 * np.maximum(mean, 1e-9)))


def _recorded(items: np.ndarray, created: np.ndarray, first: pd.Timestamp | None) -> np.ndarray:
    """Of the items (a mask), those created on or after the first recorded outcome: before it,
    quick outcomes may be missing from the export (its history starts later than its oldest
    deals), which would bias the rates. All items when that leaves none."""
    if first is None:
        return items
    kept = items & (created >= np.datetime64(first.normalize(), "ns"))
    return kept if kept.any() else items


def _summ(name: str, draws: np.ndarray) -> dict[str, float]:
    lo, hi = np.quantile(draws, [_LO, _HI])
    return {name: float(np.mean(draws)), f"{name}_lower": float(lo), f"{name}_upper": float(hi)}


def _outcome_counts(opps: pd.DataFrame, by: str, levels: list[str]) -> pd.DataFrame:
    level = _codes(opps[by], levels)
    outcome = _codes(opps["outcome"], OUTCOMES)
    ok = (level >= 0) & (outcome >= 0)
    table = np.bincount(level[ok] * 3 + outcome[ok], minlength=3 * len(levels))
    table = pd.DataFrame(table.reshape(len(levels), 3), index=levels, columns=OUTCOMES)
    table["n"] = table.sum(axis=1)
    return table


def _lost_share(
    won: float,
    lost: float,
    ages: np.ndarray,
    n: np.ndarray,
    lag_won: LagDistribution,
    lag_lost: LagDistribution,
) -> float:
    """Share of not-won deals that are eventually marked lost (the rest stall), by maximum
    likelihood on a grid over the overall win rate and this share, from the won and lost
    counts and the open deals (``n`` of each distinct age in ``ages``).

    The log-likelihood is concave in the win rate for each share (a sum of logs of functions
    linear in it), so along each share's row of the grid its first maximum is found by
    bisection on the sign of the step: the grid's maximum at a fraction of the evaluations.
    """
    if not lost:
        return 0.0
    if not np.sum(n):
        return _LAM_MAX
    ab = np.column_stack(
        [np.minimum(lag_won.cdf(ages), _F_MAX), np.minimum(lag_lost.cdf(ages), _F_MAX)]
    )
    ab, position = np.unique(ab, axis=0, return_inverse=True)
    count = np.bincount(position.ravel(), weights=n, minlength=len(ab))
    w = np.linspace(0.005, 0.995, 100)
    lam = np.linspace(0.01, _LAM_MAX, 99)

    def loglik(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        wi, lj = w[i], lam[j]
        inside = 1 - wi[:, None] * ab[:, 0] - ((1 - wi) * lj)[:, None] * ab[:, 1]
        return (
            won * np.log(wi)
            + lost * np.log((1 - wi) * lj)
            + np.log(np.maximum(inside, 1e-300)) @ count
        )

    lo = np.zeros(len(lam), np.int64)
    hi = np.full(len(lam), len(w) - 1)
    while (lo < hi).any():
        rows = np.flatnonzero(lo < hi)
        mid = (lo[rows] + hi[rows]) // 2
        falls = loglik(mid, rows) >= loglik(mid + 1, rows)
        hi[rows[falls]] = mid[falls]
        lo[rows[~falls]] = mid[~falls] + 1
    best = loglik(lo, np.arange(len(lam)))
    return float(lam[np.argmax(best)])


# --------------------------------------------------------------------------------------------------
# the coming window: what is in hand and what new leads bring


def window_days(as_of: pd.Timestamp, horizon_months: int) -> np.ndarray:
    """Days from ``as_of`` to the end of each coming month: ``[0, x_1, ..., x_H]``."""
    month = pd.Period(as_of, "M")
    ends = [(month_end(month + m) - as_of).days for m in range(1, horizon_months + 1)]
    return np.array([0.0, *ends], dtype=float)


def window_months(as_of: pd.Timestamp, horizon_months: int) -> list[str]:
    month = pd.Period(as_of, "M")
    return [str(month + m) for m in range(1, horizon_months + 1)]


def _weighted_moments(
    w: np.ndarray, weight: np.ndarray, first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per draw (rows of ``w``): mean and variance of an amount whose first and second moments
    per lag are ``first``, ``second``, under weights ``w * weight`` (``weight`` of shape (lags,)
    or (lags, k): one answer per column)."""
    if weight.ndim == 1:
        mean, var = _weighted_moments(w, weight[:, None], first, second)
        return mean[:, 0], var[:, 0]
    total = w @ weight
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w @ (weight * first[:, None])) / total
        second = (w @ (weight * second[:, None])) / total
    return mean, np.maximum(second - mean**2, 1e-9)


def _split(rng: np.random.Generator, total: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Multinomial(``total``, ``share``) per row (``share`` rows sum to 1), by conditional
    binomials."""
    out = np.zeros(share.shape, dtype=np.int64)
    left = np.asarray(total, dtype=np.int64)
    rest = np.ones(len(left))
    for m in range(share.shape[1] - 1):
        out[:, m] = rng.binomial(left, np.clip(share[:, m] / np.maximum(rest, 1e-300), 0, 1))
        left = left - out[:, m]
        rest = rest - share[:, m]
    out[:, -1] = left
    return out


def _window_wins(
    rng: np.random.Generator, n: np.ndarray, chance: np.ndarray, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wins of cells of alike items: cell ``c`` has ``n[c]`` items, each won inside the window
    with ``chance[d, c]`` in draw ``d``, in month ``m`` with ``share[c, m]`` of that chance.

    Exact: the cell's wins are ``Binomial(n, chance)``, split over the months by a multinomial.
    Returns the pairs (draw, cell) that win anything, with their wins per month (pairs x
    months): most cells win nothing in most draws.
    """
    total = rng.binomial(np.asarray(n, dtype=np.int64)[None, :], np.clip(chance, 0, 1))
    draw, cell = np.nonzero(total)
    return draw, cell, _split(rng, total[draw, cell], share[cell])


def _multinomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Counts per category (last axis of ``p``; the remainder is "not in the window"), exact:
    the total in the window is ``Binomial(n, sum(p))``, split over the categories by
    conditional binomials where it is not zero."""
    p = np.asarray(p, dtype=float)
    m = p.shape[-1]
    total = p.sum(axis=-1)
    k = rng.binomial(np.broadcast_to(n, total.shape), np.clip(total, 0, 1))
    out = np.zeros(p.shape, dtype=np.int64)
    hit = np.flatnonzero(k.ravel() > 0)
    if len(hit):
        share = p.reshape(-1, m)[hit] / total.ravel()[hit, None]
        out.reshape(-1, m)[hit] = _split(rng, k.ravel()[hit], share)
    return out


EXACT_WINS = 16
"""Wins of one cell of open deals, in one draw, up to which the revenue of the won deals is
drawn exactly (above: a normal approximation, see :func:`_cell_revenue`)."""


@dataclass
class _Revenue:
    """Revenue per draw and month being summed over cells: an exact part, and the mean and
    covariance (draws x months x months) of a normal part."""

    exact: np.ndarray
    mean: np.ndarray
    cov: np.ndarray

    @classmethod
    def zeros(cls, draws: int, months: int) -> _Revenue:
        return cls(
            np.zeros((draws, months)), np.zeros((draws, months)), np.zeros((draws, months, months))
        )

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The exact part plus one draw of the normal part (at least zero)."""
        values, vectors = np.linalg.eigh(self.cov)
        root = vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]
        z = rng.standard_normal(self.mean.shape)
        normal = self.mean + np.einsum("dml,dl->dm", root, z)
        return self.exact + np.maximum(normal, 0.0)


def _cell_revenue(
    rng: np.random.Generator,
    draw: np.ndarray,
    k: np.ndarray,
    amounts: np.ndarray,
    first: np.ndarray,
    size: np.ndarray,
    n_known: np.ndarray,
    mu: np.ndarray,
    s2: np.ndarray,
    out: _Revenue,
) -> np.ndarray:
    """Add to ``out`` the revenue of the wins of cells of open deals; return, per row and month,
    the wins of deals without an amount (their revenue is drawn by the caller).

    Each row is a draw (``draw``) and a cell that wins in it, ``k`` its wins per month. The
    cell's deals have the amounts ``amounts[first:first + size]`` (NaN: no amount), ``n_known``
    of them an amount, with mean ``mu`` and variance ``s2`` (divisor ``n_known - 1``).

    The deals of a cell are alike but for their amounts, so its ``K`` wins of a draw are a
    uniformly random ``K`` of its ``N`` deals, ``k_1`` of them won in the first month, ``k_2``
    in the second... (exactly as deal-by-deal draws would make them).

    * ``K <= EXACT_WINS``: the won deals are drawn exactly, without replacement and in a
      random order (:func:`_distinct_picks`), the first ``k_1`` for the first month and so on.
    * larger ``K``: how many of the wins have no amount is hypergeometric, as is their split
      over the months (exact); the ``k'_m`` wins with an amount are a sample without
      replacement of the cell's ``N'`` amounts, whose month sums are taken as normal with its
      moments, ``E = k'_m mu`` and ``Cov = s2 (k'_m [m = l] - k'_m k'_l / N')``: the
      finite-population correction leaves no spread when all of a cell's deals are won. A
      month sum then adds ``EXACT_WINS / months`` amounts or more on average, and the normal
      parts of all cells add up before their sum is drawn once per draw and month.
    """
    d, h = out.mean.shape
    wins = k.sum(axis=1)
    unknown = np.zeros(k.shape, dtype=np.int64)
    none = n_known == 0  # no deal of the cell has an amount: nothing to draw here
    unknown[none] = k[none]
    # normal part
    big = np.flatnonzero((wins > EXACT_WINS) & ~none)
    if len(big):
        kb, at = k[big], draw[big]
        mixed = np.flatnonzero(n_known[big] < size[big])  # some deals without an amount
        left = rng.hypergeometric(
            size[big[mixed]] - n_known[big[mixed]], n_known[big[mixed]], wins[big[mixed]]
        )  # wins without an amount
        taken = wins[big[mixed]]
        for m in range(h - 1):
            unknown[big[mixed], m] = rng.hypergeometric(left, taken - left, kb[mixed, m])
            left = left - unknown[big[mixed], m]
            taken = taken - kb[mixed, m]
        unknown[big[mixed], h - 1] = left
        kk = (kb - unknown[big]).astype(float)  # wins with an amount
        scale = s2[big] / np.maximum(n_known[big], 1)
        for m in range(h):
            out.mean[:, m] += np.bincount(at, weights=kk[:, m] * mu[big], minlength=d)
            out.cov[:, m, m] += np.bincount(at, weights=kk[:, m] * s2[big], minlength=d)
            for j in range(h):
                out.cov[:, m, j] -= np.bincount(
                    at, weights=kk[:, m] * kk[:, j] * scale, minlength=d
                )
    # exact part, rows grouped by their number of wins
    for size_k in range(1, min(EXACT_WINS, int(wins.max(initial=0))) + 1):
        rows = np.flatnonzero((wins == size_k) & ~none)
        if not len(rows):
            continue
        picks = _distinct_picks(rng, size[rows], size_k)  # (rows, K): ordered, no repeats
        value = amounts[first[rows, None] + picks]
        missing = np.isnan(value)
        # picks ends[m - 1] .. ends[m] - 1 are won in month m: differences of running sums
        ends = np.cumsum(k[rows], axis=1)
        running = np.zeros((len(rows), size_k + 1))
        np.cumsum(np.where(missing, 0.0, value), axis=1, out=running[:, 1:])
        month_sum = np.diff(np.take_along_axis(running, ends, axis=1), axis=1, prepend=0.0)
        running[:, 1:] = np.cumsum(missing, axis=1)
        unknown[rows] = np.diff(np.take_along_axis(running, ends, axis=1), axis=1, prepend=0.0)
        for m in range(h):
            out.exact[:, m] += np.bincount(draw[rows], weights=month_sum[:, m], minlength=d)
    return unknown


def _distinct_picks(rng: np.random.Generator, n: np.ndarray, k: int) -> np.ndarray:
    """For each row, ``k`` positions of ``range(n)`` drawn uniformly without replacement, in
    the order drawn (``n >= k`` per row; shape rows x k).

    Where ``n <= 2 k`` the row is a random permutation (sorting ``n`` uniform keys), cut to ``k``.
    Elsewhere positions are drawn with replacement and every position that repeats an earlier
    one is drawn again until none does (each repeat is at most an even chance): the process
    treats all positions alike, so every ordered ``k`` of distinct positions is equally likely.
    """
    n = np.asarray(n, dtype=np.int64)
    out = np.zeros((len(n), k), dtype=np.int64)
    dense = n <= 2 * k
    if dense.any():
        rows = np.flatnonzero(dense)
        width = int(n[rows].max())
        keys = rng.random((len(rows), width))
        keys[np.arange(width)[None, :] >= n[rows, None]] = 2.0  # not a position of the row
        out[rows] = np.argsort(keys, axis=1)[:, :k]
    rows = np.flatnonzero(~dense)
    if not len(rows):
        return out
    picks = np.floor(rng.random((len(rows), k)) * n[rows, None]).astype(np.int64)
    ranked = np.sort(picks, axis=1)
    todo = np.flatnonzero((ranked[:, 1:] == ranked[:, :-1]).any(axis=1))  # rows with a repeat
    while len(todo):
        sub = picks[todo]
        order = np.argsort(sub, axis=1, kind="stable")
        ranked = np.take_along_axis(sub, order, axis=1)
        again = np.zeros(sub.shape, dtype=bool)  # a repeat of an earlier position
        np.put_along_axis(again, order[:, 1:], ranked[:, 1:] == ranked[:, :-1], axis=1)
        has = again.any(axis=1)
        todo, sub, again = todo[has], sub[has], again[has]
        fresh = np.floor(rng.random(sub.shape) * n[rows[todo], None]).astype(np.int64)
        picks[todo] = np.where(again, fresh, sub)
    out[rows] = picks
    return out


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``starts[0], ..., starts[0] + sizes[0] - 1, starts[1], ...``: the positions of runs."""
    sizes = np.asarray(sizes, dtype=np.int64)
    before = np.cumsum(sizes) - sizes
    return np.repeat(np.asarray(starts, dtype=np.int64) - before, sizes) + np.arange(sizes.sum())


def _gamma_sum(k: np.ndarray, mean: np.ndarray, var: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Revenue of ``k`` wins: the Gamma with the mean and variance of a sum of ``k`` amounts,
    at quantile ``u`` (inverse CDF: common random numbers keep it monotone in ``k``)."""
    mean = np.maximum(mean, 0.0)
    shape = k * mean**2 / var
    scale = var / np.maximum(mean, 1e-300)
    out = gamma.ppf(u, np.maximum(shape, 1e-300), scale=scale)
    return np.where((k > 0) & (mean > 0), out, 0.0)


@dataclass
class WindowOutlook:
    """Draws of deals and revenue won per coming month, by part (open deals, open leads, new)."""

    months: list[str]
    parts: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict
    )  # part -> metric -> (D, H)

    def total(self, metric: str = "count", parts: tuple[str, ...] | None = None) -> np.ndarray:
        names = parts or tuple(self.parts)
        return sum(self.parts[p][metric] for p in names)

    def table(self, metric: str = "count") -> pd.DataFrame:
        """Per month and for the whole window: expected value per part, and the total's median
        with its 80% interval."""
        rows = []
        labels = [*self.months, f"{self.months[0]}..{self.months[-1]}"]
        total = self.total(metric)
        for i, label in enumerate(labels):
            row = {"month": label}
            for part, metrics in self.parts.items():
                row[part] = float(_column(metrics[metric], i).mean())
            t = _column(total, i)
            row.update(
                expected=float(t.mean()),
                low_10=float(np.quantile(t, 0.1)),
                median=float(np.quantile(t, 0.5)),
                high_90=float(np.quantile(t, 0.9)),
            )
            rows.append(row)
        return pd.DataFrame(rows)


def _column(values: np.ndarray, i: int) -> np.ndarray:
    """Month ``i`` of (draws, months) values; ``i == months``: the whole window."""
    return values[:, i] if i < values.shape[1] else values.sum(axis=1)


class _WonPaths:
    """A fit's won paths (lead -> opportunity and lead -> won lags, with the deal's amount) on
    their distinct ``(lag1, lag_total)`` pairs: for each source the pooled weights that
    :meth:`LeadFunnelModel.won_paths` gives path by path, summed per pair, and the weighted sums
    of amounts and squared amounts (``weight``, ``amount``, ``amount2``: sources x pairs)."""

    def __init__(self, model: LeadFunnelModel):
        paths = model._paths
        n_src = len(model.sources_)
        source = _codes(paths["source"], model.sources_)
        own = source >= 0
        self.n_own = np.bincount(source[own], minlength=n_src)
        if not len(paths):
            self.lag1 = self.lag_total = np.zeros(0)
            self.weight = self.amount = self.amount2 = np.zeros((n_src, 0))
            return
        lag1, lag_total = paths["lag1"].to_numpy(float), paths["lag_total"].to_numpy(float)
        first, position = _groups(lag1, lag_total)
        self.lag1, self.lag_total = lag1[first], lag_total[first]
        n_pairs = len(first)
        weight = paths["weight"].to_numpy(float)
        amount = paths["amount"].to_numpy(float)
        share = self.n_own / (self.n_own + model.config.lag_pooling)

        def pooled(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            every = np.bincount(position, weights=values, minlength=n_pairs)
            mine = np.bincount(
                source[own] * n_pairs + position[own],
                weights=values[own],
                minlength=n_src * n_pairs,
            )
            return mine.reshape(n_src, n_pairs), every

        mine, every = pooled(weight)
        c_own = (share / np.maximum(mine.sum(axis=1), 1e-300))[:, None]
        c_all = ((1 - share) / max(every.sum(), 1e-300))[:, None]
        self.weight = c_own * mine + c_all * every
        mine, every = pooled(weight * amount)
        self.amount = c_own * mine + c_all * every
        mine, every = pooled(weight * amount**2)
        self.amount2 = c_own * mine + c_all * every


class LeadPlanner:
    """Simulates the coming ``horizon_months`` months from a fitted :class:`LeadFunnelModel` and
    answers: what is in hand, how many new leads a target needs, at what cost, how sensitive.

    All draws are made once here (fixed by ``random_seed``); every question reuses them, so
    answers for different lead counts are comparable and ``P(target)`` is monotone in leads.
    """

    def __init__(
        self, model: LeadFunnelModel, horizon_months: int = 3, random_seed: int | None = None
    ):
        if horizon_months < 1:
            raise ValueError("horizon_months must be >= 1")
        self.model = model
        self.horizon = int(horizon_months)
        self.random_seed = random_seed
        rng = np.random.default_rng(random_seed)
        self.x = window_days(model.as_of_, self.horizon)
        self.months = window_months(model.as_of_, self.horizon)
        self._won = _WonPaths(model)
        self._kernels(rng)
        self.in_hand = self._simulate_in_hand(rng)
        d, s = self.q.shape
        self._u = np.clip(rng.random((d, s)), 1e-12, 1 - 1e-12)
        self._v = np.clip(rng.random((d, s)), 1e-12, 1 - 1e-12)
        self._in_hand_total = {
            "count": self.in_hand.total("count").sum(axis=1),
            "revenue": self.in_hand.total("revenue").sum(axis=1),
        }

    @property
    def window_label(self) -> str:
        return self.months[0] if self.horizon == 1 else f"{self.months[0]}..{self.months[-1]}"

    # ------------------------------------------------------------------ draws
    def _kernels(self, rng: np.random.Generator) -> None:
        """Per draw and source: where a new lead's win lands (created in month j, won in m), and
        ``q``, the chance that a lead created evenly over the window is won inside it.

        Each source's won paths (lead -> won lag with the deal's amount, pooled with all sources'
        paths) are grouped by lag in days and given Bayesian-bootstrap weights worth the paths
        observed (a Dirichlet over the days: by Gamma additivity the same as one over paths), so
        lags carry their uncertainty. Amounts stay tied to lags: wins that close inside a short
        window are the quick deals, often the small ones.
        """
        m = self.model
        x = self.x
        span = x[-1]
        d = m.conversion_.shape[0]
        n_src = len(m.sources_)
        h = self.horizon
        self.kernel = np.zeros((d, n_src, h, h))
        g = np.zeros((d, n_src))
        self.new_amount_mean = np.tile(m.amounts_.mean, (d, 1))
        self.new_amount_var = np.tile(m.amounts_.var, (d, 1))
        self._boot = []
        starts, ends = x[:-1], x[1:]
        paths = self._won
        days, position = np.unique(np.rint(paths.lag_total), return_inverse=True)
        for j in range(n_src):
            if len(days):
                lags = days
                by_day = [
                    np.bincount(position, weights=v[j], minlength=len(days))
                    for v in (paths.weight, paths.amount, paths.amount2)
                ]
            else:
                lags = np.zeros(1)
                by_day = [np.ones(1), m.amounts_.mean[j : j + 1], m.amounts_.mean[j : j + 1] ** 2]
            total, wa, wa2 = by_day
            share = total / total.sum()
            a1, a2 = wa / total, wa2 / total
            n_eff = paths.n_own[j] + m.config.lag_pooling
            w = rng.gamma(np.maximum(share * n_eff, 1e-3), size=(d, len(lags)))
            w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
            lo = np.maximum(starts[None, :, None], starts[None, None, :] - lags[:, None, None])
            hi = np.minimum(ends[None, :, None], ends[None, None, :] - lags[:, None, None])
            overlap = np.maximum(hi - lo, 0) / (ends - starts)[None, :, None]  # (lag, j, m)
            self.kernel[:, j] = np.einsum("dl,ljm->djm", w, overlap)
            inside = np.maximum(span - lags, 0) / span
            g[:, j] = w @ inside
            mean, var = _weighted_moments(w, inside, a1, a2)
            ok = g[:, j] > 0
            self.new_amount_mean[ok, j] = mean[ok]
            self.new_amount_var[ok, j] = var[ok]
            self._boot.append((w, overlap, a1, a2))
        self.even = g
        self.q = m.conversion_ * m.win_ * g

    def _simulate_in_hand(self, rng: np.random.Generator) -> WindowOutlook:
        m = self.model
        out = WindowOutlook(self.months)
        out.parts["open deals"] = self._open_deals(rng)
        if m.has_leads_:
            out.parts["open leads"] = self._open_leads(rng)
        return out

    def _open_deals(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Each open deal by its product (known on a deal, and what its cycle and chance depend
        on most): P(won in month k | open at age a) =
        ``w (F_W(a + x_k) - F_W(a + x_(k-1))) / (1 - w F_W(a) - (1 - w) lam F_L(a))``.

        Deals of one product and age share these chances, so they are simulated together as a
        cell: its wins per month are drawn exactly (:func:`_window_wins`), the revenue of a
        cell's wins comes from its deals' amounts (:func:`_cell_revenue`), and each win of a deal
        without an amount draws one (a Gamma sum by product, as :func:`_gamma_sum`). The cost
        grows with the cells (products x ages), not with the deals. Cells whose deals cannot be
        won inside the window (older than every won lag) are left out.
        """
        m = self.model
        deals = m.items_.opportunities
        is_open = _codes(deals["outcome"], OUTCOMES) == _OPEN
        product = _codes(deals["product"], m.products_)[is_open]
        age = deals["age"].to_numpy(float)[is_open]
        amount = deals["amount"].to_numpy(float)[is_open]
        d, h = m.product_win_.shape[0], self.horizon
        n_products = len(m.products_)
        count = np.zeros((d, h))
        revenue = _Revenue.zeros(d, h)
        unknown_wins = np.zeros((d * n_products, h))
        # cells: product x age, and the deals of each in order
        order = np.lexsort((age, product))
        product, age, amount = product[order], age[order], amount[order]
        new = np.ones(len(order), bool)
        new[1:] = (product[1:] != product[:-1]) | (age[1:] != age[:-1])
        starts = np.flatnonzero(new)
        sizes = np.diff(np.append(starts, len(order)))
        cell_product, cell_age = product[starts], age[starts]
        # chances of each cell: the lag CDFs at its age
        n_cells = len(starts)
        step = np.zeros((n_cells, h))
        f_won = np.zeros(n_cells)
        f_lost = np.zeros(n_cells)
        for j, p in enumerate(m.products_):
            pick = cell_product == j
            if not pick.any():
                continue
            lw = m.product_lag_won_.get(p, m.product_lag_won_["__all__"])
            ll = m.product_lag_lost_.get(p, m.product_lag_lost_["__all__"])
            step[pick] = np.diff(lw.cdf(cell_age[pick, None] + self.x[None, :]), axis=1)
            f_won[pick] = np.minimum(lw.cdf(cell_age[pick]), _F_MAX)
            f_lost[pick] = np.minimum(ll.cdf(cell_age[pick]), _F_MAX)
        lam = np.array([m.product_lost_share_.get(p, m.lost_share_) for p in m.products_])
        share = step / np.maximum(step.sum(axis=1, keepdims=True), 1e-300)
        # the amounts of each cell's deals with one: how many, their mean and variance
        known = ~np.isnan(amount)
        n_known = np.add.reduceat(known, starts) if n_cells else np.zeros(0, np.int64)
        mu = np.add.reduceat(np.where(known, amount, 0.0), starts) / np.maximum(n_known, 1)
        spread = np.where(known, amount - np.repeat(mu, sizes), 0.0) ** 2
        s2 = np.add.reduceat(spread, starts) / np.maximum(n_known - 1, 1)
        live = np.flatnonzero(step.sum(axis=1) > 0)
        chunk = max(1, 4_000_000 // d)
        for c0 in range(0, len(live), chunk):
            cells = live[c0 : c0 + chunk]
            w = m.product_win_[:, cell_product[cells]]  # (D, cells)
            den = 1 - w * f_won[cells] - (1 - w) * lam[cell_product[cells]] * f_lost[cells]
            chance = w * step[cells].sum(axis=1) / np.maximum(den, 1e-12)
            draw, cell, k = _window_wins(rng, sizes[cells], chance, share[cells])
            cell = cells[cell]
            unknown = _cell_revenue(
                rng, draw, k, amount, starts[cell], sizes[cell], n_known[cell], mu[cell],
                s2[cell], revenue,
            )  # fmt: skip
            at = draw * n_products + cell_product[cell]
            for j in range(h):
                count[:, j] += np.bincount(draw, weights=k[:, j], minlength=d)
                unknown_wins[:, j] += np.bincount(
                    at, weights=unknown[:, j], minlength=d * n_products
                )
        total = revenue.draw(rng)
        unknown_wins = unknown_wins.reshape(d, n_products, h)
        for j in np.flatnonzero(unknown_wins.any(axis=(0, 2))):
            u = np.clip(rng.random((d, h)), 1e-12, 1 - 1e-12)
            total += _gamma_sum(
                unknown_wins[:, j],
                m.product_amounts_.draws[:, j, None],
                m.product_amounts_.var[j],
                u,
            )
        return {"count": count, "revenue": total}

    def _open_leads(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Leads not converted yet, by source and distinct age (leads of one source and age
        share their chances): wins per month are multinomial per age, their amounts a Gamma sum
        with the moments of the won paths that land in that month."""
        m = self.model
        lds = m.items_.leads
        pending = ~lds["converted"].to_numpy(bool)
        level, ages_all, n_all = _distinct_pairs(
            _codes(lds["source"], m.sources_)[pending], lds["age"].to_numpy(float)[pending]
        )
        d, h = m.win_.shape[0], self.horizon
        count = np.zeros((d, h))
        revenue = np.zeros((d, h))
        paths = self._won
        if not len(paths.lag1):
            return {"count": count, "revenue": revenue}
        l1, lt = paths.lag1, paths.lag_total
        for j, s in enumerate(m.sources_):
            pick = (level == j) & (ages_all < l1.max())
            if not pick.any():
                continue
            ages, n = ages_all[pick], n_all[pick]
            rel = lt[None, :] - ages[:, None]  # days after as_of at which the win would land
            alive = l1[None, :] > ages[:, None]
            hits = [(rel > self.x[k]) & (rel <= self.x[k + 1]) & alive for k in range(h)]
            kern = np.stack([hit @ paths.weight[j] for hit in hits], axis=1)  # (ages, h)
            kern_a = np.stack([hit @ paths.amount[j] for hit in hits], axis=1)
            kern_a2 = np.stack([hit @ paths.amount2[j] for hit in hits], axis=1)
            f1 = np.minimum(m.lag_convert_[s].cdf(ages), _F_MAX)
            c, w = m.conversion_[:, j][:, None], m.win_[:, j][:, None]
            p = (c * w / (1 - c * f1[None, :]))[..., None] * kern[None]  # (D, ages, h)
            k = _multinomial(rng, n[None, :], p).sum(axis=1)  # (D, h)
            count += k
            # the amount of a win landing in month k: paths weighted as the expected wins
            scale = n / (1 - m.conversion_[:, j].mean() * f1)
            total = scale @ kern
            mean = np.where(total > 0, (scale @ kern_a) / np.maximum(total, 1e-300), 1.0)
            var = np.where(total > 0, (scale @ kern_a2) / np.maximum(total, 1e-300) - mean**2, 1.0)
            u = np.clip(rng.random((d, h)), 1e-12, 1 - 1e-12)
            revenue += _gamma_sum(k, mean[None, :], np.maximum(var, 1e-9)[None, :], u)
        return {"count": count, "revenue": revenue}

    # ------------------------------------------------------------------ new leads
    def new_leads(
        self, leads: pd.DataFrame | pd.Series, random_seed: int | None = None
    ) -> WindowOutlook:
        """Wins per coming month from given new leads, with what is in hand.

        ``leads``: a Series (source -> leads over the window, created evenly) or a DataFrame
        (sources x months, leads created evenly within each month).
        """
        rng = np.random.default_rng(random_seed)
        m = self.model
        counts = _lead_grid(leads, m.sources_, self.months, m.mix_)
        d, h = self.q.shape[0], self.horizon
        k = np.zeros((d, len(m.sources_), h), dtype=np.int64)
        for j in range(len(m.sources_)):
            cw = (m.conversion_[:, j] * m.win_[:, j])[:, None, None]
            p = cw * self.kernel[:, j]  # (D, created month, won month)
            k[:, j] = _multinomial(rng, counts[j][None, :], p).sum(axis=1)
        mean = np.zeros(k.shape)
        var = np.ones(k.shape)
        for j, (w, overlap, a1, a2) in enumerate(self._boot):
            by_month = np.einsum("j,ljm->lm", counts[j].astype(float), overlap)  # (lag, m)
            mu, v = _weighted_moments(w, by_month, a1, a2)
            mean[:, j] = np.where(np.isfinite(mu), mu, m.amounts_.mean[j])
            var[:, j] = np.where(np.isfinite(v), v, m.amounts_.var[j])
        u = np.clip(rng.random(k.shape), 1e-12, 1 - 1e-12)
        revenue = _gamma_sum(k, mean, var, u)
        out = WindowOutlook(self.months, dict(self.in_hand.parts))
        out.parts["new leads"] = {
            "count": k.sum(axis=1).astype(float),
            "revenue": revenue.sum(axis=1),
        }
        return out

    def _total(self, n: np.ndarray, metric: str, factor, rows=slice(None)) -> np.ndarray:
        """Per draw: in hand + what ``n`` (draws x sources, or sources) new leads bring."""
        q = self.q[rows] if factor is None else np.clip(self.q[rows] * factor, 0, 1)
        k = binom.ppf(self._u[rows], n, q)
        if metric == "count":
            return self._in_hand_total["count"][rows] + k.sum(axis=1)
        rev = _gamma_sum(k, self.new_amount_mean[rows], self.new_amount_var[rows], self._v[rows])
        return self._in_hand_total["revenue"][rows] + rev.sum(axis=1)

    def p_reach(
        self, n: np.ndarray, target: float, metric: str = "count", factor: np.ndarray | None = None
    ) -> float:
        """P(in hand + wins of ``n`` new leads per source reach ``target`` in the window)."""
        n = np.asarray(n, dtype=np.int64)
        return float(np.mean(self._total(n[None, :], metric, factor) >= target))

    def p_in_hand(self, target: float, metric: str = "count") -> float:
        return float(np.mean(self._in_hand_total[metric] >= target))

    def _thresholds(
        self, path, target: float, metric: str, factor, limit: float = 1e8, tol: float = 5e-4
    ) -> np.ndarray:
        """Per draw, the smallest ``t`` whose leads ``path(t)`` reach the target (inf if beyond
        ``limit``), to within ``tol`` (relative; at least one lead). ``P(target | path(t)) =
        mean(threshold <= t)``: the curve is their empirical CDF, exactly non-decreasing.

        A bisection run on all draws at once, started from a narrow bracket around each draw's
        answer by the normal approximation of its binomial wins (for a deal target; the expected
        value for revenue), widened where that misses.
        """
        d = self.q.shape[0]
        out = np.zeros(d)

        def ok(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return self._total(path(t), metric, factor, rows) >= target

        rows = np.flatnonzero(~ok(np.zeros(d), np.arange(d)))
        if not len(rows):
            return out
        # a first guess per draw: the shortfall over the expected yield of one unit of t
        ref = 1000.0
        q = self.q[rows] if factor is None else np.clip(self.q[rows] * factor, 0, 1)
        per_lead = q if metric == "count" else q * self.new_amount_mean[rows]
        rate = (path(np.array(ref)) * per_lead).sum(axis=1) / ref
        shortfall = target - self._in_hand_total[metric][rows]
        guess = np.where(rate > 0, shortfall / np.maximum(rate, 1e-300), limit)
        guess = np.clip(guess, 1.0, limit)
        spread = (0.8, 1.25)
        if metric == "count":  # wins of n leads: normal with a skewness term, z from the draw's u
            z = ndtri(self._u[rows])
            skew = (1 - 2 * q) * (z**2 - 1) / 6
            for _ in range(3):
                n = path(guess).astype(float)
                wins = (n * q + z * np.sqrt(n * q * (1 - q)) + skew).sum(axis=1)
                step = (shortfall - wins) / np.maximum(rate, 1e-300)
                guess = np.clip(np.where(rate > 0, guess + step, limit), 1.0, limit)
            spread = (0.99, 1.01)
        lo, hi = np.floor(spread[0] * guess), np.ceil(spread[1] * guess)
        for _ in range(60):  # move and widen (twice the width each time) until lo fails, hi reaches
            high_ok = ok(hi, rows)
            low_fail = (lo <= 0) | ~ok(lo, rows)
            if (high_ok | (hi >= limit)).all() and low_fail.all():
                break
            width = np.maximum(hi - lo, 1)
            lo, hi = (
                np.where(high_ok, np.where(low_fail, lo, np.maximum(lo - 2 * width, 0)), hi),
                np.where(high_ok, np.where(low_fail, hi, lo), np.minimum(hi + 2 * width, limit)),
            )
        hi = np.where(high_ok, hi, np.inf)
        finite = np.isfinite(hi)
        while True:
            active = np.flatnonzero(finite & (hi - lo > np.maximum(1, tol * hi)))
            if not len(active):
                break
            mid = np.floor((lo[active] + hi[active]) / 2)
            reached = ok(mid, rows[active])
            hi[active[reached]] = mid[reached]
            lo[active[~reached]] = mid[~reached]
        out[rows] = hi
        return out

    def _answer(self, thresholds: np.ndarray, level: float) -> float | None:
        value = float(np.quantile(thresholds, level, method="higher"))
        return None if not np.isfinite(value) else value

    # ------------------------------------------------------------------ answers
    def requirement(
        self,
        target: float,
        metric: str = "count",
        confidence: float = 0.8,
        mix: pd.Series | None = None,
        factor: np.ndarray | None = None,
        curve_points: int = 41,
    ) -> LeadRequirement:
        """New leads (in ``mix``, default the current source mix) for ``P(target) >= confidence``,
        the median case (``P >= 0.5``) and the curve ``P(target)`` against leads."""
        _check_target(target, metric, confidence)
        m = self.model
        mix = (m.mix_ if mix is None else mix.reindex(m.sources_, fill_value=0.0)).to_numpy(float)
        mix = mix / mix.sum()

        def path(t: np.ndarray) -> np.ndarray:
            return np.round(np.asarray(t, float)[..., None] * mix).astype(np.int64)

        thresholds = self._thresholds(path, target, metric, factor)
        needed = self._answer(thresholds, confidence)
        median = self._answer(thresholds, 0.5)
        finite = thresholds[np.isfinite(thresholds)]
        top = max(needed or 0, float(np.quantile(finite, 0.98)) if len(finite) else 0, 10)
        grid = np.unique(np.round(np.linspace(0, 1.25 * top, curve_points)))
        curve = pd.DataFrame(
            {
                "leads": path(grid).sum(axis=1),
                "p_reach": (thresholds[None, :] <= grid[:, None]).mean(axis=1),
            }
        )
        n_needed = path(needed) if needed is not None else np.zeros(len(mix), np.int64)
        return LeadRequirement(
            target=float(target),
            metric=metric,
            confidence=float(confidence),
            window=self.window_label,
            months=self.horizon,
            unit=m.unit,
            units=m.units,
            leads_needed=int(n_needed.sum()) if needed is not None else None,
            median_case=int(path(median).sum()) if median is not None else None,
            by_source=pd.Series(n_needed, index=m.sources_),
            p_in_hand=self.p_in_hand(target, metric),
            p_at_needed=float(np.mean(thresholds <= needed))
            if needed is not None
            else float("nan"),
            in_hand_expected=float(self._in_hand_total[metric].mean()),
            curve=curve,
        )

    def cheapest_mix(
        self,
        target: float,
        cost_per_lead: dict[str, float],
        metric: str = "count",
        confidence: float = 0.8,
        max_multiple: float = 3.0,
    ) -> MixPlan:
        """The source mix of least cost with ``P(target) >= confidence``, by a greedy fill.

        Sources are ranked by cost per expected win inside the window (``cost / E[q_s]``) and filled
        in that order, each up to ``max_multiple`` times its recent lead volume over the window
        (a source cannot grow without limit). For the expected number of wins this greedy fill is
        the exact optimum (a fractional knapsack); the chance of reaching the target depends on
        little else, so the plan is near-optimal. Sources without a cost are not used. Beyond all
        caps, further leads go to the cheapest source and the plan says the caps were exceeded.
        """
        _check_target(target, metric, confidence)
        m = self.model
        costs = parse_costs(cost_per_lead)
        unknown = sorted(set(costs) - set(m.sources_))
        known = [s for s in m.sources_ if s in costs]
        if not known:
            raise ValueError("cost_per_lead names none of the sources: " + ", ".join(m.sources_))
        idx = np.array([m.sources_.index(s) for s in known])
        eff = self.q.mean(axis=0)[idx]
        cost = np.array([costs[s] for s in known])
        per_win = np.where(eff > 0, cost / np.maximum(eff, 1e-12), np.inf)
        order = np.argsort(per_win, kind="stable")
        caps = np.maximum(
            np.ceil(max_multiple * m.monthly_leads_.to_numpy(float)[idx] * self.horizon), 0
        )

        before = np.concatenate([[0.0], np.cumsum(caps[order])[:-1]])

        def path(t: np.ndarray) -> np.ndarray:
            t = np.asarray(t, float)[..., None]
            take = np.clip(t - before, 0, caps[order])
            n = np.zeros((*t.shape[:-1], len(m.sources_)))
            n[..., idx[order]] = take
            n[..., idx[order[0]]] += np.maximum(t[..., 0] - caps.sum(), 0)
            return np.round(n).astype(np.int64)

        needed = self._answer(self._thresholds(path, target, metric, None), confidence)
        n = path(needed) if needed is not None else np.zeros(len(m.sources_), np.int64)
        table = pd.DataFrame(
            {
                "source": known,
                "cost_per_lead": cost,
                "wins_per_100_leads": 100 * eff,
                "cost_per_win": per_win,
                "cap": caps.astype(int),
                "leads": n[idx],
            }
        )
        table["cost"] = table["leads"] * table["cost_per_lead"]
        table = table.iloc[order].reset_index(drop=True)
        current = self.requirement(target, metric, confidence)
        current_cost = (
            float(sum(current.by_source[s] * costs[s] for s in m.sources_))
            if all(s in costs for s in m.sources_) and current.leads_needed is not None
            else float("nan")
        )
        return MixPlan(
            table=table,
            by_source=pd.Series(n, index=m.sources_),
            leads=int(n.sum()) if needed is not None else None,
            cost=float(table["cost"].sum()) if needed is not None else float("nan"),
            p_reach=self.p_reach(n, target, metric) if needed is not None else float("nan"),
            current_mix_leads=current.leads_needed,
            current_mix_cost=current_cost,
            caps_exceeded=bool(needed is not None and (table["leads"] > table["cap"]).any()),
            unknown_sources=unknown,
            unpriced_sources=[s for s in m.sources_ if s not in costs],
        )

    def sensitivity(
        self, target: float, metric: str = "count", confidence: float = 0.8, change: float = 0.10
    ) -> pd.DataFrame:
        """New leads needed (current mix) if one source's lead -> won rate falls or rises by
        ``change``, the others unchanged; leads and deals in hand are left as they are."""
        m = self.model
        base = self.requirement(target, metric, confidence, curve_points=2).leads_needed
        rows = []
        for j, s in enumerate(m.sources_):
            row = {"source": s, "mix": float(m.mix_[s]), "leads_needed": base}
            for sign, name in ((-1, "if_rate_falls"), (1, "if_rate_rises")):
                factor = np.ones(len(m.sources_))
                factor[j] = 1 + sign * change
                row[name] = self.requirement(
                    target, metric, confidence, factor=factor, curve_points=2
                ).leads_needed
            rows.append(row)
        table = pd.DataFrame(rows)
        table["swing"] = table["if_rate_falls"] - table["if_rate_rises"]
        return table.sort_values("swing", ascending=False, ignore_index=True)


@dataclass
class LeadRequirement:
    """The answer for one target: leads needed, the median case, and the curve behind them."""

    target: float
    metric: str
    confidence: float
    window: str
    months: int  # months in the window
    unit: str
    units: str
    leads_needed: int | None  # None: not reachable by adding leads
    median_case: int | None
    by_source: pd.Series
    p_in_hand: float  # chance that what is in hand alone reaches the target
    p_at_needed: float
    in_hand_expected: float
    curve: pd.DataFrame  # leads, p_reach


@dataclass
class MixPlan:
    """The cheapest source mix reaching the target with the chosen chance."""

    table: pd.DataFrame
    by_source: pd.Series  # leads by source (all sources, zeros for those not used)
    leads: int | None
    cost: float
    p_reach: float
    current_mix_leads: int | None
    current_mix_cost: float
    caps_exceeded: bool
    unknown_sources: list[str]
    unpriced_sources: list[str]


def _check_target(target: float, metric: str, confidence: float) -> None:
    if metric not in ("count", "revenue"):
        raise ValueError("metric must be 'count' or 'revenue'")
    if not target > 0:
        raise ValueError("target must be > 0")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")


def _lead_grid(leads, sources: list[str], months: list[str], mix: pd.Series) -> np.ndarray:
    """Leads per (source, month) from a Series (window totals, spread evenly) or a DataFrame.
    Leads of a source the fit does not know are spread over the known sources by the mix."""
    h = len(months)
    if isinstance(leads, pd.DataFrame):
        table = leads.reindex(columns=months, fill_value=0).fillna(0)
    else:
        series = pd.Series(leads, dtype=float)
        table = pd.DataFrame({mo: series / h for mo in months})
    unknown = table.loc[~table.index.isin(sources)].sum(axis=0)
    table = table.reindex(sources, fill_value=0).astype(float)
    table = table + np.outer(mix.reindex(sources).to_numpy(float), unknown.to_numpy(float))
    return np.round(table.to_numpy(float)).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# target, costs, back-test


def trailing_wins(frame: pd.DataFrame, as_of: pd.Timestamp | str, months: int) -> dict[str, float]:
    """Deals and revenue won in the ``months`` months up to ``as_of``."""
    as_of = pd.Timestamp(as_of).normalize()
    start = month_end(pd.Period(as_of, "M") - months)
    won = frame[
        (frame["status"] == "won") & (frame["close_date"] > start) & (frame["close_date"] <= as_of)
    ]
    return {"count": float(len(won)), "revenue": float(won["amount"].fillna(0).sum())}


def resolve_target(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    horizon_months: int,
    target_deals: int = 0,
    target_revenue: float = 0.0,
    default_factor: float = 1.2,
) -> tuple[float, str, str]:
    """The target to plan for: ``(value, "count" | "revenue", how it was set)``.

    ``target_deals`` wins over ``target_revenue`` when both are set; with neither, the target is
    ``default_factor`` x the deals won in the last ``horizon_months`` months (at least 1).
    """
    if target_deals and target_deals > 0:
        note = "set by the target_deals parameter"
        if target_revenue and target_revenue > 0:
            note += " (target_revenue was also set and is not used)"
        return float(target_deals), "count", note
    if target_revenue and target_revenue > 0:
        return float(target_revenue), "revenue", "set by the target_revenue parameter"
    won = trailing_wins(frame, as_of, horizon_months)["count"]
    value = float(max(np.ceil(default_factor * won), 1))
    note = (
        f"no target set: {default_factor:g} x the {int(won)} deals won in the last "
        f"{horizon_months} month{'s' if horizon_months > 1 else ''}"
    )
    return value, "count", note


def parse_costs(value: dict | str | None) -> dict[str, float]:
    """Cost per lead by source from a dict or its JSON text; ``{}`` / ``""`` for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError("cost_per_lead must map sources to costs")
    out = {}
    for key, cost in value.items():
        cost = float(cost)
        if not np.isfinite(cost) or cost < 0:
            raise ValueError(f"cost_per_lead[{key!r}] must be a number >= 0")
        out[str(key)] = cost
    return out


def _new_leads_after(
    table: _Opportunities, leads, origin, horizon: int, has_leads: bool
) -> pd.DataFrame:
    """Leads (or, without leads, opportunities) created in each month after ``origin``."""
    months = window_months(origin, horizon)
    start = origin + pd.Timedelta(days=1)
    end = month_end(months[-1]) + pd.Timedelta(days=1)
    if has_leads:
        rows = leads[(leads["created_date"] >= start) & (leads["created_date"] < end)]
        src, created = _labels(rows["source"]), rows["created_date"]
        new = pd.crosstab(src.to_numpy(), created.dt.to_period("M").astype(str).to_numpy())
        return new.reindex(columns=months, fill_value=0)
    created = table.created
    rows = np.flatnonzero(
        (created >= np.datetime64(start, "ns")) & (created < np.datetime64(end, "ns"))
    )
    source = table.source[rows]
    labels = np.array([*table.source_labels, NONE_LABEL, ALL_LABEL], dtype=object)
    if (source >= 0).any():
        source = np.where(source >= 0, source, len(labels) - 2)
    else:
        source = np.full(len(rows), len(labels) - 1)
    month = (
        created[rows].astype("datetime64[M]")
        - np.datetime64(pd.Period(months[0], "M").start_time, "M")
    ).astype(np.int64)
    counts = np.bincount(source * horizon + month, minlength=len(labels) * horizon)
    new = pd.DataFrame(counts.reshape(len(labels), horizon), index=labels, columns=months)
    new = new.groupby(level=0).sum()  # a source named like (none) or (all)
    return new[new.sum(axis=1) > 0]


def _from_leads(frame: pd.DataFrame, leads: pd.DataFrame | None) -> np.ndarray:
    """Which opportunities came from a lead of the leads table (all of them without one)."""
    if leads is None or not len(leads):
        return np.ones(len(frame), bool)
    opp_ids = leads["opportunity_id"].dropna().astype(str).unique()
    lead_ids = leads["lead_id"].dropna().astype(str).unique()
    by_opp = frame["opportunity_id"].astype("string").isin(opp_ids).to_numpy(bool)
    by_lead = frame["lead_id"].astype("string").isin(lead_ids).to_numpy(bool)
    return by_opp | (by_lead & frame["lead_id"].notna().to_numpy())


def _wins_after(table: _Opportunities, from_lead: np.ndarray, origin, horizon: int) -> pd.DataFrame:
    """Per cumulative window (1..horizon months): deals and revenue won from what was in hand at
    ``origin`` and from leads (opportunities created later without a lead are not counted)."""
    start = np.datetime64(origin, "ns")
    counted = (table.created <= start) | from_lead
    won = np.flatnonzero(counted & (table.status == _WON) & (table.close > start))
    close = table.close[won]
    amount = np.nan_to_num(table.amount[won], nan=0.0)
    rows = []
    for h in range(1, horizon + 1):
        inside = close <= np.datetime64(month_end(pd.Period(origin, "M") + h), "ns")
        rows.append(
            {
                "horizon_months": h,
                "count": float(inside.sum()),
                "revenue": float(amount[inside].sum()),
            }
        )
    return pd.DataFrame(rows)


def backtest_requirement(
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    origins: list[pd.Timestamp],
    horizon_months: int = 3,
    random_seed: int | None = None,
    config: FunnelConfig | None = None,
) -> pd.DataFrame:
    """Deals and revenue won in the 1..``horizon_months`` months after each past origin: predicted
    from what was known at the origin plus the leads actually generated afterwards, against what
    happened.

    At each origin the funnel model is refitted on the pipeline as it stood then (as
    :func:`~pipeline_models.asof.pipeline_as_of` and :func:`leads_as_of` rebuild it: the table is
    read once and each origin's view derived from it). The new leads of the window are given
    their actual counts by source and month: the requirement turns a number of leads into wins,
    and this checks exactly that step. Rows follow the forecast back-test format
    (``origin, target, horizon_months, point, q05..q95, model, actual``). Without a ``config``
    the fits use 1,000 draws (enough for the intervals, half the time).
    """
    has_leads = leads is not None and len(leads) > 0
    config = config or FunnelConfig(draws=1000)
    from_lead = _from_leads(frame, leads if has_leads else None)
    table = _Opportunities(frame, leads if has_leads else None)
    rows = []
    for i, origin in enumerate(origins):
        origin = pd.Timestamp(origin).normalize()
        seed = None if random_seed is None else random_seed + i
        items = _items_at(table, leads if has_leads else None, origin, back_test=True)
        model = LeadFunnelModel(config).fit_items(items, random_seed=seed)
        planner = LeadPlanner(model, horizon_months, random_seed=seed)
        new = _new_leads_after(table, leads, origin, horizon_months, has_leads)
        outlook = planner.new_leads(new, random_seed=seed)
        actual = _wins_after(table, from_lead, origin, horizon_months).set_index("horizon_months")
        for metric in ("count", "revenue"):
            cumulative = np.cumsum(outlook.total(metric), axis=1)
            for h in range(1, horizon_months + 1):
                draws = cumulative[:, h - 1]
                rows.append(
                    {
                        "origin": origin.date().isoformat(),
                        "target": metric,
                        "horizon_months": h,
                        "point": float(np.median(draws)),
                        **quantile_row(draws),
                        "model": "lead funnel",
                        "actual": float(actual.loc[h, metric]),
                        "new_leads": int(new.to_numpy().sum()),
                    }
                )
    return pd.DataFrame(rows)


def backtest_origins(
    frame: pd.DataFrame, period: str, horizon_months: int, count: int
) -> list[pd.Timestamp]:
    """The last ``count`` month-ends whose whole window lies inside the export and which have
    at least three months of closes before them."""
    last = pd.Period(period, "M") - horizon_months
    closes = frame.loc[frame["status"].isin(["won", "lost"]), "close_date"]
    if closes.empty:
        return []
    first = pd.Period(closes.min(), "M") + 3
    origins = [month_end(last - k) for k in range(count - 1, -1, -1)]
    return [o for o in origins if pd.Period(o, "M") >= first]


def coverage_table(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per target and window: origins, share of actuals inside the 50% and 80% intervals, and
    the mean error of the median (positive: predicted too high) as a share of the actuals."""
    rows = []
    for (target, h), g in backtest.groupby(["target", "horizon_months"]):
        rows.append(
            {
                "target": target,
                "horizon_months": int(h),
                "origins": len(g),
                "inside_50": float(((g["actual"] >= g["q25"]) & (g["actual"] <= g["q75"])).mean()),
                "inside_80": float(((g["actual"] >= g["q10"]) & (g["actual"] <= g["q90"])).mean()),
                "bias": float((g["point"] - g["actual"]).sum() / max(g["actual"].sum(), 1e-12)),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# tables for readers


def _pct_interval(mean: float, lower: float, upper: float, digits: int = 0) -> str:
    return f"{100 * mean:.{digits}f}% ({100 * lower:.{digits}f}-{100 * upper:.{digits}f}%)"


def funnel_display(model: LeadFunnelModel) -> pd.DataFrame:
    """The funnel by source for readers: counts and rates with their 90% intervals."""
    table = model.funnel_table()
    digits = 1 if (table["lead_to_won"] < 0.1).any() else 0
    out = pd.DataFrame(
        {
            "source": table["source"],
            "share of new leads": table["mix"].map(lambda v: f"{100 * v:.0f}%"),
        }
    )
    if model.has_leads_:
        out["leads"] = table["leads"]
        out["still young"] = table["leads_still_open"].round().astype(int)
        out["lead -> opportunity"] = [
            _pct_interval(*r)
            for r in table[["lead_to_opp", "lead_to_opp_lower", "lead_to_opp_upper"]].to_numpy()
        ]
    out["opportunities"] = table["opportunities"]
    out["won"] = table["won"]
    out["open"] = table["open"]
    out["opportunity -> won"] = [
        _pct_interval(*r)
        for r in table[["opp_to_won", "opp_to_won_lower", "opp_to_won_upper"]].to_numpy()
    ]
    if model.has_leads_:
        out["lead -> won"] = [
            _pct_interval(*r, digits=digits)
            for r in table[["lead_to_won", "lead_to_won_lower", "lead_to_won_upper"]].to_numpy()
        ]
    return out.set_index("source")


def product_display(model: LeadFunnelModel) -> pd.DataFrame:
    table = model.product_table()
    return pd.DataFrame(
        {
            "product": table["product"],
            "opportunities": table["opportunities"],
            "won": table["won"],
            "open": table["open"],
            "opportunity -> won": [
                _pct_interval(*r)
                for r in table[["opp_to_won", "opp_to_won_lower", "opp_to_won_upper"]].to_numpy()
            ],
        }
    ).set_index("product")


def lag_display(model: LeadFunnelModel) -> pd.DataFrame:
    """Days per funnel step by source: median, and 80th percentile in brackets."""
    table = model.lag_table().set_index("source")
    steps = [
        ("lead_to_opp", "lead -> opportunity"),
        ("opp_to_won", "opportunity -> won"),
        ("lead_to_won", "lead -> won"),
    ]
    out = pd.DataFrame(index=table.index)
    for key, label in steps:
        if f"{key}_median" in table:
            out[f"{label} (days)"] = [
                "n/a" if pd.isna(a) else f"{a:.0f} ({b:.0f})"
                for a, b in table[[f"{key}_median", f"{key}_p80"]].to_numpy()
            ]
    return out


def outlook_display(
    outlook: WindowOutlook, metric: str = "count", currency: str = ""
) -> pd.DataFrame:
    """Per coming month: what each part is expected to bring, and the total with 80% interval."""
    table = outlook.table(metric).set_index("month")
    fmt = (lambda v: f"{v:,.0f}") if metric == "count" else (lambda v: _money(v, currency))
    out = pd.DataFrame(index=table.index)
    for part in outlook.parts:
        out[f"from {part} (expected)"] = table[part].map(fmt)
    out["total (median)"] = table["median"].map(fmt)
    out["80% interval"] = [
        f"{fmt(a)} - {fmt(b)}" for a, b in table[["low_10", "high_90"]].to_numpy()
    ]
    return out


def _money(value: float, currency: str = "") -> str:
    from .report import fmt_money

    return fmt_money(value, currency)


def target_text(value: float, metric: str, currency: str = "") -> str:
    return (
        f"{value:,.0f} deals won" if metric == "count" else f"{_money(value, currency)} revenue won"
    )


def requirement_display(
    req: LeadRequirement, monthly_leads: float, currency: str = ""
) -> pd.DataFrame:
    """The answer in a few rows: target, leads needed, median case, what is in hand."""
    unit = f"new {req.units}"

    def leads_text(n: int | None) -> str:
        if n is None:
            return "not reachable by adding leads in this window"
        per_month = n / req.months
        return f"{n:,} ({per_month:,.0f} a month{_vs(per_month, monthly_leads)})"

    in_hand = (
        f"{req.in_hand_expected:,.0f} deals"
        if req.metric == "count"
        else _money(req.in_hand_expected, currency)
    )
    rows = [
        ("target", f"{target_text(req.target, req.metric, currency)} in {req.window}"),
        (f"{unit} for a {req.confidence:.0%} chance", leads_text(req.leads_needed)),
        (f"{unit} for an even chance (median case)", leads_text(req.median_case)),
        ("expected from what is already in hand", in_hand),
        ("chance with no new leads at all", f"{req.p_in_hand:.0%}"),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure")


def _vs(per_month: float, current: float) -> str:
    if current <= 0:
        return ""
    return f"; {per_month / current:.1f}x the recent {current:,.0f} a month"


def sensitivity_display(table: pd.DataFrame, change: float = 0.10) -> pd.DataFrame:
    def show(v):
        return "not reachable" if v is None or pd.isna(v) else f"{int(v):,}"

    return pd.DataFrame(
        {
            "source": table["source"],
            "share of new leads": table["mix"].map(lambda v: f"{100 * v:.0f}%"),
            f"leads needed if its rate falls {change:.0%}": table["if_rate_falls"].map(show),
            "leads needed now": table["leads_needed"].map(show),
            f"leads needed if its rate rises {change:.0%}": table["if_rate_rises"].map(show),
        }
    ).set_index("source")


def mix_display(plan: MixPlan, currency: str = "") -> pd.DataFrame:
    t = plan.table
    return pd.DataFrame(
        {
            "source": t["source"],
            "cost per lead": t["cost_per_lead"].map(lambda v: _money(v, currency)),
            "wins per 100 leads (in window)": t["wins_per_100_leads"].map(lambda v: f"{v:.1f}"),
            "cost per win": t["cost_per_win"].map(lambda v: _money(v, currency)),
            "most leads (cap)": t["cap"].map(lambda v: f"{v:,}"),
            "leads": t["leads"].map(lambda v: f"{v:,}"),
            "cost": t["cost"].map(lambda v: _money(v, currency)),
        }
    ).set_index("source")


def win_rate_comparison(model: LeadFunnelModel, win_rate_model) -> pd.DataFrame | None:
    """Our chance that an opportunity is ever won, beside the period's ``WinRateModel`` rate of
    closed deals by lead source (None when that model has no lead-source term)."""
    try:
        theirs = win_rate_model.group_rates("lead_source").set_index("level")
    except (KeyError, AttributeError, ValueError):
        return None
    ours = model.funnel_table().set_index("source")
    rows = []
    for s in ours.index:
        row = {
            "source": s,
            "ever won (this report)": _pct_interval(
                *ours.loc[s, ["opp_to_won", "opp_to_won_lower", "opp_to_won_upper"]]
            ),
        }
        if s in theirs.index:
            r = theirs.loc[s]
            row["won of closed (win-rate model)"] = _pct_interval(r["mean"], r["lower"], r["upper"])
            row["won of closed (raw)"] = (
                "n/a" if pd.isna(r["observed"]) else f"{100 * r['observed']:.0f}%"
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("source")


# --------------------------------------------------------------------------------------------------
# charts


def _money_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _money(v)))


def plot_requirement_curve(req: LeadRequirement, ax=None):
    """P(target reached) against new leads, with the chosen chance and the two answers marked."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 3.8))[1]
    c = req.curve
    ax.plot(c["leads"], c["p_reach"], "-", color="#1d4ed8", lw=2)
    ax.axhline(req.confidence, ls="--", color="#6b7280", lw=1)
    ax.text(
        c["leads"].iloc[0],
        req.confidence + 0.02,
        f"{req.confidence:.0%} chance",
        fontsize=8,
        color="#374151",
    )
    for n, label, color in (
        (req.leads_needed, "recommended", "#b91c1c"),
        (req.median_case, "median case", "#6b7280"),
    ):
        if n is not None:
            ax.axvline(n, color=color, lw=1, ls=":")
            ax.text(n, 0.03, f" {label}: {n:,}", rotation=90, va="bottom", fontsize=8, color=color)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"new {req.units} generated over {req.window}")
    ax.set_ylabel("P(target reached)")
    ax.grid(alpha=0.3)
    return ax


def plot_rates(model: LeadFunnelModel, rate: str = "lead_to_won", ax=None):
    """Ranked interval plot: a funnel rate by source, posterior mean and 90% interval."""
    import matplotlib.pyplot as plt

    table = model.funnel_table().sort_values(rate)
    ax = ax or plt.subplots(figsize=(6, 0.4 * len(table) + 1.2))[1]
    y = np.arange(len(table))
    ax.hlines(y, 100 * table[f"{rate}_lower"], 100 * table[f"{rate}_upper"], color="#93c5fd", lw=5)
    ax.plot(100 * table[rate], y, "o", color="#1d4ed8")
    ax.set_yticks(y, table["source"].astype(str).tolist())
    names = {
        "lead_to_won": "lead -> won",
        "lead_to_opp": "lead -> opportunity",
        "opp_to_won": "opportunity -> won",
    }
    ax.set_xlabel(f"{names.get(rate, rate)} (%), mean and 90% interval")
    ax.grid(alpha=0.3, axis="x")
    return ax


def plot_lags(model: LeadFunnelModel, ax=None, horizon_days: float | None = None):
    """Share of eventual wins already won, by days since the lead (or opportunity) was created."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    top = max(
        float(np.nanmax([d.quantile(0.95) for d in model.lag_total_.values()] + [30.0])), 30.0
    )
    days = np.linspace(0, top, 200)
    for s in model.sources_:
        ax.plot(days, 100 * model.lag_total_[s].cdf(days), label=str(s))
    if horizon_days:
        ax.axvline(horizon_days, color="#6b7280", ls="--", lw=1)
    ax.set_xlabel(f"days from {model.unit} creation")
    ax.set_ylabel("% of eventual wins already won")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_outlook(outlook: WindowOutlook, metric: str = "count", ax=None):
    """Expected wins per coming month stacked by part, with the total's 80% interval."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    table = outlook.table(metric).iloc[: len(outlook.months)]
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    colors = {"open deals": "#1d4ed8", "open leads": "#60a5fa", "new leads": "#f59e0b"}
    for part in outlook.parts:
        ax.bar(
            x, table[part], bottom=bottom, color=colors.get(part, "#9ca3af"), label=f"from {part}"
        )
        bottom += table[part].to_numpy()
    spread = [table["median"] - table["low_10"], table["high_90"] - table["median"]]
    ax.errorbar(
        x, table["median"], yerr=spread, fmt="none", ecolor="#111827", capsize=4,
        label="80% interval",
    )  # fmt: skip
    ax.set_xticks(x, table["month"].tolist())
    ax.set_ylabel("deals won" if metric == "count" else "revenue won")
    ax.set_ylim(0, 1.45 * float(table["high_90"].max() or 1))
    if metric == "revenue":
        _money_axis(ax)
    ax.legend(frameon=False, fontsize=8, loc="upper left", ncols=2)
    ax.grid(alpha=0.3, axis="y")
    return ax


def plot_backtest(backtest: pd.DataFrame, metric: str = "count", horizon: int = 3, ax=None):
    """Past predictions (median, 50% and 80% intervals) against what was won."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 3.5))[1]
    rows = backtest[(backtest["target"] == metric) & (backtest["horizon_months"] == horizon)]
    x = np.arange(len(rows))
    ax.fill_between(x, rows["q10"], rows["q90"], color="#93c5fd", alpha=0.5, label="80% interval")
    ax.fill_between(x, rows["q25"], rows["q75"], color="#3b82f6", alpha=0.5, label="50% interval")
    ax.plot(x, rows["point"], "o--", color="#1d4ed8", label="predicted (median)")
    ax.plot(x, rows["actual"], "o-", color="#111827", label="actual")
    ax.set_xticks(x, [str(pd.Period(o, "M")) for o in rows["origin"]])
    if metric == "revenue":
        _money_axis(ax)
    ax.set_xlabel("month the prediction was made (at its end)")
    what = "deals won" if metric == "count" else "revenue won"
    ax.set_ylabel(f"{what}, next {horizon} month{'s' if horizon > 1 else ''}")
    ax.legend(frameon=False, fontsize=8, ncols=2)
    ax.grid(alpha=0.3)
    return ax


# --------------------------------------------------------------------------------------------------
# what the report says around the numbers


def funnel_ratio_leads(model: LeadFunnelModel, target: float, metric: str = "count") -> float:
    """The CRM's answer: target / (lead -> won rate of the current mix) [x mean won amount for a
    revenue target]. It ignores what is in hand and the time leads take to close."""
    rate = (model.mix_.to_numpy() * (model.conversion_ * model.win_).mean(axis=0)).sum()
    if metric == "revenue":
        rate = (
            model.mix_.to_numpy()
            * (model.conversion_ * model.win_).mean(axis=0)
            * model.amounts_.mean
        ).sum()
    return float(target / rate) if rate > 0 else float("nan")


def split_display(req: LeadRequirement, planner: LeadPlanner) -> pd.DataFrame:
    """The recommended new leads by source: over the window, per month, and the wins they are
    expected to bring inside the window."""
    n = req.by_source
    wins = planner.q.mean(axis=0) * n.to_numpy()
    table = pd.DataFrame(
        {
            "source": n.index,
            f"new {req.units}": n.map(lambda v: f"{v:,}").to_numpy(),
            "per month": (n / req.months).map(lambda v: f"{v:,.0f}").to_numpy(),
            "recent per month": planner.model.monthly_leads_.reindex(n.index)
            .map(lambda v: f"{v:,.0f}")
            .to_numpy(),
            "expected wins inside the window": [f"{v:,.0f}" for v in wins],
        }
    )
    return table.set_index("source")


def funnel_warnings(model: LeadFunnelModel, metric: str = "count") -> list[str]:
    """Thin-data and data-shape warnings for the top of the report."""
    out = []
    counts = model.opp_counts_
    thin = [s for s in model.sources_ if counts.loc[s, "n"] < 30]
    if thin:
        out.append(
            f"{len(thin)} source(s) with fewer than 30 recent opportunities "
            f"({', '.join(map(str, thin[:5]))}{'...' if len(thin) > 5 else ''}): their rates "
            "lean on the other sources and have wide intervals."
        )
    wins = int(counts["won"].sum())
    if wins < 100:
        out.append(
            f"Only {wins} deals won in the last {model.config.lookback_months} months: "
            "conversion rates and lags are uncertain, and so is the requirement."
        )
    if len(model._paths) < model.config.min_lag_samples:
        out.append(
            f"Only {len(model._paths)} won deals with a known time from lead to won: the time "
            "new leads take to close is uncertain."
        )
    if model.items_.undated_open:
        out.append(
            f"{model.items_.undated_open} open deals have no creation date: they cannot be "
            "placed in time and are left out of what is in hand."
        )
    if metric == "revenue" and not model.has_amounts_:
        out.append("No won deal has an amount: a revenue target cannot be planned.")
    return out


def unit_note(model: LeadFunnelModel) -> str:
    """One sentence saying what a "lead" is in this report."""
    if model.has_leads_:
        return (
            "Leads come from the leads file; a lead counts as converted when it became an "
            "opportunity."
        )
    return (
        "**This export has no leads file, so each opportunity counts as a lead**: the funnel "
        "starts at the opportunity, and the requirement is a number of new opportunities."
    )


def headline(req: LeadRequirement, currency: str = "") -> list[tuple[str, str]]:
    """The report's headline figures."""

    def leads(n: int | None) -> str:
        return "not reachable" if n is None else f"{n:,}"

    in_hand = (
        f"{req.in_hand_expected:,.0f} deals"
        if req.metric == "count"
        else _money(req.in_hand_expected, currency)
    )
    return [
        ("target", f"{target_text(req.target, req.metric, currency)} in {req.window}"),
        (f"new {req.units} for a {req.confidence:.0%} chance", leads(req.leads_needed)),
        (f"new {req.units}, median case", leads(req.median_case)),
        ("expected from what is in hand", in_hand),
    ]


def mix_warnings(plan: MixPlan) -> list[str]:
    out = []
    if plan.unpriced_sources:
        out.append(
            "Sources without a cost are not used: " + ", ".join(map(str, plan.unpriced_sources))
        )
    if plan.unknown_sources:
        out.append(
            "Costs given for sources the export does not have: "
            + ", ".join(map(str, plan.unknown_sources))
        )
    if plan.caps_exceeded:
        out.append(
            "The target needs more than every source's cap: the extra leads go to the cheapest "
            "source."
        )
    return out


def coverage_display(coverage: pd.DataFrame) -> pd.DataFrame:
    """The back-test coverage for readers."""
    names = {"count": "deals won", "revenue": "revenue won"}
    return pd.DataFrame(
        {
            "what": coverage["target"].map(names),
            "months ahead": coverage["horizon_months"],
            "origins": coverage["origins"],
            "inside 50% interval": coverage["inside_50"].map(lambda v: f"{100 * v:.0f}%"),
            "inside 80% interval": coverage["inside_80"].map(lambda v: f"{100 * v:.0f}%"),
            "bias of the median": coverage["bias"].map(lambda v: f"{100 * v:+.1f}%"),
        }
    )
