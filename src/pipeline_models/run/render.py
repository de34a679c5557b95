"""Turning executed notebooks into pages a leader reads: no code, no scripts, images embedded.

A report page uses the project's own template (``templates/report``): the notebook's Markdown and
its outputs, one small stylesheet for the screen and for print, nothing of JupyterLab's.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def render_html(notebook_path: Path, html_path: Path) -> None:
    """Render an executed notebook to self-contained HTML: no code, no scripts, images embedded."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook_path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            # log lines and warnings on stderr are for the analyst, not for leadership
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    nb.metadata["title"] = nb.metadata.get("title") or page_title(nb, notebook_path)
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        # charts are inline data already; embedding would parse each inline tag of a sentence
        # on its own and close <bdi> before its value, undoing the value's isolation
        embed_images=False,
        # nbconvert's sanitizer escapes all HTML output, tables included; export strings are
        # escaped where they enter the notebook (report.show_table, report.say) and the page's
        # Content-Security-Policy forbids every script.
        sanitize_html=False,
    )
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")


def page_title(nb, notebook_path: Path) -> str:
    """The page's title: the notebook's first top heading, else its file name in words."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# ") and line[2:].strip():
                return line[2:].strip()
    return notebook_path.stem.replace("_", " ").title()
