"""CRM header spellings: the only module that knows how a CRM names its export columns.

A :class:`Mapping` says which source column feeds each canonical column, how stages map to a
status, how dates are written, and which side tables (lookups) enrich the export. Built-in presets
cover the common CRM report exports; a user mapping file (YAML) covers the rest::

    columns:                 # source column -> canonical column
      Deal ID: opportunity_id
      Created: created_date
      Closed: close_date
      Phase: stage
      Value: amount
      Product line: product
    status:                  # stage -> status (won / lost / open)
      Signed: won
      Dropped: lost
    open_stages: [Lead, Demo, Offer]   # optional: with it, any other stage is an error
    date_format: "%d.%m.%Y"            # optional: else inferred (day-first detected)
    decimal: ","                       # optional: the decimal mark of amounts, else inferred
    defaults:
      currency: EUR
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline_models.contract.problems import ExportError, Problem
from pipeline_models.contract.schema import LEAD_COLUMNS, OPPORTUNITY_COLUMNS

CANONICAL_TARGETS = set(OPPORTUNITY_COLUMNS)

MAPPING_KEYS = (
    "columns",
    "status",
    "open_stages",
    "date_format",
    "dayfirst",
    "decimal",
    "defaults",
)
"""The keys a user mapping file may hold."""


@dataclass(frozen=True)
class Lookup:
    """A side table joined onto the export by a key, e.g. Maven's ``sales_teams.csv``."""

    file: str  # file name, looked up beside the export
    key: str  # source column of the export and of the side table
    columns: dict[str, str]  # side-table column -> canonical column
    optional: bool = True


@dataclass(frozen=True)
class Mapping:
    """How one CRM export maps onto the canonical opportunities table."""

    name: str
    columns: dict[
        str, str | list[str]
    ]  # canonical column -> source column(s), first non-empty wins
    status: dict[str, str] = field(default_factory=dict)  # stage -> status (case-insensitive)
    open_stages: tuple[str, ...] | None = None
    date_format: str | None = None
    dayfirst: bool | None = None
    decimal: str | None = None  # decimal mark of amounts, "." or ","; None: inferred per column
    defaults: dict[str, str] = field(default_factory=dict)
    lookups: tuple[Lookup, ...] = ()
    zero_amount_missing_for: tuple[str, ...] = ()  # statuses whose amount 0 means "not recorded"
    status_values: dict[str, str] = field(default_factory=dict)  # raw status cell -> status
    description: str = ""

    def sources(self, canonical: str) -> list[str]:
        """The source columns that feed ``canonical``, in the order they are tried."""
        value = self.columns.get(canonical)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    @property
    def signature(self) -> set[str]:
        """Lower-cased source column names, used to recognise an export's CRM."""
        return {s.lower() for c in self.columns for s in self.sources(c)}


def _identity(columns) -> dict[str, str]:
    return {c: c for c in columns}


