"""Patterns in the pipeline: where deals leak, which ones stall, what changed, what wins.

An export holds each deal's *current* stage only. What this module infers from two consecutive
exports (the previous one taken ``gap`` days earlier):

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

Pooling is empirical Bayes: groups (products, owners) of a stage share a Beta prior whose mean and
strength are fitted to the groups' counts by maximum marginal likelihood (beta-binomial), so a group
with few deals is pulled toward the stage's rate and a large group keeps its own. Exit rates pool
the same way with a Gamma prior (gamma-Poisson). Every interval is a 90% equal-tailed interval.

Amounts in the change waterfall are summed in integer cents, so the bars balance exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import optimize, special, stats

from .aggregate import NONE_LEVEL, factorize_rows, group_levels

INTERVAL = 0.90
"""Probability of every interval this module reports."""

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

WON, LOST, OPEN = "won", "lost", "open"
MONTH_DAYS = 365.25 / 12


def _text(series: pd.Series) -> pd.Series:
    """Text labels with missing values as ``"(none)"``."""
    return group_levels(series.to_frame("x"), ["x"])["x"]


def _status(frame: pd.DataFrame) -> pd.Series:
    return frame["status"].astype("string").fillna(OPEN).astype(object)


def _cents(amount: pd.Series) -> np.ndarray:
    """Amounts as integer cents; a missing amount counts 0."""
    values = pd.to_numeric(amount, errors="coerce").astype("float64").to_numpy()
    return np.where(np.isnan(values), 0, np.rint(values * 100)).astype(np.int64)


def export_date(frame: pd.DataFrame) -> pd.Timestamp:
    """The day an export was taken: its latest creation date or actual (won/lost) close date.

    Expected close dates of open deals lie in the future and are not used.
    """
    closed = _status(frame).isin([WON, LOST]).to_numpy()
    dates = pd.concat(
        [
            pd.to_datetime(frame["created_date"], errors="coerce"),
            pd.to_datetime(frame.loc[closed, "close_date"], errors="coerce"),
        ]
    )
    latest = dates.max()
    if pd.isna(latest):
        raise ValueError("the export has no creation or close dates")
    return pd.Timestamp(latest).normalize()


# --------------------------------------------------------------------------------------------------
# pooling


def pooled_rates(
    successes: Sequence[float] | np.ndarray,
    trials: Sequence[float] | np.ndarray,
    interval: float = INTERVAL,
    index: Sequence | pd.Index | None = None,
) -> pd.DataFrame:
    """Beta-binomial partial pooling of rates (empirical Bayes).

    ``k_j ~ Binomial(n_j, p_j)``, ``p_j ~ Beta(m * s, (1 - m) * s)``; the prior mean ``m`` and
    strength ``s`` (worth ``s`` trials) maximise the marginal likelihood of all groups, then each
    group's posterior is ``Beta(m s + k_j, (1 - m) s + n_j - k_j)``. Groups that hardly differ get
    a large ``s`` (their rates pool to the common rate), capped at the total number of trials so
    that a group's interval stays at least as wide as the common rate's own uncertainty; with fewer than two groups holding trials
    nothing can be learned about the spread and each group gets Jeffreys' ``Beta(1/2, 1/2)`` prior.

    Parameters
    ----------
    successes, trials
        Counts per group (``0 <= successes <= trials``).
    interval
        Probability of the equal-tailed interval.
    index
        Labels of the groups (default 0..n-1).

    Returns
    -------
    pandas.DataFrame
        Columns ``successes, trials, observed, mean, lower, upper``; ``attrs`` holds
        ``prior_mean`` and ``prior_strength``.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if k.shape != n.shape or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= successes <= trials, one of each per group")
    used = n > 0
    if used.sum() >= 2:
        kk, nn = k[used], n[used]

        def loss(theta: np.ndarray) -> float:
            m, s = special.expit(theta[0]), np.exp(theta[1])
            a, b = m * s, (1 - m) * s
            return -float(np.sum(special.betaln(kk + a, nn - kk + b) - special.betaln(a, b)))

        pooled = (kk.sum() + 0.5) / (nn.sum() + 1.0)
        top = np.log(max(nn.sum(), 1.0))  # the prior never outweighs all the data together
        start = np.array([special.logit(pooled), min(np.log(10.0), top)])
        fit = optimize.minimize(
            loss, start, method="L-BFGS-B", bounds=[(-12, 12), (min(np.log(0.5), top), top)]
        )
        m, s = float(special.expit(fit.x[0])), float(np.exp(fit.x[1]))
        a0, b0 = m * s, (1 - m) * s
    else:
        a0 = b0 = 0.5
        m, s = 0.5, 1.0
    a, b = a0 + k, b0 + n - k
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    out = pd.DataFrame(
        {
            "successes": k,
            "trials": n,
            "observed": observed,
            "mean": a / (a + b),
            "lower": stats.beta.ppf(lo, a, b),
            "upper": stats.beta.ppf(hi, a, b),
        },
        index=None if index is None else pd.Index(index),
    )
    out.attrs = {"prior_mean": m, "prior_strength": s}
    return out


def pooled_event_rates(
    events: Sequence[float] | np.ndarray,
    exposure: Sequence[float] | np.ndarray,
    interval: float = INTERVAL,
    index: Sequence | pd.Index | None = None,
) -> pd.DataFrame:
    """Gamma-Poisson partial pooling of event rates (empirical Bayes).

    ``E_j ~ Poisson(rate_j * T_j)``, ``rate_j ~ Gamma(alpha, beta)`` with ``alpha, beta`` maximising
    the marginal (negative binomial) likelihood; posterior ``Gamma(alpha + E_j, beta + T_j)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``events, exposure, observed, mean, lower, upper`` (rates per unit of exposure).
    """
    e = np.asarray(events, dtype=float)
    t = np.asarray(exposure, dtype=float)
    if e.shape != t.shape or np.any(e < 0) or np.any(t < 0):
        raise ValueError("need events >= 0 and exposure >= 0, one of each per group")
    used = t > 0
    if used.sum() >= 2:
        ee, tt = e[used], t[used]
        pooled = (ee.sum() + 0.5) / tt.sum()

        def loss(theta: np.ndarray) -> float:
            alpha = np.exp(theta[0])
            beta = alpha / np.exp(theta[1])  # theta[1] = log prior mean
            return -float(
                np.sum(
                    special.gammaln(ee + alpha)
                    - special.gammaln(alpha)
                    + alpha * np.log(beta)
                    - (ee + alpha) * np.log(beta + tt)
                )
            )

        start = np.array([np.log(5.0), np.log(pooled)])
        fit = optimize.minimize(
            loss, start, method="L-BFGS-B", bounds=[(np.log(0.2), np.log(1e5)), (-20, 20)]
        )
        alpha = float(np.exp(fit.x[0]))
        beta = alpha / float(np.exp(fit.x[1]))
    else:
        alpha, beta = 0.5, 1e-6  # nearly flat: the group's own rate
    a, b = alpha + e, beta + t
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(t > 0, e / np.where(t > 0, t, 1), np.nan)
    out = pd.DataFrame(
        {
            "events": e,
            "exposure": t,
            "observed": observed,
            "mean": a / b,
            "lower": stats.gamma.ppf(lo, a, scale=1 / b),
            "upper": stats.gamma.ppf(hi, a, scale=1 / b),
        },
        index=None if index is None else pd.Index(index),
    )
    out.attrs = {"prior_alpha": alpha, "prior_beta": beta}
    return out


# --------------------------------------------------------------------------------------------------
# stage order and export comparison


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
    open_rows = pd.concat([f.loc[_status(f).eq(OPEN).to_numpy()] for f in frames])
    stages = _text(open_rows["stage"]) if len(open_rows) else pd.Series([], dtype=object)
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


_CHANGE_ORDER = (
    "new open",
    "new won",
    "new lost",
    "reopened",
    "open in both",
    "won",
    "lost",
    "removed",
    "closed before",
)


