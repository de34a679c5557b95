"""Loading a stage history (canonical, Salesforce or HubSpot layouts) into the history table,
listing every problem at once.

A CRM can export, beside its opportunities, the changes made to each deal (one row per change).
The layout is told from the header and named in ``info["layout"]``: the canonical table,
Salesforce's ``OpportunityHistory`` object, its "Opportunity History" report, its
``OpportunityFieldHistory`` object, or a HubSpot deals export with a ``Date entered`` column per
stage (:mod:`~pipeline_models.io.history_layouts` says how each is read).

Probabilities become shares (0 to 1): a layout documented in percent is divided by 100, and so is
any other column holding a value above 1 or a ``%`` sign (:mod:`~pipeline_models.io.probability`). As for an export, every problem is
listed at once (:class:`~pipeline_models.contract.problems.ExportError`), each naming the file's
own column, the rows and the reason. The file itself is never changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_models.contract.problems import ERROR, WARNING, ExportError, Problem, errors_of
from pipeline_models.contract.schema import HISTORY, HISTORY_COLUMNS

from .amounts import read_amounts
from .canonical import is_runner_table, read_canonical_history
from .cells import RECORD_COLUMNS, ROW, flag, is_blank, strip
from .checks import check_broken_records
from .collector import Collector, values_of
from .dates import date_order, parse_dates
from .history_layouts import (
    FIRST,
    SOURCE,
    VALUE_COLUMNS,
    HistoryCells,
    history_cells,
    resolve_layout,
    stage_of,
)
from .probability import read_probabilities
from .readers import read_table
from .result import LoadResult
from .sniffing import read_header


def carries_stage_dates(path: str | Path) -> bool:
    """Whether an opportunities export holds its own stage history: HubSpot writes a
    ``Date entered "<stage>"`` column per stage into a deals export (CSV only: the header is read
    from the first lines)."""
    header = read_header(path) or []
    return any(stage_of(h) for h in header)


def load_history(path: str | Path, as_of: pd.Timestamp | str | None = None) -> LoadResult:
    """Load a stage history into the canonical history table.

    Parameters
    ----------
    path
        CSV (any common delimiter and encoding), Parquet or Excel file in one of the layouts
        :mod:`~pipeline_models.io.history_layouts` lists, or a history table the runner wrote
        (:func:`~pipeline_models.io.canonical.write_canonical_history`).
    as_of
        A change dated after this day is "in the future" (default: today).

    Returns
    -------
    LoadResult
        ``frame``: the history, sorted by ``opportunity_id`` then ``changed_date``. ``info``:
        ``file``, ``format`` (and ``encoding``, ``delimiter`` of a CSV), ``rows`` (records in the
        file), ``layout`` and ``layout_title``, ``columns`` (history column -> the file's column),
        ``dates``, ``probability`` (``"percent"``, ``"share"`` or None), ``deleted_rows``,
        ``duplicates_dropped``, ``history_rows``, ``opportunities``, ``stages`` (rows per stage);
        a field history adds ``fields``, ``ignored_fields``, ``cleared_values``,
        ``creation_rows`` and ``creation_rows_without_stage``; a HubSpot export adds
        ``stage_columns`` and ``exit_columns_ignored``.

    Raises
    ------
    ExportError
        Listing every problem found, each naming file, column, rows and reason.
    """
    path = Path(path)
    name = str(path)
    if is_runner_table(path, "history"):
        frame = read_canonical_history(path)
        info = {"file": name, "format": "parquet", "layout": "canonical"}
        return LoadResult(frame, [], _summary(info, frame))
    raw, info, problems = read_table(path)
    info.update(file=name, rows=len(raw))
    header = [c for c in raw.columns if c not in RECORD_COLUMNS]
    layout, found = resolve_layout(header, name, problems)
    info.update(layout=layout.name, layout_title=layout.title)
    col = Collector(name, raw)
    col.problems.extend(problems)
    raw = check_broken_records(raw, info, col)
    cells = history_cells(raw, layout, found, col, info)
    col.frame = cells.frame
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().normalize()
    out = _dropped_duplicates(_read_values(cells, col, info, as_of_ts), cells, col, info)
    if errors_of(col.problems):
        raise ExportError(col.problems)
    # a creation row goes before a change saved at the same moment; then the file's order
    order = ["opportunity_id", "changed_date", FIRST, ROW]
    out = out.sort_values(order, ascending=[True, True, False, True])
    frame = _validated(out[list(HISTORY_COLUMNS)].reset_index(drop=True), col)
    if frame.empty:
        reason = "the file holds no change of stage, amount, close date or probability"
        col.problems.append(Problem(name, reason, severity=WARNING))
    return LoadResult(frame, col.problems, _summary(info, frame))


def _summary(info: dict, frame: pd.DataFrame) -> dict:
    stages = frame["stage"].value_counts().sort_index()
    return {
        **info,
        "history_rows": len(frame),
        "opportunities": int(frame["opportunity_id"].nunique()),
        "stages": {str(k): int(v) for k, v in stages.items()},
    }


# ---------------------------------------------------------------------------------------------
# Text cells parsed and checked


def _report(
    col: Collector,
    cells: HistoryCells,
    reason: str,
    column: str | None,
    mask: pd.Series,
    text: pd.Series | None = None,
    severity: str = ERROR,
) -> None:
    """Record a problem on the rows ``mask`` selects, naming the file's column it is in (one
    problem per column where a history column comes from several, as HubSpot's stage dates)."""
    frame = cells.frame
    if SOURCE in frame and column in ("changed_date", None):
        selected = flag(mask).to_numpy()
        for source in pd.unique(frame.loc[selected, SOURCE]):
            part = flag(mask) & frame[SOURCE].eq(source)
            examples = values_of(text, part) if text is not None else ()
            col.add(reason, source, part, examples, severity)
        return
    examples = values_of(text, mask) if text is not None else ()
    col.add(reason, cells.columns.get(column) if column else None, mask, examples, severity)


def _read_values(
    cells: HistoryCells, col: Collector, info: dict, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The history columns parsed from ``cells``, with every problem reported to ``col``."""
    frame = cells.frame
    out = pd.DataFrame({ROW: frame[ROW], FIRST: frame[FIRST].astype(bool)}, index=frame.index)
    ids = strip(frame["opportunity_id"])
    _report(col, cells, "empty opportunity id", "opportunity_id", is_blank(ids))
    out["opportunity_id"] = ids
    stage = strip(frame["stage"])
    out["stage"] = stage.mask(is_blank(stage))
    _read_dates(cells, out, col, info, as_of)
    _read_amounts(cells, out, col)
    _read_probabilities(cells, out, col, info)
    nothing = pd.Series(True, index=frame.index)
    for column in VALUE_COLUMNS:
        nothing &= is_blank(frame[column])
    _report(
        col,
        cells,
        "the row records no value: stage, amount, close date and probability are all blank",
        None,
        nothing,
        frame["opportunity_id"],
    )
    return out


def _read_dates(
    cells: HistoryCells, out: pd.DataFrame, col: Collector, info: dict, as_of: pd.Timestamp
) -> None:
    """``changed_date`` and ``close_date``; one file writes its dates one way, so day-first or
    month-first is decided across both."""
    frame = cells.frame
    present = [c for c in ("changed_date", "close_date") if not is_blank(frame[c]).all()]
    order = date_order([frame[c] for c in present])
    if order.mixed:
        col.add(
            f"dates are written both day-first (e.g. '{order.dayfirst_example}') and "
            f"month-first (e.g. '{order.monthfirst_example}'): write them one way (ISO, "
            "YYYY-MM-DD, is never ambiguous)",
            None,
        )
    elif order.ambiguous:
        col.add(
            "slashed dates are ambiguous (no part above 12): read as month-first (MM/DD/YYYY)",
            None,
            severity=WARNING,
        )
    info["dates"] = {}
    for column in ("changed_date", "close_date"):
        dates, bad, how = parse_dates(frame[column], dayfirst=order.dayfirst)
        out[column] = dates
        if column in present:
            info["dates"][column] = how
        _report(col, cells, "not a date", column, bad, frame[column])
    _report(col, cells, "empty changed_date", "changed_date", is_blank(frame["changed_date"]))
    future = out["changed_date"] > as_of + pd.Timedelta(days=1)
    reason = f"changed_date is in the future (after {as_of.date()})"
    _report(col, cells, reason, "changed_date", future, frame["changed_date"])


def _read_amounts(cells: HistoryCells, out: pd.DataFrame, col: Collector) -> None:
    text = cells.frame["amount"]
    parsed = read_amounts(text)
    _report(col, cells, "amount is not a number", "amount", parsed.bad, text)
    _report(
        col,
        cells,
        "amount can be read two ways: this file writes decimals both with a point and a comma",
        "amount",
        parsed.ambiguous,
        text,
    )
    _report(col, cells, "amount is negative", "amount", parsed.negative, text)
    for reason, examples in parsed.notes:
        col.add(reason, cells.columns.get("amount"), values=examples, severity=WARNING)
    out["amount"] = parsed.amounts.where(~parsed.negative & ~parsed.ambiguous)


def _read_probabilities(cells: HistoryCells, out: pd.DataFrame, col: Collector, info: dict) -> None:
    """Probabilities as shares (:mod:`~pipeline_models.io.probability`); a layout documented in
    percent is read as if each cell carried its ``%`` sign."""
    text = strip(cells.frame["probability"])
    signed = text.where(is_blank(text), text + "%")
    share, bad = read_probabilities(signed if cells.percent else text)
    given = share.notna()
    if not given.any():
        info["probability"] = None
    elif cells.percent:
        info["probability"] = "percent"
    else:  # read as percent when that reading is the one made
        as_percent = read_probabilities(signed)[0]
        info["probability"] = "percent" if share[given].equals(as_percent[given]) else "share"
    reason = "probability is not a number between 0 and 100 percent"
    _report(col, cells, reason, "probability", bad, text)
    out["probability"] = share.to_numpy(dtype=float, na_value=np.nan)


def _dropped_duplicates(
    out: pd.DataFrame, cells: HistoryCells, col: Collector, info: dict
) -> pd.DataFrame:
    """``out`` without rows that repeat an earlier row in every history column (a warning)."""
    repeated = out.duplicated(subset=list(HISTORY_COLUMNS), keep="first")
    _report(
        col,
        cells,
        "row repeats an earlier row exactly (in the history's columns); kept once",
        None,
        repeated,
        cells.frame["opportunity_id"],
        WARNING,
    )
    info["duplicates_dropped"] = int(repeated.sum())
    return out.loc[~repeated.to_numpy()]


def _validated(frame: pd.DataFrame, col: Collector) -> pd.DataFrame:
    """``frame`` checked against the history schema, with its canonical dtypes."""
    try:
        return HISTORY.validate(frame, lazy=False)
    except Exception as exc:  # a gap in the checks above must still end as a named problem
        raise ExportError(
            [*col.problems, Problem(col.name, f"the loaded table breaks the contract: {exc}")]
        ) from None