PRESETS: dict[str, Mapping] = {
    "canonical": Mapping(
        name="canonical",
        description="Columns already named as in the canonical contract (the sample export).",
        columns=_identity(OPPORTUNITY_COLUMNS),
        status_values={"won": "won", "lost": "lost", "open": "open"},
    ),
    "salesforce": Mapping(
        name="salesforce",
        description="Salesforce 'Opportunities' report exported as CSV or Excel.",
        columns={
            "opportunity_id": ["Opportunity ID", "Opportunity ID (18)", "Opportunity Name"],
            "created_date": "Created Date",
            "close_date": "Close Date",
            "stage": "Stage",
            "amount": ["Amount", "Amount (converted)"],
            "currency": ["Opportunity Currency", "Amount Currency"],
            "product": ["Product Name", "Product Family", "Type"],
            "region": ["Billing State/Province", "Region", "Billing Country"],
            "segment": ["Industry", "Segment"],
            "owner": "Opportunity Owner",
            "account": "Account Name",
            "lead_source": "Lead Source",
        },
        status={"closed won": "won", "closed lost": "lost"},
    ),
    "hubspot": Mapping(
        name="hubspot",
        description="HubSpot 'Deals' export (default sales pipeline).",
        columns={
            "opportunity_id": ["Record ID", "Deal ID"],
            "created_date": ["Create Date", "Create date"],
            "close_date": ["Close Date", "Close date"],
            "stage": ["Deal Stage", "Deal stage"],
            "amount": "Amount",
            "currency": ["Currency", "Deal currency code"],
            "product": ["Deal Type", "Product"],
            "region": ["Region", "Country/Region"],
            "segment": ["Segment", "Industry"],
            "owner": ["Deal owner", "Deal Owner"],
            "account": ["Associated Company", "Associated Company (Primary)", "Company name"],
            "lead_source": ["Original Source Type", "Original Traffic Source", "Lead source"],
        },
        status={"closed won": "won", "closed lost": "lost"},
    ),
    "pipedrive": Mapping(
        name="pipedrive",
        description="Pipedrive 'Deals' export (Deal - ... columns).",
        columns={
            "opportunity_id": "Deal - ID",
            "created_date": "Deal - Deal created",
            "close_date": [
                "Deal - Won time",
                "Deal - Lost time",
                "Deal - Expected close date",
            ],
            "stage": "Deal - Stage",
            "status": "Deal - Status",
            "amount": "Deal - Value",
            "currency": "Deal - Currency",
            "product": ["Deal - Product name", "Deal - Pipeline"],
            "region": ["Deal - Region", "Organization - Country"],
            "segment": ["Deal - Segment", "Organization - Industry"],
            "owner": ["Deal - Owner", "Deal - Creator"],
            "account": "Deal - Organization",
            "lead_source": ["Deal - Source", "Deal - Source channel", "Deal - Lead source"],
        },
        status_values={"won": "won", "lost": "lost", "open": "open", "deleted": "lost"},
    ),
    "maven": Mapping(
        name="maven",
        description="Maven Analytics 'CRM + Sales Opportunities' layout (sales_pipeline.csv with "
        "sales_teams.csv and accounts.csv beside it).",
        columns={
            "opportunity_id": "opportunity_id",
            "created_date": "engage_date",
            "close_date": "close_date",
            "stage": "deal_stage",
            "amount": "close_value",
            "product": "product",
            "owner": "sales_agent",
            "account": "account",
        },
        status={"won": "won", "lost": "lost"},
        open_stages=("Engaging", "Prospecting"),
        defaults={"currency": "USD"},
        lookups=(
            Lookup("sales_teams.csv", "sales_agent", {"regional_office": "region"}),
            Lookup("accounts.csv", "account", {"sector": "segment"}),
            Lookup("products.csv", "product", {}),  # checks product names against the catalogue
        ),
        zero_amount_missing_for=("lost",),
    ),
}
"""Built-in presets by name."""


def load_mapping(path: str | Path) -> Mapping:
    """Read a user mapping YAML file (format in this module's docstring).

    Raises
    ------
    ExportError
        With one problem per invalid entry, naming the mapping file.
    """
    path = Path(path)
    name = str(path)
    raw = _read_mapping_file(path)
    problems: list[Problem] = []
    columns = _mapped_columns(raw, name, problems)
    status = _stage_statuses(raw, name, problems)
    options = _mapping_options(raw, name, problems)
    problems += [
        Problem(name, f"unknown key '{key}' (known: {', '.join(sorted(MAPPING_KEYS))})")
        for key in raw
        if key not in MAPPING_KEYS
    ]
    if problems:
        raise ExportError(problems, headline=f"mapping file {name} is invalid")
    open_stages = options.pop("open_stages")
    return Mapping(
        name=f"mapping:{path.name}",
        columns={k: v if len(v) > 1 else v[0] for k, v in columns.items()},
        status=status,
        open_stages=tuple(str(s) for s in open_stages) if open_stages else None,
        **options,
    )


