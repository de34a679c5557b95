"""How much products differ, as the models see it: the between-product spread of the win log-odds
and of log deal size."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.models.hierarchical.base import stack_draws

if TYPE_CHECKING:
    from pipeline_models.models.period import PeriodModels


def spread_table(models: PeriodModels, prob: float = INTERVAL) -> pd.DataFrame:
    """Between-product sd of the win log-odds and of log deal size, with the typical factor
    ``exp(sd)`` between two products' odds and prices (posterior median and equal-tailed ``prob``
    interval of the factor).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``quantity`` (``"win odds"``, ``"deal size"``): ``sd (log scale)``,
        ``typical factor``, ``factor lower``, ``factor upper``. A model without a product term
        has no row; empty when neither has one.
    """
    rows = []
    for label, model, name in (
        ("win odds", models.win_rate, "sd_product"),
        ("deal size", models.revenue, "sd_product"),
    ):
        if "product" not in getattr(model, "terms_", {}):
            continue
        sd = stack_draws(model.posterior_, name)
        lo, med, hi = np.quantile(sd, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
        rows.append(
            {
                "quantity": label,
                "sd (log scale)": med,
                "typical factor": np.exp(med),
                "factor lower": np.exp(lo),
                "factor upper": np.exp(hi),
            }
        )
    return pd.DataFrame(rows).set_index("quantity") if rows else pd.DataFrame()
