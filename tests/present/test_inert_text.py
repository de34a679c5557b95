"""Export strings shown in pages are inert text: a web address is no link, a bidirectional override
cannot reorder what follows it, and a long label cannot make a chart huge."""

from __future__ import annotations

import io
import json

import matplotlib
import nbformat
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from pipeline_models.present import display
from pipeline_models.present.content import ReportContent
from pipeline_models.present.labels import CHART_LABEL_CHARS, chart_label, inert

matplotlib.use("Agg")

RLO = "\u202e"
URLS = ["http://evil.example/login", "https://evil.example/x?a=1&b=2", "<http://evil.example>"]


@pytest.fixture
def displayed(monkeypatch):
    """The HTML of what the helpers display (Markdown as nbconvert renders it)."""
    import IPython.display
    from IPython.core.formatters import DisplayFormatter

    out = []

    def capture(obj) -> None:
        data, _ = DisplayFormatter().format(obj)
        if "text/markdown" in data:
            out.append(markdown2html_mistune(data["text/markdown"]))
        else:
            out.append(data["text/html"])

    monkeypatch.setattr(IPython.display, "display", capture)
    return out


@pytest.mark.parametrize("url", URLS)
def test_a_web_address_in_an_owner_name_is_text_not_a_link(displayed, url):
    display.say("Owner {owner} has the most stalled deals.", owner=url)
    (html,) = displayed
    assert "<a " not in html and "href" not in html
    assert "evil.example" in html


def test_a_sentence_isolates_each_value_and_drops_its_bidirectional_controls(displayed):
    display.say("Best product: **{p}** (P = {share})", p=f"Widget{RLO}", share="97%")
    (html,) = displayed
    assert RLO not in html
    assert "<strong><bdi>Widget</bdi></strong>" in html and "(P = <bdi>97%</bdi>)" in html


def test_tables_warnings_and_captions_drop_bidirectional_and_invisible_characters(displayed):
    frame = pd.DataFrame({"product": [f"Widget{RLO}", "Gad\u200bget"], "deals": [3, 4]})
    display.show_table(frame.set_index("product"), caption=f"By product{RLO}")
    display.show_table(pd.DataFrame({f"own{RLO}er": ["Ann\u2066", None], "n": [1.5, 2.0]}))
    display.show_warnings([f"owner Bob{RLO} = 97%"])
    html = "".join(displayed)
    for char in (RLO, "\u200b", "\u2066"):
        assert char not in html
    assert "Widget" in html and "Gadget" in html and "By product" in html and "owner" in html
    assert "1.5" in html and "Bob = 97%" in html


def test_the_summary_the_index_page_shows_is_inert(tmp_path):
    content = ReportContent("Product potential")
    content.headline = [("most likely best on win rate", f"P{RLO} (P = 97%)")]
    content.warnings = [f"owner A\x1b{RLO}"]
    summary = json.loads(content.write(tmp_path).read_text(encoding="utf-8"))
    assert summary["headline"] == [
        {"label": "most likely best on win rate", "value": "P (P = 97%)"}
    ]
    assert summary["warnings"] == ["owner A\ufffd"]


def test_the_index_page_isolates_export_strings(tmp_path):
    from pipeline_models.run.index import render_index

    manifest = {
        "period": "2025-06",
        "export": {"file": f"export{RLO}.csv", "sha256": "0" * 64},
        "validation": {"opportunities": 3},
        "finished": "2025-07-01T00:00:00",
        "run_warnings": [],
        "reports": {
            "product_potential": {
                "status": "ok",
                "title": "Product potential",
                "headline": [{"label": "best", "value": "P (P = 97%)"}],
                "warnings": ["a warning"],
            }
        },
    }
    render_index(manifest, tmp_path / "index.html")
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert '<div class="value"><bdi>P (P = 97%)</bdi></div>' in page
    assert f"<bdi>export{RLO}.csv</bdi>" in page  # a file name's override stays inside its <bdi>


def test_inert_keeps_text_as_typed():
    for text in ("Zoë Müller", "Widget (EU)", "مبيعات", "👩‍💻 team", "a\tb\nc"):
        assert inert(text) == text


def test_chart_labels_are_shortened_and_kept_on_one_line():
    assert chart_label("Widget Pro") == "Widget Pro"
    long = chart_label("W" * 100_000)
    assert len(long) == CHART_LABEL_CHARS and long.endswith("\u2026")
    assert chart_label(f"two\nlines{RLO}") == "two lines"


def test_a_chart_of_a_100_kb_label_stays_a_normal_size():
    from pipeline_models.analyses.patterns.charts import plot_ranked_intervals

    table = pd.DataFrame(
        {
            "owner": ["O" * 100_000, "Ann"],
            "mean": [0.3, 0.5],
            "lower": [0.1, 0.4],
            "upper": [0.5, 0.6],
        }
    )
    ax = plot_ranked_intervals(table, "owner")
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", bbox_inches="tight", dpi=100)
    matplotlib.pyplot.close(ax.figure)
    width = int.from_bytes(buffer.getvalue()[16:20], "big")  # the PNG header's width
    assert width < 1_500
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert max(len(label) for label in labels) == CHART_LABEL_CHARS


def test_the_helper_page_shows_no_link_for_a_web_address(tmp_path, displayed):
    # the same through nbconvert's whole page, as a report renders it
    from pipeline_models.run.render import render_html

    outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": md})
        for md in [f"Owner {display.escape(u)} stalls." for u in URLS]
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("show(...)", outputs=outputs)]
    nbformat.write(nb, str(tmp_path / "h.ipynb"))
    render_html(tmp_path / "h.ipynb", tmp_path / "h.html")
    page = (tmp_path / "h.html").read_text(encoding="utf-8")
    assert "evil.example" in page and 'href="http' not in page


def test_a_table_shows_its_labels_but_not_its_row_numbers(displayed):
    display.show_table(pd.DataFrame({"deal": ["D-1", "D-2"], "n": [3, 4]}))
    display.show_table(pd.DataFrame({"deal": ["D-1"], "n": [3]}).set_index("deal"))
    numbered, labelled = displayed
    assert "<th>0</th>" not in numbered and "<th>1</th>" not in numbered
    assert ">D-1</td>" in numbered
    assert "<th>D-1</th>" in labelled
