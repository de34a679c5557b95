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

Cost: the export is read once into counts of deals by group, creation month, close month and
status (and the won amounts); the fit, the self-calibration at earlier origins and the
simulation then work on groups, not deals. Open deals that share their closing probabilities and
amount model (a *cell*: product, age, region, amount known or not) are simulated together, see
:meth:`PipelineForecaster.predict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .scoring import quantile_row

EXACT_SUM_MAX = 30  # up to this many won deals of a cell, amounts are drawn one by one

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
    if isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M":
        first, last = dates.min(), dates.max()
        if pd.isna(first):
            return np.full(len(dates), -1, np.int64)
        day = np.timedelta64(1, "D")
        start = np.datetime64(first.normalize(), "D")
        # month of each day from the first to the last date (and -1 for NaT, looked up last)
        days = np.arange(start, np.datetime64(last, "D") + day, day)
        month_of_day = np.append(days.astype("datetime64[M]").astype(np.int64) + 1970 * 12, -1)
        offset = dates.to_numpy(dtype="datetime64[ns]") - np.datetime64(start, "ns")
        index = offset.view(np.int64) // (86_400 * 10**9)
        return month_of_day[np.clip(index, -1, len(days) - 1, out=index)]
    out = dates.dt.year * 12 + dates.dt.month - 1
    return out.fillna(-1).to_numpy(dtype=np.int64)


def _codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of the labels of ``series`` (as :func:`_labels` writes them), and the labels
    in sorted order: ``labels[codes[i]]`` is the label of row ``i``."""
    codes, uniques = pd.factorize(series)
    names = _labels(pd.Series(uniques)).tolist()
    if len(codes) and codes.min() < 0:
        names.append(NONE_LABEL)
        codes = np.where(codes < 0, len(names) - 1, codes)
    labels = sorted(set(names))
    position = {name: i for i, name in enumerate(labels)}
    remap = np.array([position[name] for name in names], dtype=np.int64)
    if np.array_equal(remap, np.arange(len(remap))):
        return codes.astype(np.int64, copy=False), labels
    return remap[codes], labels


def _status_codes(status: pd.Series) -> np.ndarray:
    """0 for open (or any status other than won and lost), 1 won, 2 lost."""
    won = status.eq("won").to_numpy(dtype=bool, na_value=False)
    lost = status.eq("lost").to_numpy(dtype=bool, na_value=False)
    return won.astype(np.int8) + 2 * lost.astype(np.int8)


def _tally(
    *columns: np.ndarray, weights: np.ndarray | None = None, inverse: bool = True
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Distinct rows of the integer ``columns``: their values, their total weight (row count by
    default) and, per input row, the index of its distinct row (``None`` unless ``inverse``)."""
    n = len(columns[0])
    if n == 0:
        empty = np.zeros(0, np.int64)
        return [empty for _ in columns], np.zeros(0), empty
    key = np.zeros(n, dtype=np.int64)
    bounds = []
    for column in columns:
        low = int(column.min())
        size = int(column.max()) - low + 1
        key *= size
        key += column
        key -= low
        bounds.append((low, size))
    span = math.prod(size for _, size in bounds)
    if span <= 4 * n + 4096:  # dense: count by key directly
        counts = np.bincount(key, minlength=span)
        values = np.flatnonzero(counts)
        if weights is None:
            totals = counts[values]
        else:
            totals = np.bincount(key, weights=weights, minlength=span)[values]
        index = (np.cumsum(counts > 0) - 1)[key] if inverse else None
    else:
        values, index = np.unique(key, return_inverse=True)
        totals = np.bincount(index, weights=weights, minlength=len(values))
    out = []
    rest = values
    for low, size in reversed(bounds):
        out.append(rest % size + low)
        rest = rest // size
    return out[::-1], totals, index


@dataclass
class _View:
    """The deals known at one origin month, counted: what a fit needs."""

    month: int
    levels: list[str]
    g: np.ndarray  # group of each row of counts
    c: np.ndarray  # creation month
    e: np.ndarray  # last month observed: close month, or the origin month for open deals
    won: np.ndarray  # closed won by the origin
    lost: np.ndarray  # closed lost by the origin
    n: np.ndarray  # deals
    first_close: int  # first month with a recorded close
    won_g: np.ndarray  # group of each won deal with a positive amount
    won_amount: np.ndarray
    regions: list[str] | None
    region_table: np.ndarray | None  # deals by group and region


@dataclass
class PipelineCounts:
    """An export read once into what the forecast needs, at its origin and at earlier ones.

    Deals are counted by group, product, creation month, close month and status; the won amounts
    are kept; wins are summed by close month. From these counts, the pipeline as it stood at any
    earlier month-end (as :func:`asof.pipeline_as_of` rebuilds it: deals created by then; closes by
    then, later ones still open) is read month by month, so the forecaster's self-calibration and
    a back-test cost the same at any export size. Dates count by month: origins are month-ends.
    """

    group: str
    levels: list[str]
    products: list[str]
    # (6, rows): group, product, creation month, close month (-1: none), status (0 open,
    # 1 won, 2 lost), deals
    deals: np.ndarray
    won: (
        np.ndarray
    )  # (4, won deals with a positive amount, by group): group, product, created, closed
    won_amount: np.ndarray
    regions: list[str] | None
    region_deals: np.ndarray | None  # (4, rows): group, region, creation month, deals
    first_region_month: int  # first creation month of a deal with a region
    wins: np.ndarray  # (2, rows): creation month, close month of won deals
    win_counts: np.ndarray
    win_revenue: np.ndarray  # missing amounts count as 0
    all_wins: np.ndarray  # close months of wins of every row, with or without a creation date
    all_win_counts: np.ndarray
    all_win_revenue: np.ndarray
    # the forecaster's checks at earlier origins, by origin month and settings: the same for
    # every later origin, so a back-test makes each one once
    checks: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        group: str = "product",
        until: pd.Timestamp | str | None = None,
    ) -> PipelineCounts:
        """Count the deals of the canonical table ``frame`` created by ``until`` (default: all),
        with ``group`` the column whose levels get their own hazards."""
        created_dates = frame["created_date"]
        created = _month_index(created_dates)
        rows = created >= 0
        if until is not None:
            until = pd.Timestamp(until).normalize()
            month = int(until.year * 12 + until.month - 1)
            limit = np.datetime64(until + pd.Timedelta(days=1), "ns")
            rows &= (created_dates.to_numpy(dtype="datetime64[ns]") <= limit) & (created <= month)
        status = _status_codes(frame["status"])
        close = _month_index(frame["close_date"])
        amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
        wins = (status == 1) & (close >= 0)
        (all_wins,), all_win_counts, inverse = _tally(close[wins])
        all_win_revenue = np.bincount(
            inverse, weights=np.nan_to_num(amount[wins]), minlength=len(all_wins)
        )
        g, levels = _present_codes(frame, group, rows)
        p, products = (g, levels) if group == "product" else _present_codes(frame, "product", rows)
        if not rows.all():
            created, close, status, amount = created[rows], close[rows], status[rows], amount[rows]
        # an open deal's close date plays no part; no close date (-1) is counted next to the
        # earliest one, so the counts stay dense
        close = np.where(status > 0, close, -1)
        none = int(close[close >= 0].min()) - 1 if (close >= 0).any() else -1
        keys = [g] if group == "product" else [g, p]
        columns, counts, _ = _tally(
            *keys, created, np.where(close >= 0, close, none), status, inverse=False
        )
        if group == "product":
            columns.insert(1, columns[0])
        columns[3] = np.where(columns[3] == none, -1, columns[3])
        deals = np.vstack([*columns, counts.astype(np.int64)])
        positive = np.flatnonzero((status == 1) & (amount > 0))
        by_group = g[positive].astype(np.int16 if len(levels) < 2**15 else np.int64)
        positive = positive[np.argsort(by_group, kind="stable")]  # by group (a radix sort)
        won = np.vstack([g[positive], p[positive], created[positive], close[positive]])
        wins = (status == 1) & (close >= 0)
        (win_created, win_closed), win_counts, inverse = _tally(created[wins], close[wins])
        win_revenue = np.bincount(
            inverse, weights=np.nan_to_num(amount[wins]), minlength=len(win_counts)
        )
        regions, region_deals, first_region_month = None, None, np.iinfo(np.int64).max
        if "region" in frame:
            known = frame["region"].notna().to_numpy()[rows]
            if known.any():
                r, regions = _present_codes(frame, "region", rows)
                columns, counts, _ = _tally(g, r, created, inverse=False)
                region_deals = np.vstack([*columns, counts.astype(np.int64)])
                first_region_month = int(created[known].min())
        return cls(
            group=group,
            levels=levels,
            products=products,
            deals=deals,
            won=won,
            won_amount=amount[positive],
            regions=regions,
            region_deals=region_deals,
            first_region_month=first_region_month,
            wins=np.vstack([win_created, win_closed]),
            win_counts=win_counts,
            win_revenue=win_revenue,
            all_wins=all_wins,
            all_win_counts=all_win_counts,
            all_win_revenue=all_win_revenue,
        )

    def view(self, month: int, as_of: bool) -> _View:
        """The deals as known at the end of ``month``.

        ``as_of=False`` (the fit's own origin): every deal of the export counts with its status;
        ``as_of=True`` (earlier origins): deals closed after ``month`` (or without a close date)
        count as open, as in :func:`asof.pipeline_as_of`.
        """
        g, _, c, close, status, n = self.deals
        rows = c <= month
        g, c, close, status, n = g[rows], c[rows], close[rows], status[rows], n[rows]
        closed = status > 0
        if as_of:
            closed &= (close >= 0) & (close <= month)
        close_month = np.minimum(np.where(closed, close, month), month)
        first_close = int(close_month[closed].min()) if closed.any() else month
        present = np.zeros(len(self.levels), bool)
        present[g] = True
        remap = np.cumsum(present) - 1
        levels = [level for level, keep in zip(self.levels, present, strict=True) if keep]
        won_g, _, won_c, won_close = self.won
        keep = won_c <= month
        if as_of:
            keep &= (won_close >= 0) & (won_close <= month)
        regions, region_table = None, None
        if self.regions is not None and self.first_region_month <= month:
            rg, rr, rc, rn = self.region_deals
            inside = rc <= month
            table = np.zeros((len(self.levels), len(self.regions)))
            np.add.at(table, (rg[inside], rr[inside]), rn[inside])
            table = table[present]
            used = table.sum(axis=0) > 0
            regions = [region for region, keep in zip(self.regions, used, strict=True) if keep]
            region_table = table[:, used]
        return _View(
            month=month,
            levels=levels,
            g=remap[g],
            c=c,
            e=np.maximum(close_month, c),
            won=closed & (status == 1),
            lost=closed & (status == 2),
            n=n,
            first_close=first_close,
            won_g=remap[won_g[keep]],
            won_amount=self.won_amount[keep],
            regions=regions,
            region_table=region_table,
        )

    def outcomes(
        self, origin: pd.Timestamp | str | int, months: int, created_by: int | None = None
    ) -> dict[str, float]:
        """Deals won and revenue won in the ``months`` months after the month-end ``origin``, as
        :func:`asof.outcomes_after` counts them in the export (or, with ``created_by``, in the
        pipeline as it stood at the end of that month)."""
        month = _month_of(origin)
        if created_by is None:
            closed, counts, revenue = self.all_wins, self.all_win_counts, self.all_win_revenue
            inside = np.ones(len(closed), bool)
        else:
            (created, closed), counts, revenue = self.wins, self.win_counts, self.win_revenue
            inside = created <= created_by
        inside &= (closed > month) & (closed <= month + months)
        return {"count": float(counts[inside].sum()), "revenue": float(revenue[inside].sum())}

    def weighted_pipeline(self, origin: pd.Timestamp | str, horizon: int) -> dict[str, float]:
        """:func:`weighted_pipeline` of the pipeline as it stood at the month-end ``origin``:
        its open deals carry neither amount nor expected close date, so every one counts, at its
        product's mean won amount."""
        month = _month_of(origin)
        _, p, c, close, status, n = self.deals
        rows = c <= month
        closed = rows & (status > 0) & (close >= 0) & (close <= month)
        n_closed = float(n[closed].sum())
        rate = float(n[closed & (status == 1)].sum()) / n_closed if n_closed else 0.0
        open_ = rows & ~closed
        n_open = np.bincount(p[open_], weights=n[open_], minlength=len(self.products))
        _, won_p, won_c, won_close = self.won
        keep = (won_c <= month) & (won_close >= 0) & (won_close <= month)
        amount = self.won_amount[keep]
        sums = np.bincount(won_p[keep], weights=amount, minlength=len(self.products))
        wins = np.bincount(won_p[keep], minlength=len(self.products))
        overall = float(amount.mean()) if len(amount) else 0.0
        mean = np.divide(sums, wins, out=np.full(len(sums), overall), where=wins > 0)
        return {"count": rate * float(n_open.sum()), "revenue": rate * float(n_open @ mean)}

    def run_rate(
        self, origin: pd.Timestamp | str, horizon: int, months: int = 3
    ) -> dict[str, float]:
        """:func:`run_rate` of the pipeline as it stood at the month-end ``origin``."""
        month = _month_of(origin)
        (created, closed), counts, revenue = self.wins, self.win_counts, self.win_revenue
        inside = (created <= month) & (closed > month - months) & (closed <= month)
        return {
            "count": float(counts[inside].sum()) / months * horizon,
            "revenue": float(revenue[inside].sum()) / months * horizon,
        }

    def open_cells(self, month: int, max_age_months: int) -> _Cells:
        """The deals open at the end of ``month`` (amounts unknown then), by group (numbered as in
        ``view(month, as_of=True)``) and age in the month after."""
        return _open_cells(self.view(month, as_of=True), max_age_months)


def _open_cells(view: _View, max_age_months: int) -> _Cells:
    """The open deals of ``view`` (amounts unknown) by group and age in the month after."""
    open_ = ~(view.won | view.lost)
    age = np.minimum(np.maximum(view.month - view.c[open_], 0) + 1, max_age_months + 1)
    (g, age), n, _ = _tally(view.g[open_], age, weights=view.n[open_], inverse=False)
    return _Cells.of_counts(g, age, n)


def _month_of(origin: pd.Timestamp | str | int) -> int:
    if isinstance(origin, (int, np.integer)):
        return int(origin)
    origin = pd.Timestamp(origin)
    return int(origin.year * 12 + origin.month - 1)


def _present_codes(frame: pd.DataFrame, column: str, rows: np.ndarray):
    """Codes of ``column``'s labels over ``rows`` (all one label without the column), numbered
    over the labels that occur there."""
    if column not in frame:
        return np.zeros(int(rows.sum()), np.int64), [NONE_LABEL]
    codes, labels = _codes(frame[column])
    codes = codes if rows.all() else codes[rows]
    present = np.bincount(codes, minlength=len(labels)) > 0
    if present.all():
        return codes, labels
    remap = np.cumsum(present) - 1
    return remap[codes], [label for label, keep in zip(labels, present, strict=True) if keep]


@dataclass
class _Cells:
    """Open deals that share their closing probabilities and their amount model, simulated
    together: same hazard group, age, breakdown levels, and amount known or not."""

    g: np.ndarray  # hazard group (len(levels_): all-products hazards, for unseen levels)
    age: np.ndarray  # age in months in the first coming month, capped at max_age_months + 1
    n: np.ndarray  # deals
    known: np.ndarray  # amounts known (else drawn from won amounts)
    amounts: np.ndarray  # known amounts, cell after cell
    start: np.ndarray  # where each cell's amounts start in ``amounts``
    total: np.ndarray  # sum of the cell's known amounts
    var: np.ndarray  # their variance (population)
    labels: dict[str, tuple[np.ndarray, list[str]]]  # column -> (level of each cell, levels)

    @classmethod
    def of_counts(cls, g: np.ndarray, age: np.ndarray, n: np.ndarray) -> _Cells:
        """Cells of deals without known amounts and without a breakdown."""
        zeros = np.zeros(len(g))
        return cls(
            g=g,
            age=age,
            n=n.astype(np.int64),
            known=np.zeros(len(g), bool),
            amounts=np.zeros(0),
            start=np.zeros(len(g), np.int64),
            total=zeros,
            var=zeros,
            labels={},
        )


class PipelineForecaster:
    """Fit on the pipeline as known at an origin month-end; predict the coming months.

    ``won(t) ~ open deals x closing hazards(product, age, month-of-quarter) + new deals x hazards``,
    with Dirichlet hazards partially pooled over products and Gamma-Poisson arrivals.
    """

    def __init__(self, config: ForecastConfig | None = None):
        self.config = config or ForecastConfig()

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, origin: pd.Timestamp | str) -> PipelineForecaster:
        """Estimate hazards, arrivals and amounts from ``frame`` (all known by ``origin``).

        The export is read once into counts (:class:`PipelineCounts`); the fit and the
        self-calibration at earlier origins work on those counts.
        """
        cfg = self.config
        origin = pd.Timestamp(origin).normalize()
        counts = PipelineCounts.from_frame(frame, cfg.group, until=origin)
        self._fit_view(counts.view(_month_of(origin), as_of=False), origin)
        self.calibration_ = {}
        if cfg.calibration_origins > 0:
            self._calibrate(counts)
        return self

    def fit_as_of(self, counts: PipelineCounts, origin: pd.Timestamp | str) -> PipelineForecaster:
        """Fit on the pipeline as it stood at the month-end ``origin``, read from the counts of a
        later export: the same as ``fit(pipeline_as_of(frame, origin), origin)``, without
        rebuilding the table (a back-test counts the export once for all its origins)."""
        cfg = self.config
        origin = pd.Timestamp(origin).normalize()
        if origin != pd.Period(origin, "M").end_time.normalize():
            raise ValueError(f"origin {origin.date()} is not a month-end")
        if counts.group != cfg.group:
            raise ValueError(f"counts by {counts.group!r}, the forecaster groups by {cfg.group!r}")
        month = _month_of(origin)
        self._fit_view(counts.view(month, as_of=True), origin)
        self.calibration_ = {}
        if cfg.calibration_origins > 0:
            self._calibrate(counts, created_by=month)
        return self

    def predict_as_of(
        self,
        counts: PipelineCounts,
        horizons: tuple[int, ...] = (1, 2, 3),
        random_seed: int | None = None,
    ) -> ForecastResult:
        """:meth:`predict` for the deals open at the origin of :meth:`fit_as_of`, read from the
        same counts (totals only: no breakdown). The same draws as ``predict`` on the open deals
        of ``pipeline_as_of(frame, origin)`` with ``breakdown=()``."""
        cells = counts.open_cells(self.origin_month_, self.config.max_age_months)
        rng = np.random.default_rng(random_seed)
        return self._simulate(cells, tuple(horizons), rng, breakdown=())

    def _fit_view(self, view: _View, origin: pd.Timestamp) -> None:
        self.origin_ = origin
        self.origin_month_ = view.month
        self.levels_ = view.levels
        self.first_close_month_ = view.first_close
        self._fit_hazards(view)
        self._fit_arrivals(view)
        self._fit_amounts(view)
        self.n_deals_ = int(view.n.sum())

    def _fit_hazards(self, view: _View) -> None:
        cfg = self.config
        K = cfg.max_age_months + 1
        G = len(self.levels_)
        T = self.origin_month_
        start = self.first_close_month_
        # Deals created before outcomes were recorded count from the first recorded month on (left
        # truncation); skip_unrecorded_cohorts drops them instead, for exports where their early
        # closes were moved into the first recorded month.
        rows = view.c >= start if cfg.skip_unrecorded_cohorts else np.ones(len(view.c), bool)
        g, c, e, n = view.g[rows], view.c[rows], view.e[rows], view.n[rows].astype(float)
        won, lost = view.won[rows], view.lost[rows]
        M = T - start + 1
        # deal-months at risk by group, age, calendar month: each row is at risk from its creation
        # (or the first recorded month) to its close; months before records began are unobserved
        first = np.maximum(c, start)
        length = np.maximum(e - first + 1, 0)
        row = np.repeat(np.arange(len(c)), length)
        step = np.arange(len(row)) - np.repeat(np.cumsum(length) - length, length)
        months = first[row] + step
        ages = np.minimum(months - c[row], K - 1)
        at_risk = np.bincount(
            (g[row] * K + ages) * M + months - start, weights=n[row], minlength=G * K * M
        ).reshape(G, K, M)
        events = np.zeros((G, K, M, 2))  # won, lost
        for column, closed in enumerate((won & (length > 0), lost & (length > 0))):
            cell = (
                (g[closed] * K + np.minimum(e[closed] - c[closed], K - 1)) * M + e[closed] - start
            )
            events[..., column] = np.bincount(cell, weights=n[closed], minlength=G * K * M).reshape(
                G, K, M
            )
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

    def _fit_arrivals(self, view: _View) -> None:
        cfg = self.config
        T = self.origin_month_
        first = max(int(view.c.min()) if len(view.c) else T, T - cfg.arrival_window + 1)
        months = np.arange(first, T + 1)
        weights = 0.5 ** ((T - months) / cfg.arrival_half_life)
        G = len(self.levels_)
        counts = np.zeros((G, len(months)))
        recent = view.c >= first
        np.add.at(counts, (view.g[recent], view.c[recent] - first), view.n[recent])
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
        self.arrival_months_ = months

    def _fit_amounts(self, view: _View) -> None:
        # won amounts come by group
        ends = np.cumsum(np.bincount(view.won_g, minlength=len(self.levels_)))
        pieces = np.split(view.won_amount, ends[:-1])
        self.amounts_ = {gi: piece for gi, piece in enumerate(pieces) if len(piece)}
        self.all_amounts_ = view.won_amount
        self._pools = None
        # shares of the other grouping column (region) within each group, for the breakdown
        self.region_shares_ = None
        if view.regions is not None:
            self.regions_ = view.regions
            table = view.region_table + 0.5
            self.region_shares_ = table / table.sum(axis=1, keepdims=True)

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

    @staticmethod
    def _won_by(
        haz: np.ndarray, factor: np.ndarray, g: np.ndarray, age0: np.ndarray, first: int
    ) -> np.ndarray:
        """P(closed won by the end of each coming month), array (N, S, months).

        ``haz`` (S, G, K, 3); ``factor`` (S, months) for the months after the origin; deals of
        group ``g`` are aged ``age0`` in coming month ``first`` (0: the month after the origin) and
        cannot be won before it.
        """
        S, months = factor.shape
        K = haz.shape[2]
        out = np.zeros((len(g), S, months))
        alive = np.ones((S, len(g)))
        won = np.zeros((S, len(g)))
        for step in range(first, months):
            h = haz[:, g, np.minimum(age0 + step - first, K - 1), :]  # (S, N, 3)
            hl = h[..., 1]
            hw = np.minimum(h[..., 0] * factor[:, step, None], 1.0 - hl)
            won += alive * hw
            alive *= 1.0 - hw - hl
            out[:, :, step] = won.T
        return out

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

        Open deals are simulated by cell, not one by one: deals of one product, age, region and
        with or without a known amount share their chances of being won by each coming month, so
        per draw the numbers of a cell's deals won by month 1, 2, ... are drawn exactly: as
        ``k1 ~ Binomial(n, p1)``, then ``Binomial(n - k1, (p2 - p1) / (1 - p1))`` more in month 2,
        and so on (see :func:`_won_counts`). The revenue of the ``k`` deals won is the sum of their
        amounts: with known amounts, a uniformly random ``k``-subset of the cell's amounts (nested
        month after month); otherwise ``k`` draws from the won amounts, as for new deals. Up to
        ``EXACT_SUM_MAX`` (30) won deals, and in cells of up to 60 deals, these amounts are drawn
        one by one, so the sum is exact; beyond, the sum is drawn from a normal approximation with
        the exact mean and variance (for a subset of known amounts ``k * mean`` and
        ``k * var * (n - k) / (n - 1)``, the finite-population correction, clipped at 0 and at the
        cell's total). A sum of more than 30 deal amounts is close to normal, and totals add up
        many cells. The cost grows with the number of cells (products x ages x regions), not with
        the number of deals.
        """
        rng = np.random.default_rng(random_seed)
        cells = self._cells(open_deals, breakdown)
        return self._simulate(cells, tuple(horizons), rng, breakdown)

    def _cells(self, open_deals: pd.DataFrame | None, breakdown: tuple[str, ...]) -> _Cells:
        """Cells of ``open_deals``: group, age, whether the amount is known, and the region where
        the breakdown asks for it."""
        cfg = self.config
        if open_deals is None or not len(open_deals):
            return _Cells.of_counts(*(np.zeros(0, np.int64) for _ in range(3)))
        valid = open_deals["created_date"].notna().to_numpy()
        N = int(valid.sum())
        if cfg.group in open_deals:
            label, names = _codes(open_deals[cfg.group])
            label = label[valid]
        else:
            label, names = np.zeros(N, np.int64), [NONE_LABEL]
        level_index = {lv: i for i, lv in enumerate(self.levels_)}
        # a level never seen before uses the all-products hazards: an extra group
        group_of = np.array([level_index.get(name, len(self.levels_)) for name in names], np.int64)
        K = self.config.max_age_months + 1
        created = _month_index(open_deals["created_date"])[valid]
        age = np.minimum(np.maximum(self.origin_month_ - created, 0) + 1, K)
        amount = open_deals["amount"].to_numpy(dtype=float, na_value=np.nan)[valid]
        known = ~np.isnan(amount)
        columns = [label, age, known.astype(np.int64)]
        region_names = None
        if "region" in open_deals and "region" in breakdown:
            region, region_names = _codes(open_deals["region"])
            columns.append(region[valid])
        values, n, cell = _tally(*columns)
        cell_label, cell_age, cell_known = values[0], values[1], values[2].astype(bool)
        # known amounts, cell after cell
        order = np.argsort(cell[known], kind="stable")
        amounts = amount[known][order]
        n_known = np.where(cell_known, n, 0).astype(np.int64)
        start = np.cumsum(n_known) - n_known
        C = len(n)
        total = np.bincount(cell[known], weights=amount[known], minlength=C)
        mean = np.divide(total, n_known, out=np.zeros(C), where=n_known > 0)
        spread = (amount[known] - mean[cell[known]]) ** 2
        var = np.divide(
            np.bincount(cell[known], weights=spread, minlength=C),
            n_known,
            out=np.zeros(C),
            where=n_known > 0,
        )
        labels = {"product": _present(cell_label, names)} if "product" in breakdown else {}
        if region_names is not None:
            labels["region"] = _present(values[3], region_names)
        return _Cells(
            g=group_of[cell_label],
            age=cell_age,
            n=n.astype(np.int64),
            known=cell_known,
            amounts=amounts,
            start=start,
            total=total,
            var=var,
            labels=labels,
        )

    def _simulate(
        self,
        cells: _Cells,
        horizons: tuple[int, ...],
        rng: np.random.Generator,
        breakdown: tuple[str, ...],
    ) -> ForecastResult:
        """Draws of deals and revenue won from the open ``cells`` and from new deals."""
        cfg = self.config
        S = cfg.draws
        H = max(horizons)
        G = len(self.levels_)
        result = ForecastResult(origin=self.origin_, horizons=horizons)
        haz = self._hazard_draws(rng, S)
        season = self._month_factors(rng, S, H)
        if getattr(self, "_pools", None) is None:
            self._pools = _AmountPools(self)
        pools = self._pools

        # open deals: chances by (group, age) pair, counts and revenue by cell; arrays are
        # (cell, draw, month)
        C = len(cells.n)
        count_open = np.zeros((C, S, H), np.int64)
        revenue_open = np.zeros((C, S, H))
        if C:
            haz_open = haz
            if (cells.g >= G).any():
                pooled = self._pooled_draws(rng, S)[:, None, :, :]
                haz_open = np.concatenate([haz, pooled], axis=1)
            (pair_g, pair_age), _, pair = _tally(cells.g, cells.age)
            p = self._won_by(haz_open, season, pair_g, pair_age, 0)[pair]
            count_open, revenue_open = _open_wins(rng, cells, p, pools)

        # new deals: arrivals per group and month, then the same closing chances from age 0
        rate = rng.gamma(
            self.arrival_shape_[None, :], 1.0 / self.arrival_rate_[None, :], size=(S, G)
        )
        sd = self.arrival_sd_
        new_g, new_month, new_n, new_p = [], [], [], []
        for m_ahead in range(1, H + 1):
            effect = np.exp(rng.normal(-0.5 * sd * sd, sd, size=(S, 1)))
            arrivals = rng.poisson(rate * effect)  # (S, G)
            active = np.flatnonzero(arrivals.max(axis=0) > 0)
            if not len(active):
                continue
            new_g.append(active)
            new_month.append(np.full(len(active), m_ahead))
            new_n.append(arrivals[:, active].T)
            new_p.append(self._won_by(haz, season, active, np.zeros_like(active), m_ahead - 1))
        if new_g:
            new_g, new_month = np.concatenate(new_g), np.concatenate(new_month)
            count_new = _won_counts(rng, np.concatenate(new_n), np.concatenate(new_p))
            revenue_new = _drawn_revenue(rng, pools, new_g, [], count_new)
        else:
            new_g = new_month = np.zeros(0, np.int64)
            count_new = np.zeros((0, S, H), np.int64)
            revenue_new = np.zeros((0, S, H))

        for h in horizons:
            parts = {
                "open": (count_open[:, :, h - 1].astype(float), revenue_open[:, :, h - 1]),
                "new": (count_new[:, :, h - 1].astype(float), revenue_new[:, :, h - 1]),
            }
            for part, (count, revenue) in parts.items():
                result.draws[(h, "count", part)] = count.sum(axis=0)
                result.draws[(h, "revenue", part)] = revenue.sum(axis=0)
            count, revenue = parts["open"]
            for column in ("product", "region"):
                if column not in breakdown or column not in cells.labels:
                    continue
                level_of_cell, levels = cells.labels[column]
                for li, level in enumerate(levels):
                    rows = level_of_cell == li
                    result.by_group[(h, "count", column, str(level))] = count[rows].sum(axis=0)
                    result.by_group[(h, "revenue", column, str(level))] = revenue[rows].sum(axis=0)
            # new deals: by product where the group is the product; by region in proportion to
            # each group's region shares
            count, revenue = parts["new"]
            for j in np.flatnonzero(new_month <= h):
                gi = new_g[j]
                if "product" in breakdown and cfg.group == "product":
                    for target, values in (("count", count[j]), ("revenue", revenue[j])):
                        key = (h, target, "product", self.levels_[gi])
                        result.by_group[key] = result.by_group.get(key, np.zeros(S)) + values
                if "region" in breakdown and self.region_shares_ is not None:
                    shares = self.region_shares_[gi]
                    for ri, region in enumerate(self.regions_):
                        for target, values in (("count", count[j]), ("revenue", revenue[j])):
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
    def _calibrate(self, counts: PipelineCounts, created_by: int | None = None) -> None:
        """Measure this forecaster's own errors at earlier origins, using only data known now.

        At each of up to ``calibration_origins`` earlier month-ends the forecaster is refitted on
        the pipeline as it stood then and its median forecast compared with the outcome, where the
        window has ended by the current origin. The log errors give a bias (shrunk toward none)
        and an error spread beyond what the model itself predicts; :meth:`predict` widens and
        shifts its draws by them. This keeps intervals honest where the model's structure misses
        something the history shows (trends in win rates, capacity limits, data gaps).

        Each earlier pipeline is read from ``counts`` (as :func:`asof.pipeline_as_of` would
        rebuild it), so a check costs the same at any export size. ``created_by``: count outcomes
        only of deals created by that month (the export is a later one, seen as of the origin).
        """
        cfg = self.config
        H = cfg.calibration_horizon
        errors: dict[tuple[int, str], list[float]] = {}
        spreads: dict[tuple[int, str], list[float]] = {}
        inner_cfg = replace(cfg, calibration_origins=0, draws=400)
        for back in range(1, cfg.calibration_origins + 1):
            inner_month = self.origin_month_ - back
            if inner_month < self.first_close_month_ + cfg.calibration_min_history:
                break
            # each window's median and spread of log draws at that origin; windows that end
            # after this origin are not compared (their outcome is not known yet)
            key = (inner_month, inner_cfg)
            if key not in counts.checks:
                view = counts.view(inner_month, as_of=True)
                inner = PipelineForecaster(inner_cfg)
                inner._fit_view(view, (pd.Period(self.origin_, "M") - back).end_time.normalize())
                cells = _open_cells(view, cfg.max_age_months)
                rng = np.random.default_rng(inner_month)
                result = inner._simulate(cells, tuple(range(1, H + 1)), rng, breakdown=())
                counts.checks[key] = {
                    (h, target): (float(np.median(draws)), float(np.var(np.log(draws.clip(1e-9)))))
                    for (h, target, part), draws in result.draws.items()
                    if part == "total"
                }
            for h in range(1, min(H, back) + 1):
                actual = counts.outcomes(inner_month, h, created_by)
                for target in ("count", "revenue"):
                    median, spread = counts.checks[key][(h, target)]
                    if median <= 0 or actual[target] <= 0:
                        continue
                    errors.setdefault((h, target), []).append(np.log(actual[target] / median))
                    spreads.setdefault((h, target), []).append(spread)
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


def _present(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes renumbered over the names that occur, and those names."""
    used = np.unique(codes)
    renumber = np.zeros(len(names), np.int64)
    renumber[used] = np.arange(len(used))
    return renumber[codes], [names[i] for i in used]


def _open_wins(
    rng: np.random.Generator, cells: _Cells, p: np.ndarray, pools: _AmountPools
) -> tuple[np.ndarray, np.ndarray]:
    """Deals won and revenue won by the end of each coming month, (C, S, months) each, for
    open ``cells`` whose deals are won by the end of month ``m`` with chance ``p[..., m]``."""
    C, S, H = p.shape
    count = np.empty((C, S, H), np.int64)
    revenue = np.zeros((C, S, H))
    single = cells.n == 1  # one deal: won by month m when a uniform draw falls below p[m]
    if single.any():
        u = rng.random((int(single.sum()), S, 1))
        count[single] = u < p[single]
    many = np.flatnonzero(~single)
    if len(many):
        n = np.broadcast_to(cells.n[many, None], (len(many), S))
        count[many] = _won_counts(rng, n, p[many])
    known = np.flatnonzero(cells.known)
    if len(known):
        revenue[known] = _subset_sums(rng, cells, known, count[known])
    unknown = np.flatnonzero(~cells.known)
    if len(unknown):
        levels = [codes[unknown] for codes, _ in cells.labels.values()]
        revenue[unknown] = _drawn_revenue(rng, pools, cells.g[unknown], levels, count[unknown])
    return count, revenue


def _drawn_revenue(
    rng: np.random.Generator,
    pools: _AmountPools,
    g: np.ndarray,
    levels: list[np.ndarray],
    count: np.ndarray,
) -> np.ndarray:
    """Revenue won by the end of each coming month, (C, S, months), by cells of group ``g``
    whose ``count`` won deals draw their amounts from the won amounts.

    The amounts are independent draws from the group's won amounts, so the cells of one group
    and the same breakdown ``levels`` are summed together: the revenue of their wins is put on
    the first of them (the others get none), which leaves every total by level as it is.
    """
    merged = _tally(g, *levels)[2]
    first = np.unique(merged, return_index=True)[1]
    order = np.argsort(merged, kind="stable")
    starts = np.flatnonzero(np.diff(merged[order], prepend=-1))
    gained = np.diff(count, axis=2, prepend=0)
    together = np.add.reduceat(gained[order], starts, axis=0)
    revenue = np.zeros(count.shape)
    revenue[first] = pools.sums(rng, g[first], together).cumsum(axis=2)
    return revenue


def _won_counts(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Deals won by the end of each coming month, (C, S, months), of ``n`` (C, S) deals each
    won by the end of month ``m`` with chance ``p[..., m]`` (independently given the draw).

    Exact: the deals won by the last month are ``Binomial(n, p[-1])``; they are then split month
    by month, each won deal falling in month ``m`` with chance ``(p[m] - p[m - 1]) / p[-1]``
    (a binomial draw among those not yet placed, with the chance given not placed before). The
    same as drawing month by month among the deals not yet won, cheaper where few are won.
    """
    H = p.shape[-1]
    flat = p.reshape(-1, H)
    size = np.broadcast_to(n, p.shape[:-1]).reshape(-1)
    out = np.zeros(flat.shape, np.int64)
    last = flat[:, -1]
    live = np.flatnonzero((size > 0) & (last > 0))
    out[live, -1] = rng.binomial(size[live], np.minimum(last[live], 1.0))
    rows = live[out[live, -1] > 0]
    left = out[rows, -1].copy()
    won = np.zeros(len(rows), np.int64)
    previous = np.zeros(len(rows))
    for m in range(H - 1):
        current = flat[rows, m]
        share = np.divide(
            current - previous,
            last[rows] - previous,
            out=np.zeros(len(rows)),
            where=last[rows] > previous,
        )
        active = np.flatnonzero(left > 0)
        gained = rng.binomial(left[active], share[active].clip(0.0, 1.0))
        won[active] += gained
        left[active] -= gained
        out[rows, m] = won
        previous = current
    return out.reshape(p.shape)


class _AmountPools:
    """Amounts of deals whose amount is unknown (open deals without one, new deals): draws from
    the won amounts of their group, mixed with all groups' won amounts while the group has few
    wins (weight ``n / (n + amount_pooling)``)."""

    def __init__(self, forecaster: PipelineForecaster):
        G = len(forecaster.levels_) + 1  # and the all-products group of unseen levels
        everyone = forecaster.all_amounts_ if len(forecaster.all_amounts_) else np.array([0.0])
        own = [forecaster.amounts_.get(gi, np.zeros(0)) for gi in range(G)]
        self.values = np.concatenate([everyone, *own])
        self.size = np.array([len(a) for a in own], np.int64)
        self.start = len(everyone) + np.cumsum(self.size) - self.size
        self.everyone = len(everyone)
        self.weight = self.size / (self.size + forecaster.config.amount_pooling)
        # mean and variance of one draw from the mixture
        second = lambda a: float(np.mean(a**2)) if len(a) else 0.0  # noqa: E731
        own_mean = np.array([float(np.mean(a)) if len(a) else 0.0 for a in own])
        own_second = np.array([second(a) for a in own])
        self.mean = self.weight * own_mean + (1 - self.weight) * float(np.mean(everyone))
        moment = self.weight * own_second + (1 - self.weight) * second(everyone)
        self.var = np.maximum(moment - self.mean**2, 0.0)

    def sums(self, rng: np.random.Generator, g: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Sum of ``k[c, s, m]`` amount draws for cells of group ``g[c]``, same shape as ``k``:
        the draws one by one up to ``EXACT_SUM_MAX``, a normal approximation beyond."""
        flat = k.reshape(-1)
        group = np.broadcast_to(g[:, None, None], k.shape).reshape(-1)
        out = np.zeros(flat.shape)
        few = np.flatnonzero((flat > 0) & (flat <= EXACT_SUM_MAX))
        owner = np.repeat(few, flat[few])
        gi = group[owner]
        own = rng.random(len(owner)) < self.weight[gi]
        start = np.where(own, self.start[gi], 0)
        size = np.where(own, self.size[gi], self.everyone)
        pick = start + (rng.random(len(owner)) * size).astype(np.int64)
        out += np.bincount(owner, weights=self.values[pick], minlength=len(flat))
        many = np.flatnonzero(flat > EXACT_SUM_MAX)
        gi, n = group[many], flat[many]
        out[many] = np.maximum(rng.normal(n * self.mean[gi], np.sqrt(n * self.var[gi])), 0.0)
        return out.reshape(k.shape)


def _subset_sums(
    rng: np.random.Generator, cells: _Cells, which: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Revenue won by the end of each coming month, (C, S, months), for the cells at ``which``
    (with known amounts) of which ``counts`` deals are won: the sum over a uniformly random set of
    that many of the cell's amounts, the sets nested month after month.

    Up to ``EXACT_SUM_MAX`` won deals (or in cells of up to twice that many deals) the set is
    drawn exactly: by sequential selection over the cell's deals when the cell holds at most four
    times as many deals as are won (each deal in turn is won in month ``m`` with chance remaining
    wins of month ``m`` / remaining deals), otherwise by drawing deals at random and redrawing
    repeats. Beyond, the sums follow the normal approximation of sampling without replacement
    (mean ``k * mean``, variance ``k * var * (n - k) / (n - 1)``, month by month given the sum so
    far), clipped at 0 and at the cell's total.
    """
    C, S, H = counts.shape
    n = cells.n[which]
    start = cells.start[which]
    out = np.zeros((C * S, H))
    flat = counts.reshape(C * S, H)
    last = flat[:, -1]
    cell = np.repeat(np.arange(C), S)
    size = n[cell]
    # exact: up to EXACT_SUM_MAX won deals, and in cells of up to twice that many deals (where a
    # sum of most of the amounts is far from normal)
    few = (last > 0) & ((last <= EXACT_SUM_MAX) | (size <= 2 * EXACT_SUM_MAX))
    # cells not much larger than the wins: sequential selection
    rows = np.flatnonzero(few & (size <= 4 * last))
    if len(rows):
        c = cell[rows]
        out[rows] = _select(rng, cells.amounts, start[c], n[c], flat[rows])
    # larger cells: deals at random, repeats redrawn
    rows = np.flatnonzero(few & (size > 4 * last))
    if len(rows):
        c = cell[rows]
        out[rows] = _sample(rng, cells.amounts, start[c], n[c], flat[rows])
    # many won deals: normal approximation, month after month given the sum so far
    rows = np.flatnonzero((last > 0) & ~few)
    if len(rows):
        c = cell[rows]
        k, nn = flat[rows], n[c].astype(float)
        total, var = cells.total[which][c], cells.var[which][c]
        z = rng.standard_normal(k.shape)
        so_far = np.zeros(len(rows))
        before = np.zeros(len(rows))
        for m in range(H):
            gained = k[:, m] - before
            left = np.maximum(nn - before, 1.0)
            mean = gained * (total - so_far) / left
            spread = gained * var * nn * (left - gained) / ((nn - 1) * left)
            step = mean + np.sqrt(np.maximum(spread, 0.0)) * z[:, m]
            so_far = so_far + np.clip(step, 0.0, np.maximum(total - so_far, 0.0))
            out[rows, m] = so_far
            before = k[:, m]
    return out.reshape(C, S, H)


def _select(
    rng: np.random.Generator,
    amounts: np.ndarray,
    start: np.ndarray,
    n: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Exact nested subset sums by sequential selection, (P, months), for P (draw, cell) pairs:
    each of a cell's ``n`` deals in turn is won in month ``m`` with chance (deals still to be won
    in month ``m``) / (deals left), so every assignment with the given counts is equally likely."""
    P, H = counts.shape
    order = np.argsort(-n, kind="stable")
    n, start, counts = n[order], start[order], counts[order]
    remaining = np.diff(counts, axis=1, prepend=0)
    remaining = np.concatenate([remaining, (n - counts[:, -1])[:, None]], axis=1)
    revenue = np.zeros((P, H + 1))
    rows = np.arange(P)
    for i in range(int(n.max())):
        A = int(np.searchsorted(-n, -i, side="left"))  # pairs whose cell has more than i deals
        u = rng.random(A) * (n[:A] - i)
        month = (u[:, None] >= remaining[:A].cumsum(axis=1)).sum(axis=1)
        remaining[rows[:A], month] -= 1
        revenue[rows[:A], month] += amounts[start[:A] + i]
    out = np.empty((P, H))
    out[order] = revenue[:, :H].cumsum(axis=1)
    return out


def _sample(
    rng: np.random.Generator,
    amounts: np.ndarray,
    start: np.ndarray,
    n: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Exact nested subset sums, (P, months), for pairs whose cell holds over four times as many
    deals as are won: the won deals are drawn at random and any that repeats an earlier one is
    drawn again until all differ (each redraw repeats with chance under 1/4). The first
    ``counts[:, 0]`` are won in month 1, the next in month 2, and so on."""
    P, H = counts.shape
    out = np.zeros((P, H))
    last = counts[:, -1]
    for low, high in _batches(EXACT_SUM_MAX):  # batches of similar size, so little padding
        rows = np.flatnonzero((last > low) & (last <= high))
        if not len(rows):
            continue
        w = int(last[rows].max())
        slots = np.arange(w)[None, :]
        valid = slots < last[rows, None]
        draw = (rng.random((len(rows), w)) * n[rows, None]).astype(np.int64)
        draw = np.where(valid, draw, -1 - slots)  # distinct fillers never repeat
        todo = np.arange(len(rows))
        while len(todo) and w > 1:
            sub = draw[todo]
            order = np.argsort(sub, axis=1, kind="stable")
            ranked = np.take_along_axis(sub, order, axis=1)
            repeat = ranked[:, 1:] == ranked[:, :-1]
            if not repeat.any():
                break
            r, j = np.nonzero(repeat)
            slot = order[r, j + 1]  # the later of two equal draws
            draw[todo[r], slot] = (rng.random(len(r)) * n[rows[todo[r]]]).astype(np.int64)
            todo = todo[np.unique(r)]
        values = np.where(valid, amounts[start[rows, None] + np.maximum(draw, 0)], 0.0)
        cumulative = np.concatenate([np.zeros((len(rows), 1)), values.cumsum(axis=1)], axis=1)
        out[rows] = np.take_along_axis(cumulative, counts[rows], axis=1)
    return out


def _batches(top: int) -> list[tuple[int, int]]:
    """(low, high] ranges of sizes 1, 2, 3-4, 5-8, ... up to ``top``."""
    out, low, high = [], 0, 1
    while low < top:
        out.append((low, min(high, top)))
        low, high = high, high * 2
    return out


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
    return _weighted_pipelines(frame, origin, (horizon,))[horizon]


def _weighted_pipelines(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizons: tuple[int, ...]
) -> dict[int, dict]:
    """:func:`weighted_pipeline` for several windows, reading the table once."""
    origin = pd.Timestamp(origin).normalize()
    status = frame["status"]
    won = status.eq("won").to_numpy(dtype=bool, na_value=False)
    closed = won | status.eq("lost").to_numpy(dtype=bool, na_value=False)
    rate = float(won.sum() / closed.sum()) if closed.any() else 0.0
    open_ = status.eq("open").to_numpy(dtype=bool, na_value=False)
    amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    product, labels = _codes(frame["product"])
    # missing amounts take the product's mean won amount, else the mean of all won amounts
    positive = won & (amount > 0)
    sums = np.bincount(product[positive], weights=amount[positive], minlength=len(labels))
    wins = np.bincount(product[positive], minlength=len(labels))
    overall = float(amount[positive].mean()) if positive.any() else 0.0
    mean = np.divide(sums, wins, out=np.full(len(sums), overall), where=wins > 0)
    value = np.where(np.isnan(amount), mean[product], amount)
    close = frame["close_date"]
    undated = close.isna().to_numpy()
    out = {}
    for horizon in horizons:
        end_ts = (pd.Period(origin, "M") + horizon).end_time.normalize()
        in_window = open_ & (undated | (close <= end_ts).to_numpy(dtype=bool, na_value=False))
        out[horizon] = {
            "count": rate * int(in_window.sum()),
            "revenue": rate * float(value[in_window].sum()),
        }
    return out


def run_rate(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizon: int, months: int = 3
) -> dict:
    """Trailing run-rate: mean deals and revenue won per month over the last ``months`` months."""
    origin = pd.Timestamp(origin).normalize()
    start = (pd.Period(origin, "M") - months + 1).start_time
    close = frame["close_date"]
    won = (
        frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
        & (close >= start).to_numpy(dtype=bool, na_value=False)
        & (close <= origin).to_numpy(dtype=bool, na_value=False)
    )
    amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won]
    return {
        "count": int(won.sum()) / months * horizon,
        "revenue": float(np.nansum(amount)) / months * horizon,
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
    if cfg.group in deals:
        label, names = _codes(deals[cfg.group])
    else:
        label, names = np.zeros(len(deals), np.int64), [NONE_LABEL]
    # a level never seen before uses the all-products hazards
    group_of = np.array([level_index.get(name, len(forecaster.levels_)) for name in names])
    g = group_of[label] if len(names) else label
    rate = forecaster.alpha_ / forecaster.alpha_.sum(axis=2, keepdims=True)
    pooled = forecaster.pooled_rate_[None, ...]
    haz = np.concatenate([rate, pooled], axis=0)[None, ...]
    T = forecaster.origin_month_
    age = np.maximum(T - _month_index(deals["created_date"]), 0)
    # deals of one group and age share their chance: compute it once per pair
    K = haz.shape[2]
    (pair_g, pair_age), _, pair = _tally(g, np.minimum(age + 1, K))
    chance = forecaster._won_by(haz, np.ones((1, horizon)), pair_g, pair_age, 0)[:, 0, -1]
    out = deals[["opportunity_id", "product", "region", "owner", "stage", "amount"]].copy()
    out["age_months"] = age
    out[f"p_won_{horizon}m"] = chance[pair] if len(pair) else np.zeros(0)
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
    close = frame["close_date"]
    won = (
        frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
        & (close >= q_start).to_numpy(dtype=bool, na_value=False)
        & (close <= origin).to_numpy(dtype=bool, na_value=False)
    )
    if remaining in result.horizons:
        windows.append(
            (
                f"quarter {quarter} (incl. won so far)",
                remaining,
                float(won.sum()),
                float(np.nansum(frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won])),
            )
        )
    pipelines = _weighted_pipelines(frame, origin, tuple(h for _, h, _, _ in windows))
    for label, h, won_count, won_revenue in windows:
        wp = pipelines[h]
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
    won = frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
    start = pd.Period(origin, "M") - months_back + 1
    month = _month_index(frame["close_date"])[won] - _month_of(start.start_time)
    inside = (month >= 0) & (month < months_back)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won][inside]
    weights = np.nan_to_num(amounts) if target == "revenue" else None
    history = np.bincount(month[inside], weights=weights, minlength=months_back)
    shown = pd.period_range(start, periods=months_back, freq="M").to_timestamp()
    ax.plot(shown, history, "o-", color="#1f2933", label="won")
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
