"""What report notebooks call to show tables, write their headline figures and stay safe.

Strings from a CRM export are data, never markup: every table shown goes through
:func:`show_table`, which escapes cells, and every sentence built from export values through
:func:`say`, which escapes them before they reach Markdown.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from .catalog import SUMMARY_FILE, sha256_file
from .loader import LoadResult, is_runner_table, load_export, load_leads
from .problems import ExportError


def quiet() -> None:
    """Silence sampler progress bars and library log lines that would clutter a report."""
    for name in ("pymc", "pytensor", "nutpie", "arviz", "numba", "papermill", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
    os.environ.setdefault("PYTENSOR_FLAGS", "")
    import matplotlib

    # Labels come from the export: a product named "A $x$ B" must print as typed, not as math
    # (and an unbalanced "$" must not break the chart).
    matplotlib.rcParams["text.parse_math"] = False


def load_inputs(
    export_path: str,
    preset: str = "canonical",
    mapping_path: str = "",
    leads_path: str = "",
    as_of: str | None = None,
) -> tuple[LoadResult, LoadResult | None]:
    """Load the opportunities export (and leads, when given) for a report notebook.

    For the runner's canonical table, ``info["sha256"]`` holds the file's digest: passed to
    :func:`~pipeline_models.fits.period_models`, it finds the run's fits without aggregating.
    """
    result = load_export(
        export_path, preset=preset or None, mapping=mapping_path or None, as_of=as_of
    )
    if (preset or "canonical") == "canonical" and not mapping_path and is_runner_table(export_path):
        result.info["sha256"] = sha256_file(export_path)
    leads = load_leads(leads_path) if leads_path else None
    return result, leads


def fmt_money(value: float, currency: str = "") -> str:
    """1234567 -> '1.23M'; NaN -> 'n/a'."""
    if value is None or pd.isna(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(float(value))
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            text = f"{value / limit:.2f}{suffix}"
            break
    else:
        text = f"{value:,.0f}"
    return f"{sign}{text}" + (f" {currency}" if currency else "")


def fmt_pct(value: float, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def escape(text: object) -> str:
    """Escape a value for HTML and Markdown: the value shows as text, never as markup."""
    # Markdown characters first, then HTML: quotes stay as typed (harmless in Markdown text, and
    # an entity like &#x27; would have its '#' escaped into visible text)
    escaped = str(text)
    for ch in ("\\", "`", "*", "_", "[", "]", "|", "#", "$", "!"):
        escaped = escaped.replace(ch, "\\" + ch)
    return html.escape(escaped, quote=False)


def say(template: str, **values: object) -> None:
    """Display a Markdown sentence whose placeholders are filled with escaped values."""
    from IPython.display import Markdown, display

    display(Markdown(template.format(**{k: escape(v) for k, v in values.items()})))


def show_table(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 50) -> None:
    """Display a table with every cell, index label and header escaped."""
    from IPython.display import HTML, display

    shown = frame.head(max_rows)
    plain_index = isinstance(shown.index, pd.RangeIndex)  # row numbers mean nothing to a reader
    body = shown.to_html(
        escape=True, border=0, classes="dataframe", na_rep="", index=not plain_index
    )
    title = f"<p><strong>{html.escape(caption)}</strong></p>" if caption else ""
    more = (
        f"<p><em>{len(frame) - max_rows} more rows not shown.</em></p>"
        if len(frame) > max_rows
        else ""
    )
    display(HTML(title + body + more))


def show_warnings(messages: Iterable[str]) -> None:
    """A visible warning box at the top of a report (escaped)."""
    from IPython.display import HTML, display

    messages = list(messages)
    if not messages:
        return
    items = "".join(f"<li>{html.escape(str(m))}</li>" for m in messages)
    display(
        HTML(
            '<div style="background:#fff7e6;border-left:4px solid #f59e0b;padding:0.5em 1em">'
            f"<strong>Warning</strong><ul>{items}</ul></div>"
        )
    )


def write_summary(
    output_dir: str | Path,
    title: str,
    headline: Sequence[tuple[str, str]] | Sequence[dict],
    warnings_: Iterable[str] = (),
    figures: dict | None = None,
) -> Path:
    """Write the report's ``summary.json``: its title, headline figures and warnings.

    The runner shows the headline on ``index.html`` and copies the warnings into the manifest.
    ``figures`` holds machine-readable numbers (for tests and reproducibility checks).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    items = [
        h if isinstance(h, dict) else {"label": str(h[0]), "value": str(h[1])} for h in headline
    ]
    payload = {
        "title": title,
        "headline": items,
        "warnings": [str(w) for w in warnings_],
        "figures": figures or {},
    }
    path = output_dir / SUMMARY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_json_default))
    tmp.replace(path)
    return path


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


NEUTRALISE = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_TEXT = re.compile(r"[+-]?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?")


def _is_formula(value: object) -> bool:
    """Text a spreadsheet would read as a formula. A number written as text ('-5', '-1,234.50')
    starts with a sign but can only ever be a number, so it is left as it is."""
    return (
        isinstance(value, str)
        and value.startswith(NEUTRALISE)
        and _NUMBER_TEXT.fullmatch(value) is None
    )


def safe_cell(value: object) -> object:
    """Neutralise a spreadsheet formula: text starting with = + - @ (or tab, CR) gets a leading
    quote; numbers, and text that is just a number, stay as they are."""
    return "'" + value if _is_formula(value) else value


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV a spreadsheet can open safely (formula cells neutralised), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def write_excel(frame: pd.DataFrame, path: str | Path, sheet: str = "data") -> Path:
    """Write an .xlsx a spreadsheet can open safely, atomically.

    A text cell is always stored as text: one that looks like a formula is kept as written,
    marked with Excel's quote prefix so that not even editing the cell turns it into a formula.
    Numbers and dates stay numbers and dates.
    """
    import openpyxl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for c, name in enumerate(frame.columns, start=1):
        _excel_cell(worksheet.cell(row=1, column=c), str(name))
    for r, record in enumerate(frame.itertuples(index=False), start=2):
        for c, value in enumerate(record, start=1):
            _excel_cell(worksheet.cell(row=r, column=c), value)
    tmp = path.with_name(path.name + ".tmp")
    workbook.save(tmp)
    tmp.replace(path)
    return path


def _excel_cell(cell, value: object) -> None:
    if value is None or value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, float) and value != value:  # NaN
        return
    if isinstance(value, pd.Timestamp):
        value = value.tz_localize(None) if value.tzinfo else value
        value = value.to_pydatetime()
    elif hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # numpy scalars
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store '=...' as a formula
        if _is_formula(value):
            cell.quotePrefix = True


__all__ = [
    "ExportError",
    "escape",
    "fmt_money",
    "fmt_pct",
    "load_inputs",
    "quiet",
    "safe_cell",
    "say",
    "show_table",
    "show_warnings",
    "write_csv",
    "write_excel",
    "write_summary",
]
