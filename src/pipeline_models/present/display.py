"""Showing report content in a notebook: every export string escaped, charts closed after use.

Strings from a CRM export are data, never markup: every table goes through :func:`show_table`,
which escapes cells, and every sentence through :func:`say`, which escapes its values before they
reach Markdown (a web address stays text, not a link) and isolates each in ``<bdi>``. Every export
string shown is inert (:func:`~pipeline_models.present.labels.inert`): no bidirectional control or
invisible character reaches a page. A chart is shown as a small PNG with its alt text (escaped).

The markup carries classes only (``table-wrap``, ``warning-box``, ``headline``, ``appendix``);
the report page's template styles them, for the screen and for print.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
import warnings
from collections.abc import Iterable
from typing import Any

import pandas as pd

from pipeline_models.present import palette
from pipeline_models.present.content import Appendix, Chart, Headline, Note, Table, Warnings
from pipeline_models.present.labels import inert


def quiet() -> None:
    """Silence sampler progress bars and library log lines that would clutter a report, and set
    the report charts' defaults (:func:`chart_defaults`); called at the top of every notebook."""
    for name in ("pymc", "pytensor", "nutpie", "arviz", "numba", "papermill", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
    os.environ.setdefault("PYTENSOR_FLAGS", "")
    chart_defaults()


CHART_DPI = 96
"""Pixels per inch of a chart's image: a figure 10 inches wide is 960 pixels, the page's width."""


def chart_defaults() -> None:
    """Matplotlib defaults of every report chart: the palette, no top or right frame, sizes."""
    import matplotlib
    from cycler import cycler

    matplotlib.rcParams.update(
        {
            # Labels come from the export: a product named "A $x$ B" must print as typed, not as
            # math (and an unbalanced "$" must not break the chart).
            "text.parse_math": False,
            "axes.prop_cycle": cycler(color=list(palette.SERIES)),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.formatter.useoffset": False,
            "axes.titlesize": 12,
            "axes.labelsize": 10.5,
            "font.size": 10.5,
            "xtick.labelsize": 9.5,
            "ytick.labelsize": 9.5,
            "legend.fontsize": 9.5,
            "legend.frameon": False,
            "figure.dpi": CHART_DPI,
            "savefig.dpi": CHART_DPI,
            "figure.facecolor": "white",
        }
    )


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
    body = _table_html(_inert_frame(frame.head(max_rows)), index=not plain_index)
    title = (
        f'<p class="caption"><strong>{html.escape(inert(caption))}</strong></p>' if caption else ""
    )
    more = (
        f'<p class="more"><em>{len(frame) - max_rows} more rows not shown.</em></p>'
        if len(frame) > max_rows
        else ""
    )
    # the wrapper scrolls a wide table inside itself: the page never scrolls sideways
    display(HTML(f'{title}<div class="table-wrap">{body}</div>{more}'))


def _table_html(shown: pd.DataFrame, index: bool) -> str:
    """The escaped ``<table>`` of an inert frame, its cells classed for the page's stylesheet."""
    if index:
        shown = _corner_label(shown)
    body = shown.to_html(escape=True, border=0, na_rep="", index=index)
    body = _classed_cells(body, _text_columns(shown), shown.shape[1], shown.columns.nlevels == 1)
    labels = (
        str(v) for level in range(shown.index.nlevels) for v in shown.index.get_level_values(level)
    )
    if index and any(len(label) > LONG_TEXT for label in labels):
        body = body.replace("<tbody>", '<tbody class="long">', 1)  # its row labels wrap
    return body


def _corner_label(frame: pd.DataFrame) -> pd.DataFrame:
    """A one-level index's name moved to the header's corner: one header row, not two."""
    name = frame.index.name
    if frame.index.nlevels > 1 or name is None or frame.columns.nlevels > 1:
        return frame
    if frame.columns.name is not None:
        return frame
    return frame.rename_axis(index=None, columns=_inert_label(name))


_NUMBER_START = re.compile(r"\s*[-+\u2212]?\s*[$\u20ac\u00a3\u00a5]?\s*\.?\d")
_NUMBER_WORDS = re.compile(r"(?<=\d)[kMBTx]\b|\b[A-Z]{3}\b|\bto\b")
"""Letters a number may carry: a k/M/B/T or x after its digits, a currency code, "to"."""
_NO_VALUE = {"", "n/a", "-", "\u2013", "\u2014"}
LONG_TEXT = 40
"""Characters from which a column's words wrap inside a wider cell (shorter words never wrap)."""


def _text_columns(frame: pd.DataFrame) -> dict[int, str]:
    """The class of each column that holds words: ``text`` (left-aligned, kept on one line) or
    ``text long`` (left-aligned, wrapped). Numbers stay right-aligned and on one line."""
    classes = {}
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            continue
        values = [str(v).strip() for v in column.dropna()]
        values = [v for v in values if v not in _NO_VALUE]
        if values and not all(_reads_as_number(v) for v in values):
            long = max(len(v) for v in values) > LONG_TEXT
            classes[i] = "text long" if long else "text"
    return classes


def _reads_as_number(text: str) -> bool:
    """A cell that reads as a number: ``1,234``, ``35%``, ``1.2M USD``, ``+3.1``, ``0.58x``,
    ``0.9 (0.8 to 0.9)``, ``43–62 deals`` (one short unit); not ``116 open deals have no amount``."""
    if not _NUMBER_START.match(text):
        return False
    words = re.findall(r"[^\W\d_]+", _NUMBER_WORDS.sub("", text))
    return len(words) <= 1 and all(len(word) <= 6 for word in words)


_ROW = re.compile(r"(<tr[^>]*>)(.*?)(</tr>)", re.S)
_CELL = re.compile(r"<(td|th)(?=[ >])")


def _classed_cells(table: str, classes: dict[int, str], n_columns: int, flat: bool) -> str:
    """Classes on the cells of the word columns, and on the headers of those and of the index
    when the columns are one level. Cell contents are escaped: every ``<td``/``<th`` is a tag."""

    def marker(tag: str):
        def mark(row: re.Match) -> str:
            cells = [c.start() for c in _CELL.finditer(row.group(2)) if c.group(1) == tag]
            first = len(cells) - n_columns  # the index's cells come first
            if first < 0:
                return row.group(0)
            wanted = {cells[first + i]: name for i, name in classes.items()}
            wanted.update({start: "text" for start in cells[:first]})

            def classed(cell: re.Match) -> str:
                name = wanted.get(cell.start())
                return f'<{cell.group(1)} class="{name}"' if name else cell.group(0)

            return row.group(1) + _CELL.sub(classed, row.group(2)) + row.group(3)

        return mark

    head, closing, body = table.partition("</thead>")
    if not closing:
        return table
    head = _ROW.sub(marker("th"), head) if flat else head
    return head + closing + _ROW.sub(marker("td"), body)


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
    """A visible box of what to read with care, at the top of a report or beside a part (escaped)."""
    from IPython.display import HTML, display

    messages = list(messages)
    if not messages:
        return
    items = "".join(f"<li>{html.escape(inert(m))}</li>" for m in messages)
    display(
        HTML(
            '<div class="warning-box" role="note"><p class="warning-title">'
            f"<strong>Read with care</strong></p><ul>{items}</ul></div>"
        )
    )


CHART_ALT = "Chart"
"""The alt text of a chart whose own says nothing (every chart should say what it shows)."""


def chart_png(figure: Any, dpi: int = CHART_DPI) -> tuple[bytes, int, int]:
    """A figure as a small PNG at its own size: (bytes, width, height) in pixels.

    Rendered on white, then reduced to an adaptive palette of 256 colours: a chart's flat colours
    and anti-aliased edges survive, in about a third of the bytes.
    """
    from PIL import Image

    rendered = io.BytesIO()
    figure.savefig(rendered, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    rendered.seek(0)
    with Image.open(rendered) as image:
        small = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    small.save(out, format="png", optimize=True)
    return out.getvalue(), small.width, small.height


def chart_html(chart: Chart, figure: Any) -> str:
    """The ``<img>`` of a drawn chart: the PNG inline, the alt text escaped."""
    png, width, height = chart_png(figure)
    alt = html.escape(inert(chart.alt).strip() or CHART_ALT, quote=True)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<div class="chart"><img alt="{alt}" width="{width}" height="{height}" '
        f'src="data:image/png;base64,{data}"></div>'
    )


def show_chart(chart: Chart) -> None:
    """Draw a chart, display it as an image with its alt text and close it (none stays open)."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    figure = chart.draw()
    if figure is None:
        return
    try:
        shown = chart_html(chart, figure)
    finally:
        plt.close(figure)
    display(HTML(shown))


def show_headline(headline: Headline) -> None:
    """The headline figures as a strip: each value large, its label under it (escaped)."""
    from IPython.display import HTML, display

    if not headline.figures:
        return
    cells = "".join(
        f'<div class="figure"><div class="value"><bdi>{html.escape(inert(value))}</bdi></div>'
        f'<div class="label"><bdi>{html.escape(inert(label))}</bdi></div></div>'
        for label, value in headline.figures
    )
    display(HTML(f'<div class="headline">{cells}</div>'))


def show_appendix(appendix: Appendix) -> None:
    """The technical appendix, last and apart (the only place for the samplers' words)."""
    from IPython.display import HTML, display

    items = "".join(f"<li>{html.escape(inert(m))}</li>" for m in appendix.messages)
    body = f"<ul>{items}</ul>" if items else "<p>No model was fitted for this report.</p>"
    display(
        HTML(
            '<section class="appendix"><h2>Appendix: how the models were fitted</h2>'
            f"{body}</section>"
        )
    )


def show(*items: Table | Note | Chart | Warnings | Headline | Appendix | None) -> None:
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
        elif isinstance(item, Headline):
            show_headline(item)
        elif isinstance(item, Appendix):
            show_appendix(item)
        else:
            raise TypeError(f"cannot show a {type(item).__name__}")
