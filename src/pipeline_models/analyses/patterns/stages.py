"""The pipeline's stages: their order, the moves deals made through them, conversion and dwell.

An export holds each deal's *current* stage only. What is inferred from two consecutive exports
(the previous one taken ``gap`` days earlier):

stage order
    the CRM's order when every open stage belongs to a known CRM stage list
    (:data:`KNOWN_STAGE_ORDERS`, e.g. ``Qualification, Discovery, Proposal, Negotiation``);
    otherwise the stages sorted by the median age of their open deals (stages whose deals carry no
    creation date first: CRMs such as Maven's leave it empty before the first contact).
stage moves
    a deal open at stage ``i`` last time and at a later stage ``j`` (or won) now passed stages
    ``i .. j-1`` (or all); a deal lost since was lost at stage ``i``, the stage it was in at the
    previous export (it may have moved on before it was lost: this attributes losses to earlier
    stages when deals move fast); a deal at the same stage stayed (censored).
time in stage
    of the deals at a stage last time, ``E`` left it within the gap; with exits spread evenly over
    the gap the stage's exit rate is ``E / ((N - E / 2) * gap)`` and its mean dwell the inverse
    (exponential dwell times).

Conversion pools the levels of a group (products, owners) within each stage: they share a Beta
prior fitted to their counts (:func:`~pipeline_models.models.pooling.beta_binomial_rates`), so a
level with few deals is pulled toward the stage's rate and a large one keeps its own. Exit rates
pool the same way with a Gamma prior
(:func:`~pipeline_models.models.pooling.gamma_poisson_rates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.fields import GROUPS, level_text, open_deals
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.contract.labels import DAYS_PER_MONTH
from pipeline_models.models.pooling import beta_binomial_rates, gamma_poisson_rates

KNOWN_STAGE_ORDERS: tuple[tuple[str, ...], ...] = (
    ("Qualification", "Discovery", "Proposal", "Negotiation"),  # the bundled sample, common B2B
    ("Prospecting", "Engaging"),  # Maven Analytics CRM
    (  # Salesforce default opportunity stages
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
    ),
    (  # HubSpot default deal pipeline (internal names)
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
    ),
    ("Lead In", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started"),
)
"""Open stages of well-known CRM pipelines, in their order."""


@dataclass(frozen=True)
class StageOrder:
    """Open stages in pipeline order and how that order was found."""

    stages: tuple[str, ...]
    method: str  # "crm" or "median age"

    def index(self, stage: object) -> float:
        """Position of an open stage (NaN for a stage outside the order)."""
        try:
            return float(self.stages.index(str(stage)))
        except ValueError:
            return float("nan")

    def describe(self) -> str:
        """How the order was found, as the end of a sentence "Stages are ordered by ..."."""
        if self.method == "crm":
            return "the stage order of the CRM"
        return (
            "the median age of open deals in each stage (the stage names match no known CRM "
            "order; stages whose deals have no creation date come first)"
        )


def stage_order(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    previous: pd.DataFrame | None = None,
) -> StageOrder:
    """Order of the open stages seen in ``frame`` (and ``previous``).

    Known CRM orders (:data:`KNOWN_STAGE_ORDERS`, names compared case-insensitively) win when every
    open stage is in one of them; otherwise stages are sorted by the median age of their open deals
    at ``as_of`` (youngest first; stages without any creation date first, then by name).
    """
    frames = [frame] if previous is None else [frame, previous]
    open_rows = pd.concat([open_deals(f) for f in frames])
    stages = level_text(open_rows["stage"]) if len(open_rows) else pd.Series([], dtype=object)
    names = list(dict.fromkeys(stages.tolist()))
    lowered = {s.strip().lower(): s for s in names}
    for known in KNOWN_STAGE_ORDERS:
        position = {s.lower(): i for i, s in enumerate(known)}
        if lowered and set(lowered) <= set(position):
            ordered = sorted(lowered, key=position.__getitem__)
            return StageOrder(tuple(lowered[s] for s in ordered), "crm")
    as_of = pd.Timestamp(as_of)
    age = (as_of - pd.to_datetime(open_rows["created_date"], errors="coerce")).dt.days
    median = age.groupby(stages.to_numpy()).median() if len(open_rows) else pd.Series(dtype=float)
    ordered = sorted(
        names, key=lambda s: (not np.isnan(median.get(s, np.nan)), median.get(s, np.nan), s)
    )
    return StageOrder(tuple(ordered), "median age")


def _spans(change: str, i: int, j: float, n_stages: int) -> list[tuple[int, str]]:
    """The stages a deal at stage ``i`` last time touched since (``j`` its stage now, NaN when
    outside the order), each with what happened there."""
    if change == "lost":
        return [(i, "lost")]
    if change == "won":
        return [(s, "passed") for s in range(i, n_stages)]
    if np.isnan(j):
        return []
    j = int(j)
    if j > i:
        return [(s, "passed") for s in range(i, j)] + [(j, "stayed")]
    if j == i:
        return [(i, "stayed")]
    return [(i, "back")]


def stage_moves(changes: pd.DataFrame, order: StageOrder) -> pd.DataFrame:
    """Per deal open at the previous export, per stage it touched since: what happened there.

    ``outcome`` per (deal, stage): ``passed`` (left it forward, or was won later), ``lost`` (lost
    from the stage it was in at the previous export), ``stayed`` (still there), ``back`` (moved to
    an earlier stage). ``start`` marks the deal's stage at the previous export (its exposure for
    time in stage). Deals removed from the export or in a stage outside the order are left out.
    """
    groups = [c for c in GROUPS if c in changes]
    c = changes["change"].astype(str)
    rows = changes[c.isin(["open in both", "won", "lost"])]
    records = []
    for r in rows.itertuples(index=False):
        i = order.index(r.stage_prev)
        if np.isnan(i):
            continue
        i = int(i)
        base = {"opportunity_id": r.opportunity_id, **{g: getattr(r, g) for g in groups}}
        j = order.index(r.stage_cur) if r.change == "open in both" else np.nan
        for s, outcome in _spans(r.change, i, j, len(order.stages)):
            records.append(
                {
                    **base,
                    "stage": order.stages[s],
                    "outcome": outcome,
                    "start": s == i,
                    "amount": r.cents_prev / 100,
                }
            )
    columns = ["opportunity_id", *groups, "stage", "outcome", "start", "amount"]
    return pd.DataFrame(records, columns=columns)


_COUNTS = ["passed", "lost", "stayed", "value_lost", "at_start", "exits"]


def _stage_counts(moves: pd.DataFrame, order: StageOrder, by: str | None) -> pd.DataFrame:
    """Passed, lost, stayed, value lost, deals at the start and their exits per stage (and level
    of ``by``), every stage (and level) present."""
    keys = ["stage"] + ([by] if by else [])
    m = moves.copy()
    if by:
        m[by] = level_text(m[by])
    outcome = m["outcome"]
    m["passed"] = (outcome == "passed").astype(int)
    m["lost"] = (outcome == "lost").astype(int)
    m["stayed"] = (outcome == "stayed").astype(int)
    m["value_lost"] = np.where(outcome == "lost", m["amount"].fillna(0), 0.0)
    m["at_start"] = m["start"].astype(int)
    m["exits"] = (m["start"] & (outcome != "stayed")).astype(int)
    summed = m.groupby(keys, sort=False)[_COUNTS].sum()
    if by:
        levels = sorted(m[by].unique())
        full = pd.MultiIndex.from_product([list(order.stages), levels], names=keys)
    else:
        full = pd.Index(list(order.stages), name="stage")
    return summed.reindex(full, fill_value=0).reset_index()


def _pool_stage(block: pd.DataFrame, months: float, interval: float) -> pd.DataFrame:
    """One stage's levels with pooled conversion and months in stage."""
    block = block.copy()
    rates = beta_binomial_rates(
        block["passed"], block["passed"] + block["lost"], interval=interval, index=block.index
    )
    exposure = np.clip(block["at_start"] - block["exits"] / 2, 0, None) * months
    exits = gamma_poisson_rates(block["exits"], exposure, interval=interval, index=block.index)
    block["conversion"] = rates["observed"]
    block[["mean", "lower", "upper"]] = rates[["mean", "lower", "upper"]]
    with np.errstate(divide="ignore"):
        block["months_in_stage"] = np.where(exposure > 0, 1 / exits["mean"], np.nan)
        block["months_lower"] = np.where(exposure > 0, 1 / exits["upper"], np.nan)
        block["months_upper"] = np.where(exposure > 0, 1 / exits["lower"], np.nan)
    return block