def compare_exports(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    order: StageOrder,
) -> pd.DataFrame:
    """One row per deal in either export: what it was, what it is, and what changed.

    ``change`` is one of ``new open`` / ``new won`` / ``new lost`` (not in the previous export),
    ``reopened`` (closed then, open now), ``open in both``, ``won`` / ``lost`` (open then, closed
    now), ``removed`` (open then, absent now) and ``closed before`` (closed then; nothing to
    follow). For deals open in both: ``stage_step`` (positions moved in the stage order, negative
    backwards), ``close_shift_days`` (expected close date now minus then) and ``amount_delta``
    in cents. ``cents_prev`` / ``cents_cur`` are the amounts in integer cents (missing = 0).
    """
    keep = ["opportunity_id", "created_date", "close_date", "stage", "status", "amount"]
    groups = [c for c in ("owner", "product", "region", "segment") if c in current]
    prev = previous[keep + [c for c in groups if c in previous]].copy()
    cur = current[keep + groups].copy()
    for f in (prev, cur):
        f["opportunity_id"] = f["opportunity_id"].astype("string").astype(object)
        f["status"] = _status(f)
        f["cents"] = _cents(f["amount"])
    if prev["opportunity_id"].duplicated().any() or cur["opportunity_id"].duplicated().any():
        raise ValueError("opportunity ids must be unique within each export")
    merged = prev.merge(cur, on="opportunity_id", how="outer", suffixes=("_prev", "_cur"))
    for g in groups:
        then = merged[f"{g}_prev"] if f"{g}_prev" in merged else pd.Series(pd.NA, merged.index)
        merged[g] = merged[f"{g}_cur"].astype(object).where(merged[f"{g}_cur"].notna(), then)
    in_prev = merged["status_prev"].notna()
    in_cur = merged["status_cur"].notna()
    sp, sc = merged["status_prev"], merged["status_cur"]
    change = np.select(
        [
            ~in_prev & (sc == OPEN),
            ~in_prev & (sc == WON),
            ~in_prev & (sc == LOST),
            (sp != OPEN) & in_prev & (sc == OPEN),
            (sp == OPEN) & (sc == OPEN),
            (sp == OPEN) & (sc == WON),
            (sp == OPEN) & (sc == LOST),
            (sp == OPEN) & ~in_cur,
        ],
        list(_CHANGE_ORDER[:-1]),
        "closed before",
    )
    both = change == "open in both"
    step = np.array([order.index(s) for s in merged["stage_cur"]]) - np.array(
        [order.index(s) for s in merged["stage_prev"]]
    )
    shift = (
        pd.to_datetime(merged["close_date_cur"]) - pd.to_datetime(merged["close_date_prev"])
    ).dt.days
    out = pd.DataFrame(
        {
            "opportunity_id": merged["opportunity_id"],
            **{g: merged[g] for g in groups},
            "change": pd.Categorical(change, categories=list(_CHANGE_ORDER)),
            "created_date": merged["created_date_cur"].fillna(merged["created_date_prev"]),
            "stage_prev": merged["stage_prev"],
            "stage_cur": merged["stage_cur"],
            "status_prev": sp,
            "status_cur": sc,
            "amount_prev": merged["amount_prev"],
            "amount_cur": merged["amount_cur"],
            "cents_prev": merged["cents_prev"].fillna(0).astype(np.int64),
            "cents_cur": merged["cents_cur"].fillna(0).astype(np.int64),
            "close_prev": merged["close_date_prev"],
            "close_cur": merged["close_date_cur"],
            "stage_step": np.where(both, step, np.nan),
            "close_shift_days": shift.where(both),
        }
    )
    out["amount_delta"] = np.where(both, out["cents_cur"] - out["cents_prev"], 0).astype(np.int64)
    return out.sort_values(["change", "opportunity_id"], ignore_index=True)


def waterfall(changes: pd.DataFrame) -> pd.DataFrame:
    """From last export's open pipeline to this one's, in integer cents; the bars balance exactly.

    ``open last time + new open deals + reopened + amount raised + amount cut - won - lost -
    removed = open now``, where

    - *new open deals*: deals not in the previous export and open now, at their amount now;
    - *reopened*: closed in the previous export and open now, at their amount now;
    - *amount raised* / *cut*: for deals open in both, the amount now minus then, positive and
      negative changes summed apart (a missing amount counts 0, so a first-recorded amount is a
      raise);
    - *won*, *lost*, *removed*: deals open last time that were won, lost or are no longer in the
      export, at their amount LAST time (a won deal's final amount may differ; the difference is
      not pipeline).

    Returns
    -------
    pandas.DataFrame
        Columns ``bar, kind, deals, cents, amount``: ``kind`` is ``total`` or ``step``; ``cents``
        integer, ``amount = cents / 100``. The first and last rows are the totals.
    """
    c = changes["change"].astype(str)
    delta = changes["amount_delta"].to_numpy()
    both = (c == "open in both").to_numpy()

    def part(mask: np.ndarray, cents: np.ndarray, sign: int = 1) -> tuple[int, int]:
        return int(mask.sum()), sign * int(cents[mask].sum())

    prev_open = (changes["status_prev"] == OPEN).to_numpy()
    cur_open = (changes["status_cur"] == OPEN).to_numpy()
    cp, cc = changes["cents_prev"].to_numpy(), changes["cents_cur"].to_numpy()
    rows = [
        ("open last time", "total", *part(prev_open, cp)),
        ("new open deals", "step", *part((c == "new open").to_numpy(), cc)),
        ("reopened", "step", *part((c == "reopened").to_numpy(), cc)),
        ("amount raised", "step", *part(both & (delta > 0), delta)),
        ("amount cut", "step", *part(both & (delta < 0), delta)),
        ("won", "step", *part((c == "won").to_numpy(), cp, -1)),
        ("lost", "step", *part((c == "lost").to_numpy(), cp, -1)),
        ("removed from export", "step", *part((c == "removed").to_numpy(), cp, -1)),
        ("open now", "total", *part(cur_open, cc)),
    ]
    out = pd.DataFrame(rows, columns=["bar", "kind", "deals", "cents"])
    steps = int(out.loc[out["kind"] == "step", "cents"].sum())
    if out["cents"].iloc[0] + steps != out["cents"].iloc[-1]:  # cannot happen: a broken invariant
        raise AssertionError("waterfall does not balance")
    out["amount"] = out["cents"] / 100
    return out


def change_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Deals and amount behind each kind of change since the previous export.

    Amounts: the amount now for new, reopened and moved deals; the amount last time for deals won,
    lost or removed; the change in amount for raised/cut amounts.
    """
    c = changes["change"].astype(str)
    both = c == "open in both"
    step = changes["stage_step"]
    shift = changes["close_shift_days"]
    delta = changes["amount_delta"]
    cur, prev = changes["cents_cur"], changes["cents_prev"]
    rows = [
        ("new deals, still open", c == "new open", cur),
        ("new deals, already won", c == "new won", cur),
        ("new deals, already lost", c == "new lost", cur),
        ("won", c == "won", prev),
        ("lost", c == "lost", prev),
        ("removed from export", c == "removed", prev),
        ("reopened", c == "reopened", cur),
        ("close date pushed later", both & (shift > 0), cur),
        ("close date pulled in", both & (shift < 0), cur),
        ("amount raised", both & (delta > 0), delta),
        ("amount cut", both & (delta < 0), delta),
        ("stage forward", both & (step > 0), cur),
        ("stage back", both & (step < 0), cur),
        ("no change in stage", both & (step == 0), cur),
    ]
    return pd.DataFrame(
        [
            {"change": name, "deals": int(mask.sum()), "amount": float(values[mask].sum()) / 100}
            for name, mask, values in rows
        ]
    ).set_index("change")


def slipping_deals(
    changes: pd.DataFrame,
    previous_as_of: pd.Timestamp | str,
    min_push_days: int = 31,
) -> pd.DataFrame:
    """Open deals whose expected close date slipped badly between the two exports.

    With two exports one push is seen; a deal pushed by more than ``min_push_days`` (more than a
    month) or pushed although its expected close date had already passed at the previous export
    (``overdue``) has slipped more than once in all likelihood. Sorted by amount, largest first.
    """
    prev_day = pd.Timestamp(previous_as_of)
    both = changes["change"].astype(str) == "open in both"
    shift = changes["close_shift_days"]
    overdue = pd.to_datetime(changes["close_prev"]) < prev_day
    long_push = shift > min_push_days
    flagged = both & (shift > 0) & (long_push | overdue)
    out = changes.loc[flagged].copy()
    reason = np.where(
        long_push[flagged] & overdue[flagged],
        "pushed over a month, already overdue",
        np.where(long_push[flagged], "pushed over a month", "pushed while overdue"),
    )
    cols = [c for c in ("owner", "opportunity_id", "product", "stage_cur") if c in out]
    table = out[cols].rename(columns={"stage_cur": "stage", "opportunity_id": "deal"})
    table["amount"] = out["amount_cur"]
    table["close date last time"] = pd.to_datetime(out["close_prev"]).dt.date
    table["close date now"] = pd.to_datetime(out["close_cur"]).dt.date
    table["pushed by (days)"] = shift[flagged].astype(int)
    table["why flagged"] = reason
    return table.sort_values(["amount", "pushed by (days)"], ascending=False, ignore_index=True)


def overdue_deals(frame: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """Open deals whose expected close date lies before ``as_of`` (one export suffices)."""
    as_of = pd.Timestamp(as_of)
    open_ = frame[_status(frame).eq(OPEN).to_numpy()]
    close = pd.to_datetime(open_["close_date"], errors="coerce")
    late = open_[close < as_of]
    cols = [c for c in ("owner", "opportunity_id", "product", "stage", "amount") if c in late]
    out = late[cols].rename(columns={"opportunity_id": "deal"}).copy()
    out["expected close"] = close[close < as_of].dt.date
    out["days overdue"] = (as_of - close[close < as_of]).dt.days
    return out.sort_values(["amount", "days overdue"], ascending=False, ignore_index=True)


def same_stage(changes: pd.DataFrame) -> pd.Series:
    """Per deal open in both exports: True when its stage did not change (by ``opportunity_id``)."""
    both = changes[changes["change"].astype(str) == "open in both"]
    same = both["stage_prev"].astype(str).to_numpy() == both["stage_cur"].astype(str).to_numpy()
    return pd.Series(same, index=both["opportunity_id"].astype(str).to_numpy(), name="same stage")


@dataclass(frozen=True)
class ExportComparison:
    """The current export against the previous one: per-deal changes and stage moves."""

    previous_day: pd.Timestamp
    gap_days: float
    changes: pd.DataFrame
    moves: pd.DataFrame


def compare(
    previous: pd.DataFrame | None,
    current: pd.DataFrame,
    order: StageOrder,
    as_of: pd.Timestamp | str,
) -> ExportComparison | None:
    """Compare two exports (``None`` without a previous one). The previous export's date is its
    latest creation or actual close date (:func:`export_date`); ``as_of`` is the current one's."""
    if previous is None:
        return None
    day = export_date(previous)
    gap = float((pd.Timestamp(as_of) - day).days)
    if gap <= 0:
        raise ValueError(
            f"the previous export ({day.date()}) is not older than this one ({pd.Timestamp(as_of).date()})"
        )
    changes = compare_exports(previous, current, order)
    return ExportComparison(day, gap, changes, stage_moves(changes, order))


