"""Export strings as a reader sees them: inert in pages, shortened in charts.

A string from a CRM export is shown as typed, with two exceptions. Characters that show nothing
but change what is around them (a right-to-left override after a product name turns "P = 97%" into
"%79 = P"; zero-width spaces; control characters) are taken out wherever an export string reaches
a page. And a chart shows at most :data:`CHART_LABEL_CHARS` characters of a label, so a long name
cannot make a chart a million pixels wide; the tables beside it show the label in full.
"""

from __future__ import annotations

import re

from pipeline_models.contract.problems import CONTROL, UNSEEN

CHART_LABEL_CHARS = 40
"""Characters of a label a chart shows: a product, owner or stage name reads in far fewer, and an
axis of longer labels leaves no room for the chart (the tables show labels in full)."""

_UNSEEN = re.compile(f"[{UNSEEN}]")
_CONTROL = re.compile(f"[{CONTROL}]")
_SPACES = re.compile(r"\s+")


def inert(text: object) -> str:
    """``text`` without the characters that change how the text around it is shown: bidirectional
    controls and invisible characters are dropped, control characters shown as U+FFFD."""
    return _CONTROL.sub("\ufffd", _UNSEEN.sub("", str(text)))


def chart_label(label: object, limit: int = CHART_LABEL_CHARS) -> str:
    """A label as a chart shows it: inert, on one line, at most ``limit`` characters (a longer one
    ends in an ellipsis)."""
    text = _SPACES.sub(" ", inert(label)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
