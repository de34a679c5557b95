"""A report page is light and plain: charts as small PNGs with alt text, classes instead of inline
styles, the project's own template with one stylesheet for screen and print, and no script."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import matplotlib
import nbformat
import pandas as pd
import pytest

from pipeline_models.present import display, palette
from pipeline_models.present.content import Appendix, Chart, Headline

matplotlib.use("Agg")


@pytest.fixture
def displayed(monkeypatch):
    """What the helpers display, as display_data outputs (as a kernel would record them)."""
    import IPython.display
    from IPython.core.formatters import DisplayFormatter

    out = []

    def capture(obj) -> None:
        data, _ = DisplayFormatter().format(obj)
        out.append(nbformat.v4.new_output("display_data", data=data))

    monkeypatch.setattr(IPython.display, "display", capture)
    return out


def _html(outputs) -> str:
    return "".join(o.data.get("text/html", "") for o in outputs)


def _figure():
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 3))
    for i in range(4):
        ax.plot([0, 1, 2], [i, i + 1, i], label=f"series {i}")
    ax.fill_between([0, 1, 2], 0, 1, alpha=0.3)
    ax.legend()
    return figure


def _png(html: str) -> bytes:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    return base64.b64decode(data)


def test_a_chart_is_a_small_png_with_its_alt_text_escaped(displayed):
    import matplotlib.pyplot as plt
    from PIL import Image

    plt.close("all")  # figures other tests left open
    display.show_chart(Chart(_figure, alt='Won "deals" <by month> & more\u202e'))
    (output,) = displayed
    html = output.data["text/html"]
    assert 'alt="Won &quot;deals&quot; &lt;by month&gt; &amp; more"' in html
    assert "image/png" not in output.data  # one image, in the HTML, never a second copy
    with Image.open(io.BytesIO(_png(html))) as image:
        assert image.format == "PNG" and image.mode == "P"  # an adaptive palette
        assert (image.width, image.height) == tuple(
            int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', html).groups()
        )
        assert 400 < image.width <= 6 * display.CHART_DPI  # six inches, margins trimmed
        colours = {c for _, c in image.convert("RGB").getcolors(256 * 256)}
    assert (255, 255, 255) in colours and len(colours) > 8  # white, lines, their anti-aliasing
    assert plt.get_fignums() == []


def test_a_chart_shrinks_well_below_its_full_colour_png():
    figure = _figure()
    full = io.BytesIO()
    figure.savefig(full, format="png", dpi=display.CHART_DPI, bbox_inches="tight")
    small, _, _ = display.chart_png(figure)
    matplotlib.pyplot.close(figure)
    assert len(small) < 0.7 * len(full.getvalue())


def test_a_chart_without_alt_text_gets_a_generic_one_and_a_missing_chart_shows_nothing(
    displayed,
):
    display.show_chart(Chart(_figure))
    display.show_chart(Chart(lambda: None, alt="nothing to draw"))
    (output,) = displayed
    assert f'alt="{display.CHART_ALT}"' in output.data["text/html"]


def test_the_warning_box_is_a_class_read_with_care_and_escaped(displayed):
    display.show_warnings(["<b>owner</b> Bob & Ann"])
    display.show_warnings([])
    html = _html(displayed)
    assert 'class="warning-box"' in html and "style=" not in html
    assert "Read with care" in html and "Warning" not in html
    assert "&lt;b&gt;owner&lt;/b&gt; Bob &amp; Ann" in html


def test_a_table_is_wrapped_its_words_left_and_its_index_name_in_the_corner(displayed):
    frame = pd.DataFrame(
        {
            "owner": ["Ann", "Bob"],
            "deals": [3, 4],
            "win rate": ["35% (30-40)", "n/a"],
            "what moves it": ["lead source Referral raises it; owner Ann raises it", "x"],
            "in hand": ["43–62 deals", "1.2M USD (80%: 1.0M to 1.5M)"],
            "problem": ["116 open deals have no amount", "3 are stalled"],
        },
        index=pd.Index(["Qualification", "Discovery"], name="stage"),
    )
    display.show_table(frame, caption="By stage")
    html = _html(displayed)
    assert '<div class="table-wrap"><table class="dataframe">' in html
    assert '<th class="text">stage</th>' in html and html.count("<tr") == 3  # one header row
    assert '<td class="text">Ann</td>' in html and "<td>3</td>" in html
    assert "<td>35% (30-40)</td>" in html  # a number with its interval reads as a number
    assert "<td>43–62 deals</td>" in html and "<td>1.2M USD (80%: 1.0M to 1.5M)</td>" in html
    assert '<td class="text">116 open deals have no amount</td>' in html  # a sentence is words
    assert '<td class="text long">lead source Referral' in html


def test_report_charts_use_the_palette_and_no_top_or_right_frame():
    from matplotlib import rcParams

    display.quiet()
    assert rcParams["axes.prop_cycle"].by_key()["color"] == list(palette.SERIES)
    assert not rcParams["axes.spines.top"] and not rcParams["axes.spines.right"]
    assert rcParams["figure.dpi"] == display.CHART_DPI and not rcParams["text.parse_math"]


def test_the_palette_is_one_set_of_distinct_colours():
    named = [palette.ESTIMATE, palette.INTERVAL, palette.OBSERVED, palette.REFERENCE]
    named += [palette.GAIN, palette.LOSS, palette.WARNING]
    for colour in [*named, *palette.SERIES]:
        assert re.fullmatch(r"#[0-9A-Fa-f]{6}", colour), colour
    assert len(set(named)) == len(named) and len(set(palette.SERIES)) == len(palette.SERIES)
    assert palette.SERIES[0] == palette.ESTIMATE


# ---------------------------------------------------------------------------------------------
# The page


@pytest.fixture
def page(tmp_path, displayed) -> str:
    """A report page holding every kind of part, rendered as a run renders it."""
    from pipeline_models.run.render import render_html

    display.show_warnings(["116 open deals have no amount"])
    display.show_headline(Headline((("open pipeline", "31.3M USD"), ("win rate", "35%"))))
    display.show_chart(Chart(_figure, alt="Four series"))
    display.show_table(pd.DataFrame({"deals": [3, 4]}, index=["won", "lost"]), caption="Deals")
    display.say("Best product: **{p}**.", p="Widget")
    display.show_appendix(Appendix(("win rate: R-hat 1.00",)))
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("show(content.warning_box())", outputs=list(displayed))
    code.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="a log line"))
    code.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="Fitting ..."))
    nb.cells = [nbformat.v4.new_markdown_cell("# Pipeline overview\n\n## Headline"), code]
    nbformat.write(nb, str(tmp_path / "overview.ipynb"))
    render_html(tmp_path / "overview.ipynb", tmp_path / "overview.html")
    return (tmp_path / "overview.html").read_text(encoding="utf-8")


def test_a_page_is_its_content_and_one_stylesheet(page):
    head, body = page.split("</head>")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "<title>Pipeline overview</title>" in head
    assert head.count("<style") == 1 and "<script" not in page.lower()
    assert (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in head
    )  # the policy as it was
    assert "jp-" not in page and "In&nbsp;[" not in page  # nothing of JupyterLab's
    assert "show(content" not in body and "a log line" not in body and "Fitting ..." in body
    assert "\u00b6" not in body  # no anchor links on headings
    for part in ('class="warning-box"', 'class="headline"', 'alt="Four series"'):
        assert part in body, part
    assert '<section class="appendix">' in body and "<strong><bdi>Widget</bdi></strong>" in body
    assert len(head.encode()) < 12_000  # the stylesheet is a few kilobytes, not 400


def test_the_stylesheet_styles_what_the_reports_show_and_prints(page):
    style = page.split("<style>")[1].split("</style>")[0]
    for rule in (
        "table.dataframe",
        ".table-wrap",
        ".headline",
        ".warning-box",
        "section.appendix",
        "img {",
        "@media print",
        "break-inside: avoid",
        "break-after: avoid",
        "@page",
    ):
        assert rule in style, rule
    assert "system-ui" in style and "max-width: 60rem" in style


def test_the_template_holds_no_script_of_its_own():
    folder = Path(display.__file__).resolve().parents[1] / "templates" / "report"
    for path in folder.iterdir():
        assert "<script" not in path.read_text(encoding="utf-8").lower(), path.name
