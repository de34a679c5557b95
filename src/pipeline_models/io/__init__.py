"""Reading and validating exports: CRM files in, canonical opportunities, leads and history out.

:func:`load_export` and :func:`load_leads` read a CSV, Parquet or Excel file through a mapping
(:mod:`~pipeline_models.io.presets`, the one place that knows CRM header spellings) and list
every problem at once; :func:`load_history` reads a stage history in the layouts it recognises;
:mod:`~pipeline_models.io.canonical` writes and reads the tables the runner has validated.
"""

from .amounts import parse_amounts
from .canonical import (
    is_runner_table,
    read_canonical,
    read_canonical_history,
    read_canonical_leads,
    write_canonical,
    write_canonical_history,
    write_canonical_leads,
)
from .cells import BROKEN, ROW
from .dates import EXCEL_EPOCH, infer_dayfirst, parse_dates
from .history import load_history
from .leads import load_leads
from .opportunities import BAD_ROWS_MODES, load_export
from .presets import (
    CANONICAL_TARGETS,
    LEAD_MAPPING,
    PRESETS,
    Lookup,
    Mapping,
    get_mapping,
    guess_preset,
    load_mapping,
)
from .readers import read_table
from .result import LoadResult
from .sniffing import read_header, sniff_delimiter, sniff_encoding

__all__ = [
    "BAD_ROWS_MODES",
    "BROKEN",
    "CANONICAL_TARGETS",
    "EXCEL_EPOCH",
    "LEAD_MAPPING",
    "PRESETS",
    "ROW",
    "LoadResult",
    "Lookup",
    "Mapping",
    "get_mapping",
    "guess_preset",
    "infer_dayfirst",
    "is_runner_table",
    "load_export",
    "load_history",
    "load_leads",
    "load_mapping",
    "parse_amounts",
    "parse_dates",
    "read_canonical",
    "read_canonical_history",
    "read_canonical_leads",
    "read_header",
    "read_table",
    "sniff_delimiter",
    "sniff_encoding",
    "write_canonical",
    "write_canonical_history",
    "write_canonical_leads",
]
