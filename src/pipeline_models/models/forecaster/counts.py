"""An export read once into counts of deals, and the pipeline as it stood at any month-end.

Deals are counted by group, product, creation month, close month and status; the won amounts
are kept; wins are summed by close month. From these counts, the pipeline as it stood at any
earlier month-end (as :func:`~pipeline_models.data.asof.pipeline_as_of` rebuilds it: deals
created by then; closes by then, later ones still open) is read month by month (a
:class:`DealView`), so the forecaster's self-calibration and a back-test cost the same at any
export size. Dates count by month: origins are month-ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline_models.models.forecaster.cells import OpenCells
from pipeline_models.models.forecaster.codes import (
    month_index,
    month_of,
    present_codes,
    status_codes,
    tally,
)


@dataclass
class DealView:
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
    """An export read once into what the forecast needs, at its origin and at earlier ones
    (:meth:`view`), with the outcomes and baselines of any month-end read from the same counts."""

    group: str
    levels: list[str]
    products: list[str]
    # (6, rows): group, product, creation month, close month (-1: none), status (0 open,
    # 1 won, 2 lost), deals
    deals: np.ndarray
    # (4, won deals with a positive amount, by group): group, product, created, closed
    won: np.ndarray
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
        created = month_index(frame["created_date"])
        rows = _created_by(frame["created_date"], created, until)
        status = status_codes(frame["status"])
        close = month_index(frame["close_date"])
        amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
        (all_wins,), all_win_counts, all_win_revenue = _won_tally(status, amount, close)
        g, levels = present_codes(frame, group, rows)
        p, products = (g, levels) if group == "product" else present_codes(frame, "product", rows)
        if not rows.all():
            created, close, status, amount = created[rows], close[rows], status[rows], amount[rows]
        # an open deal's close date plays no part
        close = np.where(status > 0, close, -1)
        deals = _deal_table(g, p, created, close, status, by_product=group == "product")
        won, won_amount = _positive_wins(g, p, created, close, status, amount, len(levels))
        (win_created, win_closed), win_counts, win_revenue = _won_tally(
            status, amount, created, close
        )
        regions, region_deals, first_region_month = _region_table(frame, rows, g, created)
        return cls(
            group=group,
            levels=levels,
            products=products,
            deals=deals,
            won=won,
            won_amount=won_amount,
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

    def view(self, month: int, as_of: bool) -> DealView:
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
        regions, region_table = self._regions_at(month, present)
        return DealView(
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

    def _regions_at(
        self, month: int, present: np.ndarray
    ) -> tuple[list[str] | None, np.ndarray | None]:
        """The regions of deals created by ``month`` and their deals by (present) group."""
        if self.regions is None or self.first_region_month > month:
            return None, None
        rg, rr, rc, rn = self.region_deals
        inside = rc <= month
        table = np.zeros((len(self.levels), len(self.regions)))
        np.add.at(table, (rg[inside], rr[inside]), rn[inside])
        table = table[present]
        used = table.sum(axis=0) > 0
        regions = [region for region, keep in zip(self.regions, used, strict=True) if keep]
        return regions, table[:, used]

    def outcomes(
        self,
        origin: pd.Timestamp | str | int,
        months: int,
        created_by: int | None = None,
        part: str = "total",
    ) -> dict[str, float]:
        """Deals won and revenue won in the ``months`` months after the month-end ``origin``, as
        :func:`asof.outcomes_after` counts them in the export (or, with ``created_by``, in the
        pipeline as it stood at the end of that month). ``part``: ``total``, or only the deals
        created by the origin (``open``) or after it (``new``; both count dated deals only)."""
        month = month_of(origin)
        if created_by is None and part == "total":
            closed, counts, revenue = self.all_wins, self.all_win_counts, self.all_win_revenue
            inside = np.ones(len(closed), bool)
        else:
            (created, closed), counts, revenue = self.wins, self.win_counts, self.win_revenue
            inside = created <= (created_by if created_by is not None else np.inf)
            if part != "total":
                inside &= (created <= month) if part == "open" else (created > month)
        inside &= (closed > month) & (closed <= month + months)
        return {"count": float(counts[inside].sum()), "revenue": float(revenue[inside].sum())}

    def created_after(self, month: int, months: int) -> np.ndarray:
        """Deals created in each of the ``months`` months after ``month``, by group: (groups,
        months), whatever became of them."""
        g, c, n = self.deals[0], self.deals[2], self.deals[5]
        inside = (c > month) & (c <= month + months)
        cell = g[inside] * months + (c[inside] - month - 1)
        flat = np.bincount(cell, weights=n[inside], minlength=len(self.levels) * months)
        return np.rint(flat).astype(np.int64).reshape(len(self.levels), months)

    def weighted_pipeline(self, origin: pd.Timestamp | str, horizon: int) -> dict[str, float]:
        """The weighted pipeline (:func:`~pipeline_models.analyses.forecast.baselines.
        weighted_pipeline`) of the pipeline as it stood at the month-end ``origin``: its open
        deals carry neither amount nor expected close date, so every one counts, at its product's
        mean won amount."""
        month = month_of(origin)
        _, p, c, close, status, n = self.deals
        rows = c <= month
        closed = rows & (status > 0) & (close >= 0) & (close <= month)
        n_closed = float(n[closed].sum())
        rate = float(n[closed & (status == 1)].sum()) / n_closed if n_closed else 0.0
        open_ = rows & ~closed
        n_open = np.bincount(p[open_], weights=n[open_], minlength=len(self.products))
        mean = self._mean_won_amounts(month)
        return {"count": rate * float(n_open.sum()), "revenue": rate * float(n_open @ mean)}

    def cure_weighted_pipeline(
        self, origin: pd.Timestamp | str, horizon: int, max_age: int = 24
    ) -> dict[str, float]:
        """A plain cure-aware weighted pipeline at the month-end ``origin``: each deal open then
        counts with the share of deals of its age (months since creation, older than ``max_age``
        together) that were won within the next ``horizon`` months, among the deals open at that
        age at earlier month-ends whose window had ended by the origin. No model, no pooling: an
        old deal counts as little as old deals turned out to be worth. Revenue at its product's
        mean won amount, as :meth:`weighted_pipeline`."""
        month = month_of(origin)
        _, p, c, close, status, n = self.deals
        known = c <= month
        p, c, close, status, n = p[known], c[known], close[known], status[known], n[known]
        opened = np.zeros(max_age + 1)
        won = np.zeros(max_age + 1)
        first = int(c.min()) if len(c) else month
        for t in range(first, month - horizon + 1):
            at_t = (c <= t) & ((close < 0) | (close > t))
            age = np.minimum(t - c[at_t], max_age)
            opened += np.bincount(age, weights=n[at_t], minlength=max_age + 1)
            hit = (status[at_t] == 1) & (close[at_t] > t) & (close[at_t] <= t + horizon)
            won += np.bincount(age[hit], weights=n[at_t][hit], minlength=max_age + 1)
        rate = np.divide(won, opened, out=np.zeros_like(won), where=opened > 0)
        now = (close < 0) | (close > month)
        weight = rate[np.minimum(month - c[now], max_age)] * n[now]
        mean = self._mean_won_amounts(month)
        return {"count": float(weight.sum()), "revenue": float(weight @ mean[p[now]])}

    def _mean_won_amounts(self, month: int) -> np.ndarray:
        """Each product's mean won amount of deals closed by ``month`` (all products' mean where
        a product has none)."""
        _, won_p, won_c, won_close = self.won
        keep = (won_c <= month) & (won_close >= 0) & (won_close <= month)
        amount = self.won_amount[keep]
        sums = np.bincount(won_p[keep], weights=amount, minlength=len(self.products))
        wins = np.bincount(won_p[keep], minlength=len(self.products))
        overall = float(amount.mean()) if len(amount) else 0.0
        return np.divide(sums, wins, out=np.full(len(sums), overall), where=wins > 0)

    def run_rate(
        self, origin: pd.Timestamp | str, horizon: int, months: int = 3
    ) -> dict[str, float]:
        """The trailing run-rate (:func:`~pipeline_models.analyses.forecast.window.run_rate`) of
        the pipeline as it stood at the month-end ``origin``."""
        month = month_of(origin)
        (created, closed), counts, revenue = self.wins, self.win_counts, self.win_revenue
        inside = (created <= month) & (closed > month - months) & (closed <= month)
        return {
            "count": float(counts[inside].sum()) / months * horizon,
            "revenue": float(revenue[inside].sum()) / months * horizon,
        }

    def open_cells(self, month: int, max_age_months: int) -> OpenCells:
        """The deals open at the end of ``month`` (amounts unknown then), by group (numbered as in
        ``view(month, as_of=True)``) and age in the month after."""
        return view_cells(self.view(month, as_of=True), max_age_months)


def view_cells(view: DealView, max_age_months: int) -> OpenCells:
    """The open deals of ``view`` (amounts unknown) by group and age in the month after."""
    open_ = ~(view.won | view.lost)
    age = np.minimum(np.maximum(view.month - view.c[open_], 0) + 1, max_age_months + 1)
    (g, age), n, _ = tally(view.g[open_], age, weights=view.n[open_], inverse=False)
    return OpenCells.of_counts(g, age, n)


def _created_by(
    created_dates: pd.Series, created: np.ndarray, until: pd.Timestamp | str | None
) -> np.ndarray:
    """Rows with a creation date, created by the end of day ``until`` (any day without it)."""
    rows = created >= 0
    if until is not None:
        until = pd.Timestamp(until).normalize()
        month = int(until.year * 12 + until.month - 1)
        limit = np.datetime64(until + pd.Timedelta(days=1), "ns")
        rows &= (created_dates.to_numpy(dtype="datetime64[ns]") <= limit) & (created <= month)
    return rows


def _won_tally(
    status: np.ndarray, amount: np.ndarray, *months: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Won deals with a close month (the last of ``months``) by distinct ``months``: the months,
    the deals and their revenue (a missing amount counts as 0)."""
    wins = (status == 1) & (months[-1] >= 0)
    values, counts, inverse = tally(*(m[wins] for m in months))
    revenue = np.bincount(inverse, weights=np.nan_to_num(amount[wins]), minlength=len(counts))
    return values, counts, revenue


