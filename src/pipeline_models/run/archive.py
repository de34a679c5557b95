"""Raw exports archived untouched under their hash, and the previous period's export found again.

An export is archived as ``data/raw/<period>/<sha12>-<file>``; the leads, the stage history and the
side tables a preset joined go into the ``leads/``, ``history/`` and ``side_tables/`` folders
beside it, so the period's folder itself holds only exports. Nothing is ever written through a
link: a file is copied to a fresh temporary name and renamed into place, and the temporary file is
removed whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_models.run.layout import MANIFEST_FILE, previous_period, sha256_file
from pipeline_models.run.options import RunError

HASH_PREFIX = 12
"""Characters of the SHA-256 that prefix an archived file's name."""

NAME_EXTRA = max(len(f".{'0' * HASH_PREFIX}-.tmp"), len(f"{'0' * HASH_PREFIX}-.sha256"))
"""Bytes the archive adds to a file's name (its hash file's name is the longest)."""

TMP_SUFFIX = ".tmp"


def archive_export(source: Path, raw_dir: Path) -> tuple[Path, str]:
    """Copy a raw export untouched into ``raw_dir`` under its hash; return (path, sha256)."""
    target, digest, _ = archive_file(source, raw_dir)
    return target, digest


def archive_file(source: Path, raw_dir: Path) -> tuple[Path, str, bool]:
    """Copy ``source`` untouched into ``raw_dir`` under its hash: (path, sha256, newly written)."""
    digest = sha256_file(source)
    raw_dir.mkdir(parents=True, exist_ok=True)
    target = raw_dir / f"{digest[:HASH_PREFIX]}-{source.name}"
    if target.is_file() and not target.is_symlink():
        return target, digest, False
    tmp = raw_dir / f".{target.name}{TMP_SUFFIX}"
    try:
        tmp.unlink(missing_ok=True)  # the remains of a killed run, or a link: never written through
        shutil.copyfile(source, tmp)
        if sha256_file(tmp) != digest:
            raise RunError(f"{source}: changed while it was being archived; run again")
        os.chmod(tmp, 0o444)
        tmp.replace(target)
        _write_replacing(raw_dir / f"{target.name}.sha256", f"{digest}  {target.name}\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target, digest, True


def _write_replacing(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    try:
        tmp.unlink(missing_ok=True)
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temporaries(raw_dir: Path) -> None:
    """Remove temporary files a killed run left in the archive (called under the period's lock)."""
    for folder in (raw_dir, *(p for p in raw_dir.glob("*") if p.is_dir())):
        for tmp in folder.glob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()


@dataclass
class Archived:
    """What one run archived: every file with its hash, and which of them it wrote itself."""

    files: dict[str, list[dict]] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    def add(self, kind: str, source: Path, folder: Path) -> tuple[Path, str]:
        path, digest, new = archive_file(source, folder)
        self.files.setdefault(kind, []).append(
            {"source": str(source), "archived": str(path), "sha256": digest}
        )
        if new:
            self.written.append(path)
        return path, digest

    def discard(self) -> None:
        """Remove what this run archived (its export was refused), keeping earlier files."""
        for path in self.written:
            for stale in (path, path.with_name(f"{path.name}.sha256")):
                with contextlib.suppress(OSError):
                    stale.unlink()
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only when empty
        self.written.clear()


def archived_exports(raw_dir: Path) -> list[Path]:
    """The exports archived in one period's folder (not its leads, histories or side tables)."""
    return sorted(
        p
        for p in Path(raw_dir).glob("*")
        if p.is_file()
        and not p.name.endswith((".sha256", TMP_SUFFIX))
        and not p.name.startswith(".")
    )


def find_previous_export(period: str, reports_dir: Path, data_dir: Path) -> Path | None:
    """The export that the previous period's published run used, if any."""
    prev = previous_period(period)
    manifest = Path(reports_dir) / prev / MANIFEST_FILE
    if manifest.exists():
        try:
            archived = Path(json.loads(manifest.read_text())["export"]["archived"])
            if archived.exists():
                return archived
        except (KeyError, ValueError, TypeError):
            pass
    candidates = archived_exports(Path(data_dir) / "raw" / prev)
    return candidates[0] if len(candidates) == 1 else None
