"""CRM strings are data, never markup: nothing in an export can run in a reader's browser.

An export whose product, account, owner and stage names (and file name) carry script payloads goes
through a real run of the overview report; every page it produces is opened in headless Chromium,
which must find no trace of a payload having run. Two defences are checked one by one: escaping
(the payloads stay inert even with the Content-Security-Policy removed) and the policy itself
(it stops a payload that was deliberately left unescaped).
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from pipeline_models.present import display as report
from pipeline_models.run.runner import RunOptions, render_html, run

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MARK = "data-pwned"

# each payload that runs leaves its mark on <body> or the title; the alert(1) forms are the
# classic probes, kept as they are
PAYLOADS = [
    "<script>document.title='pwned'</script>",
    f"<img src=x onerror=\"document.body.setAttribute('{MARK}','img')\">",
    f"\"><svg onload=\"document.body.setAttribute('{MARK}','svg')\">",
    f"[x](javascript:document.body.setAttribute('{MARK}','md'))",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[x](javascript:alert(1))",
]
RAW_MARKUP = ["<script", "<img src=x", "<svg onload", 'href="javascript', "href='javascript"]
"""Markup a payload would need to run; '[x](javascript:...)' is inert text in HTML (it matters
only where Markdown is rendered, which the helpers-page checks cover)."""
FILE_NAME = 'pipeline "><svg onload=alert(1)>.csv'
FORMULA = '=HYPERLINK("http://example.invalid","open me")'


def chromium_dom(path: Path, profile: Path) -> str:
    """The DOM of ``path`` after Chromium loaded it (and ran whatever it was allowed to run)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


def ran(dom: str) -> list[str]:
    """Traces a payload leaves in a dumped DOM (an empty list: nothing ran)."""
    body = re.search(r"<body[^>]*>", dom).group(0)
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    traces = [body] if MARK in body else []
    return traces + (["title changed"] if title and title.group(1) == "pwned" else [])


POLICY_TAG = re.compile(r"<meta[^>]*http-equiv=\"Content-Security-Policy\"[^>]*>")


def policy_of(html: str) -> dict[str, str]:
    """The page's Content-Security-Policy directives (attributes may come in any order)."""
    tag = POLICY_TAG.search(html)
    assert tag, "no Content-Security-Policy"
    content = re.search(r'content="([^"]+)"', tag.group(0)).group(1)
    return dict(d.strip().split(" ", 1) for d in content.split(";") if d.strip())


def without_csp(page: Path, folder: Path) -> Path:
    """A copy of ``page`` without its Content-Security-Policy: escaping alone must hold."""
    html = page.read_text(encoding="utf-8")
    stripped = POLICY_TAG.sub("", html)
    assert stripped != html
    copy = folder / f"nocsp-{page.name}"
    copy.write_text(stripped, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A real overview run on an export whose labels are payloads, with one row skipped."""
    tmp = tmp_path_factory.mktemp("run")
    export = tmp / "in" / FILE_NAME
    export.parent.mkdir()
    header = ["opportunity_id", "created_date", "close_date", "stage", "status", "amount"]
    header += ["currency", "product", "owner", "account"]
    rows = []
    for i, payload in enumerate(PAYLOADS):
        status = ("won", "lost", "open")[i % 3]
        stage = payload if status == "open" else f"Closed {status.title()}"
        close = "2025-06-30" if status == "open" else "2025-03-01"
        # owners and accounts come in pairs spelled twice (case differs): the loader reports them
        # as near-duplicate labels, and the report's validation table quotes both spellings
        pair = PAYLOADS[i - i % 2]
        owner, account = (pair, pair.upper()) if i % 2 else (pair.upper(), pair)
        rows.append(
            [f"P{i}", "2025-01-05", close, stage, status, "100", "USD", payload, owner, account]
        )
    rows.append(
        ["BAD", "2025-01-05", "2025-03-01", "Closed Won", "won", "-5", "USD", FORMULA, "y", "z"]
    )
    with export.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    result = run(
        RunOptions(
            export=export,
            period="2025-06",
            reports_dir=tmp / "reports",
            data_dir=tmp / "data",
            cache_dir=tmp / "fits",
            notebooks=ROOT / "notebooks",
            only=("overview",),
            on_bad_rows="skip",
            fit_models=False,  # the overview uses no model; its tables are what shows the labels
        ),
        progress=None,
    )
    assert result.exit_code == 0
    return result.published


@pytest.fixture(scope="module")
def helpers_page(tmp_path_factory) -> Path:
    """A report page built from what the notebooks' helpers display (say, tables, warnings)."""
    import pandas as pd
    from IPython.core.formatters import DisplayFormatter

    shown = []

    def capture(obj) -> None:
        data, _ = DisplayFormatter().format(obj)
        shown.append(nbformat.v4.new_output("display_data", data=data))

    import IPython.display

    original = IPython.display.display
    IPython.display.display = capture
    try:
        for payload in PAYLOADS:
            report.say("Best product: **{p}**, owner {o}.", p=payload, o=payload)
        table = pd.DataFrame({"product": PAYLOADS, "deals": range(len(PAYLOADS))})
        report.show_table(table.set_index("product"), caption=PAYLOADS[1])
        report.show_warnings(PAYLOADS)
    finally:
        IPython.display.display = original
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("report.say(...)", outputs=shown)]
    folder = tmp_path_factory.mktemp("helpers")
    nbformat.write(nb, str(folder / "helpers.ipynb"))
    render_html(folder / "helpers.ipynb", folder / "helpers.html")
    return folder / "helpers.html"