def _deal_table(
    g: np.ndarray,
    p: np.ndarray,
    created: np.ndarray,
    close: np.ndarray,
    status: np.ndarray,
    by_product: bool,
) -> np.ndarray:
    """Deals by group, product, creation month, close month (-1: none) and status, (6, rows)."""
    # no close date (-1) is counted next to the earliest one, so the counts stay dense
    none = int(close[close >= 0].min()) - 1 if (close >= 0).any() else -1
    keys = [g] if by_product else [g, p]
    columns, counts, _ = tally(
        *keys, created, np.where(close >= 0, close, none), status, inverse=False
    )
    if by_product:
        columns.insert(1, columns[0])
    columns[3] = np.where(columns[3] == none, -1, columns[3])
    return np.vstack([*columns, counts.astype(np.int64)])


def _positive_wins(
    g: np.ndarray,
    p: np.ndarray,
    created: np.ndarray,
    close: np.ndarray,
    status: np.ndarray,
    amount: np.ndarray,
    n_levels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Won deals with a positive amount, ordered by group: (4, deals) of group, product,
    creation and close month, and their amounts."""
    positive = np.flatnonzero((status == 1) & (amount > 0))
    by_group = g[positive].astype(np.int16 if n_levels < 2**15 else np.int64)
    positive = positive[np.argsort(by_group, kind="stable")]  # by group (a radix sort)
    won = np.vstack([g[positive], p[positive], created[positive], close[positive]])
    return won, amount[positive]


def _region_table(
    frame: pd.DataFrame, rows: np.ndarray, g: np.ndarray, created: np.ndarray
) -> tuple[list[str] | None, np.ndarray | None, int]:
    """Regions, deals by group, region and creation month (4, rows), and the first creation
    month of a deal with a region; ``None`` where no deal has one."""
    regions, region_deals, first_region_month = None, None, np.iinfo(np.int64).max
    if "region" in frame:
        known = frame["region"].notna().to_numpy()[rows]
        if known.any():
            r, regions = present_codes(frame, "region", rows)
            columns, counts, _ = tally(g, r, created, inverse=False)
            region_deals = np.vstack([*columns, counts.astype(np.int64)])
            first_region_month = int(created[known].min())
    return regions, region_deals, first_region_month


__all__ = ["DealView", "PipelineCounts", "view_cells"]
