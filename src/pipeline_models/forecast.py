"""Forecast of deals won and revenue won for the coming months, as a full predictive distribution.

Two sources add up:

(a) **open deals** at the origin: each closes won in a coming month with a probability that depends
    on its product and its age (months since creation). The closing model is a discrete-time
    competing-risks model: in every calendar month an open deal of age ``k`` closes won with hazard
    ``h_won[g, k]``, closes lost with ``h_lost[g, k]``, or stays open. Open deals are right-censored
    observations, so deals that sit open for ever (stalled) drive the hazards of old ages toward zero
    and count for little. Hazards have Dirichlet posteriors (conjugate, so a refit takes
    milliseconds at every back-test origin), pooled partially: each product's hazards shrink toward
    the hazards of all products with a prior worth ``pooling_strength`` deal-months. A month-of-quarter
    factor on the won hazard captures quarter-end pushes where the history supports one.

(b) **deals not yet created**: new deals per product and month follow a Poisson rate with a Gamma
    posterior fitted to recent months (recency-weighted, half-life ``arrival_half_life`` months);
    each new deal then closes through the same hazards, from age 0.

Amounts: an open deal's own amount where the export has one, otherwise a draw from the won amounts
of its product (partially pooled with all products when the product has few wins).

Recorded history starts at the first month in which any deal closed: months before it carry no
recorded outcome (some CRM exports drop old closes), so they are not counted as months in which
deals stayed open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .scoring import quantile_row

NONE_LABEL = "(none)"


@dataclass(frozen=True)
class ForecastConfig:
    """Settings of the forecast, each with a default that suits a monthly B2B pipeline."""

    group: str = "product"  # column whose levels get their own (pooled) hazards and arrival rates
    max_age_months: int = 18  # ages from here on share one hazard (too few deals to tell apart)
    pooling_strength: float = 30.0  # prior weight, in deal-months, of the all-products hazards
    hazard_half_life: float = 12.0  # months: older deal-months weigh half as much
    arrival_half_life: float = 4.0  # months: the arrival rate follows recent volume
    arrival_window: int = 12  # months of history the arrival rate looks at
    seasonality: bool = True  # month-of-quarter factor on the won hazard
    seasonality_strength: float = 30.0  # prior weight (won deals) that keeps the factor near 1
    amount_pooling: float = 20.0  # won deals after which a product's own amounts dominate
    skip_unrecorded_cohorts: bool = False  # ignore deals created before the first recorded close
    age_smoothing: float = 10.0  # prior weight, in deal-months, of the previous age's hazards
    default_month_sd: float = 0.15  # month-effect sd when the history is too short to measure it
    min_month_sd: float = 0.03  # floor on the month effect: no history is perfectly stable
    month_sd_prior_months: float = 6.0  # months of evidence the default month effect counts for
    calibration_origins: int = 6  # earlier origins at which the forecaster checks itself
    calibration_horizon: int = 3  # longest window checked (longer windows reuse its figures)
    calibration_min_history: int = 3  # months of recorded closes an inner origin needs
    calibration_prior: float = 3.0  # inner origins' worth of the default error spread
    calibration_sd: float = 0.10  # default extra log-error spread (10%)
    draws: int = 2000


@dataclass
class ForecastResult:
    """Draws of deals won and revenue won per window, in total, by source and by group."""

    origin: pd.Timestamp
    horizons: tuple[int, ...]
    draws: dict = field(default_factory=dict)  # (horizon, target, part) -> np.ndarray of draws
    by_group: dict = field(default_factory=dict)  # (horizon, target, column, level) -> draws

    def summary(self, target_revenue: float | None = None) -> pd.DataFrame:
        """Median, 50% and 80% intervals per horizon, target and part (total / open / new)."""
        rows = []
        for (horizon, target, part), values in sorted(self.draws.items()):
            q = quantile_row(values)
            row = {
                "horizon_months": horizon,
                "window_end": window_label(self.origin, horizon),
                "target": target,
                "part": part,
                "mean": float(np.mean(values)),
                **q,
            }
            if target_revenue is not None and target == "revenue":
                row["p_reach_target"] = float(np.mean(values >= target_revenue))
            rows.append(row)
        return pd.DataFrame(rows)

    def group_summary(self, horizon: int, target: str, column: str) -> pd.DataFrame:
        rows = []
        for (h, t, c, level), values in self.by_group.items():
            if (h, t, c) == (horizon, target, column):
                rows.append({column: level, "mean": float(np.mean(values)), **quantile_row(values)})
        return pd.DataFrame(rows).sort_values("mean", ascending=False).reset_index(drop=True)


def window_label(origin: pd.Timestamp, horizon: int) -> str:
    start = pd.Period(origin, "M") + 1
    end = pd.Period(origin, "M") + horizon
    return f"{start}" if horizon == 1 else f"{start}..{end}"


def _labels(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna(NONE_LABEL)


def _month_index(dates: pd.Series) -> np.ndarray:
    """Months since year 0 (so differences are month counts); NaT -> -1."""
    out = dates.dt.year * 12 + dates.dt.month - 1
    return out.fillna(-1).to_numpy(dtype=np.int64)


class PipelineForecaster:
    """Fit on the pipeline as known at an origin month-end; predict the coming months.

    ``won(t) ~ open deals x closing hazards(product, age, month-of-quarter) + new deals x hazards``,
    with Dirichlet hazards partially pooled over products and Gamma-Poisson arrivals.
    """

    def __init__(self, config: ForecastConfig | None = None):
        self.config = config or ForecastConfig()

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, origin: pd.Timestamp | str) -> PipelineForecaster:
        """Estimate hazards, arrivals and amounts from ``frame`` (all known by ``origin``)."""
        cfg = self.config
        origin = pd.Timestamp(origin).normalize()
        self.origin_ = origin
        self.origin_month_ = int(origin.year * 12 + origin.month - 1)
        data = frame[frame["created_date"].notna()].copy()
        data = data[data["created_date"] <= origin + pd.Timedelta(days=1)]
        group = (
            _labels(data[cfg.group])
            if cfg.group in data
            else pd.Series(NONE_LABEL, index=data.index, dtype="string")
        )
        self.levels_ = sorted(group.unique().tolist())
        level_index = {lv: i for i, lv in enumerate(self.levels_)}
        data["_g"] = group.map(level_index).astype(int)
        created = _month_index(data["created_date"])
        closed = data["status"].isin(["won", "lost"]).to_numpy()
        close_month = np.where(closed, _month_index(data["close_date"]), self.origin_month_)
        close_month = np.minimum(close_month, self.origin_month_)
        data["_c"], data["_e"] = created, np.maximum(close_month, created)
        has_close = closed.any()
        self.first_close_month_ = (
            int(close_month[closed].min()) if has_close else self.origin_month_
        )
        self._fit_hazards(data)
        self._fit_arrivals(data)
        self._fit_amounts(data)
        self.n_deals_ = len(data)
        self.calibration_ = {}
        if cfg.calibration_origins > 0:
            self._calibrate(frame)
        return self

    def _fit_hazards(self, data: pd.DataFrame) -> None:
        cfg = self.config
        K = cfg.max_age_months + 1
        G = len(self.levels_)
        T = self.origin_month_
        start = self.first_close_month_
        # Deals created before outcomes were recorded count from the first recorded month on (left
        # truncation); skip_unrecorded_cohorts drops them instead, for exports where their early
        # closes were moved into the first recorded month.
        informative = (
            data["_c"].to_numpy() >= start
            if cfg.skip_unrecorded_cohorts
            else np.ones(len(data), dtype=bool)
        )
        table = (
            data.loc[informative]
            .assign(won=lambda d: d["status"] == "won", lost=lambda d: d["status"] == "lost")
            .groupby(["_g", "_c", "_e", "won", "lost"])
            .size()
            .reset_index(name="n")
        )
        M = T - start + 1
        at_risk = np.zeros((G, K, M))  # deal-months at risk by group, age, calendar month
        events = np.zeros((G, K, M, 2))  # won, lost
        for g, c, e, won, lost, n in table.itertuples(index=False):
            months = np.arange(max(c, start), e + 1)  # months before records began: unobserved
            if months.size == 0:
                continue
            ages = np.minimum(months - c, K - 1)
            np.add.at(at_risk, (g, ages, months - start), n)
            if won or lost:
                events[g, ages[-1], e - start, 0 if won else 1] += n
        weights = 0.5 ** ((T - np.arange(start, T + 1)) / cfg.hazard_half_life)
        w_risk = (at_risk * weights).sum(axis=2)
        w_events = (events * weights[None, None, :, None]).sum(axis=2)
        counts = np.concatenate(
            [w_events, (w_risk - w_events.sum(axis=2))[..., None]], axis=2
        ).clip(min=0)
        self.counts_ = counts
        # all-products hazards, each age shrunk toward the age before it (unseen ages take the
        # hazards of the last age seen), then each product shrunk toward them
        pooled = counts.sum(axis=0)
        pooled_rate = np.empty((K, 3))
        previous = np.array([0.1, 0.1, 0.8])
        for k in range(K):
            alpha = pooled[k] + cfg.age_smoothing * previous
            pooled_rate[k] = alpha / alpha.sum()
            previous = pooled_rate[k]
        self.pooled_rate_ = pooled_rate
        self.alpha_ = counts + cfg.pooling_strength * pooled_rate[None, :, :]
        self.pooled_alpha_ = pooled + cfg.age_smoothing * pooled_rate
        rate = self.alpha_ / self.alpha_.sum(axis=2, keepdims=True)
        # month-of-quarter factor of the won hazard, shrunk toward 1 (Gamma prior)
        expected = np.einsum("gkm,gk->m", at_risk, rate[..., 0])
        observed = events[..., 0].sum(axis=(0, 1))
        position = np.arange(start, T + 1) % 3
        if cfg.seasonality and observed.sum() > 0:
            obs_q = np.bincount(position, weights=observed * weights, minlength=3)
            exp_q = np.bincount(position, weights=expected * weights, minlength=3)
            self.season_shape_ = cfg.seasonality_strength + obs_q
            self.season_rate_ = cfg.seasonality_strength + exp_q
        else:
            self.season_shape_, self.season_rate_ = np.ones(3), None
        factor = (
            self.season_shape_ / self.season_rate_ if self.season_rate_ is not None else np.ones(3)
        )
        factor = factor / factor.mean()
        self.season_point_ = factor
        # month-to-month variation beyond the model (a month effect shared by all deals):
        # variance of observed / expected wins, less the Poisson part, by moments
        fitted = expected * factor[position]
        usable = fitted > 1.0
        measured, n_months = 0.0, int(usable.sum())
        if n_months >= 3:
            ratio = observed[usable] / fitted[usable]
            excess = np.var(ratio, ddof=1) - np.mean(1.0 / fitted[usable])
            measured = float(np.log1p(max(excess, 0.0)))
        self.month_sd_ = _blend_sd(measured, n_months, cfg)

    def _fit_arrivals(self, data: pd.DataFrame) -> None:
        cfg = self.config
        T = self.origin_month_
        first = max(int(data["_c"].min()) if len(data) else T, T - cfg.arrival_window + 1)
        months = np.arange(first, T + 1)
        weights = 0.5 ** ((T - months) / cfg.arrival_half_life)
        G = len(self.levels_)
        counts = np.zeros((G, len(months)))
        recent = data[data["_c"] >= first]
        np.add.at(counts, (recent["_g"].to_numpy(), recent["_c"].to_numpy() - first), 1)
        # Gamma(0.5, small) prior; posterior from recency-weighted counts and exposure
        self.arrival_shape_ = 0.5 + counts @ weights
        self.arrival_rate_ = 1e-3 + weights.sum() * np.ones(G)
        # month-to-month variation of all arrivals beyond Poisson noise (shared month effect)
        totals = counts.sum(axis=0)
        level = float(totals @ weights / weights.sum()) if len(totals) else 0.0
        measured, n_months = 0.0, 0
        if len(totals) >= 3 and level > 1.0:
            excess = np.var(totals / level, ddof=1) - 1.0 / level
            measured, n_months = float(np.log1p(max(excess, 0.0))), len(totals)
        self.arrival_sd_ = _blend_sd(measured, n_months, cfg)
        # shares of the other grouping column (region) within each group, for the breakdown
        self.arrival_months_ = months

    def _fit_amounts(self, data: pd.DataFrame) -> None:
        won = data[(data["status"] == "won") & (data["amount"] > 0)]
        self.amounts_ = {int(gi): grp["amount"].to_numpy(float) for gi, grp in won.groupby("_g")}
        self.all_amounts_ = won["amount"].to_numpy(float)
        self.region_shares_ = None
        if "region" in data and data["region"].notna().any():
            regions = _labels(data["region"])
            self.regions_ = sorted(regions.unique().tolist())
            table = pd.crosstab(data["_g"], regions).reindex(
                index=range(len(self.levels_)), columns=self.regions_, fill_value=0
            )
            shares = (table.to_numpy(float) + 0.5) / (table.to_numpy(float) + 0.5).sum(
                1, keepdims=True
            )
            self.region_shares_ = shares

    # ------------------------------------------------------------------ predict
    def _hazard_draws(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        """Dirichlet draws of (won, lost, stay) hazards: array (draws, G, K, 3)."""
        gamma = rng.gamma(self.alpha_[None, ...], 1.0, size=(draws, *self.alpha_.shape))
        return gamma / gamma.sum(axis=-1, keepdims=True)

    def _month_factors(self, rng: np.random.Generator, draws: int, months: int) -> np.ndarray:
        """(draws, months) factors on the won hazard of each coming month: the month-of-quarter
        factor times a month effect shared by every deal in that month."""
        T = self.origin_month_
        if self.season_rate_ is None:
            season = np.ones((draws, 3))
        else:
            season = rng.gamma(self.season_shape_, 1.0 / self.season_rate_, size=(draws, 3))
            season = season / season.mean(axis=1, keepdims=True)
        position = (T + 1 + np.arange(months)) % 3
        sd = self.month_sd_
        effect = np.exp(rng.normal(-0.5 * sd * sd, sd, size=(draws, months)))
        return season[:, position] * effect

    def _p_won(self, haz, factor, g, age0, month0, month_end) -> np.ndarray:
        """P(close won in months month0..month_end) for deals at age ``age0`` in ``month0``.

        ``haz`` (S, G, K, 3); ``factor`` (S, months) for months origin+1, origin+2, ...;
        ``g``, ``age0``, ``month0`` arrays (N,). Returns (S, N).
        """
        K = haz.shape[2]
        S, N = haz.shape[0], len(g)
        first = self.origin_month_ + 1
        alive = np.ones((S, N))
        p_won = np.zeros((S, N))
        steps = int(month_end - month0.min()) + 1 if N else 0
        for step in range(steps):
            month = month0 + step
            active = month <= month_end
            if not active.any():
                break
            age = np.minimum(age0 + step, K - 1)
            h = haz[:, g, age, :]  # (S, N, 3)
            hw = h[..., 0] * factor[:, np.minimum(month - first, factor.shape[1] - 1)]
            hl = h[..., 1]
            hw = np.minimum(hw, 1.0 - hl)
            p_won += np.where(active, alive * hw, 0.0)
            alive = np.where(active, alive * (1.0 - hw - hl), alive)
        return p_won

    def predict(
        self,
        open_deals: pd.DataFrame | None = None,
        horizons: tuple[int, ...] = (1, 2, 3),
        random_seed: int | None = None,
        breakdown: tuple[str, ...] = ("product", "region"),
    ) -> ForecastResult:
        """Predictive draws for the windows of ``horizons`` months after the origin.

        ``open_deals``: the open deals at the origin (default: those of the fitted frame are not
        kept, so pass them: ``frame[frame.status == "open"]``).
        """
        cfg = self.config
        rng = np.random.default_rng(random_seed)
        S = cfg.draws
        T = self.origin_month_
        result = ForecastResult(origin=self.origin_, horizons=tuple(horizons))
        haz = self._hazard_draws(rng, S)
        season = self._month_factors(rng, S, max(horizons))
        level_index = {lv: i for i, lv in enumerate(self.levels_)}

        deals = open_deals if open_deals is not None else pd.DataFrame(columns=["created_date"])
        deals = deals[deals["created_date"].notna()] if len(deals) else deals
        n_open = len(deals)
        if n_open:
            group = (
                _labels(deals[cfg.group])
                if cfg.group in deals
                else pd.Series(NONE_LABEL, index=deals.index)
            )
            g_open = group.map(level_index).fillna(-1).astype(int).to_numpy()
            # a level never seen before uses the all-products hazards: append it as an extra group
            unseen = g_open < 0
            age_open = np.maximum(T - _month_index(deals["created_date"]), 0) + 1
            known_amount = deals["amount"].to_numpy(float)
            regions_open = _labels(deals["region"]).to_numpy() if "region" in deals else None
            products_open = group.to_numpy()
        max_h = max(horizons)

        # per-deal won month for open deals: draw which month (if any) each deal is won in
        if n_open:
            haz_ext = haz
            if unseen.any():
                pooled = np.broadcast_to(
                    self._pooled_draws(rng, S)[:, None, :, :], (S, 1, haz.shape[2], 3)
                )
                haz_ext = np.concatenate([haz, pooled], axis=1)
                g_open = np.where(unseen, haz.shape[1], g_open)
            # deals of one group and age share their probabilities: compute them once per pair
            pairs, pair_of_deal = np.unique(
                np.stack([g_open, np.minimum(age_open, haz.shape[2])]), axis=1, return_inverse=True
            )
            pair_of_deal = pair_of_deal.ravel()
            cum_prev = np.zeros((S, n_open))
            won_month_open = np.full((S, n_open), 10**6, dtype=np.int64)
            u = rng.random((S, n_open))
            for h in range(1, max_h + 1):
                p_pairs = self._p_won(
                    haz_ext, season, pairs[0], pairs[1], np.full(pairs.shape[1], T + 1), T + h
                )
                p_h = p_pairs[:, pair_of_deal]
                newly = (u < p_h) & (u >= cum_prev)
                won_month_open[newly] = h
                cum_prev = p_h
            amount_open = self._amounts(rng, g_open, known_amount, S)

        # new deals: arrivals per group and month, each with its own closing draw
        G = len(self.levels_)
        rate = rng.gamma(
            self.arrival_shape_[None, :], 1.0 / self.arrival_rate_[None, :], size=(S, G)
        )
        new_records = []
        sd = self.arrival_sd_
        for m_ahead in range(1, max_h + 1):
            effect = np.exp(rng.normal(-0.5 * sd * sd, sd, size=(S, 1)))
            arrivals = rng.poisson(rate * effect)  # (S, G)
            for gi in range(G):
                n_max = int(arrivals[:, gi].max())
                if n_max == 0:
                    continue
                month0 = T + m_ahead
                # probability a new deal created in month0 is won by each later horizon month
                p_by_h = {}
                for h in range(m_ahead, max_h + 1):
                    p_by_h[h] = self._p_won(
                        haz, season, np.array([gi]), np.array([0]), np.array([month0]), T + h
                    )[:, 0]
                new_records.append((m_ahead, gi, arrivals[:, gi], p_by_h))

        for h in horizons:
            for part in ("open", "new"):
                result.draws[(h, "count", part)] = np.zeros(S)
                result.draws[(h, "revenue", part)] = np.zeros(S)
            if n_open:
                won = won_month_open <= h
                result.draws[(h, "count", "open")] = won.sum(axis=1).astype(float)
                result.draws[(h, "revenue", "open")] = (won * amount_open).sum(axis=1)
                for column, labels in (("product", products_open), ("region", regions_open)):
                    if column not in breakdown or labels is None:
                        continue
                    for level in np.unique(labels):
                        mask = labels == level
                        key_c = (h, "count", column, str(level))
                        key_r = (h, "revenue", column, str(level))
                        result.by_group[key_c] = won[:, mask].sum(axis=1).astype(float)
                        result.by_group[key_r] = (won[:, mask] * amount_open[:, mask]).sum(axis=1)
            for m_ahead, gi, arrivals, p_by_h in new_records:
                if m_ahead > h:
                    continue
                k = rng.binomial(arrivals, p_by_h[h])
                revenue = self._sum_amounts(rng, gi, k)
                result.draws[(h, "count", "new")] += k
                result.draws[(h, "revenue", "new")] += revenue
                level = self.levels_[gi]
                if "product" in breakdown and cfg.group == "product":
                    for target, values in (("count", k), ("revenue", revenue)):
                        key = (h, target, "product", level)
                        result.by_group[key] = result.by_group.get(key, np.zeros(S)) + values
                if "region" in breakdown and self.region_shares_ is not None:
                    shares = self.region_shares_[gi]
                    for ri, region in enumerate(self.regions_):
                        for target, values in (("count", k), ("revenue", revenue)):
                            key = (h, target, "region", region)
                            result.by_group[key] = (
                                result.by_group.get(key, np.zeros(S)) + values * shares[ri]
                            )
            for target in ("count", "revenue"):
                result.draws[(h, target, "total")] = (
                    result.draws[(h, target, "open")] + result.draws[(h, target, "new")]
                )
        self._recalibrate(result, rng)
        return result

    # ------------------------------------------------------------------ self-calibration
    def _calibrate(self, frame: pd.DataFrame) -> None:
        """Measure this forecaster's own errors at earlier origins, using only data known now.

        At each of up to ``calibration_origins`` earlier month-ends the forecaster is refitted on
        the pipeline as it stood then and its median forecast compared with the outcome, where the
        window has ended by the current origin. The log errors give a bias (shrunk toward none)
        and an error spread beyond what the model itself predicts; :meth:`predict` widens and
        shifts its draws by them. This keeps intervals honest where the model's structure misses
        something the history shows (trends in win rates, capacity limits, data gaps).
        """
        from .asof import outcomes_after, pipeline_as_of

        cfg = self.config
        H = cfg.calibration_horizon
        errors: dict[tuple[int, str], list[float]] = {}
        spreads: dict[tuple[int, str], list[float]] = {}
        inner_cfg = replace(cfg, calibration_origins=0, draws=400)
        for back in range(1, cfg.calibration_origins + 1):
            inner_origin = (pd.Period(self.origin_, "M") - back).end_time.normalize()
            inner_month = self.origin_month_ - back
            if inner_month < self.first_close_month_ + cfg.calibration_min_history:
                break
            known = pipeline_as_of(frame, inner_origin)
            inner = PipelineForecaster(inner_cfg).fit(known, inner_origin)
            horizons = tuple(h for h in range(1, H + 1) if h <= back)
            result = inner.predict(known[known["status"] == "open"], horizons, random_seed=back)
            for h in horizons:
                actual = outcomes_after(frame, inner_origin, h)
                for target in ("count", "revenue"):
                    draws = result.draws[(h, target, "total")]
                    median = float(np.median(draws))
                    if median <= 0 or actual[target] <= 0:
                        continue
                    errors.setdefault((h, target), []).append(np.log(actual[target] / median))
                    logs = np.log(np.maximum(draws, 1e-9))
                    spreads.setdefault((h, target), []).append(float(np.var(logs)))
        self.calibration_ = {}
        for h in range(1, H + 1):
            for target in ("count", "revenue"):
                e = np.array(errors.get((h, target), []))
                n = len(e)
                own = float(np.mean(spreads[(h, target)])) if n else 0.0
                bias = float(np.mean(e)) * n / (n + cfg.calibration_prior) if n else 0.0
                excess = float(np.var(e, ddof=1)) - own if n > 1 else 0.0
                var = (n * max(excess, 0.0) + cfg.calibration_prior * cfg.calibration_sd**2) / (
                    n + cfg.calibration_prior
                )
                self.calibration_[(h, target)] = {
                    "origins": n,
                    "bias": bias,
                    "extra_sd": float(np.sqrt(var)),
                }

    def _recalibrate(self, result: ForecastResult, rng: np.random.Generator) -> None:
        calibration = getattr(self, "calibration_", None)
        if not calibration:
            return
        H = self.config.calibration_horizon
        z = rng.standard_normal(self.config.draws)  # one shock per draw, shared by all windows
        for (h, target, part), values in list(result.draws.items()):
            c = calibration.get((min(h, H), target))
            if c is None:
                continue
            factor = np.exp(c["bias"] + c["extra_sd"] * z - 0.5 * c["extra_sd"] ** 2)
            result.draws[(h, target, part)] = values * factor
        for (h, target, column, level), values in list(result.by_group.items()):
            c = calibration.get((min(h, H), target))
            if c is not None:
                factor = np.exp(c["bias"] + c["extra_sd"] * z - 0.5 * c["extra_sd"] ** 2)
                result.by_group[(h, target, column, level)] = values * factor

    def _pooled_draws(self, rng, S) -> np.ndarray:
        alpha = self.pooled_alpha_
        gamma = rng.gamma(alpha[None, ...], 1.0, size=(S, *alpha.shape))
        return gamma / gamma.sum(axis=-1, keepdims=True)

    def _amount_pool(self, gi: int) -> tuple[np.ndarray, float]:
        own = self.amounts_.get(int(gi), np.empty(0))
        weight = len(own) / (len(own) + self.config.amount_pooling)
        return own, weight

    def _amounts(self, rng, g, known, S) -> np.ndarray:
        """(S, N) amounts: the deal's own where known, otherwise draws from won amounts."""
        N = len(g)
        out = np.broadcast_to(known[None, :], (S, N)).copy()
        missing = np.isnan(known)
        if not missing.any():
            return out
        fallback = self.all_amounts_ if len(self.all_amounts_) else np.array([0.0])
        for gi in np.unique(g[missing]):
            cols = np.where(missing & (g == gi))[0]
            own, weight = self._amount_pool(gi)
            draws = rng.choice(fallback, size=(S, len(cols)))
            if len(own):
                use_own = rng.random((S, len(cols))) < weight
                draws = np.where(use_own, rng.choice(own, size=(S, len(cols))), draws)
            out[:, cols] = draws
        return out

    def _sum_amounts(self, rng, gi: int, k: np.ndarray) -> np.ndarray:
        """Revenue of ``k`` won new deals per draw: a sum of ``k`` amount draws."""
        total = np.zeros(len(k))
        k_max = int(k.max()) if len(k) else 0
        if k_max == 0:
            return total
        own, weight = self._amount_pool(gi)
        fallback = self.all_amounts_ if len(self.all_amounts_) else np.array([0.0])
        draws = rng.choice(fallback, size=(len(k), k_max))
        if len(own):
            use_own = rng.random((len(k), k_max)) < weight
            draws = np.where(use_own, rng.choice(own, size=(len(k), k_max)), draws)
        mask = np.arange(k_max)[None, :] < k[:, None]
        return (draws * mask).sum(axis=1)