def pages_of(published: Path) -> list[Path]:
    pages = sorted(published.glob("*.html"))
    assert {p.name for p in pages} == {"index.html", "overview.html"}
    return pages


# ---------------------------------------------------------------------------------------------
# The HTML source


def assert_escaped(html: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in html, markup
    assert "<script" not in html.lower()  # no script of any kind, ours included


@pytest.mark.slow
def test_report_pages_hold_the_payloads_only_escaped(published):
    for page in pages_of(published):
        assert_escaped(page.read_text(encoding="utf-8"))
    overview = (published / "overview.html").read_text(encoding="utf-8")
    # the payloads are there, as text: product and stage tables, near-duplicate owner warnings
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in overview
    assert "&lt;img src=x onerror=alert(1)&gt;" in overview
    assert "&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;' and '&lt;script&gt;alert(1)" in overview
    index = (published / "index.html").read_text(encoding="utf-8")
    assert "pipeline &#34;&gt;&lt;svg onload=alert(1)&gt;.csv" in index


def test_helper_output_holds_the_payloads_only_escaped(helpers_page):
    html = helpers_page.read_text(encoding="utf-8")
    assert_escaped(html)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # said, tabled, warned
    assert "javascript:alert(1)" in html and "<a " not in html  # shown as text, not a link


@pytest.mark.slow
def test_every_page_forbids_scripts(published, helpers_page):
    for page in [*pages_of(published), helpers_page]:
        directives = policy_of(page.read_text(encoding="utf-8"))
        assert directives["default-src"] == "'none'", page.name
        assert "script-src" not in directives and "connect-src" not in directives


# ---------------------------------------------------------------------------------------------
# In the browser


def test_the_browser_check_sees_a_payload_that_runs(tmp_path):
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body>{PAYLOADS[1]}</body>")
    assert ran(chromium_dom(page, tmp_path / "profile")), "the check would miss a running payload"


def test_the_policy_alone_stops_an_unescaped_payload(tmp_path, helpers_page):
    policy = POLICY_TAG.search(helpers_page.read_text(encoding="utf-8")).group(0)
    page = tmp_path / "unsafe_with_policy.html"
    page.write_text(
        f"<!DOCTYPE html><html><head>{policy}<title>t</title></head>"
        f"<body>{''.join(PAYLOADS)}</body></html>"
    )
    assert ran(chromium_dom(page, tmp_path / "profile")) == []


@pytest.mark.slow
def test_no_payload_runs_in_any_page(published, helpers_page, tmp_path):
    for page in [*pages_of(published), helpers_page]:
        assert ran(chromium_dom(page, tmp_path / "profile")) == [], page.name
        # and escaping alone holds: the same page without its policy
        assert ran(chromium_dom(without_csp(page, tmp_path), tmp_path / "profile")) == []


@pytest.mark.slow
def test_the_index_page_says_how_many_rows_were_skipped(published):
    index = (published / "index.html").read_text(encoding="utf-8")
    assert "1 rows of the export were skipped as bad; see quarantine.csv" in index
    with (published / "quarantine.csv").open(newline="", encoding="utf-8") as handle:
        (skipped,) = list(csv.DictReader(handle))
    assert (skipped["row"], skipped["reason"]) == ("10", "amount: amount is negative")
    assert skipped["product"] == "'" + FORMULA and skipped["amount"] == "-5"  # formula defused
