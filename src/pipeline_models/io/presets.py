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
      Won?: is_won           # optional: a yes/no flag (true/false, 1/0) ...
      Closed?: is_closed     # ... the flags then decide the status, the stage is a fallback
      Board: pipeline        # optional: the CRM's pipeline; a run reads one (--pipeline NAME)
    open_stages: [Lead, Demo, Offer]   # optional: with it, any other stage is an error
    date_format: "%d.%m.%Y"            # optional: else inferred (day-first detected)
    decimal: ","                       # optional: the decimal mark of amounts, else inferred
    defaults:
      currency: EUR
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from pipeline_models.contract.problems import ExportError, Problem
from pipeline_models.contract.schema import GROUP_COLUMNS, LEAD_COLUMNS, OPPORTUNITY_COLUMNS

FLAG_TARGETS = ("is_won", "is_closed")
"""Mapping targets for the CRM's yes/no won and closed flags, which decide the status."""

PIPELINE_TARGET = "pipeline"
"""Mapping target for the CRM's pipeline name: a run reads one pipeline (``--pipeline NAME``),
since each pipeline has stages of its own."""

CANONICAL_TARGETS = set(OPPORTUNITY_COLUMNS) | set(FLAG_TARGETS) | {PIPELINE_TARGET}

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
    pipeline: str | None = None  # the one pipeline to read, where the export holds several

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
        description="Salesforce opportunities: a report exported as CSV or Excel, or the API "
        "field names of Data Export, Data Loader, Workbench or a SOQL query (IsWon / IsClosed, "
        "or the report's Won / Closed, decide the status; stage names are the fallback).",
        columns={
            "opportunity_id": ["Opportunity ID", "Opportunity ID (18)", "Id", "Opportunity Name"],
            "created_date": ["Created Date", "CreatedDate"],
            "close_date": ["Close Date", "CloseDate"],
            "stage": ["Stage", "StageName"],
            "amount": ["Amount", "Amount (converted)"],
            "currency": ["Opportunity Currency", "Amount Currency", "CurrencyIsoCode"],
            "product": ["Product Name", "Product Family", "Product2.Name", "Product2.Family"],
            "region": ["Billing State/Province", "Region", "Billing Country"],
            "segment": ["Type", "Segment", "Industry", "Account.Industry"],
            "owner": ["Opportunity Owner", "Owner.Name", "OwnerId"],
            "account": ["Account Name", "Account.Name", "AccountId"],
            "lead_source": ["Lead Source", "LeadSource"],
            "probability": ["Probability (%)", "Probability"],
            "forecast_category": ["Forecast Category", "ForecastCategoryName", "ForecastCategory"],
            "is_won": ["IsWon", "Won"],
            "is_closed": ["IsClosed", "Closed"],
        },
        status={"closed won": "won", "closed lost": "lost"},
    ),
    "hubspot": Mapping(
        name="hubspot",
        description="HubSpot 'Deals' export (Is Closed Won / Is closed decide the status where "
        "present; an export of several pipelines needs --pipeline NAME).",
        columns={
            "opportunity_id": ["Record ID", "Deal ID"],
            "created_date": ["Create Date", "Create date"],
            "close_date": ["Close Date", "Close date"],
            "stage": ["Deal Stage", "Deal stage"],
            "amount": ["Amount", "Amount in company currency"],
            "currency": ["Currency", "Deal currency code"],
            "product": ["Product", "Product name"],
            "region": ["Region", "Country/Region"],
            "segment": ["Deal Type", "Deal type", "Segment", "Industry"],
            "owner": ["Deal owner", "Deal Owner"],
            "account": ["Associated Company", "Associated Company (Primary)", "Company name"],
            "lead_source": ["Original Source Type", "Original Traffic Source", "Lead source"],
            "probability": ["Deal probability", "Deal Probability"],
            "forecast_category": ["Forecast category", "Forecast Category"],
            "is_won": ["Is Closed Won", "Is closed won"],
            "is_closed": ["Is Closed", "Is closed"],
            "pipeline": "Pipeline",
        },
        status={"closed won": "won", "closed lost": "lost"},
    ),
    "pipedrive": Mapping(
        name="pipedrive",
        description="Pipedrive 'Deals' export, with 'Deal - ' prefixes or without (Status decides "
        "won / lost / open; Won time or Lost time is the close date; an export of several "
        "pipelines needs --pipeline NAME).",
        columns={
            "opportunity_id": ["Deal - ID", "ID"],
            "created_date": ["Deal - Deal created", "Deal created"],
            "close_date": [
                "Deal - Won time",
                "Deal - Lost time",
                "Deal - Expected close date",
                "Won time",
                "Lost time",
                "Expected close date",
            ],
            "stage": ["Deal - Stage", "Stage"],
            "status": ["Deal - Status", "Status"],
            "amount": ["Deal - Value", "Value"],
            "currency": ["Deal - Currency", "Currency of Value", "Currency"],
            "product": ["Deal - Product name", "Product name"],
            "region": ["Deal - Region", "Organization - Country"],
            "segment": ["Deal - Segment", "Organization - Industry"],
            "owner": ["Deal - Owner", "Owner", "Deal - Creator"],
            "account": ["Deal - Organization", "Organization"],
            "lead_source": [
                "Deal - Source",
                "Deal - Source channel",
                "Deal - Lead source",
                "Source channel",
            ],
            "probability": ["Deal - Probability", "Probability"],
            "pipeline": ["Deal - Pipeline", "Pipeline"],
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
                    f"(one of: {', '.join(sorted(CANONICAL_TARGETS))})",
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
    allowed = ("stage", "currency", *GROUP_COLUMNS, "lead_id")
    problems += [
        Problem(name, f"unknown key '{key}' under 'defaults:' (known: {', '.join(allowed)})")
        for key in defaults
        if key not in allowed
    ]
    return {
        "open_stages": open_stages,
        "date_format": date_format,
        "dayfirst": dayfirst,
        "decimal": decimal,
        "defaults": {k: str(v) for k, v in defaults.items()},
    }


def get_mapping(
    preset: str | None = None,
    mapping_path: str | Path | None = None,
    pipeline: str | None = None,
) -> Mapping:
    """The mapping for a preset name or a mapping file (the file wins when both are given),
    reading only the rows of ``pipeline`` when given."""
    if mapping_path:
        mapping = load_mapping(mapping_path)
    else:
        name = (preset or "canonical").lower()
        if name not in PRESETS:
            raise ExportError(
                [Problem("--preset", f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")],
                headline="unknown preset",
            )
        mapping = PRESETS[name]
    return replace(mapping, pipeline=pipeline) if pipeline else mapping


def guess_preset(header: list[str]) -> str | None:
    """The preset whose source columns best match ``header`` (at least half of them), or None."""
    lowered = {h.strip().lower() for h in header}
    best, best_score = None, 0.0
    for name, mapping in PRESETS.items():
        # a column counts as found when any of its spellings is in the header
        hits = sum(any(s.lower() in lowered for s in mapping.sources(c)) for c in mapping.columns)
        score = hits / max(len(mapping.columns), 1)
        if score > best_score:
            best, best_score = name, score
    return best if best_score >= 0.5 else None


LAYOUT_MARKS = {
    "salesforce": (
        ("stagename", "isclosed", "iswon", "createddate"),
        "API field names",
        "report export",
    ),
    "hubspot": (("is closed won", "is closed"), "deals export with its won/closed flags", ""),
    "pipedrive": (("deal - id", "deal - stage"), "'Deal - ' columns", "columns without prefix"),
}
"""Per CRM: header columns that tell one of its layouts from the other (any one is enough), and
the words for the layout they mark and for the other one."""


def describe_layout(header: list[str]) -> str | None:
    """In words, the layout ``header`` is recognised as (e.g. "salesforce, API field names"),
    or None when no built-in preset fits it."""
    name = guess_preset(header)
    if name is None:
        return None
    marks, marked, other = LAYOUT_MARKS.get(name, ((), "", ""))
    lowered = {h.strip().lower() for h in header}
    words = marked if lowered & set(marks) else other
    return f"{name}, {words}" if words else name


LEAD_MAPPING = {c: c for c in LEAD_COLUMNS} | {
    "Lead ID": "lead_id",
    "Created Date": "created_date",
    "Lead Source": "source",
    "Converted Opportunity ID": "opportunity_id",
    "Converted Date": "converted_date",
}
"""Leads files: canonical names, plus Salesforce's lead report spellings."""
