"""The coming window and what it brings: its months, and draws of deals and revenue won in each.

A :class:`WindowOutlook` holds, per part (open deals, open leads, new leads) and metric (``count``,
``revenue``), draws x months; its table gives each part's expected value and the total's median
with the planner's interval (:data:`~pipeline_models.analyses.policy.FORECAST_QUANTILES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline_models.analyses.policy import FORECAST_QUANTILES
from pipeline_models.models.funnel.deal_flow import month_days


def window_days(as_of: pd.Timestamp, horizon_months: int) -> np.ndarray:
    """Days from ``as_of`` to the end of each coming month: ``[0, x_1, ..., x_H]`` (the funnel's
    :func:`~pipeline_models.models.funnel.deal_flow.month_days`)."""
    return month_days(as_of, horizon_months)


def window_months(as_of: pd.Timestamp, horizon_months: int) -> list[str]:
    """The coming months after ``as_of`` (YYYY-MM)."""
    month = pd.Period(as_of, "M")
    return [str(month + m) for m in range(1, horizon_months + 1)]


def _column(values: np.ndarray, i: int) -> np.ndarray:
    """Month ``i`` of (draws, months) values; ``i == months``: the whole window."""
    return values[:, i] if i < values.shape[1] else values.sum(axis=1)


@dataclass
class WindowOutlook:
    """Draws of deals and revenue won per coming month, by part (open deals, open leads, new)."""

    months: list[str]
    parts: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict
    )  # part -> metric -> (D, H)

    def total(self, metric: str = "count", parts: tuple[str, ...] | None = None) -> np.ndarray:
        """Draws x months of ``metric`` summed over ``parts`` (default: all)."""
        names = parts or tuple(self.parts)
        return sum(self.parts[p][metric] for p in names)

    def table(self, metric: str = "count") -> pd.DataFrame:
        """Per month and for the whole window: expected value per part, and the total's median
        with the planner's interval (``low``, ``high``)."""
        rows = []
        labels = [*self.months, f"{self.months[0]}..{self.months[-1]}"]
        total = self.total(metric)
        for i, label in enumerate(labels):
            row = {"month": label}
            for part, metrics in self.parts.items():
                row[part] = float(_column(metrics[metric], i).mean())
            t = _column(total, i)
            low, median, high = np.quantile(t, FORECAST_QUANTILES)
            row.update(
                expected=float(t.mean()), low=float(low), median=float(median), high=float(high)
            )
            rows.append(row)
        return pd.DataFrame(rows)


__all__ = ["WindowOutlook", "window_days", "window_months"]
