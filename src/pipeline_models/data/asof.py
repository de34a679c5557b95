"""The pipeline as it stood at a past date, rebuilt from one later export without later knowledge.

At an origin ``T`` only what was known by the end of that day is kept: deals created by ``T``;
outcomes of deals closed by ``T``; for every deal still open at ``T`` its stage, amount and expected
close date are unknown (the export holds their later values, which would leak the answer), so they
are emptied. Deals without a creation date cannot be placed in time and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import OPPORTUNITY_COLUMNS, conform_opportunities

UNKNOWN_STAGE = "(unknown at origin)"
AS_OF_COLUMNS = ("created_date", "close_date", "status", "amount")  # what the rules read


def pipeline_as_of(
    frame: pd.DataFrame, origin: pd.Timestamp | str, columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """The canonical table as it stood at the end of day ``origin``; the input is not modified.

    ``columns``: keep only these canonical columns (with those the rules read, ``created_date``,
    ``close_date``, ``status`` and ``amount``), so that a back-test on a large export copies a few
    columns at each origin instead of all of them. Columns already in their canonical type are
    not converted again.
    """
    origin = pd.Timestamp(origin).normalize()
    cutoff = origin + pd.Timedelta(days=1)
    wanted = set(OPPORTUNITY_COLUMNS if columns is None else (*columns, *AS_OF_COLUMNS))
    created = frame["created_date"]
    rows = (created.notna() & (created < cutoff)).to_numpy()
    known = frame.loc[rows, [c for c in frame.columns if c in wanted]]
    closed_by = known["status"].isin(["won", "lost"]) & (known["close_date"] < cutoff)
    still_open = ~closed_by.to_numpy(dtype=bool, na_value=False)
    known.loc[still_open, "status"] = "open"
    if "stage" in known:
        known.loc[still_open, "stage"] = UNKNOWN_STAGE
    known.loc[still_open, "close_date"] = pd.NaT
    known.loc[still_open, "amount"] = float("nan")
    if columns is None or not _canonical(known):
        known = conform_opportunities(known)
    return known[[c for c in OPPORTUNITY_COLUMNS if c in wanted and c in known]].reset_index(
        drop=True
    )


def period_end_view(frame: pd.DataFrame, end: pd.Timestamp | str) -> tuple[pd.DataFrame, dict]:
    """The export as it stood at the end of day ``end`` (a period's last day), and what it left
    out: ``{"created_after": n, "closed_after": m}``.

    An export taken a few days after its period may already hold what happened next: a deal
    created after ``end`` is left out; a deal closed after ``end`` is open as of ``end`` (its
    stage then is unknown and its close date empty; its amount, the best value known, is kept).
    Unlike :func:`pipeline_as_of`, deals open at ``end`` keep their stage and amount: the export
    was taken days, not months, after the period. The input is not modified.
    """
    cutoff = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
    created = pd.to_datetime(frame["created_date"])
    later = (created >= cutoff).to_numpy(dtype=bool, na_value=False)
    out = frame.loc[~later].copy()
    closes = pd.to_datetime(out["close_date"])
    reopened = (out["status"].isin(["won", "lost"]) & (closes >= cutoff)).to_numpy(
        dtype=bool, na_value=False
    )
    out.loc[reopened, "status"] = "open"
    if "stage" in out:
        out.loc[reopened, "stage"] = UNKNOWN_STAGE
    out.loc[reopened, "close_date"] = pd.NaT
    counts = {"created_after": int(later.sum()), "closed_after": int(reopened.sum())}
    return out.reset_index(drop=True), counts


def _canonical(frame: pd.DataFrame) -> bool:
    """Whether every column already has the type :func:`schema.conform_opportunities` gives."""
    for name, dtype in frame.dtypes.items():
        if name in ("created_date", "close_date"):
            ok = dtype == np.dtype("datetime64[ns]")
        elif name == "amount":
            ok = dtype == np.dtype("float64")
        else:
            ok = isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA
        if not ok:
            return False
    return True


def outcomes_after(
    frame: pd.DataFrame, origin: pd.Timestamp | str, months: int
) -> dict[str, float]:
    """Deals won and revenue won in the window (origin, origin + months], from the full export."""
    origin = pd.Timestamp(origin).normalize()
    end = month_end(pd.Period(origin, "M") + months)
    frame = frame[["status", "close_date", "amount"]]  # rows are copied: only these
    won = frame[
        (frame["status"] == "won") & (frame["close_date"] > origin) & (frame["close_date"] <= end)
    ]
    return {"count": float(len(won)), "revenue": float(won["amount"].fillna(0).sum())}


def window_end(origin: pd.Timestamp | str, months: int) -> pd.Timestamp:
    """End of the forecast window that starts the day after ``origin`` and spans ``months``."""
    return month_end(pd.Period(pd.Timestamp(origin), "M") + months)


def parse_origins(text: str) -> list[pd.Timestamp]:
    """``2017-05..2017-11`` or ``2017-05,2017-08`` -> month-end timestamps."""
    text = text.strip()
    if ".." in text:
        first, last = (pd.Period(p.strip(), "M") for p in text.split(".."))
        if last < first:
            raise ValueError(f"origins {text!r}: the last month is before the first")
        return [month_end(p) for p in pd.period_range(first, last, freq="M")]
    return [month_end(p.strip()) for p in text.split(",") if p.strip()]
