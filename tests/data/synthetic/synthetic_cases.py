"""The small simulated pipeline the synthetic-generator tests share.

About 2,000 deals keep the suite fast. Statistical checks compare an empirical figure with the
ground truth within four standard errors: a correct generator fails such a check with probability
about 6e-5 per comparison, a wrong parameter of the size that matters fails it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from pipeline_models.data import synthetic

SEED = 11
SMALL = replace(synthetic.SampleConfig(), n_opportunities=2_000)


def small_history() -> synthetic.SimulatedHistory:
    """The history of :data:`SMALL` simulated with :data:`SEED`."""
    return synthetic.simulate_history(SMALL, random_seed=SEED)


def all_month_ends() -> list[date]:
    """Every month end of the :data:`SMALL` history."""
    return synthetic.month_ends(SMALL, "all")


def month_end_snapshots(
    history: synthetic.SimulatedHistory, ends: list[date]
) -> dict[date, pd.DataFrame]:
    """The opportunities export of each month end."""
    return {as_of: synthetic.snapshot(history, as_of)[0] for as_of in ends}


def closed_by_product(history: synthetic.SimulatedHistory) -> pd.core.groupby.DataFrameGroupBy:
    """Deals that close (won or lost), grouped by product."""
    deals = history.deals
    return deals[deals["outcome"] != "stalled"].groupby("product", observed=True)
