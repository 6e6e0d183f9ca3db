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
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow.parquet as pq

from auditor import lake

LOOKUP_BATCH = 500  # msgids per query: a point query each costs ten times more

SCHEMA = """
CREATE TABLE IF NOT EXISTS msgids (
    msgid TEXT PRIMARY KEY,
    digest BLOB NOT NULL,   -- raw_digest of the stored record
    date TEXT NOT NULL,     -- its partition date
    file INTEGER NOT NULL,  -- sources.id of the input file it was first stored from
    line INTEGER NOT NULL   -- and its line there
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY) WITHOUT ROWID;  -- lake files indexed
"""
# Input files are numbered in ``sources``: a row stays small (the B-tree of a million msgids fits the
# page cache), and every record of a file shares its name.


def raw_digest(raw: bytes) -> bytes:
    """The record's bytes as stored (fast: every record is hashed)."""
    return hashlib.blake2b(raw, digest_size=16).digest()


def content_digest(value: Any) -> bytes:
    """The record's content, independent of key order and whitespace: a batch item and the same
    message as a JSONL line are one record. ``seq`` is the archive's position, not the message:
    WeCom may serve one message again under a new seq, and that is the same record. Computed only
    when the bytes differ."""
    if isinstance(value, dict) and "seq" in value:
        value = {k: v for k, v in value.items() if k != "seq"}
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).digest()


class Entry(NamedTuple):  # a tuple: one is made for every record ingested
    digest: bytes
    date: str
    file: str
    line: int

    @property
    def source(self) -> str:
        """``file:line``, as the lake's ``source`` column names it."""
        return f"{self.file}:{self.line}"


def _source_parts(source: str) -> tuple[str, int]:
    file, _, line = source.rpartition(":")
    return file, int(line)


class MsgidIndex:
    """Open with ``MsgidIndex(path, messages_dir)``; it is brought up to date with the lake at once."""

    def __init__(self, path: Path, messages_dir: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.messages_dir = messages_dir
        try:
            self.conn = self._open(path)
        except sqlite3.DatabaseError:  # damaged: it is derived data, so start again from the lake
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            self.conn = self._open(path)
        self.source_ids = {name: id_ for id_, name in self.conn.execute("SELECT id, name FROM sources")}
        self.sync()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path)
        try:
            # WAL: a commit is one append; a crash loses at most the last commit, which sync() redoes.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: inserts of random msgids touch many pages
            columns = [row[1] for row in conn.execute("PRAGMA table_info(msgids)")]
            if "source" in columns:  # the layout before sources were numbered: derived, so rebuilt
                conn.executescript("DROP TABLE msgids; DROP TABLE IF EXISTS files;")
            conn.executescript(SCHEMA)
            conn.execute("SELECT count(*) FROM files").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Commit what was added and close. Uncommitted rows (a killed run) are not lost: their
        lake files are not in ``files`` either, so the next open indexes them."""
        self.conn.commit()
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
                    entries.append(
                        (msgid, Entry(raw_digest(raw.encode("utf-8")), date, *_source_parts(source)))
                    )
            self._add(name, entries)
        self.conn.commit()

    def get_many(self, msgids: list[str]) -> dict[str, Entry]:
        """The entries of those ``msgids`` that are indexed (one query per few hundred)."""
        found: dict[str, Entry] = {}
        unique = list(dict.fromkeys(msgids))
        for start in range(0, len(unique), LOOKUP_BATCH):
            keys = unique[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(keys))
            query = (
                "SELECT msgid, digest, date, sources.name, line FROM msgids"
                f" JOIN sources ON sources.id = msgids.file WHERE msgid IN ({marks})"
            )
            for msgid, *entry in self.conn.execute(query, keys):
                found[msgid] = Entry(*entry)
        return found

    def add(self, path: Path, entries: list[tuple[str, Entry]]) -> None:
        """Record the rows of a lake file just written (``path``), committed on ``close``: a file and
        its rows are always committed together, so a crash leaves the file to be indexed again."""
        self._add(f"{path.parent.name}/{path.name}", entries)

    def _add(self, name: str, entries: list[tuple[str, Entry]]) -> None:
        # OR IGNORE: the first stored row of a msgid is the one the index answers with (sorted
        # stays stable for equal msgids). In key order, the B-tree is filled page after page.
        ids = self.source_ids
        for file in {e.file for _, e in entries} - ids.keys():
            ids[file] = self.conn.execute("INSERT INTO sources (name) VALUES (?)", (file,)).lastrowid
        self.conn.executemany(
            "INSERT OR IGNORE INTO msgids VALUES (?, ?, ?, ?, ?)",
            sorted(
                ((m, digest, date, ids[file], line) for m, (digest, date, file, line) in entries),
                key=itemgetter(0),
            ),
        )
        self.conn.execute("INSERT OR IGNORE INTO files VALUES (?)", (name,))
