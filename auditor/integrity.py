"""``auditor check``: the workspace against what was written.

- the lake: every Parquet file against its lake manifest entry (SHA-256, size, footer row
  count), entries whose file is gone (a deleted partition), files nobody recorded;
- msgid uniqueness across the whole messages lake;
- every ingested file's reconciliation (accepted + duplicates + rejected == records);
- the ledger: SQLite's own check and the append-only triggers;
- the backups: ``backup.verify`` of every snapshot.

The quick check (what ``nightly`` runs before it backs up) reads sizes and Parquet footers, not
every byte, and SQLite's ``quick_check``; it skips msgid uniqueness and the backups. The backup
stage that follows hashes the files it stores anyway and refuses any that do not match.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import backup, lake, lake_manifest
from auditor.atomic import file_sha256
from auditor.errors import EXIT_DATA, AuditorError
from auditor.ledger import APPEND_ONLY_TRIGGERS
from auditor.workspace import Workspace

MAX_DUPLICATES_LISTED = 20


@dataclass(frozen=True)
class Problem:
    area: str  # lake / messages / ingest / ledger / backup
    path: str
    issue: str

    def __str__(self) -> str:
        return f"{self.area}: {self.path}: {self.issue}"

    def as_dict(self) -> dict[str, str]:
        return {"area": self.area, "path": self.path, "issue": self.issue}


def lake_files(lake_root: Path) -> list[Path]:
    """Every published Parquet file of the lake (temporary ``.tmp-*`` names and the manifest excluded)."""
    if not lake_root.is_dir():
        return []
    manifest = lake_root / lake_manifest.MANIFEST_DIR
    return sorted(
        p
        for p in lake_root.rglob("*.parquet")
        if not p.name.startswith(".") and not p.is_relative_to(manifest) and p.is_file()
    )


def check_lake(ws: Workspace, *, quick: bool) -> list[Problem]:
    problems = []
    root = ws.lake
    files = lake_files(root)
    for path in files:
        rel = str(path.relative_to(ws.root))
        entry = lake_manifest.read_entry(root, path)
        try:
            rows = lake_manifest.footer_rows(path)
        except lake_manifest.PARQUET_ERRORS as exc:
            reason = "unrecorded and " if not lake_manifest.descriptions(entry) else ""
            problems.append(Problem("lake", rel, f"{reason}unreadable Parquet footer ({exc}): truncated?"))
            continue
        digest = None if quick else file_sha256(path)
        wrong = lake_manifest.match(entry, sha256=digest, size=path.stat().st_size, rows=rows)
        if wrong:
            problems.append(Problem("lake", rel, wrong))
    present = set(files)
    entries_dir = root / lake_manifest.MANIFEST_DIR
    for entry_file in sorted(entries_dir.rglob("*.json")) if entries_dir.is_dir() else []:
        data_path = root / str(entry_file.relative_to(entries_dir)).removesuffix(".json")
        if data_path in present:
            continue
        try:
            entry = json.loads(entry_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            problems.append(
                Problem("lake", str(entry_file.relative_to(ws.root)), "unreadable manifest entry")
            )
            continue
        if isinstance(entry, dict) and entry.get("committed"):  # pending only: never became visible
            problems.append(
                Problem("lake", str(data_path.relative_to(ws.root)), "missing: recorded, not on disk")
            )
    return problems


def check_msgids(ws: Workspace) -> list[Problem]:
    """Each msgid at most once in the whole messages lake (across dates and files)."""
    columns, owners = [], []
    for date in lake.dates(ws.messages_dir):
        for path in lake.partition_files(ws.messages_dir, date):
            try:
                column = pq.read_table(path, columns=["msgid"]).column("msgid")
            except lake_manifest.PARQUET_ERRORS:
                continue  # already named by the lake check
            columns.append(column.combine_chunks())
            owners.append(path)
    if not columns:
        return []
    counts = pc.value_counts(pa.chunked_array(columns, pa.string()).combine_chunks())
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    problems = []
    for item in repeated.to_pylist()[:MAX_DUPLICATES_LISTED]:
        msgid = item["values"]
        holders = [
            str(p.relative_to(ws.root))
            for p, c in zip(owners, columns, strict=True)
            for _ in range(pc.sum(pc.equal(c, msgid)).as_py() or 0)
        ]
        problems.append(
            Problem("messages", ", ".join(holders), f"msgid {msgid!r} stored {item['counts']} times")
        )
    if len(repeated) > MAX_DUPLICATES_LISTED:
        more = len(repeated) - MAX_DUPLICATES_LISTED
        problems.append(
            Problem("messages", str(ws.messages_dir.relative_to(ws.root)), f"{more} more repeated msgids")
        )
    return problems


def check_reconciliation(ws: Workspace) -> list[Problem]:
    """accepted + duplicates + rejected == records for every file in the ingest file ledger."""
    problems = []
    for path in sorted(ws.files_dir.glob("*.json")) if ws.files_dir.is_dir() else []:
        rel = str(path.relative_to(ws.root))
        try:
            entry: Any = json.loads(path.read_text(encoding="utf-8"))
            counts = {k: int(entry[k]) for k in ("records", "accepted", "duplicates", "rejected")}
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(Problem("ingest", rel, "unreadable reconciliation record"))
            continue
        total = counts["accepted"] + counts["duplicates"] + counts["rejected"]
        if total != counts["records"]:
            a, d, r = counts["accepted"], counts["duplicates"], counts["rejected"]
            issue = (
                f"{a} accepted + {d} duplicates + {r} rejected = {total} ≠ {counts['records']} records read"
            )
            problems.append(Problem("ingest", rel, issue))
    return problems


def check_ledger(ws: Workspace, *, quick: bool) -> list[Problem]:
    """SQLite's integrity_check (quick_check when quick) and the append-only triggers; read-only."""
    path = ws.ledger_path
    if not path.exists():
        return []
    rel = str(path.relative_to(ws.root))
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [Problem("ledger", rel, f"cannot be opened: {exc}")]
    try:
        result = [row[0] for row in db.execute(f"PRAGMA {'quick_check' if quick else 'integrity_check'}")]
        problems = [Problem("ledger", rel, f"SQLite: {line}") for line in result if line != "ok"]
        triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    except sqlite3.DatabaseError as exc:
        return [Problem("ledger", rel, f"not a readable SQLite database: {exc}")]
    finally:
        db.close()
    problems += [
        Problem("ledger", rel, f"append-only trigger {name} is missing")
        for name in APPEND_ONLY_TRIGGERS
        if name not in triggers
    ]
    return problems


