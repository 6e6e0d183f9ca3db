"""The lake's record of what it wrote: one small JSON entry per Parquet file, beside the lake.

``<lake>/_manifest/<path inside the lake>.json`` holds the SHA-256, byte size and row count of
the file the writer produced. One entry per file keeps every update a single atomic write (no
shared file to read, change and rewrite), and the entries live outside the table folders, so a
deleted partition leaves its entries behind to say what is missing.

The write is two-phase so that a kill at any moment leaves a state ``auditor check`` accepts
or names precisely:

1. the new file is complete under its temporary name; its entry is rewritten with the new
   description as ``pending`` (the last committed one kept);
2. the file is renamed into place;
3. the entry is rewritten with the new description committed.

Killed before 2, the old file (or none) matches ``committed``; killed between 2 and 3, the
file matches ``pending`` byte for byte — what this writer produced, nothing else can match
its hash — and the next write of the file commits it. A file without any entry was not
written by the lake writers and is "unrecorded".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from auditor import atomic
from auditor.atomic import file_sha256

MANIFEST_DIR = "_manifest"
PARQUET_ERRORS = (OSError, ValueError, pa.ArrowException)  # what reading a damaged Parquet file raises


@dataclass(frozen=True)
class FileRecord:
    sha256: str
    bytes: int
    rows: int

    @classmethod
    def of(cls, path: Path, rows: int) -> FileRecord:
        return cls(file_sha256(path), path.stat().st_size, rows)


def entry_path(lake_root: Path, path: Path) -> Path:
    return lake_root / MANIFEST_DIR / f"{path.relative_to(lake_root)}.json"


def read_entry(lake_root: Path, path: Path) -> dict[str, Any] | None:
    """The entry of a lake file, or None when there is none; an unreadable entry is None too
    (the file then shows as unrecorded, which is what it is)."""
    entry = entry_path(lake_root, path)
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _record(value: Any) -> FileRecord | None:
    try:
        return FileRecord(str(value["sha256"]), int(value["bytes"]), int(value["rows"]))
    except (KeyError, TypeError, ValueError):
        return None


def descriptions(entry: dict[str, Any] | None) -> list[FileRecord]:
    """The descriptions a file may match: the committed one and an interrupted write's pending one."""
    found = (_record((entry or {}).get(key)) for key in ("committed", "pending"))
    return [record for record in found if record is not None]


def _write_entry(
    lake_root: Path, path: Path, committed: FileRecord | None, pending: FileRecord | None
) -> None:
    body: dict[str, Any] = {"path": str(path.relative_to(lake_root))}
    if committed is not None:
        body["committed"] = asdict(committed)
    if pending is not None:
        body["pending"] = asdict(pending)
    atomic.write_text(entry_path(lake_root, path), json.dumps(body, indent=1, sort_keys=True) + "\n")


def begin(lake_root: Path, path: Path, new: FileRecord) -> None:
    """Phase 1: announce the description of the file about to be renamed into ``path``."""
    committed = _record((read_entry(lake_root, path) or {}).get("committed"))
    _write_entry(lake_root, path, committed, new)


def commit(lake_root: Path, path: Path, new: FileRecord) -> None:
    """Phase 3: the file is in place; its description is now the committed one."""
    _write_entry(lake_root, path, new, None)


def settle(lake_root: Path) -> list[Path]:
    """Finish the writes a kill interrupted; returns the lake files whose entries changed.

    A file matching its pending description byte for byte is what the writer produced: that
    description is committed. A pending description whose file never arrived (the old file, or
    none, is still there) is dropped. Anything else is left for ``auditor check`` to report.
    """
    settled = []
    entries = lake_root / MANIFEST_DIR
    for entry_file in sorted(entries.rglob("*.json")) if entries.is_dir() else []:
        path = lake_root / str(entry_file.relative_to(entries)).removesuffix(".json")
        entry = read_entry(lake_root, path) or {}
        committed, pending = _record(entry.get("committed")), _record(entry.get("pending"))
        if pending is None:
            continue
        if not path.exists():
            if committed is None:
                entry_file.unlink()
                settled.append(path)
            continue
        actual = FileRecord.of(path, pending.rows)
        if actual == pending:
            commit(lake_root, path, pending)
            settled.append(path)
        elif committed is not None and actual.sha256 == committed.sha256:
            commit(lake_root, path, committed)
            settled.append(path)
    return settled


def footer_rows(path: Path) -> int:
    """Row count from the Parquet footer alone (raises on a truncated or non-Parquet file)."""
    return pq.ParquetFile(path).metadata.num_rows


def match(entry: dict[str, Any] | None, *, sha256: str | None, size: int, rows: int | None) -> str | None:
    """None when the file fits its entry (committed or pending), else what is wrong with it.

    ``sha256`` None is the quick check: byte size and footer row count only."""
    known = descriptions(entry)
    if not known:
        return "unrecorded: no manifest entry (not written by the lake writers)"
    for record in known:
        same_shape = record.bytes == size and (rows is None or record.rows == rows)
        if same_shape and (sha256 is None or record.sha256 == sha256):
            return None
    record = known[0]
    if record.bytes != size:
        return f"size {size:,} bytes, manifest says {record.bytes:,}"
    if rows is not None and record.rows != rows:
        return f"{rows:,} rows, manifest says {record.rows:,}"
    return f"SHA-256 {sha256[:12]}… does not match the manifest's {record.sha256[:12]}…"
