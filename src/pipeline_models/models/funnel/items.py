"""The funnel's items (leads, opportunities, won paths) put on one time line at a date.

A won path is a won opportunity with its lead: the lead -> opportunity and lead -> won lags
together, and the deal's amount. Without a leads table each opportunity is its own lead (lead ->
opportunity lag 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import NONE_LEVEL
from pipeline_models.models.funnel.opportunities import OpportunityTable


@dataclass
class FunnelItems:
    """The leads and opportunities of a fit, as known at ``as_of`` (ages and lags in days).

    ``source``, ``product`` and ``outcome`` are categorical columns.
    """

    as_of: pd.Timestamp
    has_leads: bool
    leads: pd.DataFrame  # source, created, age, converted, lag1 (empty without leads)
    opportunities: (
        pd.DataFrame
    )  # (opportunity_id, from_lead: with leads), source, product, created, age, outcome, lag,
    # close, amount
    won_paths: pd.DataFrame  # per won opportunity: source, lead_created, lag1, lag_total, amount
    undated_open: int = 0  # open deals without a creation date (left out)


def _labels(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna(NONE_LEVEL)


def _days(later: pd.Series | pd.Timestamp, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days.astype(float)


def leads_as_of(leads: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """The leads table as it stood at the end of ``as_of``: later leads left out, later
    conversions undone. The input is not modified."""
    cutoff = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    out = leads[leads["created_date"] < cutoff].copy()
    later = out["converted_date"].notna() & (out["converted_date"] >= cutoff)
    out.loc[later, ["opportunity_id"]] = pd.NA
    out.loc[later, "converted_date"] = pd.NaT
    return out.reset_index(drop=True)


def funnel_items(
    frame: pd.DataFrame, leads: pd.DataFrame | None, as_of: pd.Timestamp | str
) -> FunnelItems:
    """Put the canonical tables on one time line at ``as_of``; the inputs are not modified."""
    has_leads = leads is not None and len(leads) > 0
    table = OpportunityTable(frame, leads if has_leads else None)
    return items_at(table, leads, pd.Timestamp(as_of).normalize(), False)


def items_at(
    table: OpportunityTable, leads: pd.DataFrame | None, as_of: pd.Timestamp, back_test: bool
) -> FunnelItems:
    """:func:`funnel_items` from a read table; ``back_test``: as for the table rebuilt at
    ``as_of`` (amounts of deals open then unknown, undated deals left out)."""
    has_leads = leads is not None and len(leads) > 0
    undated_open = 0 if back_test else table.undated_open
    o, rows = table.at(as_of, hide_open_amounts=back_test, ids=has_leads)
    won = o[o["outcome"] == "won"]
    if not has_leads:
        ld = pd.DataFrame(columns=["source", "created", "age", "converted", "lag1"])
        paths = pd.DataFrame(
            {
                "source": won["source"].array,
                "lead_created": won["created"].to_numpy(),
                "lag1": 0.0,
                "lag_total": won["lag"].to_numpy(),
                "amount": won["amount"].to_numpy(),
            }
        )
        return FunnelItems(as_of, False, ld, o, paths, undated_open)
    frame = table.frame[["opportunity_id", "created_date", "lead_id"]]
    if back_test:
        frame = frame.iloc[rows]
    known = leads_as_of(leads, as_of)
    o["from_lead"] = o["opportunity_id"].isin(known["opportunity_id"].dropna()).to_numpy()
    ld = _lead_items(known, frame, as_of)
    paths = _won_paths(known, frame, won)
    return FunnelItems(as_of, True, ld, o, paths, undated_open)


def _first_by(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """``column`` of ``frame`` by ``key``, the first row of each key."""
    by = frame.set_index(key)[column]
    return by[~by.index.duplicated()]


def _lead_items(known: pd.DataFrame, frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The leads known at ``as_of``: source, creation, age, converted and lead -> opportunity
    lag (to the conversion date, else the opportunity's creation, else 0 days)."""
    opp_created = _first_by(frame, "opportunity_id", "created_date")
    converted_on = known["converted_date"].fillna(known["opportunity_id"].map(opp_created))
    converted_on = converted_on.fillna(known["created_date"])
    is_converted = known["opportunity_id"].notna()
    return pd.DataFrame(
        {
            "source": _labels(known["source"]).astype("category").array,
            "created": known["created_date"].to_numpy(),
            "age": _days(as_of, known["created_date"]).to_numpy(),
            "converted": is_converted.to_numpy(),
            "lag1": np.where(
                is_converted, _days(converted_on, known["created_date"]).clip(lower=0), np.nan
            ),
        }
    )


def _won_paths(known: pd.DataFrame, frame: pd.DataFrame, won: pd.DataFrame) -> pd.DataFrame:
    """Won opportunities with their lead (found by the lead's opportunity id, else by the
    opportunity's lead id): lead -> opportunity and lead -> won lags together."""
    link = known.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
    link = link.set_index("opportunity_id")
    if len(link):
        lead_created = won["opportunity_id"].map(link["created_date"])
    else:  # no lead names an opportunity: leads are found by the opportunities' lead ids
        lead_created = pd.Series(pd.NaT, index=won.index, dtype=known["created_date"].dtype)
    by_lead_id = _first_by(frame, "opportunity_id", "lead_id")
    lead_by_id = known.drop_duplicates("lead_id").set_index("lead_id")["created_date"]
    lead_created = lead_created.fillna(won["opportunity_id"].map(by_lead_id).map(lead_by_id))
    has = lead_created.notna()
    lag1 = _days(won["created"], lead_created).clip(lower=0)
    paths = pd.DataFrame(
        {
            "source": won["source"].array,
            "lead_created": lead_created.to_numpy(),
            "lag1": lag1.to_numpy(),
            "lag_total": (lag1 + won["lag"]).to_numpy(),
            "amount": won["amount"].to_numpy(),
        }
    )[has.to_numpy()]
    return paths.reset_index(drop=True)


__all__ = ["FunnelItems", "funnel_items", "items_at", "leads_as_of"]
