"""Turning executed notebooks into pages a leader reads: no code, no scripts, images embedded."""

from __future__ import annotations

from pathlib import Path

from pipeline_models import __version__

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
    nb.metadata["title"] = nb.metadata.get("title") or notebook_path.stem.replace("_", " ").title()
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        # nbconvert's sanitizer escapes all HTML output, tables included; export strings are
        # escaped where they enter the notebook (report.show_table, report.say) and the page's
        # Content-Security-Policy forbids every script.
        sanitize_html=False,
    )
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")


def render_index(manifest: dict, path: Path) -> None:
    """Write ``index.html``: headline figures of each report with links (all values escaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
    )
    reports = [
        {
            "title": r.get("title", name),
            "href": f"{name}.html",
            "status": r["status"],
            "headline": r.get("headline", []),
            "warnings": r.get("warnings", []),
        }
        for name, r in manifest["reports"].items()
    ]
    page = env.get_template("index.html.j2").render(
        period=manifest["period"],
        export_name=Path(manifest["export"]["file"]).name,
        export_hash=manifest["export"]["sha256"],
        n_opportunities=manifest["validation"]["opportunities"],
        generated=manifest["finished"],
        reports=reports,
        run_warnings=manifest.get("run_warnings", []),
        version=__version__,
    )
    path.write_text(page, encoding="utf-8")