def _read_mapping_file(path: Path) -> dict:
    """The YAML of a mapping file, which must hold a ``columns:`` section."""
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError([Problem(name, "mapping file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError([Problem(name, f"mapping file cannot be read: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise ExportError([Problem(name, f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise ExportError(
            [Problem(name, "a mapping needs a 'columns:' section (source -> canonical)")]
        )
    return raw


def _mapped_columns(raw: dict, name: str, problems: list[Problem]) -> dict[str, list[str]]:
    """Canonical column -> its source columns; a target outside the contract is a problem."""
    columns: dict[str, list[str]] = {}
    for source, target in raw["columns"].items():
        if not isinstance(target, str) or target not in CANONICAL_TARGETS:
            problems.append(
                Problem(
                    name,
                    f"'{source}' maps to '{target}', which is not a canonical column "
                    f"(one of: {', '.join(OPPORTUNITY_COLUMNS)})",
                    column=str(source),
                )
            )
            continue
        columns.setdefault(target, []).append(str(source))
    return columns


def _stage_statuses(raw: dict, name: str, problems: list[Problem]) -> dict[str, str]:
    """Stage -> status from the ``status:`` section (each status one of won, lost, open)."""
    status: dict[str, str] = {}
    section = raw.get("status") or {}
    if not isinstance(section, dict):
        problems.append(Problem(name, "'status:' must map stage names to won, lost or open"))
        return status
    for stage, value in section.items():
        if value not in ("won", "lost", "open"):
            problems.append(
                Problem(name, f"stage '{stage}' maps to '{value}'; use won, lost or open")
            )
        status[str(stage).strip()] = value
    return status


def _mapping_options(raw: dict, name: str, problems: list[Problem]) -> dict:
    """The optional settings of a mapping file: open stages, how dates and amounts are written,
    and default values."""
    open_stages = raw.get("open_stages")
    if open_stages is not None and not (
        isinstance(open_stages, list) and all(isinstance(s, str | int) for s in open_stages)
    ):
        problems.append(Problem(name, "'open_stages:' must be a list of stage names"))
        open_stages = None
    date_format = raw.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        problems.append(
            Problem(
                name, f"date_format {date_format!r} is not a strftime format such as '%d.%m.%Y'"
            )
        )
    dayfirst = raw.get("dayfirst")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        problems.append(Problem(name, f"dayfirst must be true or false, not {dayfirst!r}"))
    decimal = raw.get("decimal")
    if decimal is not None and decimal not in (".", ","):
        problems.append(Problem(name, f"decimal must be '.' or ',', not {decimal!r}"))
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(Problem(name, "'defaults:' must map canonical columns to values"))
        defaults = {}
    return {
        "open_stages": open_stages,
        "date_format": date_format,
        "dayfirst": dayfirst,
        "decimal": decimal,
        "defaults": {k: str(v) for k, v in defaults.items()},
    }


def get_mapping(preset: str | None = None, mapping_path: str | Path | None = None) -> Mapping:
    """The mapping for a preset name or a mapping file (the file wins when both are given)."""
    if mapping_path:
        return load_mapping(mapping_path)
    name = (preset or "canonical").lower()
    if name not in PRESETS:
        raise ExportError(
            [Problem("--preset", f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")],
            headline="unknown preset",
        )
    return PRESETS[name]


def guess_preset(header: list[str]) -> str | None:
    """The preset whose source columns best match ``header`` (at least half of them), or None."""
    lowered = {h.strip().lower() for h in header}
    best, best_score = None, 0.0
    for name, mapping in PRESETS.items():
        wanted = {mapping.sources(c)[0].lower() for c in mapping.columns}
        score = len(wanted & lowered) / max(len(wanted), 1)
        if score > best_score:
            best, best_score = name, score
    return best if best_score >= 0.5 else None


LEAD_MAPPING = {c: c for c in LEAD_COLUMNS} | {
    "Lead ID": "lead_id",
    "Created Date": "created_date",
    "Lead Source": "source",
    "Converted Opportunity ID": "opportunity_id",
    "Converted Date": "converted_date",
}
"""Leads files: canonical names, plus Salesforce's lead report spellings."""
