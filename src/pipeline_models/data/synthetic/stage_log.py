"""The stage history a CRM would have logged for a simulated pipeline, up to a date.

A CRM that keeps a deal's history writes a row each time a tracked field changes. The simulated
log (:func:`history_snapshot`) holds, for every deal created by ``as_of``:

stage rows
    one per stage entered (open stages, then the won or lost stage at the close), with the
    amount and the expected close date the CRM showed at the end of that day (the actual close
    date and the final amount on the row that closes the deal);
close-date rows
    one per revision of the expected close date that changed it, that field only;
amount rows
    one per revision of the open amount that changed what the CRM showed, that field only (a deal
    whose amount is missing while open has none: nothing visible changed).

Every value is read from the simulated history (:class:`~.history.SimulatedHistory`), so the log
consumes no random numbers and agrees with :func:`~.snapshots.snapshot` on every date. Nothing
after ``as_of`` is written. The CRM's probability is not simulated; its column is blank.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline_models.contract.schema import HISTORY_COLUMNS

from .columns import NEVER, dates, day_number, day_numbers, labels, slug, text
from .config import MAX_REVISIONS
from .history import SimulatedHistory

_STAGE, _CLOSE, _AMOUNT = 0, 1, 2
"""Kinds of row; within one deal and day the log lists them in this order."""


def history_snapshot(history: SimulatedHistory, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """The canonical stage history the CRM had logged by the end of ``as_of``.

    Parameters
    ----------
    history
        A simulated history (:func:`~.history.simulate_history`).
    as_of
        The last day logged.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~pipeline_models.contract.schema.HISTORY_COLUMNS`: ``opportunity_id``
        (text), ``changed_date`` (``datetime64[ns]``), ``stage`` (text, missing on close-date and
        amount rows), ``amount`` (float, missing where the row does not record it or the CRM
        showed none), ``close_date`` (``datetime64[ns]``, missing on amount rows) and
        ``probability`` (always missing). Sorted by deal (in creation order), day, kind of row
        (stage, close date, amount) and stage.
    """
    day = day_number(as_of)
    deals = history.deals
    d = deals.iloc[np.flatnonzero(day_numbers(deals["created_date"]) <= day)]
    parts = [_stage_rows(history, d, day), _close_rows(d, day), _amount_rows(d, day)]
    deal = np.concatenate([p["deal"] for p in parts])
    changed = np.concatenate([p["changed"] for p in parts])
    kind = np.concatenate([p["kind"] for p in parts])
    stage = np.concatenate([p["stage"] for p in parts])
    order = np.lexsort((stage, kind, changed, deal))
    stage_names = history.config.all_stages
    ids = d["opportunity_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "opportunity_id": text(ids[deal[order]].astype(str)),
            "changed_date": dates(changed[order]),
            "stage": labels(np.maximum(stage[order], 0), stage_names, missing=stage[order] < 0),
            "amount": np.concatenate([p["amount"] for p in parts])[order],
            "close_date": dates(np.concatenate([p["close"] for p in parts])[order]),
            "probability": np.full(len(order), np.nan),
        },
        columns=list(HISTORY_COLUMNS),
    )


def _stage_rows(history: SimulatedHistory, d: pd.DataFrame, day: np.int64) -> dict:
    """One row per stage entered by ``day``, with the amount and close date shown that day."""
    config = history.config
    entries = np.column_stack(
        [day_numbers(d[f"entered_{slug(s)}"]) for s in config.all_stages]
    ).reshape(len(d), len(config.all_stages))
    deal, stage = np.nonzero(entries <= day)
    changed = entries[deal, stage]
    closed = stage >= len(config.stages)
    final = d["amount"].to_numpy(dtype=float)[deal]
    actual = day_numbers(d["close_date"])[deal]
    return {
        "deal": deal,
        "changed": changed,
        "kind": np.full(len(deal), _STAGE),
        "stage": stage,
        "amount": np.where(closed, final, _open_amount(d, deal, changed)),
        "close": np.where(closed, actual, _expected_close(d, deal, changed)),
    }


def _expected_close(d: pd.DataFrame, deal: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Expected close day in force at the end of day ``on`` for each ``deal``."""
    revised = _revision_days(d)[deal]
    expected = _expected_days(d)[deal]
    return expected[np.arange(len(deal)), (revised <= on[:, None]).sum(axis=1)]


def _open_amount(d: pd.DataFrame, deal: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Amount an open deal showed at the end of day ``on``: before its revision the open amount,
    after it the final one, none when the amount is missing while open."""
    final = d["amount"].to_numpy(dtype=float)[deal]
    factor = d["open_amount_factor"].to_numpy(dtype=float)[deal]
    before = day_numbers(d["amount_revised_date"])[deal] > on
    shown = np.where(before, np.rint(final * factor), final)
    missing = d["amount_missing_while_open"].to_numpy(dtype=bool)[deal]
    return np.where(missing, np.nan, shown)


def _revision_days(d: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [day_numbers(d[f"revised_{k}"]) for k in range(1, MAX_REVISIONS + 1)]
    ).reshape(len(d), MAX_REVISIONS)


def _expected_days(d: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [day_numbers(d[f"expected_close_{k}"]) for k in range(MAX_REVISIONS + 1)]
    ).reshape(len(d), MAX_REVISIONS + 1)


def _close_rows(d: pd.DataFrame, day: np.int64) -> dict:
    """One row per revision of the expected close date made by ``day`` that changed it."""
    revised, expected = _revision_days(d), _expected_days(d)
    changed_value = expected[:, 1:] != expected[:, :-1]
    closes = day_numbers(d["close_date"])
    logged = (revised <= day) & (revised < closes[:, None]) & changed_value
    deal, k = np.nonzero(logged)
    return {
        "deal": deal,
        "changed": revised[deal, k],
        "kind": np.full(len(deal), _CLOSE),
        "stage": np.full(len(deal), -1),
        "amount": np.full(len(deal), np.nan),
        "close": expected[deal, k + 1],
    }


def _amount_rows(d: pd.DataFrame, day: np.int64) -> dict:
    """One row per revision of the open amount made by ``day`` that changed what was shown."""
    final = d["amount"].to_numpy(dtype=float)
    before = np.rint(final * d["open_amount_factor"].to_numpy(dtype=float))
    revised = day_numbers(d["amount_revised_date"])
    logged = (
        (revised <= day)
        & (revised < day_numbers(d["close_date"]))
        & ~d["amount_missing_while_open"].to_numpy(dtype=bool)
        & (before != final)
    )
    deal = np.flatnonzero(logged)
    return {
        "deal": deal,
        "changed": revised[deal],
        "kind": np.full(len(deal), _AMOUNT),
        "stage": np.full(len(deal), -1),
        "amount": final[deal],
        "close": np.full(len(deal), NEVER),
    }


__all__ = ["history_snapshot"]
