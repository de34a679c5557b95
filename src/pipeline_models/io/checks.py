"""Rules across a record's columns and across records: broken records, impossible or future
dates, mixed currencies, repeated ids, and the facts a model must cope with (data warnings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.contract.problems import WARNING
from pipeline_models.contract.schema import GROUP_COLUMNS

from ..contract.labels import NONE_LEVEL
from .cells import BROKEN, RECORD_COLUMNS, ROW, TEXT, flag, label_key
from .collector import Collector, values_of
from .columns import LOOKUP_PREFIX
from .presets import Mapping
from .sniffing import DELIMITER_NAMES

MISSING_CLOSES_DAYS = 90
"""Deals created this many days before the first close, and no close before it: the export
seems to lack the early closes."""


def check_broken_records(raw: pd.DataFrame, info: dict, col: Collector) -> pd.DataFrame:
    """Report records that do not split into the header's fields; return the others, which are
    the ones parsed (broken records are reported, never parsed)."""
    if BROKEN not in raw:
        return raw
    broken = raw[BROKEN].notna()
    width = len([c for c in raw.columns if c not in RECORD_COLUMNS]) - sum(
        c.startswith(LOOKUP_PREFIX) for c in raw.columns
    )
    counts = raw[BROKEN].fillna(width).astype(int)
    delimiter = info.get("delimiter", ",")
    cells = [c for c in raw.columns if c not in RECORD_COLUMNS and not c.startswith("__")]

    def records(mask: pd.Series) -> tuple[str, ...]:
        shown = raw.loc[mask.to_numpy(), cells].head(3).astype(object).fillna("")
        return tuple(delimiter.join(r).rstrip(delimiter)[:80] for r in shown.values.tolist())

    fewer, more = broken & (counts < width), broken & (counts > width)
    multiline = pd.Series(False, index=raw.index)
    for c in cells:
        multiline |= flag(raw[c].astype(TEXT).str.contains("\n", regex=False))
    col.add(
        f"record has a different number of fields than the header (fewer than {width}): "
        "truncated or broken",
        None,
        fewer & ~multiline,
        records(fewer & ~multiline),
    )
    col.add(
        f"record has a different number of fields than the header (fewer than {width}) "
        "and runs over several lines: a quote that is never closed?",
        None,
        fewer & multiline,
        records(fewer & multiline),
    )
    col.add(
        f"record has a different number of fields than the header (more than {width}): "
        f"a value holding an unquoted {DELIMITER_NAMES.get(delimiter, 'delimiter')[:-1]}?",
        None,
        more,
        records(more),
    )
    return raw.loc[~broken.to_numpy()]


def _close_before_created_reason(created: pd.Series, before: pd.Series) -> str:
    """Why closed deals close before they were created; names a bulk load as the cause when
    most of those rows share one created timestamp."""
    reason = "close_date is before created_date"
    if int(before.sum()) < 3:
        return reason
    shared = created[before.fillna(False).to_numpy()].value_counts()
    if shared.empty or shared.iloc[0] < 0.5 * before.sum():
        return reason
    count = int((created == shared.index[0]).sum())
    return (
        f"{reason}: {count} rows share one created date ({shared.index[0].date()}), which looks "
        "like a bulk load into the CRM rather than when the deals began; map created_date to "
        "another column (for example the first stage change) in a mapping file"
    )


def check_rows(
    out: pd.DataFrame, col: Collector, as_of: pd.Timestamp, unreadable: dict | None = None
) -> None:
    """Rules across columns. ``unreadable``: date cells already reported as not a date (None:
    the dates cannot be trusted, so no rule compares them)."""
    closed = out["status"].isin(["won", "lost"]).fillna(False)
    created, close = out["created_date"], out["close_date"]
    if unreadable is None:
        created = close = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    else:
        no_created = ~unreadable.get("created_date", pd.Series(False, index=out.index))
        no_close = ~unreadable.get("close_date", pd.Series(False, index=out.index))
        col.add(
            "closed deal without created_date", "created_date", closed & created.isna() & no_created
        )
        col.add("closed deal without close_date", "close_date", closed & close.isna() & no_close)
    before = closed & (close < created)
    col.add(_close_before_created_reason(created, before), "close_date", before)
    col.add(
        "expected close_date of an open deal is before its created_date",
        "close_date",
        ~closed & (close < created),
        severity=WARNING,
    )
    tomorrow = as_of + pd.Timedelta(days=1)
    col.add(
        f"created_date is in the future (after {as_of.date()})", "created_date", created > tomorrow
    )
    col.add(
        f"closed deal with a close_date in the future (after {as_of.date()})",
        "close_date",
        closed & (close > tomorrow),
    )
    _check_currencies(out, col)


def _check_currencies(out: pd.DataFrame, col: Collector) -> None:
    """Amounts in more than one currency cannot be summed: the rows outside the most common
    currency are errors."""
    if "currency" not in out:
        return
    currencies = out["currency"].dropna().unique()
    if len(currencies) > 1:
        counts = out["currency"].value_counts()
        minority = out["currency"].ne(counts.index[0]) & out["currency"].notna()
        col.add(
            "amounts are in more than one currency ("
            + ", ".join(f"{k}: {v}" for k, v in counts.items())
            + "); convert them to one currency before loading",
            "currency",
            minority,
        )


def check_duplicates(out: pd.DataFrame, col: Collector) -> pd.DataFrame:
    """Report repeated ids; return ``out`` without rows that repeat an earlier row exactly."""
    ids = out["opportunity_id"]
    # with the ids numbered by distinct value, an id repeats when its number does
    codes, distinct = ids.array.factorize()
    if len(distinct) == np.count_nonzero(codes >= 0):
        return out
    counts = np.bincount(codes + 1)
    dup_any = pd.Series((codes >= 0) & (counts[codes + 1] > 1), index=ids.index)
    compare = out.drop(columns=[ROW])
    exact_later = compare.duplicated(keep="first") & dup_any
    conflicting_ids = set(ids[dup_any & ~compare.duplicated(keep=False)])
    conflicting = ids.isin(conflicting_ids)
    col.add(
        "opportunity_id repeats with different values in other columns",
        "opportunity_id",
        conflicting,
        values_of(ids, conflicting),
    )
    exact = exact_later & ~conflicting
    if exact.any():
        col.add(
            "row repeats an earlier row exactly; kept once",
            "opportunity_id",
            exact,
            values_of(ids, exact),
            severity=WARNING,
        )
        return out.loc[~exact.to_numpy()]
    return out


# ---------------------------------------------------------------------------------------------
# Data warnings


def data_warnings(frame: pd.DataFrame, col: Collector, mapping: Mapping) -> pd.DataFrame:
    """Report facts about the data that a model must cope with (warnings, never fatal).

    Returns ``frame`` with the amounts the mapping reads as "not recorded" (amount 0 of a
    status in ``mapping.zero_amount_missing_for``) set missing; ``frame`` itself is unchanged.
    """
    open_ = frame["status"].eq("open").fillna(False)
    col.add(
        f"{int((open_ & frame['created_date'].isna()).sum())} open deals have no created_date: "
        "they count in the pipeline but not in age or cycle-time figures",
        "created_date",
        open_ & frame["created_date"].isna(),
        severity=WARNING,
    )
    frame = _amount_warnings(frame, col, mapping)
    if frame["status"].eq("won").any() and not frame["status"].eq("lost").any():
        col.add(
            "the export records won deals but no lost deal: the CRM may delete lost deals, so "
            "win rates read 100% and a back-test of the open pipeline would see the future",
            "status",
            severity=WARNING,
        )
    _group_warnings(frame, col)
    _history_warnings(frame, col)
    return frame


def _amount_warnings(frame: pd.DataFrame, col: Collector, mapping: Mapping) -> pd.DataFrame:
    status = frame["status"]
    # a won deal of amount 0 is a blank the CRM filled in, in every CRM: one rule for all
    for status_name in dict.fromkeys(("won", *mapping.zero_amount_missing_for)):
        zero = status.eq(status_name).fillna(False) & frame["amount"].eq(0).fillna(False)
        if zero.any():
            col.add(
                f"{int(zero.sum())} {status_name} deals carry amount 0: read as 'not recorded'",
                "amount",
                zero,
                severity=WARNING,
            )
            frame = frame.assign(amount=frame["amount"].mask(zero, np.nan))
    no_amount = status.eq("open").fillna(False) & frame["amount"].isna()
    col.add(
        f"{int(no_amount.sum())} open deals have no amount: forecasts draw one from the deal-size model",
        "amount",
        no_amount,
        severity=WARNING,
    )
    won_no_amount = status.eq("won").fillna(False) & frame["amount"].isna()
    col.add(
        f"{int(won_no_amount.sum())} won deals have no amount",
        "amount",
        won_no_amount,
        severity=WARNING,
    )
    return frame


def _group_warnings(frame: pd.DataFrame, col: Collector) -> None:
    """Deals without a group value, and group labels that look like one label written twice."""
    for group in GROUP_COLUMNS:
        if group not in frame or frame[group].isna().all():
            continue
        missing = frame[group].isna()
        col.add(
            f"{int(missing.sum())} deals have no {group}: grouped as '{NONE_LEVEL}'",
            group,
            missing,
            severity=WARNING,
        )
        for a, b in near_duplicate_labels(frame[group].dropna().unique()):
            col.add(
                f"'{a}' and '{b}' look like the same {group} written two ways",
                group,
                severity=WARNING,
            )


def _history_warnings(frame: pd.DataFrame, col: Collector) -> None:
    """Closes that seem missing from the start of the history, and open deals older than any
    closed deal's cycle."""
    status = frame["status"]
    open_ = status.eq("open").fillna(False)
    closed = status.isin(["won", "lost"]).fillna(False)
    if not (closed.any() and frame["created_date"].notna().any()):
        return
    first_created = frame["created_date"].min()
    first_close = frame.loc[closed, "close_date"].min()
    if pd.notna(first_close) and (first_close - first_created).days > MISSING_CLOSES_DAYS:
        col.add(
            f"no deal closes before {first_close.date()} although deals were created from "
            f"{first_created.date()}: closes before then seem missing from the export, so early "
            "cohorts and as-of views before that date are biased",
            "close_date",
            severity=WARNING,
        )
    longest = (frame.loc[closed, "close_date"] - frame.loc[closed, "created_date"]).max()
    if pd.notna(longest):
        open_end = frame.loc[closed, "close_date"].max()
        age = open_end - frame["created_date"]
        stale = open_ & (age > longest)
        col.add(
            f"{int(stale.sum())} open deals are older on {open_end.date()} than the longest cycle "
            f"of any closed deal ({longest.days} days): likely stalled",
            "created_date",
            stale,
            severity=WARNING,
        )


def near_duplicate_labels(labels) -> list[tuple[str, str]]:
    """Pairs of labels that share a :func:`~pipeline_models.io.cells.label_key`: in sorted
    order, each label with the first label of its key."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(labels, pd.arrays.ArrowStringArray):
        text = pa.array(labels)
    else:
        text = pa.array([str(label) for label in labels], pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    # an ASCII label's key is its letters and digits, lower-cased; other labels go through Python
    keys = pc.utf8_lower(pc.replace_substring_regex(text, "[^A-Za-z0-9]+", ""))
    other = pc.invert(pc.string_is_ascii(text))
    if pc.any(other).as_py():
        spelled = [label_key(label) for label in pc.filter(text, other).to_pylist()]
        keys = pc.replace_with_mask(keys, other, pa.array(spelled, keys.type))
    shared = pd.Series(pd.arrays.ArrowStringArray(keys)).duplicated(keep=False).to_numpy()
    seen: dict[str, str] = {}
    pairs = []
    for label in sorted(pc.filter(text, shared).to_pylist()):
        k = label_key(label)
        if k in seen and seen[k] != label:
            pairs.append((seen[k], label))
        else:
            seen[k] = label
    return pairs
