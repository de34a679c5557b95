"""Scores of predicted win probabilities against what happened (1 won, 0 lost).

- :func:`log_loss`: mean negative log-likelihood of the outcomes; punishes a confident wrong
  prediction hardest. Lower is better; always predicting the base rate ``r`` scores the outcome
  entropy ``-(r log r + (1 - r) log(1 - r))``.
- :func:`brier`: mean squared difference between probability and outcome; like log loss it rewards
  both calibration and sharpness, but it is bounded, so one confident miss cannot dominate it.
- :func:`reliability`: predicted against observed win rate in equal-width bins of predicted
  probability: the table behind a reliability diagram.
- :func:`ece`: expected calibration error, the deals-weighted mean gap between predicted and observed
  win rate over those bins. It measures calibration only: a constant prediction at the base rate has
  none.
- :func:`auc`: area under the ROC curve, the chance that a won deal is ranked above a lost one (ties
  count half). It measures ranking only and ignores calibration: 0.5 is no better than chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["auc", "brier", "ece", "log_loss", "reliability"]

LOG_LOSS_EPS = 1e-6
"""Probabilities are kept this far from 0 and 1 so that one certain miss costs about 14 nats, not
an infinite score."""


def _pair(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if p.shape != y.shape:
        raise ValueError(f"predictions of shape {p.shape} for outcomes of shape {y.shape}")
    return p, y


def log_loss(p: np.ndarray, y: np.ndarray, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood (nats) of outcomes ``y`` under win probabilities ``p``.

    ``p`` is clipped to ``[eps, 1 - eps]`` first.
    """
    p, y = _pair(p, y)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared difference between win probabilities ``p`` and outcomes ``y``."""
    p, y = _pair(p, y)
    return float(np.mean((p - y) ** 2))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed win rate in ``bins`` equal-width bins of predicted probability.

    Returns
    -------
    pandas.DataFrame
        One row per bin holding at least one deal, in order: ``bin_low``, ``bin_high``,
        ``deals``, ``mean_predicted``, ``observed_rate``. A probability of exactly 1 falls in
        the last bin, so the deals sum to the number of predictions.
    """
    p, y = _pair(p, y)
    which = np.minimum((p * bins).astype(int), bins - 1)
    table = (
        pd.DataFrame({"bin": which, "p": p, "y": y})
        .groupby("bin")
        .agg(deals=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    )
    table.insert(0, "bin_high", (table.index + 1) / bins)
    table.insert(0, "bin_low", table.index / bins)
    return table.reset_index(drop=True)


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: deals-weighted mean |predicted - observed| over the bins."""
    table = reliability(p, y, bins)
    weights = table["deals"] / table["deals"].sum()
    return float((weights * (table["mean_predicted"] - table["observed_rate"]).abs()).sum())


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve by the rank (Mann-Whitney) formula, ties given average ranks.

    NaN when the outcomes hold only won or only lost deals.
    """
    p, y = _pair(p, y)
    won = y == 1
    n_won, n_lost = int(won.sum()), int((~won).sum())
    if n_won == 0 or n_lost == 0:
        return float("nan")
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[won].sum() - n_won * (n_won + 1) / 2) / (n_won * n_lost))