# --------------------------------------------------------------------------------------------------
# stage conversion and time in stage


def stage_moves(changes: pd.DataFrame, order: StageOrder) -> pd.DataFrame:
    """Per deal open at the previous export, per stage it touched since: what happened there.

    ``outcome`` per (deal, stage): ``passed`` (left it forward, or was won later), ``lost`` (lost
    from the stage it was in at the previous export), ``stayed`` (still there), ``back`` (moved to
    an earlier stage). ``start`` marks the deal's stage at the previous export (its exposure for
    time in stage). Deals removed from the export or in a stage outside the order are left out.
    """
    groups = [c for c in ("owner", "product", "region", "segment") if c in changes]
    c = changes["change"].astype(str)
    rows = changes[c.isin(["open in both", "won", "lost"])]
    n_stages = len(order.stages)
    records = []
    for r in rows.itertuples(index=False):
        i = order.index(r.stage_prev)
        if np.isnan(i):
            continue
        i = int(i)
        base = {"opportunity_id": r.opportunity_id, **{g: getattr(r, g) for g in groups}}
        amount = r.cents_prev / 100
        if r.change == "lost":
            spans = [(i, "lost")]
        elif r.change == "won":
            spans = [(s, "passed") for s in range(i, n_stages)]
        else:
            j = order.index(r.stage_cur)
            if np.isnan(j):
                continue
            j = int(j)
            if j > i:
                spans = [(s, "passed") for s in range(i, j)] + [(j, "stayed")]
            elif j == i:
                spans = [(i, "stayed")]
            else:
                spans = [(i, "back")]
        for s, outcome in spans:
            records.append(
                {
                    **base,
                    "stage": order.stages[s],
                    "outcome": outcome,
                    "start": s == i,
                    "amount": amount,
                }
            )
    columns = ["opportunity_id", *groups, "stage", "outcome", "start", "amount"]
    return pd.DataFrame(records, columns=columns)


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
    m = moves.copy()
    if by:
        m[by] = _text(m[by])
    outcome = m["outcome"]
    m["passed"] = (outcome == "passed").astype(int)
    m["lost"] = (outcome == "lost").astype(int)
    m["stayed"] = (outcome == "stayed").astype(int)
    m["value_lost"] = np.where(outcome == "lost", m["amount"].fillna(0), 0.0)
    m["at_start"] = m["start"].astype(int)
    m["exits"] = (m["start"] & (outcome != "stayed")).astype(int)
    summed = m.groupby(keys, sort=False)[
        ["passed", "lost", "stayed", "value_lost", "at_start", "exits"]
    ].sum()
    if by:
        levels = sorted(m[by].unique())
        full = pd.MultiIndex.from_product([list(order.stages), levels], names=keys)
    else:
        full = pd.Index(list(order.stages), name="stage")
    summed = summed.reindex(full, fill_value=0).reset_index()
    months = gap_days / MONTH_DAYS
    parts = []
    for _, block in summed.groupby("stage", sort=False):
        block = block.copy()
        rates = pooled_rates(
            block["passed"], block["passed"] + block["lost"], interval=interval, index=block.index
        )
        exposure = np.clip(block["at_start"] - block["exits"] / 2, 0, None) * months
        exits = pooled_event_rates(block["exits"], exposure, interval=interval, index=block.index)
        block["conversion"] = rates["observed"]
        block[["mean", "lower", "upper"]] = rates[["mean", "lower", "upper"]]
        with np.errstate(divide="ignore"):
            block["months_in_stage"] = np.where(exposure > 0, 1 / exits["mean"], np.nan)
            block["months_lower"] = np.where(exposure > 0, 1 / exits["upper"], np.nan)
            block["months_upper"] = np.where(exposure > 0, 1 / exits["lower"], np.nan)
        parts.append(block)
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
    return {
        "lowest_stage": str(low["stage"]),
        "lowest_conversion": float(low["mean"]),
        "lowest_interval": (float(low["lower"]), float(low["upper"])),
        "credible": bool(len(others) and (low["upper"] < others.min())),
        "most_value_lost_stage": str(value["stage"]) if value["value_lost"] > 0 else None,
        "value_lost": float(value["value_lost"]),
        "value_lost_share": float(value["value_lost"] / table["value_lost"].sum())
        if table["value_lost"].sum() > 0
        else float("nan"),
    }


def conversion_grid(table: pd.DataFrame, by: str, overall: pd.DataFrame) -> pd.DataFrame:
    """A level-by-stage grid of pooled conversion, e.g. ``62% (55-70)``; ``*`` marks a level whose
    interval excludes the stage's overall rate. Cells with no deal leaving the stage are empty;
    levels with none at all are left out."""
    ref = overall.set_index("stage")["mean"]

    def cell(r: pd.Series) -> str:
        if r["passed"] + r["lost"] == 0:
            return ""
        star = " *" if (r["upper"] < ref[r["stage"]] or r["lower"] > ref[r["stage"]]) else ""
        return f"{100 * r['mean']:.0f}% ({100 * r['lower']:.0f}-{100 * r['upper']:.0f}){star}"

    shown = table.assign(cell=table.apply(cell, axis=1))
    grid = shown.pivot(index=by, columns="stage", values="cell")
    grid.columns = [str(c) for c in grid.columns]
    grid.columns.name = None
    exits = shown.groupby(by)[["passed", "lost"]].sum().sum(axis=1)
    grid.insert(0, "deals that left a stage", exits.reindex(grid.index).astype(int))
    grid = grid[grid["deals that left a stage"] > 0]  # nothing to show for the others
    return grid.sort_values("deals that left a stage", ascending=False)