def stage_conversion(
    moves: pd.DataFrame,
    order: StageOrder,
    gap_days: float,
    by: str | None = None,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Conversion of each stage to the next, value lost there and time spent in it.

    ``conversion = passed / (passed + lost)`` among deals that left the stage (pooled over the
    levels of ``by`` within each stage when ``by`` is given). ``months_in_stage`` is the mean dwell
    from the exit rate of deals that sat in the stage at the previous export (see the module
    docstring), pooled the same way.

    Returns
    -------
    pandas.DataFrame
        Columns ``stage, [by], passed, lost, stayed, conversion (observed), mean, lower, upper,
        value_lost, at_start, exits, months_in_stage, months_lower, months_upper``; one row per
        stage (and level), stages in pipeline order.
    """
    keys = ["stage"] + ([by] if by else [])
    summed = _stage_counts(moves, order, by)
    months = gap_days / DAYS_PER_MONTH
    parts = [
        _pool_stage(block, months, interval) for _, block in summed.groupby("stage", sort=False)
    ]
    out = pd.concat(parts, ignore_index=True) if parts else summed
    out["stage"] = pd.Categorical(out["stage"], categories=list(order.stages), ordered=True)
    return out.sort_values(keys, ignore_index=True)


def bottleneck(conversion: pd.DataFrame) -> dict[str, object]:
    """The stage with the lowest conversion and the stage where most value was lost.

    ``conversion`` is the overall table of :func:`stage_conversion` (no ``by``). ``credible`` says
    whether the lowest stage's interval lies wholly below every other stage's posterior mean.
    """
    table = conversion[(conversion["passed"] + conversion["lost"]) > 0]
    if table.empty:
        return {"lowest_stage": None, "most_value_lost_stage": None, "credible": False}
    low = table.loc[table["mean"].idxmin()]
    others = table.loc[table.index != low.name, "mean"]
    value = table.loc[table["value_lost"].idxmax()]
    total_lost = table["value_lost"].sum()
    return {
        "lowest_stage": str(low["stage"]),
        "lowest_conversion": float(low["mean"]),
        "lowest_interval": (float(low["lower"]), float(low["upper"])),
        "credible": bool(len(others) and (low["upper"] < others.min())),
        "most_value_lost_stage": str(value["stage"]) if value["value_lost"] > 0 else None,
        "value_lost": float(value["value_lost"]),
        "value_lost_share": float(value["value_lost"] / total_lost)
        if total_lost > 0
        else float("nan"),
    }


def open_stage_table(frame: pd.DataFrame, order: StageOrder, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open deals per stage in pipeline order: count, amount, median age (days)."""
    open_ = open_deals(frame)
    age = (pd.Timestamp(as_of) - pd.to_datetime(open_["created_date"])).dt.days
    table = (
        open_.assign(_stage=level_text(open_["stage"]), _age=age)
        .groupby("_stage")
        .agg(
            **{
                "open deals": ("opportunity_id", "size"),
                "open amount": ("amount", lambda a: a.sum(min_count=1)),
                "median age (days)": ("_age", "median"),
            }
        )
    )
    table = table.reindex([s for s in order.stages if s in table.index])
    table.index.name = "stage"
    return table


__all__ = [
    "KNOWN_STAGE_ORDERS",
    "StageOrder",
    "bottleneck",
    "open_stage_table",
    "stage_conversion",
    "stage_moves",
    "stage_order",
]