def _blend_sd(measured_var: float, n_months: int, cfg: ForecastConfig) -> float:
    """Month-effect sd: the measured log-variance blended with the default, which counts as
    ``month_sd_prior_months`` months of evidence, so a short history cannot claim stability."""
    prior = cfg.month_sd_prior_months
    var = (n_months * measured_var + prior * cfg.default_month_sd**2) / (n_months + prior)
    return max(float(np.sqrt(var)), cfg.min_month_sd)


# ---------------------------------------------------------------------------------------------
# Baselines a CRM shows


def weighted_pipeline(frame: pd.DataFrame, origin: pd.Timestamp | str, horizon: int) -> dict:
    """The CRM's weighted pipeline: open amount x stage win probability, for the window.

    Stage probabilities are the win rate of closed deals (the export does not carry the CRM's own
    stage probabilities, and deals' stage histories are unknown). Deals with an expected close date
    count when it falls before the window ends (overdue ones included, as CRMs show them); deals
    without one count in every window. Missing amounts take the product's mean won amount.
    """
    origin = pd.Timestamp(origin).normalize()
    end = pd.Period(origin, "M") + horizon
    end_ts = end.end_time.normalize()
    closed = frame[frame["status"].isin(["won", "lost"])]
    rate = float((closed["status"] == "won").mean()) if len(closed) else 0.0
    open_ = frame[frame["status"] == "open"]
    in_window = open_["close_date"].isna() | (open_["close_date"] <= end_ts)
    open_ = open_[in_window]
    won = closed[(closed["status"] == "won") & (closed["amount"] > 0)]
    product_mean = won.groupby(_labels(won["product"]))["amount"].mean()
    overall = float(won["amount"].mean()) if len(won) else 0.0
    amounts = open_["amount"].copy()
    fill = _labels(open_["product"]).map(product_mean).astype(float).fillna(overall)
    amounts = amounts.fillna(fill)
    return {"count": rate * len(open_), "revenue": rate * float(amounts.sum())}


