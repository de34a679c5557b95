"""A small funnel simulator with known truth, shared by the funnel and lead requirement tests.

Leads of two sources convert with known rates after log-normal lags, opportunities are won, lost
or stall with known rates and cycle times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.models.funnel import FunnelConfig, LeadFunnelModel

AS_OF = pd.Timestamp("2026-03-31")
T_DAY = (AS_OF - pd.Timestamp("2025-01-01")).days  # history since January 2025
WINDOW_DAYS = (month_end("2026-06") - AS_OF).days  # window: April..June 2026


@dataclass(frozen=True)
class Truth:
    sources: tuple[str, ...] = ("Ads", "Partner")
    leads_per_day: tuple[float, ...] = (9.0, 4.0)
    conversion: tuple[float, ...] = (0.20, 0.40)
    lag1_median: tuple[float, ...] = (8.0, 15.0)
    lag1_sigma: float = 0.6
    win: tuple[float, ...] = (0.30, 0.45)
    won_median: tuple[float, ...] = (30.0, 45.0)
    won_sigma: float = 0.5
    lost_share: float = 0.85  # of deals not won, the share marked lost (the rest stall)
    lost_median: float = 25.0
    lost_sigma: float = 0.7
    amount_median: tuple[float, ...] = (4000.0, 9000.0)
    amount_sigma: float = 0.5

    def _lag1(self, j, size, rng):
        return np.rint(self.lag1_median[j] * np.exp(self.lag1_sigma * rng.standard_normal(size)))

    def _won_lag(self, j, size, rng):
        return np.maximum(
            np.rint(self.won_median[j] * np.exp(self.won_sigma * rng.standard_normal(size))), 1
        )


def simulate(truth: Truth, seed: int, days: int = T_DAY):
    """``days`` days of history up to ``AS_OF`` as canonical (opportunities, leads) tables."""
    rng = np.random.default_rng(seed)
    base = AS_OF - pd.Timedelta(days=days)
    lead_rows, opp_rows = [], []
    lead_no = opp_no = 0
    for j, source in enumerate(truth.sources):
        n = rng.poisson(truth.leads_per_day[j] * days)
        created = np.sort(rng.integers(0, days + 1, n))
        converts = rng.random(n) < truth.conversion[j]
        lag1 = truth._lag1(j, n, rng)
        won = rng.random(n) < truth.win[j]
        lost = ~won & (rng.random(n) < truth.lost_share)
        won_lag = truth._won_lag(j, n, rng)
        lost_lag = np.maximum(
            np.rint(truth.lost_median * np.exp(truth.lost_sigma * rng.standard_normal(n))), 1
        )
        amount = np.rint(
            truth.amount_median[j] * np.exp(truth.amount_sigma * rng.standard_normal(n))
        )
        for i in range(n):
            lead_no += 1
            lead_id = f"L{lead_no:06d}"
            opp_day = created[i] + lag1[i]
            has_opp = converts[i] and opp_day <= days
            opp_id = None
            if has_opp:
                opp_no += 1
                opp_id = f"O{opp_no:06d}"
                close_day = opp_day + (won_lag[i] if won[i] else lost_lag[i])
                closed = (won[i] or lost[i]) and close_day <= days
                status = ("won" if won[i] else "lost") if closed else "open"
                opp_rows.append(
                    {
                        "opportunity_id": opp_id,
                        "created_date": base + pd.Timedelta(days=int(opp_day)),
                        "close_date": base + pd.Timedelta(days=int(close_day))
                        if closed
                        else pd.NaT,
                        "stage": status,
                        "status": status,
                        "amount": float(amount[i]),
                        "lead_source": source,
                        "product": source,  # product = source: deals in hand follow the truth
                        "lead_id": lead_id,
                    }
                )
            lead_rows.append(
                {
                    "lead_id": lead_id,
                    "created_date": base + pd.Timedelta(days=int(created[i])),
                    "source": source,
                    "opportunity_id": opp_id,
                    "converted_date": base + pd.Timedelta(days=int(opp_day)) if has_opp else pd.NaT,
                }
            )
    frame = conform_opportunities(pd.DataFrame(opp_rows))
    leads = pd.DataFrame(lead_rows)
    leads["source"] = leads["source"].astype("string")
    leads["opportunity_id"] = leads["opportunity_id"].astype("string")
    return frame, leads


@functools.cache
def fitted_case() -> tuple[Truth, pd.DataFrame, pd.DataFrame, LeadFunnelModel]:
    """The truth, one simulated history (opportunities, leads) and the funnel fitted on it (the
    tables are shared: copy before changing them)."""
    truth = Truth()
    frame, leads = simulate(truth, seed=1)
    model = LeadFunnelModel(FunnelConfig(draws=1000)).fit(frame, leads, AS_OF, random_seed=2)
    return truth, frame, leads, model