def check_backups(ws: Workspace) -> list[Problem]:
    store = backup.store_of(ws)
    if not store.snapshots.is_dir():
        return []
    try:
        ids = [m["id"] for m in store.manifests()]
    except AuditorError as exc:
        return [Problem("backup", str(store.snapshots), str(exc))]
    return [Problem("backup", f"{p.snapshot}/{p.path}", p.issue) for p in backup.verify(store, ids)]


def check(ws: Workspace, *, quick: bool = False) -> list[Problem]:
    """Every problem found; an empty list means the workspace is what was written."""
    problems = check_lake(ws, quick=quick)
    if not quick:
        problems += check_msgids(ws)
    problems += check_reconciliation(ws)
    problems += check_ledger(ws, quick=quick)
    if not quick:
        problems += check_backups(ws)
    return problems


def adopt_unrecorded(ws: Workspace) -> list[Problem]:
    """Record every unrecorded lake file that reads back whole, for a workspace written before
    the lake manifest existed; returns what was adopted (area "adopted") and what was refused.

    Adoption vouches for a file's current bytes, so a file is adopted only if every row group
    decodes; a damaged one stays unrecorded and is reported."""
    outcome = []
    for path in lake_files(ws.lake):
        rel = str(path.relative_to(ws.root))
        if lake_manifest.descriptions(lake_manifest.read_entry(ws.lake, path)):
            continue
        try:
            rows = pq.read_table(path).num_rows
        except lake_manifest.PARQUET_ERRORS as exc:
            outcome.append(Problem("lake", rel, f"not adopted: unreadable Parquet ({exc})"))
            continue
        lake_manifest.commit(ws.lake, path, lake_manifest.FileRecord.of(path, rows))
        outcome.append(Problem("adopted", rel, f"{rows:,} rows recorded"))
    return outcome


def require_intact(ws: Workspace, refusing: str) -> None:
    """The quick check of lake and ledger, as a gate: raises (exit 65) naming every problem."""
    problems = check(ws, quick=True)
    if problems:
        raise AuditorError(
            f"{refusing}: the lake or ledger is damaged (`auditor check` for details):\n"
            + "\n".join(map(str, problems)),
            EXIT_DATA,
        )
