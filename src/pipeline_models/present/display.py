"""Showing report content in a notebook: every export string escaped, charts closed after use.

Strings from a CRM export are data, never markup: every table goes through :func:`show_table`,
which escapes cells, and every sentence through :func:`say`, which escapes its values before they
reach Markdown (a web address stays text, not a link) and isolates each in ``<bdi>``. Every export
string shown is inert (:func:`~pipeline_models.present.labels.inert`): no bidirectional control or
invisible character reaches a page.
"""

from __future__ import annotations

import html
import logging
import os
import warnings
from collections.abc import Iterable

import pandas as pd

from pipeline_models.present import palette
from pipeline_models.present.content import Chart, Note, Table, Warnings
from pipeline_models.present.labels import inert


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


def escape(text: object) -> str:
    """Escape a value for HTML and Markdown: the value shows as text, never as markup or a link."""
    # Markdown characters first, then HTML: quotes stay as typed (harmless in Markdown text, and
    # an entity like &#x27; would have its '#' escaped into visible text)
    escaped = inert(text)
    for ch in ("\\", "`", "*", "_", "[", "]", "|", "#", "$", "!"):
        escaped = escaped.replace(ch, "\\" + ch)
    # last, after '#' and '&' were escaped: a colon as an entity, which shows as ':' but keeps the
    # Markdown renderer from turning a web address in an owner name into a link
    return html.escape(escaped, quote=False).replace(":", "&#58;")


def _isolated(text: object) -> str:
    """An escaped value in ``<bdi>``: right-to-left text in it cannot reorder the sentence."""
    return f"<bdi>{escape(text)}</bdi>"


def say(template: str, **values: object) -> None:
    """Display a Markdown sentence whose placeholders are filled with escaped values."""
    from IPython.display import Markdown, display

    display(Markdown(template.format(**{k: _isolated(v) for k, v in values.items()})))


def show_table(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 50) -> None:
    """Display a table with every cell, index label and header escaped."""
    from IPython.display import HTML, display

    # row numbers mean nothing to a reader; asked before the labels are made inert, which turns
    # row numbers into an index of labels
    plain_index = isinstance(frame.index, pd.RangeIndex)
    shown = _inert_frame(frame.head(max_rows))
    body = shown.to_html(
        escape=True, border=0, classes="dataframe", na_rep="", index=not plain_index
    )
    title = f"<p><strong>{html.escape(inert(caption))}</strong></p>" if caption else ""
    more = (
        f"<p><em>{len(frame) - max_rows} more rows not shown.</em></p>"
        if len(frame) > max_rows
        else ""
    )
    display(HTML(title + body + more))


def _inert_label(value: object) -> object:
    return inert(value) if isinstance(value, str) else value


def _inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, index labels and headers are inert."""
    shown = frame.rename(index=_inert_label, columns=_inert_label)
    for i in range(shown.shape[1]):
        column = shown.iloc[:, i]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            shown.isetitem(i, column.map(_inert_label, na_action="ignore"))
    return shown


def show_warnings(messages: Iterable[str]) -> None:
    """A visible warning box at the top of a report (escaped)."""
    from IPython.display import HTML, display

    messages = list(messages)
    if not messages:
        return
    items = "".join(f"<li>{html.escape(inert(m))}</li>" for m in messages)
    display(
        HTML(
            f'<div style="background:#fff7e6;border-left:4px solid {palette.WARNING};'
            f'padding:0.5em 1em"><strong>Warning</strong><ul>{items}</ul></div>'
        )
    )


def show_chart(chart: Chart) -> None:
    """Draw a chart, display it and close it (a report holds many; none stays open)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    figure = chart.draw()
    if figure is None:
        return
    display(figure)
    plt.close(figure)


def show(*items: Table | Note | Chart | Warnings | None) -> None:
    """Show report content in order; ``None`` (a part this export cannot give) shows nothing."""
    for item in items:
        if item is None:
            continue
        if isinstance(item, Table) and item.frame.empty:
            say("{sentence}", sentence=item.empty_sentence())
        elif isinstance(item, Table):
            show_table(item.frame, item.caption, item.max_rows)
        elif isinstance(item, Note):
            say(item.template, **item.values)
        elif isinstance(item, Chart):
            show_chart(item)
        elif isinstance(item, Warnings):
            show_warnings(item.messages)
        else:
            raise TypeError(f"cannot show a {type(item).__name__}")
