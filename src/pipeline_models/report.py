"""What report notebooks call to show tables, write their headline figures and stay safe.

Strings from a CRM export are data, never markup: every table shown goes through
:func:`show_table`, which escapes cells, and every sentence built from export values through
:func:`say`, which escapes them before they reach Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from .catalog import SUMMARY_FILE, sha256_file
from .loader import LoadResult, is_runner_table, load_export, load_leads
from .present.display import escape, quiet, say, show_table, show_warnings
from .present.files import json_default, safe_cell, write_csv, write_excel
from .present.formats import format_money, format_pct
from .problems import ExportError


def load_inputs(
    export_path: str,
    preset: str = "canonical",
    mapping_path: str = "",
    leads_path: str = "",
    as_of: str | None = None,
) -> tuple[LoadResult, LoadResult | None]:
    """Load the opportunities export (and leads, when given) for a report notebook.

    For the runner's canonical table, ``info["sha256"]`` holds the file's digest: passed to
    :func:`~pipeline_models.fits.period_models`, it finds the run's fits without aggregating.
    """
    result = load_export(
        export_path, preset=preset or None, mapping=mapping_path or None, as_of=as_of
    )
    if (preset or "canonical") == "canonical" and not mapping_path and is_runner_table(export_path):
        result.info["sha256"] = sha256_file(export_path)
    leads = load_leads(leads_path) if leads_path else None
    return result, leads


fmt_money = format_money
fmt_pct = format_pct


def write_summary(
    output_dir: str | Path,
    title: str,
    headline: Sequence[tuple[str, str]] | Sequence[dict],
    warnings_: Iterable[str] = (),
    figures: dict | None = None,
) -> Path:
    """Write the report's ``summary.json``: its title, headline figures and warnings.

    The runner shows the headline on ``index.html`` and copies the warnings into the manifest.
    ``figures`` holds machine-readable numbers (for tests and reproducibility checks).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    items = [
        h if isinstance(h, dict) else {"label": str(h[0]), "value": str(h[1])} for h in headline
    ]
    payload = {
        "title": title,
        "headline": items,
        "warnings": [str(w) for w in warnings_],
        "figures": figures or {},
    }
    path = output_dir / SUMMARY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=json_default))
    tmp.replace(path)
    return path


__all__ = [
    "ExportError",
    "escape",
    "fmt_money",
    "fmt_pct",
    "load_inputs",
    "quiet",
    "safe_cell",
    "say",
    "show_table",
    "show_warnings",
    "write_csv",
    "write_excel",
    "write_summary",
]
