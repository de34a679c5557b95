"""A fit's won paths on their distinct lags, with each source's pooled weights and amounts.

A won path is a won deal with its lead: the lead -> opportunity lag, the lead -> won lag and the
deal's amount. The planner places a new or open lead's win where these paths put it.
"""

from __future__ import annotations

import numpy as np

from pipeline_models.models.funnel.groups import codes, groups
from pipeline_models.models.funnel.model import LeadFunnelModel


class WonPaths:
    """A fit's won paths on their distinct ``(lag1, lag_total)`` pairs: for each source the pooled
    weights that :meth:`LeadFunnelModel.won_paths` gives path by path, summed per pair, and the
    weighted sums of amounts and squared amounts (``weight``, ``amount``, ``amount2``: sources x
    pairs)."""

    def __init__(self, model: LeadFunnelModel):
        paths = model.paths_
        n_src = len(model.sources_)
        source = codes(paths["source"], model.sources_)
        own = source >= 0
        self.n_own = np.bincount(source[own], minlength=n_src)
        if not len(paths):
            self.lag1 = self.lag_total = np.zeros(0)
            self.weight = self.amount = self.amount2 = np.zeros((n_src, 0))
            return
        lag1, lag_total = paths["lag1"].to_numpy(float), paths["lag_total"].to_numpy(float)
        first, position = groups(lag1, lag_total)
        self.lag1, self.lag_total = lag1[first], lag_total[first]
        n_pairs = len(first)
        weight = paths["weight"].to_numpy(float)
        amount = paths["amount"].to_numpy(float)
        share = self.n_own / (self.n_own + model.funnel_config.lag_pooling)

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


__all__ = ["WonPaths"]
