"""The pages of a sample run, opened in headless Chromium as a leader's laptop shows them.

At 1280 px no page scrolls sideways; outside the appendix no page shows ``nan``, ``None``, a bare
``n/a``, a sampler's words or a number ending in ``.0``; every image has alt text; a report page
prints; and every report page, images included, weighs at most 250 KB. A failure lists each
offending snippet with its surroundings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import (
    Chromium,
    chromium_or_skip,
    image_problems,
    page_facts,
    page_problems,
    stray_words,
    width_problems,
)

from pipeline_models.run.runner import list_notebooks

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REPORTS = [p.stem for p in list_notebooks(ROOT / "notebooks")]
PAGES = ["index", *REPORTS]
MAX_PAGE_BYTES = 250_000


@pytest.fixture(scope="module")
def browser():
    with Chromium(chromium_or_skip()) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def pages(sample_run) -> dict[str, Path]:
    found = {p.stem: p for p in sample_run.published.glob("*.html")}
    missing = sorted(set(PAGES) - set(found))
    assert not missing, f"the sample run published no page for {missing}"
    return found


@pytest.fixture(scope="module")
def facts(browser, pages) -> dict[str, dict]:
    """What each page shows in the browser, read once per page."""
    return {name: page_facts(browser, pages[name]) for name in PAGES}


def _report(name: str, problems: list[str]) -> str:
    return f"{name}.html: {len(problems)} problem(s)\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_at_1280_px(facts, name):
    problems = width_problems(facts[name])
    assert not problems, _report(name, problems)


@pytest.mark.parametrize("name", PAGES)
def test_no_stray_words_outside_the_appendix(facts, name):
    problems = stray_words(facts[name]["text"])
    assert not problems, _report(name, problems)


@pytest.mark.parametrize("name", PAGES)
def test_every_image_has_alt_text(facts, name):
    problems = image_problems(facts[name])
    assert not problems, _report(name, problems)


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_page_stays_light(pages, name):
    size = pages[name].stat().st_size
    assert size <= MAX_PAGE_BYTES, f"{name}.html weighs {size:,} bytes (at most {MAX_PAGE_BYTES:,})"


def test_a_report_page_prints(browser, pages):
    browser.open(pages[REPORTS[-1]])
    pdf = browser.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_the_checks_find_each_problem_and_spare_the_appendix(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>'
        "<p>Win rate nan for None; owner n/a; 12.0% of 3,084.0 deals (version 0.1.0 is fine)</p>"
        "<p>R-hat 1.01, ESS 400, 3 divergent transitions</p>"
        '<h2>Chart</h2><img src="data:image/png;base64,iVBORw0KGgo=">'
        '<div style="width:2000px">a very wide box</div>'
        '<section class="appendix"><p>R-hat 1.00, ESS 1,200, nan</p></section>'
        "</body></html>",
        encoding="utf-8",
    )
    problems = page_problems(browser, page)
    text = "\n".join(problems)
    assert "the page is 20" in text and "a very wide box" in text
    for word in ("[nan]", "[None]", "[n/a]", "[12.0]", "[3,084.0]", "[R-hat]", "[ESS]"):
        assert word in text, word
    assert "[divergent]" in text and "[1.0]" not in text and "[0.1.0]" not in text
    assert "image 1 (under 'Chart') has no alt text" in text
    assert text.count("[R-hat]") == 1 and text.count("[nan]") == 1  # the appendix is spared