def run_rate(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizon: int, months: int = 3
) -> dict:
    """Trailing run-rate: mean deals and revenue won per month over the last ``months`` months."""
    origin = pd.Timestamp(origin).normalize()
    start = (pd.Period(origin, "M") - months + 1).start_time
    won = frame[
        (frame["status"] == "won")
        & (frame["close_date"] >= start)
        & (frame["close_date"] <= origin)
    ]
    return {
        "count": len(won) / months * horizon,
        "revenue": float(won["amount"].fillna(0).sum()) / months * horizon,
    }


# ---------------------------------------------------------------------------------------------
# Tables and charts for the forecast report


def open_deal_outlook(
    forecaster: PipelineForecaster, open_deals: pd.DataFrame, horizon: int = 3
) -> pd.DataFrame:
    """Per open deal: age in months and the posterior mean chance of closing won within
    ``horizon`` months (old, stalled deals get small chances), with its amount."""
    deals = open_deals[open_deals["created_date"].notna()]
    cfg = forecaster.config
    level_index = {lv: i for i, lv in enumerate(forecaster.levels_)}
    group = (
        _labels(deals[cfg.group])
        if cfg.group in deals
        else pd.Series(NONE_LABEL, index=deals.index)
    )
    g = group.map(level_index).fillna(-1).astype(int).to_numpy()
    rate = forecaster.alpha_ / forecaster.alpha_.sum(axis=2, keepdims=True)
    pooled = forecaster.pooled_rate_[None, ...]
    haz = np.concatenate([rate, pooled], axis=0)[None, ...]
    g = np.where(g < 0, haz.shape[1] - 1, g)
    T = forecaster.origin_month_
    age = np.maximum(T - _month_index(deals["created_date"]), 0)
    factor = np.ones((1, horizon))
    p = forecaster._p_won(haz, factor, g, age + 1, np.full(len(deals), T + 1), T + horizon)[0]
    out = deals[["opportunity_id", "product", "region", "owner", "stage", "amount"]].copy()
    out["age_months"] = age
    out[f"p_won_{horizon}m"] = p
    return out.sort_values(f"p_won_{horizon}m", ascending=False).reset_index(drop=True)


