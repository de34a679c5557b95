"""The date convention of deals that come from leads, and the leads and deals tables made to agree.

The workbench's convention: **a deal that comes from a lead is created on the day the lead
converts.** CRMs write such a deal in one of two ways: created on the day of conversion (a
Salesforce lead conversion creates the opportunity then), or back-dated to the lead's first
contact. Read the second way, a deal would sit in the pipeline while its lead was still open: at a
past date the lead counts as unconverted *and* its deal as open (counted twice), and the time a
deal spends as a lead would count as its own age. So :func:`reconcile_lead_dates` makes the two
tables agree before anything is fitted:

- a linked deal's ``created_date`` becomes its lead's ``converted_date`` where the lead has one
  (never after the deal's actual close date);
- a converted lead without a ``converted_date`` takes its deal's ``created_date``;
- a deal that names its lead (``lead_id``) while the lead names no deal makes the lead converted
  to it.

The figures then do not depend on which convention an export follows. What was moved, and which
convention the export seemed to follow, is said in one warning and kept in :class:`LeadDates`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract.problems import WARNING, Problem

CONVENTION = "conversion"
"""The convention the workbench counts in: a lead's deal is created on the day it converts."""

SAME_DAY = pd.Timedelta(days=1)
"""Dates this close are the same day: CRMs stamp a conversion and its deal a few hours apart."""


@dataclass(frozen=True)
class LeadDates:
    """What :func:`reconcile_lead_dates` found and changed.

    ``convention``: ``conversion`` (deals dated at their lead's conversion), ``first_contact``
    (dated at the lead's creation), ``mixed`` (neither for most deals), or ``unknown`` (no linked
    deal whose lead was converted on a later day than it was created).
    """

    convention: str
    linked: int  # deals linked to a lead
    redated: int  # deals whose created_date became their lead's conversion date
    median_days_moved: float  # median days a redated deal moved (0 when none)
    conversions_dated: int  # converted leads that took their deal's created_date
    links_added: int  # leads made converted by their deal's lead_id

    def as_dict(self) -> dict:
        """The findings as JSON-able values (for the run's validation record)."""
        return asdict(self)


def _links(opportunities: pd.DataFrame, leads: pd.DataFrame) -> tuple[pd.Series, int]:
    """Each lead's deal id: the lead's own ``opportunity_id`` when it names a deal of the
    export, else the deal that names the lead in its ``lead_id``; and how many came from the
    deals' side."""
    deals = pd.Index(opportunities["opportunity_id"].astype("string"))
    own = leads["opportunity_id"].astype("string")
    own = own.where(own.isin(deals))
    if "lead_id" in opportunities:
        named = opportunities.dropna(subset=["lead_id"]).drop_duplicates("lead_id")
        by_lead = named.set_index(named["lead_id"].astype("string"))["opportunity_id"]
        from_deals = leads["lead_id"].astype("string").map(by_lead).astype("string")
        added = own.isna() & from_deals.notna() & leads["opportunity_id"].isna()
        return own.where(~added, from_deals), int(added.sum())
    return own, 0


def _convention(lead_created: pd.Series, converted: pd.Series, created: pd.Series) -> str:
    """Which date linked deals carry, judged on leads converted on a later day than created."""
    later = (converted - lead_created) > SAME_DAY
    later &= converted.notna() & created.notna()
    if not later.any():
        return "unknown"
    at_conversion = ((created - converted).abs() <= SAME_DAY)[later].mean()
    at_contact = ((created - lead_created).abs() <= SAME_DAY)[later].mean()
    if at_conversion >= 0.5:
        return "conversion"
    if at_contact >= 0.5:
        return "first_contact"
    return "mixed"


def reconcile_lead_dates(
    opportunities: pd.DataFrame, leads: pd.DataFrame, name: str
) -> tuple[pd.DataFrame, pd.DataFrame, LeadDates, list[Problem]]:
    """The opportunities and leads tables made to agree on when each linked deal was created
    (see the module doc); the inputs are not modified.

    Parameters
    ----------
    opportunities, leads
        The canonical opportunities and leads tables.
    name
        The leads file, named in the warning.

    Returns
    -------
    (opportunities, leads, findings, warnings)
    """
    opps, leads = opportunities.copy(), leads.copy()
    link, added = _links(opps, leads)
    leads["opportunity_id"] = link.fillna(leads["opportunity_id"].astype("string"))
    linked = link.notna().to_numpy()
    position = pd.Series(np.arange(len(opps)), index=opps["opportunity_id"].astype("string"))
    position = position[~position.index.duplicated()]
    rows = link[linked].map(position).to_numpy(dtype=np.int64)
    created = opps["created_date"].iloc[rows].reset_index(drop=True)
    converted = leads["converted_date"][linked].reset_index(drop=True)
    lead_created = leads["created_date"][linked].reset_index(drop=True)
    convention = _convention(lead_created, converted, created)
    # a converted lead without its date takes its deal's creation
    undated = converted.isna() & created.notna()
    leads.loc[leads.index[linked][undated.to_numpy()], "converted_date"] = created[undated].array
    # a deal takes its lead's conversion date, never after its own actual close
    target = converted.copy()
    closed = opps["status"].iloc[rows].isin(["won", "lost"]).to_numpy()
    close = opps["close_date"].iloc[rows].reset_index(drop=True)
    target = target.mask(closed & (target > close).fillna(False).to_numpy(), close)
    moved = target.notna() & (created.isna() | ((target - created).abs() > SAME_DAY))
    opps.loc[opps.index[rows[moved.to_numpy()]], "created_date"] = target[moved].array
    days = (target - created)[moved].dt.days.abs()
    findings = LeadDates(
        convention=convention,
        linked=int(linked.sum()),
        redated=int(moved.sum()),
        median_days_moved=float(days.median()) if days.notna().any() else 0.0,
        conversions_dated=int(undated.sum()),
        links_added=added,
    )
    return opps, leads, findings, _warnings(findings, name)


def _warnings(found: LeadDates, name: str) -> list[Problem]:
    """One warning for deals whose creation date was moved, one for links added."""
    problems = []
    if found.redated:
        how = {
            "first_contact": "the export dates a lead's deal at the lead's first contact",
            "mixed": "the export's deals are dated neither at conversion nor at first contact",
        }.get(found.convention, "some deals are dated away from their lead's conversion")
        problems.append(
            Problem(
                name,
                f"{how}: {found.redated} of {found.linked} deals from a lead are counted from "
                f"their lead's conversion date instead (median {found.median_days_moved:.0f} days "
                "apart), the workbench's convention, so no deal counts while its lead is still "
                "open",
                "converted_date",
                severity=WARNING,
            )
        )
    if found.links_added:
        problems.append(
            Problem(
                name,
                f"{found.links_added} lead(s) name no deal, but a deal names them in its lead_id: "
                "they are counted as converted to that deal",
                "opportunity_id",
                severity=WARNING,
            )
        )
    return problems


__all__ = ["CONVENTION", "SAME_DAY", "LeadDates", "reconcile_lead_dates"]
