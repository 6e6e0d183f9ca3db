"""The msgid index: msgid → content hash, date and source over the whole messages lake.

A msgid is unique across the lake, not per date partition, so ingest asks this index about
every record: the same msgid with the same content is a duplicate, with other content a
conflict (rejected, never stored twice nor silently dropped). Reading every partition for
that would cost the whole lake per run; the index is a small SQLite file in ``W/state/``.

It is derived data, rebuildable from the lake at any time: it records which lake files it has
indexed. When opened, lake files it lacks (a run killed between writing a lake file and
indexing it) are indexed, and if a file it indexed is gone from the lake it is rebuilt from
scratch. Deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from auditor import lake

SCHEMA = """
CREATE TABLE IF NOT EXISTS msgids (
    msgid TEXT PRIMARY KEY,
    digest BLOB NOT NULL,   -- content_hash of the record
    date TEXT NOT NULL,     -- its partition date
    source TEXT NOT NULL    -- file:line it was first stored from
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY) WITHOUT ROWID;  -- lake files indexed
"""


def content_hash(value: Any) -> bytes:
    """The record's content, independent of key order and whitespace (a batch item and the same
    message as a JSONL line are one record)."""
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()[:16]


@dataclass(frozen=True)
class Entry:
    digest: bytes
    date: str
    source: str


class MsgidIndex:
    """Open with ``MsgidIndex(path, messages_dir)``; it is brought up to date with the lake at once."""

    def __init__(self, path: Path, messages_dir: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.messages_dir = messages_dir
        self.conn = sqlite3.connect(path)
        self.conn.executescript(SCHEMA)
        self.sync()

    def close(self) -> None:
        self.conn.close()

    def _lake_files(self) -> dict[str, tuple[str, Path]]:
        return {
            f"date={date}/{path.name}": (date, path)
            for date in lake.dates(self.messages_dir)
            for path in lake.partition_files(self.messages_dir, date)
        }

    def sync(self) -> None:
        """Index the lake files not indexed yet; rebuild if the index knows a file the lake lost."""
        files = self._lake_files()
        indexed = {name for (name,) in self.conn.execute("SELECT name FROM files")}
        if indexed - files.keys():
            with self.conn:
                self.conn.execute("DELETE FROM msgids")
                self.conn.execute("DELETE FROM files")
            indexed = set()
        for name in sorted(files.keys() - indexed):
            date, path = files[name]
            entries: list[tuple[str, Entry]] = []
            for batch in pq.ParquetFile(path).iter_batches(columns=["msgid", "raw", "source"]):
                for msgid, raw, source in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    entries.append((msgid, Entry(content_hash(json.loads(raw)), date, source)))
            self._add(name, entries)

    def get(self, msgid: str) -> Entry | None:
        query = "SELECT digest, date, source FROM msgids WHERE msgid = ?"
        row = self.conn.execute(query, (msgid,)).fetchone()
        return Entry(*row) if row else None

    def add(self, path: Path, entries: list[tuple[str, Entry]]) -> None:
        """Record the rows of a lake file just written (``path``) in one transaction."""
        self._add(f"{path.parent.name}/{path.name}", entries)

    def _add(self, name: str, entries: list[tuple[str, Entry]]) -> None:
        with self.conn:
            # OR IGNORE: the first stored row of a msgid is the one the index answers with.
            self.conn.executemany(
                "INSERT OR IGNORE INTO msgids VALUES (?, ?, ?, ?)",
                ((m, e.digest, e.date, e.source) for m, e in entries),
            )
            self.conn.execute("INSERT OR IGNORE INTO files VALUES (?)", (name,))
