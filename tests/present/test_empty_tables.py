"""A table without rows is shown as a sentence, never as a header alone."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.present import display
from pipeline_models.present.content import ReportContent, Table


@pytest.fixture
def shown(monkeypatch):
    """What ``show`` displays: ("sentence", text) or ("table", frame)."""
    out = []
    monkeypatch.setattr(display, "say", lambda template, **v: out.append(("sentence", v)))
    monkeypatch.setattr(display, "show_table", lambda frame, *a: out.append(("table", frame)))
    return out


def test_an_empty_table_shows_its_own_sentence(shown):
    content = ReportContent("t")
    content.add_table(
        "open", pd.DataFrame(columns=["deal", "amount"]), "Open deals", empty="No open deal."
    )
    display.show(content.table("open"))
    assert shown == [("sentence", {"sentence": "No open deal."})]


def test_an_empty_table_without_a_sentence_names_its_caption(shown):
    display.show(Table(pd.DataFrame(columns=["a"]), "Stalled deals by owner"))
    assert shown[0][0] == "sentence"
    assert shown[0][1]["sentence"] == (
        "Nothing to show in stalled deals by owner: this export holds no row for it."
    )


def test_a_table_with_rows_is_shown_as_a_table(shown):
    frame = pd.DataFrame({"a": [1]})
    display.show(Table(frame, "x", empty="never shown"))
    assert shown[0][0] == "table" and shown[0][1] is frame
