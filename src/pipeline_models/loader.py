"""``pipeline_models.loader`` keeps the import path of :mod:`pipeline_models.io`."""

from .io import (
    BROKEN,
    EXCEL_EPOCH,
    ROW,
    LoadResult,
    infer_dayfirst,
    is_runner_table,
    load_export,
    load_leads,
    parse_amounts,
    parse_dates,
    read_header,
    read_table,
    sniff_delimiter,
    sniff_encoding,
    write_canonical,
)

__all__ = [
    "BROKEN",
    "EXCEL_EPOCH",
    "ROW",
    "LoadResult",
    "infer_dayfirst",
    "is_runner_table",
    "load_export",
    "load_leads",
    "parse_amounts",
    "parse_dates",
    "read_header",
    "read_table",
    "sniff_delimiter",
    "sniff_encoding",
    "write_canonical",
]
