"""The export as the CRM showed it on a date, and the month-end dates exports are taken on.

A snapshot never shows what happened after its date: a deal created by then appears, closed
(``won``/``lost`` with its actual close date) when the close happened by then and otherwise open,
with the stage, expected close date and amount the CRM showed that day; a lead appears when
created, its conversion only once it happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from pipeline_models.contract.schema import CRM_VIEW_COLUMNS, LEAD_COLUMNS, OPPORTUNITY_COLUMNS

from .columns import NEVER, category_text, day_number, day_numbers, iso, labels, month_end_day, slug
from .config import MAX_REVISIONS, SampleConfig
from .history import SimulatedHistory
from .parameters import month_grid

_GROUPS = ("product", "region", "segment", "owner", "account", "lead_source")
"""Grouping columns an export carries as text."""


def snapshot(
    history: SimulatedHistory, as_of: date | str | pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export as the CRM showed it at the end of ``as_of``.

    Parameters
    ----------
    history
        A simulated history (:func:`simulate_history`).
    as_of
        The export date.

    Returns
    -------
    (opportunities, leads)
        Canonical columns (:data:`schema.OPPORTUNITY_COLUMNS` but the CRM's own probability and
        forecast category, :data:`schema.LEAD_COLUMNS`), dates
        as ISO strings, missing values as NaN (empty in a CSV). Opportunities created by ``as_of``: status
        ``won``/``lost`` with the actual close date when the close happened by then, otherwise
        ``open`` with the stage, expected close date and amount shown at that date. Leads created by
        ``as_of``, the conversion shown only when it happened by then.
    """
    day = day_number(as_of)
    return _opportunity_snapshot(history, day), _lead_snapshot(history.leads, day)


def _opportunity_snapshot(history: SimulatedHistory, day: np.int64) -> pd.DataFrame:
    """Opportunities created by ``day`` as the CRM showed them that day."""
    deals = history.deals
    config = history.config
    created = day_numbers(deals["created_date"])
    keep = np.flatnonzero(created <= day)
    d = deals.iloc[keep]
    all_stages = config.all_stages
    entries = np.column_stack([day_numbers(d[f"entered_{slug(s)}"]) for s in all_stages]).reshape(
        len(d), len(all_stages)
    )
    entered = entries <= day
    stage_index = len(all_stages) - 1 - np.argmax(entered[:, ::-1], axis=1)
    won_index, lost_index = len(config.stages), len(config.stages) + 1
    status = np.select([stage_index == won_index, stage_index == lost_index], [0, 1], 2)
    is_open = status == 2
    return pd.DataFrame(
        {
            "opportunity_id": d["opportunity_id"].reset_index(drop=True),
            "created_date": iso(created[keep]),
            "close_date": iso(_shown_close(d, day, is_open)),
            "stage": labels(stage_index, all_stages),
            "status": labels(status, ["won", "lost", "open"]),
            "amount": _shown_amount(d, day, is_open),
            "currency": labels(np.zeros(len(d)), [config.currency]),
            **{name: category_text(d[name]) for name in _GROUPS},
            "lead_id": d["lead_id"].reset_index(drop=True),
        },
        columns=[c for c in OPPORTUNITY_COLUMNS if c not in CRM_VIEW_COLUMNS],
    )


def _shown_close(d: pd.DataFrame, day: np.int64, is_open: np.ndarray) -> np.ndarray:
    """Close day shown: the expected close date in force on ``day`` while open, else the actual."""
    close = day_numbers(d["close_date"])
    revisions = np.column_stack(
        [day_numbers(d[f"revised_{k}"]) for k in range(1, MAX_REVISIONS + 1)]
    ).reshape(len(d), MAX_REVISIONS)
    expected = np.column_stack(
        [day_numbers(d[f"expected_close_{k}"]) for k in range(MAX_REVISIONS + 1)]
    ).reshape(len(d), MAX_REVISIONS + 1)
    n_revisions = (revisions <= day).sum(axis=1)
    return np.where(is_open, expected[np.arange(len(d)), n_revisions], close)


def _shown_amount(d: pd.DataFrame, day: np.int64, is_open: np.ndarray) -> np.ndarray:
    """Amount shown: while open, the amount before its revision (or none); the final one after."""
    amount = d["amount"].to_numpy(dtype=float)
    before_change = day_numbers(d["amount_revised_date"]) > day
    open_amount = np.where(
        before_change, np.rint(amount * d["open_amount_factor"].to_numpy(dtype=float)), amount
    )
    missing = d["amount_missing_while_open"].to_numpy(dtype=bool)
    return np.where(is_open, np.where(missing, np.nan, open_amount), amount)


def _lead_snapshot(leads: pd.DataFrame, day: np.int64) -> pd.DataFrame:
    """Leads created by ``day``; the conversion shown only when it happened by then."""
    lead_created = day_numbers(leads["created_date"])
    lead_keep = np.flatnonzero(lead_created <= day)
    lv = leads.iloc[lead_keep]
    converted = day_numbers(lv["converted_date"])
    shown = converted <= day
    return pd.DataFrame(
        {
            "lead_id": lv["lead_id"].reset_index(drop=True),
            "created_date": iso(lead_created[lead_keep]),
            "source": category_text(lv["source"]),
            "opportunity_id": lv["opportunity_id"].reset_index(drop=True).where(shown),
            "converted_date": iso(np.where(shown, converted, NEVER)),
        },
        columns=list(LEAD_COLUMNS),
    )


def month_ends(config: SampleConfig, months: str | int | Sequence[str] | None = None) -> list[date]:
    """Snapshot dates: month ends of the history, selected by ``months``.

    Parameters
    ----------
    config
        Gives the history's span.
    months
        ``None``: the last three month ends; ``"all"``: every month end; an integer ``k``: the last
        ``k``; a string of ``YYYY-MM`` values separated by commas, or a sequence of them: those
        months (each must lie within the history).

    Returns
    -------
    list of datetime.date
        Sorted snapshot dates, each the last day of its month (or the history's end).
    """
    grid = month_grid(config)
    last_days = month_end_day(grid["first"])
    ends = np.minimum(last_days, day_number(config.end)).astype("datetime64[D]")
    all_ends = [d.item() for d in ends]
    if months is None:
        return all_ends[-3:]
    if isinstance(months, str):
        spec = months.strip()
        if spec.lower() == "all":
            return all_ends
        if spec.isdigit():
            return all_ends[-int(spec) :] if int(spec) > 0 else []
        months = [m.strip() for m in spec.split(",") if m.strip()]
    if isinstance(months, int):
        if months < 0:
            raise ValueError("months must be >= 0")
        return all_ends[-months:] if months else []
    by_label = {e.strftime("%Y-%m"): e for e in all_ends}
    chosen = []
    for label in months:
        if label not in by_label:
            raise ValueError(
                f"month {label!r} is not within the history "
                f"({all_ends[0]:%Y-%m}..{all_ends[-1]:%Y-%m})"
            )
        chosen.append(by_label[label])
    return sorted(set(chosen))


__all__ = ["month_ends", "snapshot"]
