"""Checks that report content reads as a report: what the forecast's and the lead requirement's
tests ask of every reader table, headline, caption, chart and warning."""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import HealthCheck, given, settings
from odd_exports import odd_exports

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.present.content import ReportContent

RAW_NUMBER = re.compile(r"\d\.0\b(?!\d)|\d{4,}\.\d|\bnan\b|\bNone\b|(?<![\w/])n/a\b|\binf\b")
"""What a reader must never see: a trailing ``.0``, a raw float, a missing value."""

SAMPLER_WORDS = re.compile(r"R-hat|\bESS\b|divergen|sampler|\bchains\b", re.IGNORECASE)
"""Words of the samplers, which belong in the appendix alone."""

RATE_WITH_INTERVAL = re.compile(r"^\d+(\.\d)?% \(\d+(\.\d)?–\d+(\.\d)?%\)$")
"""A rate with its interval, as a reader table writes it: ``45% (41–48%)``."""


ROWS = 15
"""Deals of each odd export at least (the strategy draws up to 25)."""


def odd_export(kind: str):
    """The first export of ``kind`` with :data:`ROWS` deals or more (one, for ``one_deal``) that
    a derandomized draw gives: the same export on every run."""
    found = []

    @settings(
        max_examples=200,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(odd_exports((kind,)))
    def draw(export):
        if not found and len(export.rows) >= (1 if kind == "one_deal" else ROWS):
            found.append(export)

    draw()
    return found[0]


def interval_name(level: float) -> str:
    return f"{round(100 * level)}% interval"


def assert_reader_table(shown: pd.DataFrame) -> None:
    """Labels in a first column, a RangeIndex the page hides, text cells only, no machine
    names."""
    assert isinstance(shown.index, pd.RangeIndex)
    cells = shown.to_numpy().ravel()
    assert all(isinstance(v, str) for v in cells), shown.dtypes
    assert not [v for v in cells if RAW_NUMBER.search(v)]
    assert not [c for c in shown.columns if "_" in c or "->" in c]


def assert_reads_as_report(content: ReportContent) -> None:
    """Every part of ``content`` a reader sees: headline, tables and their captions, sentences,
    charts' words and warnings."""
    assert content.headline
    for label, value in content.headline:
        assert value and not RAW_NUMBER.search(value), (label, value)
        assert " – " not in value  # an interval is written once: 1.61M–2.62M USD
    for name, table in content.tables.items():
        if table.frame.empty:
            assert table.empty, f"{name}: an empty table needs its sentence"
            continue
        assert_reader_table(table.frame)
        _assert_caption_names_its_interval(name, table.frame, table.caption or "")
    for name, note in content.notes.items():
        text = note.template.format(**{k: str(v) for k, v in note.values.items()})
        assert not RAW_NUMBER.search(text), (name, text)
    for name, chart in content.charts.items():
        assert chart.alt and len(chart.alt) > 40 and chart.alt.endswith("."), name
        assert not RAW_NUMBER.search(chart.alt), (name, chart.alt)
    shown = [*content.warnings, *(m for box in content.boxes.values() for m in box.messages)]
    assert not [w for w in shown if SAMPLER_WORDS.search(w) or RAW_NUMBER.search(w)], shown


def _assert_caption_names_its_interval(name: str, frame: pd.DataFrame, caption: str) -> None:
    """A table whose figures carry an interval says in its caption which one."""
    planned = interval_name(FORECAST_INTERVAL)
    if planned in frame.columns:
        assert planned in caption, (name, caption)
    cells = frame.to_numpy().ravel()
    if any(RATE_WITH_INTERVAL.match(v) for v in cells):
        assert interval_name(INTERVAL) in caption, (name, caption)
