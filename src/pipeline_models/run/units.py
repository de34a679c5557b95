"""The units file of ``pipeline-reports run-many``: the business units to run, each with its
export, mapping, side files and parameters.

A units file is YAML::

    defaults:                    # optional: every unit's value unless the unit gives its own
      preset: salesforce
      seed: 20261
      params: {backtest_months: 6}
    units:
      - name: emea               # letters, digits, '-' and '_': the unit's folder under --out
        export: exports/emea_2026-11.csv
        leads: exports/emea_leads_2026-11.csv
        params: {target_revenue: 5000000}
      - name: americas
        export: exports/americas_2026-11.xlsx
        mapping: mappings/americas.yml
        fit: {draws: 2000}

Relative paths are read from the units file's folder. Each unit's run is exactly
``pipeline-reports run`` with these options (:meth:`Unit.command`); a unit's files are checked
by its own run, so a missing export fails that unit alone. The file itself is checked whole
before any unit runs: a malformed one is refused (exit 2) naming the file, the unit and the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_models.run.layout import sha256_file
from pipeline_models.run.options import RunError

COMPANY = "company"
"""The roll-up's folder under ``--out``; no unit may take this name."""

FILE_KEYS = ("export", "leads", "history", "previous_export", "mapping")
"""Keys naming a file a unit's run reads (relative to the units file's folder)."""

TEXT_KEYS = ("preset", "pipeline", "on_bad_rows")
"""Keys with a word as value, passed on as the run's option of that name."""

MAP_KEYS = ("params", "fit")
"""Keys holding NAME: VALUE pairs (``--param``, ``--fit``)."""

UNIT_KEYS = ("name", *FILE_KEYS, *TEXT_KEYS, *MAP_KEYS, "seed")
DEFAULT_KEYS = tuple(k for k in UNIT_KEYS if k not in ("name", "export"))

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""A unit's name: it names folders, so letters, digits, ``-`` and ``_`` only."""


@dataclass(frozen=True)
class Unit:
    """One business unit's monthly run, its paths absolute."""

    name: str
    export: Path
    leads: Path | None = None
    history: Path | None = None
    previous_export: Path | None = None
    mapping: Path | None = None
    preset: str | None = None
    pipeline: str | None = None
    on_bad_rows: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    fit: dict[str, str] = field(default_factory=dict)
    seed: int | None = None

    def command(self, period: str, reports: Path, data: Path, seed: int) -> list[str]:
        """The arguments of ``pipeline-reports run`` for this unit's set of ``period``: its
        reports in ``reports/<name>``, its archive and fit cache in ``data/<name>``."""
        args = ["run", "--export", str(self.export), "--period", period]
        args += ["--out", str(Path(reports) / self.name), "--data", str(Path(data) / self.name)]
        args += ["--cache", str(Path(data) / self.name / "fits")]
        for key in FILE_KEYS[1:]:
            value = getattr(self, key)
            if value is not None:
                args += [f"--{key.replace('_', '-')}", str(value)]
        for key in TEXT_KEYS:
            value = getattr(self, key)
            if value is not None:
                args += [f"--{key.replace('_', '-')}", value]
        for option, pairs in (("--param", self.params), ("--fit", self.fit)):
            for name, value in pairs.items():
                args += [option, f"{name}={value}"]
        args += ["--seed", str(self.seed if self.seed is not None else seed)]
        return args

    def fingerprint(self, command: list[str]) -> str:
        """What the unit's set was made from: the SHA-256 of every file it reads and its full
        command, with the package's version. Equal fingerprints make the same set."""
        from pipeline_models import __version__

        digest = hashlib.sha256()
        digest.update(json.dumps([__version__, command]).encode())
        for key in FILE_KEYS:
            path = getattr(self, key)
            if path is not None and Path(path).is_file():
                digest.update(sha256_file(path).encode())
        return digest.hexdigest()


def read_units(path: Path | str) -> list[Unit]:
    """The units of a units file, checked whole; refused (exit 2) naming the file, unit and key."""
    import yaml

    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"--units {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"--units {path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise RunError(f"--units {path}: not valid YAML{line}") from None
    unknown = sorted(set(loaded) - {"units", "defaults"}) if isinstance(loaded, dict) else []
    if unknown:
        raise RunError(
            f"--units {path}: unknown top-level key(s) {', '.join(map(str, unknown))} "
            "(known: units, defaults)"
        )
    if not isinstance(loaded, dict) or not isinstance(loaded.get("units"), list):
        raise RunError(f"--units {path}: must hold a list 'units:' (see docs/run-many.md)")
    if not loaded["units"]:
        raise RunError(f"--units {path}: the list 'units:' is empty")
    defaults = _entry(loaded.get("defaults") or {}, path, "defaults", DEFAULT_KEYS)
    units, seen = [], set()
    for index, item in enumerate(loaded["units"], start=1):
        where = f"unit {index}"
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            where = f"unit {index} ({item['name']!r})"
        own = _entry(item, path, where, UNIT_KEYS)
        entry = {**defaults, **own}
        for key in MAP_KEYS:  # a unit's params and fit settings add to the defaults' own
            entry[key] = {**(defaults.get(key) or {}), **(own.get(key) or {})}
        unit = _unit(entry, path, where)
        if unit.name.lower() in seen:
            raise RunError(f"--units {path}: {where}: the name {unit.name!r} is used twice")
        seen.add(unit.name.lower())
        units.append(unit)
    return units


def _entry(item, path: Path, where: str, allowed: tuple[str, ...]) -> dict:
    """One unit's (or the defaults') keys, each known and of the right kind."""
    if not isinstance(item, dict):
        raise RunError(f"--units {path}: {where} must be a mapping of keys to values")
    for key, value in item.items():
        if key not in allowed:
            raise RunError(
                f"--units {path}: {where}: key {key!r} is not known here; known keys: "
                + ", ".join(allowed)
            )
        if key in MAP_KEYS:
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise RunError(f"--units {path}: {where}: {key!r} must map names to values")
        elif key == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
                raise RunError(f"--units {path}: {where}: 'seed' must be a whole number >= 0")
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            raise RunError(f"--units {path}: {where}: {key!r} must be a single value")
    return dict(item)


def _unit(entry: dict, path: Path, where: str) -> Unit:
    """A :class:`Unit` of one checked entry, its files read from the units file's folder."""
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise RunError(
            f"--units {path}: {where}: 'name' must be 1-64 letters, digits, '-' or '_' "
            "(it names the unit's folders)"
        )
    if name.lower() == COMPANY:
        raise RunError(f"--units {path}: {where}: the name {COMPANY!r} is kept for the roll-up")
    if not entry.get("export"):
        raise RunError(f"--units {path}: {where}: 'export' is required")
    base = path.resolve().parent
    files = {k: (base / str(entry[k])) if entry.get(k) else None for k in FILE_KEYS}
    return Unit(
        name=name,
        **files,
        **{k: str(entry[k]) for k in TEXT_KEYS if entry.get(k) is not None},
        params={k: _text(v) for k, v in (entry.get("params") or {}).items()},
        fit={k: _text(v) for k, v in (entry.get("fit") or {}).items()},
        seed=entry.get("seed"),
    )


def _text(value) -> str:
    """A parameter's value as ``--param`` would be given it (YAML's true as ``True``)."""
    return str(value)


__all__ = ["COMPANY", "Unit", "read_units"]
