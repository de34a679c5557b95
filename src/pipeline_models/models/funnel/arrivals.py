"""Leads not yet created: new leads per source and month, Gamma-Poisson, following recent volume.

New leads of source ``s`` arrive at a Poisson rate with a Gamma posterior fitted to the complete
months up to the fit's date, recency-weighted (half-life ``arrival_half_life`` months over the last
``arrival_window``), as the forecaster's new deals::

    rate[s] ~ Gamma(0.5 + sum_m w_m n[s, m], 0.001 + sum_m w_m),   w_m = 0.5 ** (age_m / half-life)

The months vary together beyond Poisson noise (a campaign, a holiday): a shared mean-one
log-normal month factor whose log-sd is measured from the monthly totals and blended with a
default (:mod:`~pipeline_models.models.forecaster.month_effect`). A level shift in volume shows as
months that disagree with the weighted level, which widens that factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.models.forecaster.arrivals import recent_rates
from pipeline_models.models.forecaster.config import ForecastConfig
from pipeline_models.models.forecaster.month_effect import effect_draws
from pipeline_models.models.funnel.groups import codes


@dataclass(frozen=True)
class LeadArrivals:
    """Posterior of each source's monthly lead rate, and the month effect shared by all."""

    shape: np.ndarray  # (sources,) Gamma shape
    rate: np.ndarray  # (sources,) Gamma rate
    sd: float  # log-sd of the month factor

    def volume(self, rng: np.random.Generator, draws: int, months: int) -> np.ndarray:
        """Expected new leads per draw, source and coming month (a rate draw times the month
        factor): (draws, sources, months); the leads themselves are Poisson around it."""
        rate = rng.gamma(self.shape[None, :], 1.0 / self.rate[None, :], (draws, len(self.shape)))
        return rate[:, :, None] * effect_draws(rng, self.sd, (draws, 1, months))


def fit_lead_arrivals(
    leads: pd.DataFrame,
    as_of: pd.Timestamp,
    sources: list[str],
    half_life: float,
    window: int,
) -> LeadArrivals:
    """Arrival rates per source from the leads (``source``, ``created``) of the complete months up
    to ``as_of`` (its own month counts when ``as_of`` is its last day)."""
    as_of = pd.Timestamp(as_of).normalize()
    last = pd.Period(as_of, "M")
    if as_of != last.end_time.normalize():
        last -= 1
    created = pd.to_datetime(leads["created"])
    index = (created.dt.year * 12 + created.dt.month - 1).to_numpy(float, na_value=np.nan)
    last_index = last.year * 12 + last.month - 1
    seen = index[np.isfinite(index)]
    first_index = max(int(seen.min()), last_index - window + 1) if len(seen) else last_index
    first_index = min(first_index, last_index)
    n_months = last_index - first_index + 1
    offset = np.where(np.isfinite(index), index - first_index, -1).astype(np.int64)
    source = codes(leads["source"], sources)
    keep = (offset >= 0) & (offset < n_months) & (source >= 0)
    counts = np.zeros((len(sources), n_months))
    np.add.at(counts, (source[keep], offset[keep]), 1.0)
    weights = 0.5 ** (np.arange(n_months)[::-1] / half_life)
    shape, rate, sd = recent_rates(counts, weights, ForecastConfig())
    return LeadArrivals(shape=shape, rate=rate, sd=sd)


__all__ = ["LeadArrivals", "fit_lead_arrivals"]