def open_stage_table(frame: pd.DataFrame, order: StageOrder, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open deals per stage in pipeline order: count, amount, median age (days)."""
    open_ = frame[_status(frame).eq(OPEN).to_numpy()]
    age = (pd.Timestamp(as_of) - pd.to_datetime(open_["created_date"])).dt.days
    table = (
        open_.assign(_stage=_text(open_["stage"]), _age=age)
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


# --------------------------------------------------------------------------------------------------
# stalled deals


def won_cycle_limits(
    frame: pd.DataFrame, by: str = "product", q: float = 0.9, min_won: int = 20
) -> pd.Series:
    """The ``q`` quantile of days from creation to close of won deals, per level of ``by``.

    A level with fewer than ``min_won`` won deals takes the quantile over all won deals (its own
    would rest on luck). The series is indexed by level; ``attrs["overall"]`` holds the overall
    quantile. Raises ``ValueError`` when no won deal has both dates.
    """
    won = frame[_status(frame).eq(WON).to_numpy()]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    ok = days.notna() & (days >= 0)
    if not ok.any():
        raise ValueError("no won deal with a creation and a close date")
    overall = float(np.quantile(days[ok], q))
    level = _text(won[by]) if by in won else pd.Series(NONE_LEVEL, index=won.index)
    per = days[ok].groupby(level[ok].to_numpy()).agg(["size", lambda s: np.quantile(s, q)])
    per.columns = ["n", "limit"]
    limits = per["limit"].where(per["n"] >= min_won, overall)
    limits.attrs = {"overall": overall, "quantile": q}
    return limits


def flag_stalled(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    limits: pd.Series,
    by: str = "product",
) -> pd.DataFrame:
    """Open deals with their age, the limit for their level and whether they are past it.

    ``stalled`` is True when ``age_days`` exceeds the limit (levels without one take
    ``limits.attrs["overall"]``). Open deals without a creation date have no age and are never
    flagged (``age_days`` is NaN).
    """
    as_of = pd.Timestamp(as_of)
    open_ = frame[_status(frame).eq(OPEN).to_numpy()].copy()
    open_["age_days"] = (as_of - pd.to_datetime(open_["created_date"])).dt.days.astype(float)
    level = _text(open_[by]) if by in open_ else pd.Series(NONE_LEVEL, index=open_.index)
    overall = limits.attrs.get("overall", float(limits.max()) if len(limits) else np.nan)
    open_["limit_days"] = level.map(limits).fillna(overall).astype(float).to_numpy()
    open_["stalled"] = (open_["age_days"] > open_["limit_days"]).fillna(False).astype(bool)
    return open_


def old_deals(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    limits: pd.Series,
    by: str = "product",
) -> pd.DataFrame:
    """Every deal old enough to have stalled: created more than its limit days before ``as_of``,
    whatever its status; ``stalled`` is True for those still open.

    The share of these that are stalled is a per-deal stall rate that does not depend on how fast
    the other deals of a group close (among *open* deals alone, a fast-closing product would look
    stall-prone only because its healthy deals have already left).
    """
    as_of = pd.Timestamp(as_of)
    out = frame.copy()
    out["age_days"] = (as_of - pd.to_datetime(out["created_date"])).dt.days.astype(float)
    level = _text(out[by]) if by in out else pd.Series(NONE_LEVEL, index=out.index)
    overall = limits.attrs.get("overall", float(limits.max()) if len(limits) else np.nan)
    limit = level.map(limits).fillna(overall).astype(float).to_numpy()
    out = out[(out["age_days"] > limit).to_numpy()].copy()
    out["stalled"] = _status(out).eq(OPEN).to_numpy()
    return out


def stalled_outlook(
    flagged: pd.DataFrame,
    cycle_model: object,
    revenue_model: object | None = None,
    unchanged: pd.Series | None = None,
    random_seed: int | None = None,
    n_samples: int = 400,
) -> pd.DataFrame:
    """The stalled deals an owner can act on, largest value at risk first.

    ``p_won_ever`` is the posterior mean chance that the deal is ever won given that it is still
    open at its age (the period's cycle-time model, by product; not by stage).
    ``value_at_risk = amount * (1 - p_won_ever)``; a deal without an amount takes the revenue
    model's mean won amount for its cell (``amount estimated``).

    Parameters
    ----------
    flagged
        Output of :func:`flag_stalled` (only rows with ``stalled`` are used).
    cycle_model
        A fitted :class:`~pipeline_models.models.CycleTimeModel`.
    revenue_model
        A fitted :class:`~pipeline_models.models.RevenueModel` for missing amounts (optional).
    unchanged
        Per ``opportunity_id``: True when the deal sat at the same stage at the previous export.
    """
    deals = flagged[flagged["stalled"]].copy()
    cols = ["owner", "opportunity_id", "product", "stage", "age_days", "amount"]
    if deals.empty:
        return pd.DataFrame(
            columns=[*cols, "amount estimated", "p_won_ever", "value_at_risk", "same stage"]
        )
    # deals of one cell and age share their chance (and of one cell their mean amount): predict
    # once per distinct cell, so the cost grows with cells, not deals
    ccols = list(getattr(cycle_model, "columns_", []))
    keys = group_levels(deals, ccols).reset_index(drop=True)
    keys["age_days"] = deals["age_days"].to_numpy(dtype=float)
    codes, distinct = factorize_rows(keys, list(keys.columns))
    p = cycle_model.predict_outcome(  # type: ignore[attr-defined]
        distinct,
        horizon_days=1e6,
        random_seed=random_seed,
        n_samples=n_samples,
    )["p_won"]
    deals["p_won_ever"] = p.mean("sample").to_numpy()[codes]
    amount = pd.to_numeric(deals["amount"], errors="coerce")
    estimated = amount.isna()
    if estimated.any() and revenue_model is not None:
        rcols = list(getattr(revenue_model, "columns_", []))
        missing = deals[estimated.to_numpy()]
        if rcols:
            r_codes, cells = factorize_rows(group_levels(missing, rcols), rcols)
        else:
            r_codes, cells = np.zeros(len(missing), dtype=int), missing.iloc[:1]
        mean = revenue_model.expected_amount(  # type: ignore[attr-defined]
            cells, random_seed=random_seed
        )
        amount = amount.copy()
        amount[estimated] = mean.mean("sample").to_numpy()[r_codes]
    deals["amount"] = amount
    deals["amount estimated"] = estimated & amount.notna()
    deals["value_at_risk"] = amount * (1 - deals["p_won_ever"])
    if unchanged is not None:
        same = deals["opportunity_id"].astype(str).map(unchanged)
        deals["same stage"] = same.map({True: "yes", False: "no"}).fillna("new")
    out = deals[[c for c in [*cols, "amount estimated", "p_won_ever", "value_at_risk",
                             "same stage"] if c in deals]]  # fmt: skip
    return out.sort_values("value_at_risk", ascending=False, na_position="last", ignore_index=True)


def stalled_ratios(
    deals: pd.DataFrame,
    by: Sequence[str] = ("segment", "product", "region", "owner"),
    interval: float = INTERVAL,
    iterations: int = 100,
) -> pd.DataFrame:
    """How much more often than the average deal each group's deals stall, each attribute
    adjusted for the others.

    ``deals`` holds a boolean ``stalled`` and the grouping columns, normally every deal old enough
    to have stalled (:func:`old_deals`).

    A log-linear (Poisson, relative-risk) main-effects model
    ``E[stalled_i] = share * prod_attribute f[attribute, level_i]`` is fitted by iterative
    proportional fitting, so a product full of a stall-prone segment is not blamed for the segment.
    Then for each attribute, with the other factors fixed, a level's ratio is its stalled count over
    its expected count, pooled across the attribute's levels (gamma-Poisson, empirical Bayes) and
    scaled so that the average deal is 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``attribute, level, deals, stalled, share, ratio, lower, upper, credible``
        (``share`` raw; ``ratio`` and its interval adjusted); ``attrs["overall"]`` is the overall
        stalled share.
    """
    aged = deals
    columns = [c for c in by if c in aged and aged[c].notna().any()]
    out_cols = ["attribute", "level", "deals", "stalled", "share", "ratio", "lower", "upper",
                "credible"]  # fmt: skip
    if aged.empty or not columns:
        return pd.DataFrame(columns=out_cols)
    y = aged["stalled"].to_numpy(dtype=float)
    overall = float(y.mean())
    codes = {c: pd.factorize(_text(aged[c]))for c in columns}  # fmt: skip
    factors = {c: np.ones(len(levels)) for c, (_, levels) in codes.items()}

    def fitted(skip: str | None = None) -> np.ndarray:
        mu = np.full(len(y), overall)
        for c, (code, _) in codes.items():
            if c != skip:
                mu = mu * factors[c][code]
        return mu

    if overall > 0:
        for _ in range(iterations):
            change = 0.0
            for c, (code, levels) in codes.items():
                observed = np.bincount(code, weights=y, minlength=len(levels))
                expected = np.bincount(code, weights=fitted(c), minlength=len(levels))
                new = np.where(expected > 0, observed / np.where(expected > 0, expected, 1), 1.0)
                change = max(change, float(np.max(np.abs(np.log(np.maximum(new, 1e-9))
                                                         - np.log(np.maximum(factors[c], 1e-9))))))  # fmt: skip
                factors[c] = new
            if change < 1e-6:
                break
    parts = []
    for c, (code, levels) in codes.items():
        observed = np.bincount(code, weights=y, minlength=len(levels))
        expected = np.bincount(code, weights=fitted(c), minlength=len(levels))
        n = np.bincount(code, minlength=len(levels))
        scale = observed.sum() / expected.sum() if expected.sum() > 0 else 1.0
        rates = pooled_event_rates(observed, expected * scale, interval=interval)
        parts.append(
            pd.DataFrame(
                {
                    "attribute": c,
                    "level": [str(v) for v in levels],
                    "deals": n,
                    "stalled": observed.astype(int),
                    "share": observed / n,
                    "ratio": rates["mean"].to_numpy(),
                    "lower": rates["lower"].to_numpy(),
                    "upper": rates["upper"].to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["credible"] = (out["lower"] > 1) | (out["upper"] < 1)
    out.attrs = {"overall": overall}
    return out[out_cols]


def stalled_hotspots(
    deals: pd.DataFrame,
    by: Sequence[str] = ("segment", "product", "region", "owner"),
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """The groups of :func:`stalled_ratios` whose adjusted ratio credibly differs from 1,
    highest ratio first."""
    ratios = stalled_ratios(deals, by, interval=interval)
    out = ratios[ratios["credible"]].sort_values("ratio", ascending=False, ignore_index=True)
    out.attrs = ratios.attrs
    return out


def hotspots_display(hotspots: pd.DataFrame) -> pd.DataFrame:
    """Stalled hotspots for readers."""
    from .report import fmt_pct

    return pd.DataFrame(
        {
            "attribute": hotspots["attribute"].str.replace("_", " "),
            "level": hotspots["level"],
            "deals old enough": hotspots["deals"],
            "stalled": hotspots["stalled"],
            "stalled share": hotspots["share"].map(fmt_pct),
            "stalled vs average deal, adjusted (90% interval)": interval_text(
                hotspots["ratio"], hotspots["lower"], hotspots["upper"], "ratio"
            ),
        }
    )


# --------------------------------------------------------------------------------------------------
# win and loss drivers


TERM_WORDS = {
    "product": "Deals for product {level}",
    "region": "Deals in region {level}",
    "owner": "Deals of {level}",
    "lead_source": "Deals from lead source {level}",
    "segment": "Deals in segment {level}",
    "deal size": "Deals of size {level}",
    "cycle length": "Deals that took {level} to close",
}


def _rate_draws(win_model: object, term: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Draws of the average win rate and of each level's rate (other groups at their average).

    Reads the posterior's ``intercept`` and ``b_<term>`` (the varying intercepts, present under
    either parametrization): the model's public tables give summaries only.
    """
    from .models.base import stack_draws

    post = win_model.posterior_  # type: ignore[attr-defined]
    a = stack_draws(post, "intercept")
    b = stack_draws(post, f"b_{term}", (term,))
    return special.expit(a), special.expit(a[:, None] + b), list(win_model.terms_[term])  # type: ignore[attr-defined]


def driver_effects(win_model: object, interval: float = INTERVAL) -> pd.DataFrame:
    """Each fitted level's win rate relative to the average deal, from the pooled win-rate model.

    ``rate_ratio = p(level) / p(average)`` with the other groups at their average level (the
    model adjusts each group for the others); ``odds_ratio = exp(effect)``. Intervals are
    equal-tailed posterior intervals; ``credible`` when the ratio's interval excludes 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``term, level, deals, won, rate, rate_ratio, lower, upper, odds_ratio, credible``.
    """
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    effects = win_model.group_effects()  # type: ignore[attr-defined]
    counts = effects.set_index(["term", "level"])[["deals", "won"]]
    rows = []
    for term in win_model.terms_:  # type: ignore[attr-defined]
        base, rates, levels = _rate_draws(win_model, term)
        ratio = rates / base[:, None]
        odds = (rates / (1 - rates)) / (base / (1 - base))[:, None]
        for j, level in enumerate(levels):
            c = counts.loc[(term, level)] if (term, level) in counts.index else {}
            low, high = np.quantile(ratio[:, j], [lo, hi])
            rows.append(
                {
                    "term": term,
                    "level": level,
                    "deals": int(c.get("deals", 0)),
                    "won": int(c.get("won", 0)),
                    "rate": float(rates[:, j].mean()),
                    "rate_ratio": float(np.median(ratio[:, j])),
                    "lower": float(low),
                    "upper": float(high),
                    "odds_ratio": float(np.median(odds[:, j])),
                    "credible": bool(low > 1 or high < 1),
                }
            )
    return pd.DataFrame(
        rows,
        columns=["term", "level", "deals", "won", "rate", "rate_ratio", "lower", "upper",
                 "odds_ratio", "credible"],
    )  # fmt: skip


def _nice(value: float) -> float:
    """Round to two significant digits (edges a reader can remember)."""
    if value <= 0 or not np.isfinite(value):
        return float(value)
    digits = int(np.floor(np.log10(value))) - 1
    return float(round(value, -digits))


def _band_labels(values: pd.Series, edges: list[float], unit: str, fmt) -> pd.Series:
    labels = []
    bounds = [-np.inf, *edges, np.inf]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if np.isinf(lo):
            labels.append(f"under {fmt(hi)}{unit}")
        elif np.isinf(hi):
            labels.append(f"{fmt(lo)}{unit} or more")
        else:
            labels.append(f"{fmt(lo)} to {fmt(hi)}{unit}")
    cut = pd.cut(values, bounds, right=False, labels=labels)
    return cut


def deal_size_band(frame: pd.DataFrame, n_bands: int = 4) -> pd.Series | None:
    """Band of each closed deal's amount (quantiles of closed deals' amounts, rounded edges).

    ``None`` when fewer than half of the won or of the lost deals carry an amount (some CRMs, like
    Maven's, record amounts only for won deals: size cannot then separate winners from losers).
    """
    from .report import fmt_money

    status = _status(frame)
    closed = frame[status.isin([WON, LOST]).to_numpy()]
    amount = pd.to_numeric(closed["amount"], errors="coerce")
    has = amount.notna() & (amount > 0)
    for s in (WON, LOST):
        part = (_status(closed) == s).to_numpy()
        if part.sum() == 0 or has[part].mean() < 0.5:
            return None
    qs = np.quantile(amount[has], np.linspace(0, 1, n_bands + 1)[1:-1])
    edges = sorted({_nice(v) for v in qs if v > 0})
    if not edges:
        return None
    band = _band_labels(amount.where(has), edges, "", lambda v: fmt_money(v).replace(".00", ""))
    return band


def cycle_band(frame: pd.DataFrame, n_bands: int = 4) -> pd.Series | None:
    """Band of each closed deal's days from creation to close (quantile edges, rounded)."""
    closed = frame[_status(frame).isin([WON, LOST]).to_numpy()]
    days = (pd.to_datetime(closed["close_date"]) - pd.to_datetime(closed["created_date"])).dt.days
    ok = days.notna() & (days >= 0)
    if ok.sum() < 2 * n_bands:
        return None
    qs = np.quantile(days[ok], np.linspace(0, 1, n_bands + 1)[1:-1])
    edges = sorted({max(_nice(v), 1.0) for v in qs})
    return _band_labels(days.where(ok), edges, " days", lambda v: f"{v:,.0f}")


def band_effects(
    frame: pd.DataFrame, band: pd.Series, term: str, interval: float = INTERVAL
) -> pd.DataFrame:
    """Win rate per band of closed deals, pooled (beta-binomial), relative to the team's rate.

    Not adjusted for the other attributes (unlike :func:`driver_effects`): a band's ratio also
    carries its mix of products and owners. Same columns as :func:`driver_effects`.
    """
    closed = frame.loc[band.index]
    won = (_status(closed) == WON).astype(int)
    ok = band.notna()
    counts = won[ok].groupby(band[ok], observed=False).agg(["sum", "size"])
    rates = pooled_rates(counts["sum"], counts["size"], interval=interval, index=counts.index)
    team = counts["sum"].sum() / counts["size"].sum() if counts["size"].sum() else np.nan
    out = pd.DataFrame(
        {
            "term": term,
            "level": [str(i) for i in counts.index],
            "deals": counts["size"].astype(int).to_numpy(),
            "won": counts["sum"].astype(int).to_numpy(),
            "rate": rates["mean"].to_numpy(),
            "rate_ratio": (rates["mean"] / team).to_numpy(),
            "lower": (rates["lower"] / team).to_numpy(),
            "upper": (rates["upper"] / team).to_numpy(),
            "odds_ratio": np.nan,
        }
    )
    out["credible"] = (out["lower"] > 1) | (out["upper"] < 1)
    return out[out["deals"] > 0].reset_index(drop=True)


def all_effects(
    frame: pd.DataFrame, win_model: object, interval: float = INTERVAL
) -> tuple[pd.DataFrame, list[str]]:
    """Effects of every attribute on the win rate, and notes on what could not be measured.

    The pooled win-rate model's groups (:func:`driver_effects`, adjusted for each other), then the
    deal size and cycle length bands (:func:`band_effects`, each on its own).
    """
    parts = [driver_effects(win_model, interval=interval)]
    notes = []
    size = deal_size_band(frame)
    if size is None:
        notes.append(
            "Deal size cannot separate winners from losers here: fewer than half of the won or of "
            "the lost deals carry an amount."
        )
    else:
        parts.append(band_effects(frame, size, "deal size", interval=interval))
    cycle = cycle_band(frame)
    if cycle is None:
        notes.append("Too few closed deals with both dates to compare cycle lengths.")
    else:
        parts.append(band_effects(frame, cycle, "cycle length", interval=interval))
    return pd.concat([p for p in parts if len(p)], ignore_index=True), notes


def effect_sentences(
    effects: pd.DataFrame, top: int = 8, interval: float = INTERVAL
) -> pd.DataFrame:
    """Plain-words findings for the credible effects, strongest first.

    e.g. ``Deals from lead source Referral win 1.4x as often as the average deal (90% interval
    1.2 to 1.6).`` Returns a one-column table (``finding``); its strings hold export values, so
    show it with :func:`pipeline_models.report.show_table` (which escapes them).
    """
    credible = effects[effects["credible"]].copy()
    credible["strength"] = np.abs(np.log(credible["rate_ratio"]))
    credible = credible.sort_values("strength", ascending=False).head(top)
    pct = f"{100 * interval:.0f}%"
    findings = []
    for r in credible.itertuples(index=False):
        subject = TERM_WORDS.get(r.term, f"Deals with {r.term} {{level}}").format(level=r.level)
        findings.append(
            f"{subject} win {r.rate_ratio:.2f}x as often as the average deal "
            f"({pct} interval {r.lower:.2f} to {r.upper:.2f}; {r.deals:,} closed deals)."
        )
    return pd.DataFrame({"finding": findings})


# --------------------------------------------------------------------------------------------------
# owners


def bullets(items: Sequence[str]) -> tuple[str, dict[str, str]]:
    """A Markdown bullet list as a template and its values, for
    :func:`pipeline_models.report.say` (which escapes the values, not the list structure)."""
    items = list(items)
    template = "\n".join(f"- {{item{i}}}" for i in range(len(items)))
    return template, {f"item{i}": str(v) for i, v in enumerate(items)}


def owner_table(
    frame: pd.DataFrame,
    win_model: object,
    interval: float = INTERVAL,
    random_seed: int | None = None,
) -> pd.DataFrame | None:
    """Win rate and revenue per closed deal per owner, shrunk toward the team and mix-adjusted.

    Win rate: the pooled win-rate model's owner level with the other groups (product, region, lead
    source) at their average, so an owner is not judged on the mix of deals they got. Deal size:
    each won deal's log amount minus the mean log amount of its product (the mix), averaged per
    owner and pooled across owners (normal-normal empirical Bayes); ``size index = exp(pooled
    residual)``. Revenue per closed deal at the team's mix = win rate x team mean won amount x size
    index. ``vs team`` is ``higher`` / ``lower`` when the interval excludes the team's value (the
    average owner), else ``in line``. ``None`` when the win-rate model has no owner term.

    Returns
    -------
    pandas.DataFrame
        Indexed by owner: ``closed, won, observed rate, win rate, lower, upper, win rate vs team,
        revenue won, size index, revenue per closed deal, rev lower, rev upper, revenue vs team``;
        sorted by win rate. ``attrs`` holds ``team_rate`` and ``team_revenue_per_deal``.
    """
    if "owner" not in getattr(win_model, "terms_", {}):
        return None
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    base, rates, levels = _rate_draws(win_model, "owner")
    status = _status(frame)
    owner = _text(frame["owner"])
    closed = status.isin([WON, LOST]).to_numpy()
    won_mask = (status == WON).to_numpy()
    counts = pd.DataFrame(
        {
            "closed": pd.Series(closed, index=frame.index).groupby(owner.to_numpy()).sum(),
            "won": pd.Series(won_mask, index=frame.index).groupby(owner.to_numpy()).sum(),
        }
    ).reindex(levels, fill_value=0)
    amount = pd.to_numeric(frame["amount"], errors="coerce")
    ok = won_mask & (amount > 0).fillna(False).to_numpy()
    logs = np.log(amount[ok])
    mix = _text(frame.loc[ok, "product"]) if "product" in frame else pd.Series("", logs.index)
    resid = logs - logs.groupby(mix.to_numpy()).transform("mean")
    u = pooled_means(resid, owner[ok], levels)
    rng = np.random.default_rng(random_seed)
    draws = u["mean"].to_numpy()[None, :] + u["sd"].to_numpy()[None, :] * rng.standard_normal(
        (rates.shape[0], len(levels))
    )
    size_index = np.exp(draws)
    team_amount = float(amount[ok].mean()) if ok.any() else np.nan
    revenue = rates * team_amount * size_index
    team_rate = float(np.mean(base))
    team_rev = team_rate * team_amount
    revenue_won = amount.where(won_mask).groupby(owner.to_numpy()).sum().reindex(levels).fillna(0)
    r_lo, r_hi = np.quantile(rates, [lo, hi], axis=0)
    v_lo, v_hi = np.quantile(revenue, [lo, hi], axis=0)

    def verdict(low: np.ndarray, high: np.ndarray, ref: float) -> np.ndarray:
        return np.where(low > ref, "higher", np.where(high < ref, "lower", "in line"))

    with np.errstate(invalid="ignore", divide="ignore"):
        observed = counts["won"] / counts["closed"].replace(0, np.nan)
    out = pd.DataFrame(
        {
            "closed": counts["closed"].astype(int).to_numpy(),
            "won": counts["won"].astype(int).to_numpy(),
            "observed rate": observed.to_numpy(),
            "win rate": rates.mean(axis=0),
            "lower": r_lo,
            "upper": r_hi,
            "win rate vs team": verdict(r_lo, r_hi, team_rate),
            "revenue won": revenue_won.to_numpy(),
            "size index": size_index.mean(axis=0),
            "revenue per closed deal": revenue.mean(axis=0),
            "rev lower": v_lo,
            "rev upper": v_hi,
            "revenue vs team": verdict(v_lo, v_hi, team_rev),
        },
        index=pd.Index(levels, name="owner"),
    )
    out = out.sort_values("win rate", ascending=False)
    out.attrs = {"team_rate": team_rate, "team_revenue_per_deal": team_rev}
    return out


def pooled_means(values: pd.Series, groups: pd.Series, levels: Sequence[str]) -> pd.DataFrame:
    """Normal-normal partial pooling of group means (empirical Bayes).

    ``y_ij ~ Normal(u_j, s^2)``, ``u_j ~ Normal(m, tau^2)``: ``s^2`` is the pooled within-group
    variance, ``m`` the weighted grand mean, ``tau^2`` the DerSimonian-Laird moment estimate
    (floored at 0: then every group pools to ``m``). A level without values gets the prior.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``levels``: ``n, observed, mean, sd`` (posterior of ``u_j``).
    """
    g = pd.Series(np.asarray(groups, dtype=object), index=values.index)
    agg = values.groupby(g).agg(["size", "mean"]).reindex(list(levels))
    n = agg["size"].fillna(0).to_numpy(dtype=float)
    ybar = agg["mean"].to_numpy(dtype=float)
    has = n > 0
    if not has.any():
        return pd.DataFrame(
            {"n": n, "observed": ybar, "mean": 0.0, "sd": 0.0}, index=pd.Index(list(levels))
        )
    resid = values.to_numpy() - values.groupby(g).transform("mean").to_numpy()
    dof = max(len(values) - int(has.sum()), 1)
    within = max(float(np.sum(resid**2) / dof), 1e-12) if len(values) > 1 else 1.0
    grand = float(np.average(ybar[has], weights=n[has]))
    tau2 = 0.0
    if has.sum() >= 2:
        w = n[has] / within
        q = float(np.sum(w * (ybar[has] - grand) ** 2))
        tau2 = max((q - (has.sum() - 1)) / (w.sum() - np.sum(w**2) / w.sum()), 0.0)
    if tau2 <= 0:
        mean = np.full(len(n), grand)
        sd = np.zeros(len(n))
    else:
        var = 1 / (1 / tau2 + n / within)
        mean = var * (grand / tau2 + n * np.nan_to_num(ybar) / within)
        sd = np.sqrt(var)
    return pd.DataFrame(
        {"n": n.astype(int), "observed": ybar, "mean": mean, "sd": sd}, index=pd.Index(list(levels))
    )


# --------------------------------------------------------------------------------------------------
# cohorts


def cohort_horizon(frame: pd.DataFrame, q: float = 0.9) -> int:
    """Days after creation by which a cohort is judged: the ``q`` quantile of won deals' cycle,
    rounded up to whole 30-day months (at least 30)."""
    won = frame[_status(frame).eq(WON).to_numpy()]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    days = days[days.notna() & (days >= 0)]
    if days.empty:
        return 90
    return int(max(30, 30 * np.ceil(np.quantile(days, q) / 30)))


def cohort_table(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    horizon_days: int,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Win rate and cycle time by creation month, each cohort judged ``horizon_days`` after creation.

    Censoring is handled by a fixed window: a cohort counts only once all its deals are at least
    ``horizon_days`` old at ``as_of`` (younger cohorts are left out; ``attrs["too_young"]`` counts
    them). ``won_within`` counts deals won within the window; ``rate = won_within / created`` with
    a Jeffreys interval; ``median_days_to_win`` among those wins. Deals still open or closed after
    the window count as not won within it, the same for every cohort, so cohorts compare fairly.
    """
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    as_of = pd.Timestamp(as_of)
    created = pd.to_datetime(frame["created_date"], errors="coerce")
    keep = created.notna()
    f = frame[keep.to_numpy()]
    created = created[keep]
    cohort = created.dt.to_period("M")
    close = pd.to_datetime(f["close_date"], errors="coerce")
    days = (close - created).dt.days
    status = _status(f)
    in_window = (close <= as_of) & (days <= horizon_days)
    won = (status == WON) & in_window
    lost = (status == LOST) & in_window
    table = pd.DataFrame(
        {
            "created": cohort.groupby(cohort).size(),
            "won_within": won.groupby(cohort).sum(),
            "lost_within": lost.groupby(cohort).sum(),
            "median_days_to_win": days.where(won).groupby(cohort).median(),
        }
    )
    table.index.name = "cohort"
    mature = (table.index.end_time.normalize() + pd.Timedelta(days=horizon_days)) <= as_of
    too_young = int((~mature).sum())
    table = table[mature].copy()
    a = table["won_within"] + 0.5
    b = table["created"] - table["won_within"] + 0.5
    table["rate"] = table["won_within"] / table["created"]
    table["lower"] = stats.beta.ppf(lo, a, b)
    table["upper"] = stats.beta.ppf(hi, a, b)
    table["not_closed_within"] = table["created"] - table["won_within"] - table["lost_within"]
    table = table[["created", "won_within", "lost_within", "not_closed_within", "rate", "lower",
                   "upper", "median_days_to_win"]]  # fmt: skip
    table.attrs = {"horizon_days": int(horizon_days), "too_young": too_young}
    return table


def cohort_trend(
    cohorts: pd.DataFrame,
    recent: int = 3,
    interval: float = INTERVAL,
    random_seed: int | None = None,
) -> dict[str, float] | None:
    """The latest ``recent`` mature cohorts against all earlier ones: win rates within the window
    and their difference (Jeffreys posteriors, Monte Carlo), and median days to win. ``None``
    when there are too few cohorts."""
    if len(cohorts) < recent + 2:
        return None
    late, early = cohorts.iloc[-recent:], cohorts.iloc[:-recent]
    rng = np.random.default_rng(random_seed)

    def draws(part: pd.DataFrame) -> np.ndarray:
        won, n = part["won_within"].sum(), part["created"].sum()
        return rng.beta(won + 0.5, n - won + 0.5, 20_000)

    d_late, d_early = draws(late), draws(early)
    diff = d_late - d_early
    lo, hi = np.quantile(diff, [(1 - interval) / 2, (1 + interval) / 2])
    return {
        "recent_cohorts": f"{late.index[0]} to {late.index[-1]}",
        "earlier_cohorts": f"{early.index[0]} to {early.index[-1]}",
        "recent_rate": float(late["won_within"].sum() / late["created"].sum()),
        "earlier_rate": float(early["won_within"].sum() / early["created"].sum()),
        "difference": float(diff.mean()),
        "lower": float(lo),
        "upper": float(hi),
        "p_improved": float((diff > 0).mean()),
        "recent_days_to_win": float(np.average(late["median_days_to_win"].fillna(0),
                                               weights=late["won_within"].clip(lower=1e-9))),
        "earlier_days_to_win": float(np.average(early["median_days_to_win"].fillna(0),
                                                weights=early["won_within"].clip(lower=1e-9))),
    }  # fmt: skip


# --------------------------------------------------------------------------------------------------
# presentation


def interval_text(
    mean: pd.Series, lower: pd.Series, upper: pd.Series, kind: str = "pct"
) -> pd.Series:
    """``mean (lower-upper)`` as text: ``kind`` ``pct`` (62% (55-70)), ``ratio`` (1.40x (1.20-1.60)),
    ``money`` (12.3k (9.8k-15.1k)) or ``months`` (1.4 (1.2 to 1.7), above 24 shown as ``> 24``)."""
    from .report import fmt_money

    def one(m: float, lo: float, hi: float) -> str:
        if pd.isna(m):
            return ""
        if kind == "pct":
            return f"{100 * m:.0f}% ({100 * lo:.0f}-{100 * hi:.0f})"
        if kind == "ratio":
            return f"{m:.2f}x ({lo:.2f}-{hi:.2f})"
        if kind == "money":
            return f"{fmt_money(m)} ({fmt_money(lo)}-{fmt_money(hi)})"

        def months(v: float) -> str:  # beyond two years the figure says only "very long"
            return "> 24" if v > 24 else f"{v:.1f}"

        return f"{months(m)} ({months(lo)} to {months(hi)})"

    return pd.Series(
        [one(m, lo, hi) for m, lo, hi in zip(mean, lower, upper, strict=True)], index=mean.index
    )


def conversion_display(conversion: pd.DataFrame) -> pd.DataFrame:
    """The overall stage table for readers: counts, pooled conversion, value lost, months."""
    from .report import fmt_money

    t = conversion
    return pd.DataFrame(
        {
            "stage": t["stage"].astype(str),
            "moved on": t["passed"].astype(int),
            "lost here": t["lost"].astype(int),
            "still here": t["stayed"].astype(int),
            "conversion (90% interval)": interval_text(t["mean"], t["lower"], t["upper"]),
            "value lost here": t["value_lost"].map(fmt_money),
            "months in stage (90% interval)": interval_text(
                t["months_in_stage"], t["months_lower"], t["months_upper"], "months"
            ),
        }
    ).set_index("stage")


def stalled_display(outlook: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The stalled-deal list for owners: amounts as money, chances as percentages."""
    from .report import fmt_money, fmt_pct

    t = outlook.rename(columns={"opportunity_id": "deal", "age_days": "age (days)"}).copy()
    est = t.pop("amount estimated") if "amount estimated" in t else pd.Series(False, t.index)
    t["amount"] = [
        fmt_money(a, currency) + (" (est.)" if e else "")
        for a, e in zip(t["amount"], est, strict=True)
    ]
    t["P(won ever)"] = t.pop("p_won_ever").map(lambda p: fmt_pct(p, 1 if p < 0.1 else 0))
    t["value at risk"] = t.pop("value_at_risk").map(lambda v: fmt_money(v, currency))
    t["age (days)"] = t["age (days)"].astype(int)
    return t


def owner_display(owners: pd.DataFrame) -> pd.DataFrame:
    """The owner table for readers."""
    from .report import fmt_money, fmt_pct

    return pd.DataFrame(
        {
            "closed deals": owners["closed"],
            "raw win rate": owners["observed rate"].map(fmt_pct),
            "win rate, pooled (90% interval)": interval_text(
                owners["win rate"], owners["lower"], owners["upper"]
            ),
            "win rate vs team": owners["win rate vs team"],
            "revenue won": owners["revenue won"].map(fmt_money),
            "revenue per closed deal, pooled": interval_text(
                owners["revenue per closed deal"], owners["rev lower"], owners["rev upper"], "money"
            ),
            "revenue vs team": owners["revenue vs team"],
        },
        index=owners.index,
    )


def effects_display(effects: pd.DataFrame) -> pd.DataFrame:
    """Rate ratios for readers, strongest first."""
    t = effects.assign(_s=np.abs(np.log(effects["rate_ratio"]))).sort_values("_s", ascending=False)
    return pd.DataFrame(
        {
            "attribute": t["term"].str.replace("_", " "),
            "level": t["level"],
            "closed deals": t["deals"],
            "win rate vs average (90% interval)": interval_text(
                t["rate_ratio"], t["lower"], t["upper"], "ratio"
            ),
            "credible": np.where(t["credible"], "yes", "no"),
        }
    ).reset_index(drop=True)


def cohort_display(cohorts: pd.DataFrame) -> pd.DataFrame:
    """The cohort table for readers."""
    h = cohorts.attrs.get("horizon_days")
    return pd.DataFrame(
        {
            "deals created": cohorts["created"],
            f"won within {h} days": cohorts["won_within"],
            f"lost within {h} days": cohorts["lost_within"],
            f"win rate within {h} days (90% interval)": interval_text(
                cohorts["rate"], cohorts["lower"], cohorts["upper"]
            ),
            "median days to win": cohorts["median_days_to_win"],
        },
        index=cohorts.index.astype(str),
    )


def with_money(
    table: pd.DataFrame, columns: Sequence[str] = ("amount",), currency: str = ""
) -> pd.DataFrame:
    """A copy of ``table`` with the given amount columns as money text (empty when missing)."""
    from .report import fmt_money

    out = table.copy()
    for column in columns:
        out[column] = out[column].map(lambda v: "" if pd.isna(v) else fmt_money(v, currency))
    return out


def waterfall_display(bars: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The waterfall bars with exact amounts (two decimals, thousands separated)."""
    sign = np.where(bars["kind"] == "total", "", np.where(bars["cents"] >= 0, "+", "-"))
    cents = bars["cents"].abs()
    exact = [
        f"{s}{c // 100:,}.{c % 100:02d}" + (f" {currency}" if currency else "")
        for s, c in zip(sign, cents, strict=True)
    ]
    return pd.DataFrame({"deals": bars["deals"].to_numpy(), "amount": exact}, index=bars["bar"])


def change_display(summary: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The change summary with amounts as money."""
    from .report import fmt_money

    return summary.assign(amount=summary["amount"].map(lambda v: fmt_money(v, currency)))


def headline(
    conversion: pd.DataFrame | None,
    stalled: pd.DataFrame,
    bars: pd.DataFrame | None,
    effects: pd.DataFrame,
    owners: pd.DataFrame | None,
    currency: str = "",
) -> list[tuple[str, str]]:
    """The report's headline figures for the index page."""
    from .report import fmt_money, fmt_pct

    out = []
    if conversion is None:
        out.append(("weakest stage", "needs last period's export"))
    else:
        b = bottleneck(conversion)
        if b["lowest_stage"] is None:
            out.append(("weakest stage", "no deal left a stage"))
        else:
            out.append(
                (
                    "weakest stage",
                    f"{b['lowest_stage']} ({fmt_pct(b['lowest_conversion'])} move on)",
                )
            )
        if b.get("most_value_lost_stage"):
            out.append(
                (
                    "most value lost at",
                    f"{b['most_value_lost_stage']} ({fmt_money(b['value_lost'], currency)})",
                )
            )
    risk = float(stalled["value_at_risk"].sum()) if len(stalled) else 0.0
    out.append(("stalled deals", f"{len(stalled):,} ({fmt_money(risk, currency)} at risk)"))
    if bars is None:
        out.append(("open pipeline change", "no previous export"))
    else:
        delta = (int(bars["cents"].iloc[-1]) - int(bars["cents"].iloc[0])) / 100
        text = fmt_money(delta, currency)
        out.append(("open pipeline change", text if delta < 0 else "+" + text))
    # owners have their own section; a cycle length is known only at the close
    credible = effects[effects["credible"] & ~effects["term"].isin(["owner", "cycle length"])]
    if len(credible):
        top = credible.loc[np.abs(np.log(credible["rate_ratio"])).idxmax()]
        out.append(
            (
                "strongest effect on win rate",
                f"{str(top['term']).replace('_', ' ')} {top['level']} "
                f"({top['rate_ratio']:.2f}x win rate)",
            )
        )
    else:
        out.append(("strongest effect on win rate", "none credible"))
    if owners is not None:
        v = owners["win rate vs team"]
        out.append(
            (
                "owners vs team win rate",
                f"{(v == 'higher').sum()} above, {(v == 'lower').sum()} below",
            )
        )
    return out


def thin_data_warnings(
    frame: pd.DataFrame, moves: pd.DataFrame | None, min_closed: int = 100, min_exits: int = 50
) -> list[str]:
    """Sentences for the top of the report when the data are too thin for firm conclusions."""
    out = []
    status = _status(frame)
    closed = int(status.isin([WON, LOST]).sum())
    if closed < min_closed:
        out.append(
            f"Only {closed} closed deals: win drivers, owner comparisons and cohorts are rough."
        )
    if moves is not None:
        exits = int(moves["outcome"].isin(["passed", "lost"]).sum())
        if exits < min_exits:
            out.append(
                f"Only {exits} stage exits between the two exports: stage conversion is rough."
            )
    no_age = int((status.eq(OPEN) & frame["created_date"].isna()).sum())
    if no_age:
        out.append(
            f"{no_age} open deals have no creation date: their age is unknown, so they cannot be "
            "judged stalled and are left out of the cohorts."
        )
    return out


# --------------------------------------------------------------------------------------------------
# charts


def plot_stage_conversion(conversion: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Pooled conversion of each stage to the next (90% interval), value lost written beside."""
    from .report import fmt_money

    ax = ax or plt.subplots(figsize=(8, 0.6 * len(conversion) + 1.2))[1]
    t = conversion.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    worst = t["value_lost"].idxmax() if len(t) and t["value_lost"].max() > 0 else None
    colors = ["#dc2626" if i == worst else "#2563eb" for i in t.index]
    ax.barh(y, t["mean"], color=colors, alpha=0.35)
    ax.errorbar(
        t["mean"], y, xerr=[t["mean"] - t["lower"], t["upper"] - t["mean"]],
        fmt="o", color="black", capsize=3,
    )  # fmt: skip
    for yi, (_, r) in zip(y, t.iterrows(), strict=True):
        ax.text(1.02, yi, f"lost {fmt_money(r['value_lost'])}", va="center", fontsize=9,
                transform=ax.get_yaxis_transform())  # fmt: skip
    ax.set_yticks(y, [str(s) for s in t["stage"]])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of deals leaving the stage that move on (90% interval)")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_waterfall(bars: pd.DataFrame, ax: Axes | None = None, currency: str = "") -> Axes:
    """The change waterfall: totals as full bars, steps floating from the running total.

    Steps without any deal are left out of the chart (the table shows them). The value axis starts
    near the smallest running total, not at zero, so that the steps can be seen; it says so.
    """
    import textwrap

    from matplotlib.ticker import FuncFormatter

    from .report import fmt_money

    shown = bars[(bars["kind"] == "total") | (bars["deals"] > 0)].reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(10, 4))[1]
    running, levels = 0.0, []
    for i, r in enumerate(shown.itertuples(index=False)):
        value = r.cents / 100
        if r.kind == "total":
            bottom, height, color = 0.0, value, "#475569"
            running = value
        else:
            bottom, height = running, value
            color = "#16a34a" if value >= 0 else "#dc2626"
            running += value
        levels += [bottom + height, running] if r.kind == "step" else [value]
        ax.bar(i, height, bottom=bottom, color=color, width=0.7)
        label = fmt_money(value) if r.kind == "total" or value < 0 else "+" + fmt_money(value)
        ax.text(i, max(bottom, bottom + height), label, ha="center", va="bottom", fontsize=8)
    low, high = min(levels), max(levels)
    span = max(high - low, abs(high) * 0.05, 1.0)
    floor = max(low - 0.6 * span, 0.0)
    ax.set_ylim(floor, high + 0.15 * span)
    names = [
        "\n".join(textwrap.wrap(str(b), 12)) + f"\n({d:,} deals)"
        for b, d in zip(shown["bar"], shown["deals"], strict=True)
    ]
    ax.set_xticks(range(len(shown)), names, fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_money(v)))
    axis = f"open pipeline {currency}".strip()
    ax.set_ylabel(axis + ("\n(axis does not start at 0)" if floor > 0 else ""))
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_ranked_intervals(
    table: pd.DataFrame,
    label: str,
    value: str = "mean",
    lower: str = "lower",
    upper: str = "upper",
    reference: float | None = None,
    log: bool = False,
    xlabel: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Rows ranked by ``value`` with their interval; a reference line (e.g. team average)."""
    t = table.sort_values(value).reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(8, 0.28 * len(t) + 1.2))[1]
    y = np.arange(len(t))
    credible = (t[lower] > reference) | (t[upper] < reference) if reference is not None else None
    colors = (
        np.where(credible, "#dc2626", "#2563eb") if credible is not None else ["#2563eb"] * len(t)
    )
    ax.hlines(y, t[lower], t[upper], colors=colors, lw=2)
    ax.scatter(t[value], y, color=colors, zorder=3, s=18)
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1)
    if log:
        ax.set_xscale("log")
        low, high = float(t[lower].min()), float(t[upper].max())
        ticks = [v for v in (0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5)
                 if low / 1.3 <= v <= high * 1.3]  # fmt: skip
        ax.set_xticks(ticks, [f"{v:g}x" for v in ticks])
        ax.minorticks_off()
    ax.set_yticks(y, [str(v) for v in t[label]], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_cohorts(cohorts: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Win rate within the window by creation month, with 90% intervals."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    x = cohorts.index.to_timestamp()
    ax.fill_between(x, cohorts["lower"], cohorts["upper"], color="#2563eb", alpha=0.2)
    ax.plot(x, cohorts["rate"], "o-", color="#2563eb")
    horizon = cohorts.attrs.get("horizon_days")
    ax.set_ylabel(f"won within {horizon} days" if horizon else "win rate")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    return ax


__all__ = [
    "INTERVAL",
    "KNOWN_STAGE_ORDERS",
    "StageOrder",
    "band_effects",
    "bottleneck",
    "change_summary",
    "cohort_horizon",
    "cohort_table",
    "cohort_trend",
    "compare_exports",
    "conversion_grid",
    "cycle_band",
    "deal_size_band",
    "driver_effects",
    "effect_sentences",
    "export_date",
    "flag_stalled",
    "old_deals",
    "open_stage_table",
    "overdue_deals",
    "owner_table",
    "plot_cohorts",
    "plot_ranked_intervals",
    "plot_stage_conversion",
    "plot_waterfall",
    "pooled_event_rates",
    "pooled_rates",
    "slipping_deals",
    "stage_conversion",
    "stage_moves",
    "stalled_ratios",
    "stalled_outlook",
    "stage_order",
    "waterfall",
    "won_cycle_limits",
]
