"""The period's track records: the forecast and the lead requirement at past month-ends, scored
against what happened, each computed once per run and kept in the fit cache.

A track record is a back-test of an estimator (it refits it at every origin), so it is made by
the run's fit step with the reports' own settings and loaded by the reports.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline_models.contract.period import backtest_origins
from pipeline_models.models.cache import CachedTable, cached_table


def forecast_track(
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    period: str,
    months: int,
    cache_dir: str | Path,
    digests: dict[str, str | None],
    random_seed: int,
) -> CachedTable:
    """One-month-ahead forecasts at the last ``months`` month-ends before the period, each seeing
    the leads open then, scored against what happened (``table`` is ``None`` when the history is
    too short)."""
    from pipeline_models.analyses.forecast.track import backtest
    from pipeline_models.models.deal_score import DealScoreModel
    from pipeline_models.models.forecaster import PipelineForecaster
    from pipeline_models.models.funnel import LeadFunnelModel

    origins = backtest_origins(frame, period, horizon_months=1, count=months)
    key = {
        "kind": "forecast_track",
        "scoring": "as-of-origin, no-lost-limits, leads",  # what is scored, as of this code
        "estimator": PipelineForecaster().config_id,
        "deal_score": DealScoreModel().config_id,
        "funnel": LeadFunnelModel().config_id,
        "origins": [str(o.date()) for o in origins],
        **{k: str(v) for k, v in digests.items()},
    }
    return cached_table(
        cache_dir,
        "forecast_track",
        key,
        lambda: (
            backtest(
                frame,
                origins,
                horizons=(1,),
                random_seed=random_seed,
                deal_score=True,
                leads=leads,
            )
            if origins
            else None
        ),
        random_seed,
    )


def lead_track(
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    period: str,
    horizon_months: int,
    months: int,
    cache_dir: str | Path,
    digests: dict[str, str | None],
    random_seed: int,
) -> CachedTable:
    """The lead requirement's outlook over ``horizon_months`` at the last ``months`` month-ends
    whose window ends by the period's end, against what was won (``table`` ``None``: too short)."""
    from pipeline_models.analyses.lead_requirement.track import backtest_requirement
    from pipeline_models.models.forecaster import PipelineForecaster
    from pipeline_models.models.funnel import LeadFunnelModel

    origins = backtest_origins(frame, period, horizon_months, months)
    key = {
        "kind": "lead_track",
        "scoring": "as-of-origin, no-lost-limits",
        "estimator": LeadFunnelModel().config_id,
        "forecaster": PipelineForecaster().config_id,  # what was in hand at each origin
        "origins": [str(o.date()) for o in origins],
        "horizon_months": horizon_months,
        **{k: str(v) for k, v in digests.items()},
    }
    return cached_table(
        cache_dir,
        "lead_track",
        key,
        lambda: (
            backtest_requirement(frame, leads, origins, horizon_months, random_seed=random_seed)
            if origins
            else None
        ),
        random_seed,
    )