def quarter_window(period: str) -> tuple[str, int, pd.Timestamp]:
    """The quarter holding the month after ``period``: its label, the months of it still to come
    after ``period``, and its first day (wins since then count as already in)."""
    next_month = pd.Period(period, "M") + 1
    quarter = next_month.asfreq("Q")
    remaining = (quarter.asfreq("M", "end") - pd.Period(period, "M")).n
    return str(quarter), int(remaining), quarter.start_time


def forecast_table(
    result: ForecastResult,
    frame: pd.DataFrame,
    period: str,
    target_revenue: float | None = None,
) -> pd.DataFrame:
    """The leader's table: per window, deals and revenue won (median, 50% and 80% intervals),
    the share from open deals, the weighted pipeline and the run-rate beside them."""
    origin = result.origin
    rows = []
    quarter, remaining, q_start = quarter_window(period)
    windows = [
        (f"next {h} month{'s' if h > 1 else ''} ({window_label(origin, h)})", h, 0.0, 0.0)
        for h in result.horizons
    ]
    won = frame[
        (frame["status"] == "won")
        & (frame["close_date"] >= q_start)
        & (frame["close_date"] <= origin)
    ]
    if remaining in result.horizons:
        windows.append(
            (
                f"quarter {quarter} (incl. won so far)",
                remaining,
                float(len(won)),
                float(won["amount"].fillna(0).sum()),
            )
        )
    for label, h, won_count, won_revenue in windows:
        wp = weighted_pipeline(frame, origin, h)
        rr = run_rate(frame, origin, h)
        row = {"window": label}
        for target, already in (("count", won_count), ("revenue", won_revenue)):
            total = result.draws[(h, target, "total")] + already
            q = np.quantile(total, [0.10, 0.25, 0.50, 0.75, 0.90])
            row[f"{target}_median"] = q[2]
            row[f"{target}_50"] = f"{q[1]:,.0f} – {q[3]:,.0f}"
            row[f"{target}_80"] = f"{q[0]:,.0f} – {q[4]:,.0f}"
            open_share = np.median(result.draws[(h, target, "open")]) / max(np.median(total), 1e-9)
            row[f"{target}_from_open"] = min(open_share, 1.0)
            row[f"{target}_weighted_pipeline"] = wp[target] + already
            row[f"{target}_run_rate"] = rr[target] + already
        if target_revenue:
            total = result.draws[(h, "revenue", "total")] + won_revenue
            row["p_reach_target"] = float(np.mean(total >= target_revenue))
        rows.append(row)
    return pd.DataFrame(rows).set_index("window")


