"""Raw exports archived untouched under their hash, and the previous period's export found again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pipeline_models.run.layout import MANIFEST_FILE, previous_period, sha256_file
from pipeline_models.run.options import RunError


def archive_export(source: Path, raw_dir: Path) -> tuple[Path, str]:
    """Copy a raw export untouched into ``raw_dir`` under its hash; return (path, sha256)."""
    digest = sha256_file(source)
    raw_dir.mkdir(parents=True, exist_ok=True)
    target = raw_dir / f"{digest[:12]}-{source.name}"
    if not target.exists():
        tmp = raw_dir / f".{target.name}.tmp"
        shutil.copyfile(source, tmp)
        if sha256_file(tmp) != digest:
            tmp.unlink()
            raise RunError(f"{source}: changed while it was being archived; run again")
        os.chmod(tmp, 0o444)
        tmp.replace(target)
        (raw_dir / f"{target.name}.sha256").write_text(f"{digest}  {target.name}\n")
    return target, digest


def find_previous_export(period: str, reports_dir: Path, data_dir: Path) -> Path | None:
    """The export that the previous period's published run used, if any."""
    prev = previous_period(period)
    manifest = Path(reports_dir) / prev / MANIFEST_FILE
    if manifest.exists():
        try:
            archived = Path(json.loads(manifest.read_text())["export"]["archived"])
            if archived.exists():
                return archived
        except (KeyError, ValueError):
            pass
    raw = Path(data_dir) / "raw" / prev
    candidates = [
        p for p in raw.glob("*") if p.is_file() and not p.name.endswith((".sha256", ".tmp"))
    ]
    return max(candidates, key=lambda p: p.stat().st_mtime) if len(candidates) == 1 else None
