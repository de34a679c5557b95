"""What a report shows, as data: tables with captions, sentences, charts, headline and files.

An analysis builds a :class:`ReportContent`; a report notebook only shows its parts in order
(``show(content.table("by_window"))``) and writes its files. Sentences keep their template apart
from their values, so values taken from an export are escaped when shown, never read as Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

SUMMARY_FILE = "summary.json"
"""The file a report writes its title, headline, warnings and figures to."""


@dataclass(frozen=True)
class Table:
    """A reader table with its caption; ``max_rows`` rows are shown (the CSV holds all).

    A table without rows is shown as its ``empty`` sentence, never as a header alone.
    """

    frame: pd.DataFrame
    caption: str | None = None
    max_rows: int = 50
    empty: str | None = None
    """The plain sentence shown instead of the table when it has no row."""

    def empty_sentence(self) -> str:
        """What a reader sees when the table has no row."""
        if self.empty:
            return self.empty
        what = f" in {self.caption[0].lower()}{self.caption[1:]}" if self.caption else ""
        return f"Nothing to show{what}: this export holds no row for it."


@dataclass(frozen=True)
class Note:
    """A Markdown sentence whose ``{placeholders}`` are filled with escaped values."""

    template: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Warnings:
    """Messages shown in a warning box at the top of a report."""

    messages: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    """A chart drawn on demand: ``draw()`` returns a matplotlib Figure; ``alt`` says in words
    what it shows, for a reader who cannot see the image (the page's alt text)."""

    draw: Callable[[], Any]
    alt: str = ""


@dataclass(frozen=True)
class Headline:
    """The headline figures of a report, shown as a strip of values with their labels."""

    figures: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Appendix:
    """The technical notes of a report (how the models fitted), shown last and apart."""

    messages: tuple[str, ...]


@dataclass
class ReportContent:
    """Everything one report shows and writes.

    ``headline`` is the list of (label, value) pairs at the top of the report and on the index
    page; ``figures`` the machine-readable numbers of ``summary.json``; ``files`` the tables
    written as CSV beside the report. Parts a report cannot show on this export are absent:
    ``table(name)`` and friends then return ``None`` and showing ``None`` shows nothing.
    """

    title: str
    headline: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    boxes: dict[str, Warnings] = field(default_factory=dict)
    files: dict[str, pd.DataFrame] = field(default_factory=dict)
    fits: dict[str, dict] = field(default_factory=dict)
    """The fits and track records the report used, and whether each came from the fit cache."""
    appendix: list[str] = field(default_factory=list)
    """Technical notes for the appendix: each model's fit diagnostics, in the sampler's words."""

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def note(self, name: str) -> Note | None:
        return self.notes.get(name)

    def chart(self, name: str) -> Chart | None:
        return self.charts.get(name)

    def box(self, name: str) -> Warnings | None:
        """A warning box shown beside one part of the report (not at its top)."""
        return self.boxes.get(name)

    def headline_table(self) -> Headline:
        """The headline figures as a strip (label under value), never as a table."""
        return Headline(tuple((str(k), str(v)) for k, v in self.headline))

    def appendix_box(self) -> Appendix:
        """The technical appendix: shown last, the only part where sampler words belong."""
        return Appendix(tuple(self.appendix))

    def warning_box(self) -> Warnings:
        return Warnings(tuple(self.warnings))

    def add_table(
        self,
        name: str,
        frame: pd.DataFrame | None,
        caption: str | None = None,
        max_rows: int = 50,
        empty: str | None = None,
    ) -> None:
        """Add a table; ``empty`` is the sentence shown when it has no row."""
        if frame is not None:
            self.tables[name] = Table(frame, caption, max_rows, empty)

    def add_note(self, name: str, template: str, **values: Any) -> None:
        self.notes[name] = Note(template, values)

    def add_box(self, name: str, messages: list[str]) -> None:
        if messages:
            self.boxes[name] = Warnings(tuple(messages))

    def add_chart(self, name: str, draw: Callable[[], Any], alt: str) -> None:
        """Add a chart; ``alt`` is its alt text: what it shows, in one or two sentences."""
        self.charts[name] = Chart(draw, alt)

    def write(self, output_dir: str | Path) -> Path:
        """Write the report's CSV files and ``summary.json`` (see :func:`write_content`)."""
        return write_content(self, output_dir)


def write_content(content: ReportContent, output_dir: str | Path) -> Path:
    """Write a report's files: each table in ``files`` as CSV, then ``summary.json``.

    The runner puts the headline on the index page and the warnings in the manifest;
    ``figures`` holds the machine-readable numbers (for tests and reproducibility checks).
    """
    from pipeline_models.present.files import write_csv, write_json
    from pipeline_models.present.labels import inert

    output_dir = Path(output_dir)
    for name, frame in content.files.items():
        write_csv(frame, output_dir / f"{name}.csv")
    summary = {
        "title": content.title,
        # shown on the index page: inert, so a name's bidirectional override cannot turn
        # "P = 97%" into "%79 = P"
        "headline": [{"label": inert(k), "value": inert(v)} for k, v in content.headline],
        "warnings": [inert(w) for w in content.warnings],
        "figures": content.figures,
        "fits": content.fits,
        "appendix": [inert(a) for a in content.appendix],
    }
    return write_json(summary, output_dir / SUMMARY_FILE)