def plot_forecast(
    result: ForecastResult,
    frame: pd.DataFrame,
    target: str = "revenue",
    ax=None,
    months_back: int = 12,
):
    """Monthly won history with the forecast fan (50% and 80% intervals) per coming month."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 3.8))[1]
    origin = result.origin
    won = frame[frame["status"] == "won"]
    monthly = won.groupby(won["close_date"].dt.to_period("M"))[
        "amount" if target == "revenue" else "opportunity_id"
    ]
    history = monthly.sum() if target == "revenue" else monthly.size()
    start = pd.Period(origin, "M") - months_back + 1
    history = history[history.index >= start].reindex(
        pd.period_range(start, pd.Period(origin, "M"), freq="M"), fill_value=0
    )
    ax.plot(history.index.to_timestamp(), history.to_numpy(), "o-", color="#1f2933", label="won")
    months, q = [], []
    previous = np.zeros(result.draws[(result.horizons[0], target, "total")].shape)
    for h in sorted(result.horizons):
        cumulative = result.draws[(h, target, "total")]
        monthly_draws = cumulative - previous
        previous = cumulative
        months.append((pd.Period(origin, "M") + h).to_timestamp())
        q.append(np.quantile(monthly_draws, [0.1, 0.25, 0.5, 0.75, 0.9]))
    q = np.array(q)
    ax.fill_between(months, q[:, 0], q[:, 4], color="#93c5fd", alpha=0.5, label="80% interval")
    ax.fill_between(months, q[:, 1], q[:, 3], color="#3b82f6", alpha=0.5, label="50% interval")
    ax.plot(months, q[:, 2], "o--", color="#1d4ed8", label="forecast median")
    ax.set_ylabel("revenue won per month" if target == "revenue" else "deals won per month")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return ax
