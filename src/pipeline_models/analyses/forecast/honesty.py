"""What a back-test on an export can score honestly, and why the rest is left out.

A back-test rebuilds the pipeline at each origin from one later export. Two gaps make parts of it
dishonest however carefully the origin is rebuilt:

- **Lost deals not recorded** (the export holds won deals and no lost one: the CRM deletes lost
  deals, or the export was filtered). A leads table can show otherwise: when the export holds the
  deal of every converted lead, failed deals are kept (left open, as funnels that record only
  conversions do) and the back-test is honest. The deals open at an origin are then exactly the deals that
  were later won (or are still open): a weighted pipeline or a model fitted on them is told the
  answer. Only the trailing run-rate, which reads nothing but wins closed before the origin, stays
  honest.
- **The CRM's own probability** of a deal as of an origin is unknown without an archived export of
  that month: the export holds today's value, which for a since-closed deal is 100% or 0%.

The rules read the table itself (statuses and column presence), so they hold for any export.
"""

from __future__ import annotations

import pandas as pd

NO_LOST = (
    "the export records won deals but no lost deal, so the deals open at each origin are exactly "
    "those later won: a score would reward seeing the future"
)
"""Why the weighted pipeline and the workbench are not scored on an export without lost deals."""

CRM_PROBABILITY = (
    "the export holds each deal's probability as it is today (100% or 0% for a deal that has "
    "since closed), not as it stood at the origin; archived monthly exports (--snapshots) give "
    "it as of each month"
)
"""Why the CRM's own weighted pipeline is not back-tested from one export."""


def lost_recorded(frame: pd.DataFrame) -> bool:
    """Whether the export records lost deals: ``False`` when it holds won deals and no lost one
    (an export without any closed deal says nothing either way and counts as recorded)."""
    status = frame["status"]
    won = bool(status.eq("won").fillna(False).any())
    lost = bool(status.eq("lost").fillna(False).any())
    return lost or not won


KEPT_DEALS_SHARE = 0.99
"""Share of converted leads whose deal the export holds, from which it is taken to keep every deal
(a few links may point at deals of another pipeline or a merged record)."""


def failures_kept(frame: pd.DataFrame, leads: pd.DataFrame | None) -> bool:
    """Whether a leads table shows that the export keeps its failed deals though it records no
    lost one (a funnel that records only conversions and leaves failed deals open): some deals are
    open, some leads converted, and the export holds the deal of (almost) every one of them. A CRM
    that deletes lost deals leaves leads naming deals the export no longer has; an export of won
    deals alone keeps no failure at all."""
    if leads is None or not len(leads) or not frame["status"].eq("open").fillna(False).any():
        return False  # no deal left open: only wins were kept
    named = leads["opportunity_id"].dropna()
    if not len(named):
        return False
    return bool(named.isin(frame["opportunity_id"]).mean() >= KEPT_DEALS_SHARE)


def has_crm_probability(frame: pd.DataFrame) -> bool:
    """Whether the table carries the CRM's own probability for at least one open deal."""
    if "probability" not in frame:
        return False
    open_ = frame["status"].eq("open").fillna(False).to_numpy(dtype=bool)
    probability = pd.to_numeric(frame["probability"], errors="coerce")
    return bool(probability[open_].notna().any())


def backtest_limits(frame: pd.DataFrame, leads: pd.DataFrame | None = None) -> dict[str, str]:
    """Models a back-test on ``frame`` (with its ``leads``) must not score, each with the reason
    in plain words (empty: every model is scored honestly)."""
    limits = {}
    if not lost_recorded(frame) and not failures_kept(frame, leads):
        limits["workbench"] = NO_LOST
        limits["weighted_pipeline"] = NO_LOST
        limits["cure_weighted_pipeline"] = NO_LOST
    return limits


MODEL_NAMES = {
    "workbench": "workbench",
    "weighted_pipeline": "weighted pipeline",
    "cure_weighted_pipeline": "cure-aware weighted pipeline",
    "run_rate": "run-rate",
    "crm_weighted_pipeline": "CRM's weighted pipeline",
}
"""The back-test's models as a reader names them."""


def _names(models: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return models[0] if len(models) == 1 else f"{', '.join(models[:-1])} and {models[-1]}"


def limit_sentences(
    limits: dict[str, str], crm_probability: bool = False, crm_scored: bool = False
) -> list[str]:
    """The back-test's limits as sentences for a reader: models left out, with the reason, and
    whether the CRM's own weighted pipeline was back-tested."""
    by_reason: dict[str, list[str]] = {}
    for model, reason in limits.items():
        by_reason.setdefault(reason, []).append(MODEL_NAMES.get(model, model.replace("_", " ")))
    sentences = [
        f"Not scored: {_names(models)}, because {reason}." for reason, models in by_reason.items()
    ]
    if crm_probability and not crm_scored:
        sentences.append(
            "The CRM's own weighted pipeline (its probabilities) is not back-tested, because "
            f"{CRM_PROBABILITY}; the weighted pipeline scored weights open deals by the win rate "
            "of deals closed before each origin."
        )
    return sentences


__all__ = [
    "CRM_PROBABILITY",
    "NO_LOST",
    "backtest_limits",
    "has_crm_probability",
    "limit_sentences",
    "lost_recorded",
]
