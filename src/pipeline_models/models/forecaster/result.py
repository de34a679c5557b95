"""A forecast as draws: deals won and revenue won per window, in total, by source and by group.

A predictive distribution is summarised by the quantile columns of the back-test file format
(:data:`QUANTILES`), so a forecast and its track record read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
"""Quantile levels stored for every predictive distribution (the back-test file's columns)."""

QUANTILE_COLUMNS = tuple(f"q{int(round(q * 100)):02d}" for q in QUANTILES)
"""Names of the stored quantiles: ``q05`` ... ``q95``."""


def quantile_row(draws: np.ndarray) -> dict[str, float]:
    """The quantile columns of one predictive distribution given as draws."""
    values = np.quantile(np.asarray(draws, dtype=float), QUANTILES)
    return dict(zip(QUANTILE_COLUMNS, values.tolist(), strict=True))


def window_label(origin: pd.Timestamp, horizon: int) -> str:
    """The months of the window of ``horizon`` months after ``origin``: ``2026-11`` or
    ``2026-11..2027-01``."""
    start = pd.Period(origin, "M") + 1
    end = pd.Period(origin, "M") + horizon
    return f"{start}" if horizon == 1 else f"{start}..{end}"


@dataclass
class ForecastResult:
    """Draws of deals won and revenue won per window, in total, by source and by group."""

    origin: pd.Timestamp
    horizons: tuple[int, ...]
    draws: dict = field(default_factory=dict)  # (horizon, target, part) -> np.ndarray of draws
    by_group: dict = field(default_factory=dict)  # (horizon, target, column, level) -> draws

    def summary(self, target_revenue: float | None = None) -> pd.DataFrame:
        """Mean and the stored quantiles per horizon, target and part (total / open / new)."""
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
        """Mean and the stored quantiles per level of ``column`` (largest mean first)."""
        rows = []
        for (h, t, c, level), values in self.by_group.items():
            if (h, t, c) == (horizon, target, column):
                rows.append({column: level, "mean": float(np.mean(values)), **quantile_row(values)})
        return pd.DataFrame(rows).sort_values("mean", ascending=False).reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The forecast as a table, one row per window, target and part (``level`` empty) or
        level of a breakdown column, its draws in ``values``: what :meth:`from_frame` reads."""
        rows = [
            {"horizon": h, "target": t, "part": p, "level": None, "values": v}
            for (h, t, p), v in self.draws.items()
        ] + [
            {"horizon": h, "target": t, "part": c, "level": str(level), "values": v}
            for (h, t, c, level), v in self.by_group.items()
        ]
        out = pd.DataFrame(rows, columns=["horizon", "target", "part", "level", "values"])
        out["values"] = [np.asarray(v, dtype=float).tolist() for v in out["values"]]
        out["origin"] = self.origin
        out["horizons"] = ",".join(str(h) for h in self.horizons)
        return out

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ForecastResult:
        """The forecast :meth:`to_frame` wrote (the draws as float arrays)."""
        result = cls(
            origin=pd.Timestamp(frame["origin"].iloc[0]),
            horizons=tuple(int(h) for h in str(frame["horizons"].iloc[0]).split(",")),
        )
        for h, t, p, level, values in frame[
            ["horizon", "target", "part", "level", "values"]
        ].itertuples(index=False):
            drawn = np.asarray(values, dtype=float)
            if pd.isna(level):
                result.draws[(int(h), t, p)] = drawn
            else:
                result.by_group[(int(h), t, p, level)] = drawn
        return result


__all__ = ["QUANTILES", "QUANTILE_COLUMNS", "ForecastResult", "quantile_row", "window_label"]
