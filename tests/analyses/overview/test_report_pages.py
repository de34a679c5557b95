"""The rendered pages of the overview, product potential and patterns reports on the small
sample read as reports: alt text on every chart, no index header rows, no ``nan``, ``None``,
bare ``n/a``, raw float or number ending in ``.0``, the samplers' words only in the appendix."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

REPORTS = ("overview", "product_potential", "patterns")
NOT_SHOWN = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|(?<![\w/])n/a\b|\b\d+\.0(?![\dkMBT])|\d\.\d{4,}")
SAMPLER = re.compile(r"R-hat|\bESS\b|divergen|sampler|\bchains?\b", re.IGNORECASE)


class Page(HTMLParser):
    """A report page's body text (before and in the appendix), chart alt texts and table
    structure."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.appendix: list[str] = []
        self.alts: list[str | None] = []
        self.header_rows: list[int] = []
        self.body_headers = 0
        self._skip = 0
        self._in_appendix = False
        self._where: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("style", "script", "head"):
            self._skip += 1
        if tag == "section" and "appendix" in (attrs.get("class") or ""):
            self._in_appendix = True
        if tag == "img":
            self.alts.append(attrs.get("alt"))
        if tag in ("thead", "tbody"):
            self._where.append(tag)
            if tag == "thead":
                self.header_rows.append(0)
        if tag == "tr" and self._where[-1:] == ["thead"]:
            self.header_rows[-1] += 1
        if tag == "th" and self._where[-1:] == ["tbody"]:
            self.body_headers += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head"):
            self._skip -= 1
        if tag in ("thead", "tbody") and self._where:
            self._where.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            (self.appendix if self._in_appendix else self.text).append(data.strip())


@pytest.fixture(scope="module")
def published(sample_run):
    return sample_run.published


@pytest.mark.slow
@pytest.mark.parametrize("name", REPORTS)
def test_a_report_page_reads_as_a_report(published, name):
    page = Page()
    page.feed((published / f"{name}.html").read_text())
    assert page.alts, f"{name} shows no chart"
    assert all(alt and alt.strip() and alt != "Chart" for alt in page.alts), page.alts
    assert page.header_rows and max(page.header_rows) == 1, "a header row of an index name"
    assert page.body_headers == 0, "a row index shown as a column of headers"
    shown = "\n".join(page.text)
    assert not NOT_SHOWN.findall(shown), NOT_SHOWN.findall(shown)[:10]
    assert not SAMPLER.findall(shown), "the samplers' words belong in the appendix only"
    assert page.appendix and page.appendix[0].startswith("Appendix")
    summary = json.loads((published / "files" / name / "summary.json").read_text())
    values = [item["value"] for item in summary["headline"]]
    assert values and not [v for v in values if not v or NOT_SHOWN.search(v)], values
