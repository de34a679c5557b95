"""Problems found in an export, and the error that carries them.

A bad export fails with every problem listed at once, each naming the file, column, row(s) and reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

MAX_ROWS_SHOWN = 10
"""How many row numbers one problem line lists before it says how many more there are."""


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
        where = [self.file]
        if self.column:
            where.append(f"column '{self.column}'")
        if self.rows:
            where.append(format_rows(self.rows))
        text = f"{self.severity}: {', '.join(where)}: {self.reason}"
        if self.values:
            shown = ", ".join(repr(v) for v in self.values[:5])
            more = f" (+{len(self.values) - 5} more)" if len(self.values) > 5 else ""
            text += f" (e.g. {shown}{more})"
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
        lines = [self.headline + ":"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]
