"""Problems found in an export, and the error that carries them.

A bad export fails with every problem listed at once, each naming the file, column, row(s) and reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

MAX_ROWS_SHOWN = 10
"""How many row numbers one problem line lists before it says how many more there are."""

MAX_PROBLEMS_SHOWN = 50
"""How many problems an error message lists before it says how many more there are: a header of a
million bad columns must not print a million lines (every problem stays in ``problems``)."""

MAX_TEXT_SHOWN = 500
"""How many characters of a reason, file or column name, or example value a problem line shows
before it says how many more there are (a 100 KB cell must not flood the terminal)."""

CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
"""Control characters no CRM text holds (tab, line feed and carriage return are text): a terminal
acts on them (colours, a bell, moving the cursor) and they mark binary data."""

UNSEEN = "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
"""Characters that show nothing but change what is shown: bidirectional marks, embeddings,
overrides and isolates (U+202E turns "P = 97%" into "%79 = P"), zero-width and invisible
characters. Zero-width (non-)joiners are left alone: scripts and emoji need them."""

_UNSHOWABLE = re.compile(f"[{CONTROL}{UNSEEN}\n\r\t]")


def shown(text: object, limit: int = MAX_TEXT_SHOWN) -> str:
    """``text`` safe to print in one line of a message: control, bidirectional and invisible
    characters (line breaks and tabs too) written as escapes (a NUL byte as ``\\x00``, U+202E as
    ``\\u202e``), and at most ``limit`` characters of it kept."""
    text = str(text)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    text = _UNSHOWABLE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
    return text + (f"... ({cut:,} more characters)" if cut > 0 else "")


def _example(value: object, limit: int = 60) -> str:
    """An example cell quoted as Python writes it (controls and invisible characters escaped)."""
    text = str(value)
    return repr(text[:limit]) + (
        f"... ({len(text) - limit:,} more characters)" if len(text) > limit else ""
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an export.

    ``rows`` are the row numbers a spreadsheet shows (the header is row 1, the first record row 2;
    an empty line is a row, and a record whose quoted value spans lines stays one row), so a user
    can go straight to them. A problem without rows concerns the whole file or column.
    """

    file: str
    reason: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    severity: str = ERROR
    values: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        where = [shown(self.file)]
        if self.column:
            where.append(f"column '{shown(self.column)}'")
        if self.rows:
            where.append(format_rows(self.rows))
        text = f"{self.severity}: {', '.join(where)}: {shown(self.reason)}"
        if self.values:
            examples = ", ".join(_example(v) for v in self.values[:5])
            more = f" (+{len(self.values) - 5} more)" if len(self.values) > 5 else ""
            text += f" (e.g. {examples}{more})"
        return text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "severity": self.severity,
            "column": self.column,
            "rows": list(self.rows),
            "reason": self.reason,
            "values": list(self.values[:5]),
        }


def format_rows(rows: Sequence[int]) -> str:
    """``row 5`` or ``rows 5, 9, 12 and 40 more``."""
    rows = list(rows)
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = len(rows) - MAX_ROWS_SHOWN
    return f"rows {shown}" + (f" and {more} more" if more > 0 else "") + f" ({len(rows)} rows)"


class ExportError(Exception):
    """An export could not be read into the canonical contract.

    ``problems`` lists every problem found (errors and warnings); ``str(error)`` prints them all.
    """

    def __init__(self, problems: Iterable[Problem], headline: str | None = None):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == ERROR]
        self.headline = headline or (
            f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the export"
        )
        super().__init__(self.render())

    def render(self) -> str:
        """The headline and the problems: at most :data:`MAX_PROBLEMS_SHOWN` of them."""
        return f"{shown(self.headline)}:\n" + "\n".join(problem_lines(self.problems))


def problem_lines(problems: Sequence[Problem], limit: int = MAX_PROBLEMS_SHOWN) -> list[str]:
    """One ``  - ...`` line for each of the first ``limit`` problems, and a last line saying how
    many more there are."""
    lines = [f"  - {p}" for p in problems[:limit]]
    rest = problems[limit:]
    if rest:
        errors = sum(p.severity == ERROR for p in rest)
        lines.append(
            f"  ... and {len(rest):,} more problem{'s' if len(rest) != 1 else ''} "
            f"({errors:,} error{'s' if errors != 1 else ''}) not shown"
        )
    return lines


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]
