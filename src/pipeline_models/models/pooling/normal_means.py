"""Normal-normal partial pooling of group means (empirical Bayes).

``y_ij ~ Normal(u_j, s^2)``, ``u_j ~ Normal(m, tau^2)``: ``s^2`` is the pooled within-group
variance, ``m`` the weighted grand mean, ``tau^2`` the DerSimonian-Laird moment estimate

    tau^2 = max((Q - (J - 1)) / (sum w - sum w^2 / sum w), 0),  w_j = n_j / s^2,
    Q = sum_j w_j (ybar_j - m)^2,

(floored at 0: then every group pools to ``m``). Each group's posterior is normal with variance
``1 / (1 / tau^2 + n_j / s^2)`` and mean ``var * (m / tau^2 + n_j ybar_j / s^2)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _between_variance(n: np.ndarray, ybar: np.ndarray, within: float, grand: float) -> float:
    """DerSimonian-Laird estimate of ``tau^2`` from the groups holding values."""
    if len(n) < 2:
        return 0.0
    w = n / within
    q = float(np.sum(w * (ybar - grand) ** 2))
    return max((q - (len(n) - 1)) / (w.sum() - np.sum(w**2) / w.sum()), 0.0)


def normal_means(values: pd.Series, groups: pd.Series, levels: Sequence[str]) -> pd.DataFrame:
    """Pooled mean of each level of ``groups``; a level without values gets the prior.

    Parameters
    ----------
    values
        One value per observation.
    groups
        The level of each observation (aligned with ``values``).
    levels
        Every level to report, in order.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``levels``: ``n, observed, mean, sd`` (posterior of ``u_j``).
    """
    g = pd.Series(np.asarray(groups, dtype=object), index=values.index)
    agg = values.groupby(g).agg(["size", "mean"]).reindex(list(levels))
    n = agg["size"].fillna(0).to_numpy(dtype=float)
    ybar = agg["mean"].to_numpy(dtype=float)
    has = n > 0
    if not has.any():
        return pd.DataFrame(
            {"n": n, "observed": ybar, "mean": 0.0, "sd": 0.0}, index=pd.Index(list(levels))
        )
    resid = values.to_numpy() - values.groupby(g).transform("mean").to_numpy()
    dof = max(len(values) - int(has.sum()), 1)
    within = max(float(np.sum(resid**2) / dof), 1e-12) if len(values) > 1 else 1.0
    grand = float(np.average(ybar[has], weights=n[has]))
    tau2 = _between_variance(n[has], ybar[has], within, grand)
    if tau2 <= 0:
        mean = np.full(len(n), grand)
        sd = np.zeros(len(n))
    else:
        var = 1 / (1 / tau2 + n / within)
        mean = var * (grand / tau2 + n * np.nan_to_num(ybar) / within)
        sd = np.sqrt(var)
    return pd.DataFrame(
        {"n": n.astype(int), "observed": ybar, "mean": mean, "sd": sd}, index=pd.Index(list(levels))
    )


__all__ = ["normal_means"]
