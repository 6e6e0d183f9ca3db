"""The msgid index: which lake file holds a msgid, over the whole messages lake.

A msgid is unique across the lake, not per date partition, so ingest asks this index about
every record: the same msgid with the same content is a duplicate, with other content a
conflict (rejected, never stored twice nor silently dropped). Reading every partition for
that would cost the whole lake per run.

The index is one small file per lake file in ``W/state/msgids/``: the sorted 64-bit hashes of
its msgids (a ``.npy`` array, 8 bytes a message). Opened, they are merged into one sorted array
and a batch of msgids is looked up with one ``numpy.searchsorted``: nearly every record is new
and costs no Python beyond hashing its msgid. A hash found is only a candidate: the lake file
named is read (msgid, raw, source; cached for the run) and the exact msgid decides, so a 64-bit
collision can never make a new record a duplicate.

It is derived data, rebuildable from the lake at any time. Each hash file is written atomically
after its lake file is whole; when opened, lake files without one (a run killed in between) or
with a damaged one are hashed again, and hash files whose lake file is gone are removed. Deleting
the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow.parquet as pq

from auditor import atomic, lake

HASH_SUFFIX = ".npy"
CACHED_FILES = 16  # lake files kept read for confirming candidates (a re-ingest hits the same few)


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


def msgid_hashes(msgids: list[str]) -> np.ndarray:
    """64-bit hashes of ``msgids`` (uint64), stable across runs and versions: they are persisted."""
    blake2b = hashlib.blake2b
    joined = b"".join([blake2b(m.encode("utf-8"), digest_size=8).digest() for m in msgids])
    return np.frombuffer(joined, dtype="<u8")


class Entry(NamedTuple):  # a tuple: one is made for every record ingested
    digest: bytes
    date: str
    file: str
    line: int

    @property
    def source(self) -> str:
        """``file:line``, as the lake's ``source`` column names it."""
        return f"{self.file}:{self.line}"


def source_parts(source: str) -> tuple[str, int]:
    file, _, line = source.rpartition(":")
    return file, int(line)


def _hash_file_name(lake_name: str) -> str:
    """``date=D/part-x.parquet`` → ``date=D__part-x.npy`` (one flat folder)."""
    return lake_name.replace("/", "__").removesuffix(".parquet") + HASH_SUFFIX


def _read_hashes(path: Path, rows: int) -> np.ndarray | None:
    """A hash file's sorted hashes, or None when it is damaged (then rebuilt from the lake): not an
    array of ``rows`` (its lake file's row count) sorted 64-bit hashes."""
    try:
        hashes = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if hashes.dtype != np.dtype("<u8") or hashes.shape != (rows,) or np.any(hashes[1:] < hashes[:-1]):
        return None
    return hashes


def _owners(owner: np.ndarray | int, count: int) -> np.ndarray:
    """The file number of each of ``count`` hashes (an added file's is one number)."""
    return owner if isinstance(owner, np.ndarray) else np.full(count, owner, np.int32)


class MsgidIndex:
    """Open with ``MsgidIndex(folder, messages_dir)``; it is brought up to date with the lake at once."""

    def __init__(self, folder: Path, messages_dir: Path) -> None:
        self.folder = folder
        self.messages_dir = messages_dir
        for stale in ("msgids.sqlite", "msgids.sqlite-wal", "msgids.sqlite-shm"):  # the SQLite layout
            (folder.parent / stale).unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        self.files: list[tuple[str, Path]] = []  # (date, lake file), numbered by position
        self.hashes = np.empty(0, "<u8")  # sorted, over all files indexed when opened
        self.owners = np.empty(0, np.int32)  # the file number of each hash
        # files indexed since, merged as they come: (sorted hashes, file number or numbers per hash)
        self.added: list[tuple[np.ndarray, np.ndarray | int]] = []
        self.cache: dict[int, dict[str, Entry]] = {}
        self.sync()

    def close(self) -> None:
        """Nothing to commit: every hash file is written whole when its lake file is indexed."""
        self.cache.clear()

    def _lake_files(self) -> dict[str, tuple[str, Path]]:
        return {
            f"date={date}/{path.name}": (date, path)
            for date in lake.dates(self.messages_dir)
            for path in lake.partition_files(self.messages_dir, date)
        }

    def sync(self) -> None:
        """Hash the lake files not indexed yet (or whose hash file is damaged); drop the hash files
        of lake files that are gone; merge them all into one sorted array."""
        files = self._lake_files()
        wanted = {_hash_file_name(name): name for name in files}
        for path in self.folder.iterdir():
            if path.name not in wanted:  # its lake file is gone, or a temporary of a killed write
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        parts, owners = [], []
        self.files, self.added, self.cache = [], [], {}
        for name in sorted(files):
            date, lake_path = files[name]
            hash_path = self.folder / _hash_file_name(name)
            rows = pq.read_metadata(lake_path).num_rows
            hashes = _read_hashes(hash_path, rows) if hash_path.exists() else None
            if hashes is None:
                msgids = pq.read_table(lake_path, columns=["msgid"]).column("msgid").to_pylist()
                hashes = self._write_hashes(hash_path, msgids)
            parts.append(hashes)
            owners.append(np.full(len(hashes), len(self.files), np.int32))
            self.files.append((date, lake_path))
        if parts:
            merged = np.concatenate(parts)
            order = np.argsort(merged, kind="stable")  # stable: a hash in two files, the first first
            self.hashes, self.owners = merged[order], np.concatenate(owners)[order]
        else:
            self.hashes, self.owners = np.empty(0, "<u8"), np.empty(0, np.int32)

    @staticmethod
    def _write_hashes(path: Path, msgids: list[str]) -> np.ndarray:
        hashes = np.sort(msgid_hashes(msgids))
        buffer = BytesIO()
        np.save(buffer, hashes, allow_pickle=False)
        atomic.write_bytes(path, buffer.getvalue())
        return hashes

    def _candidates(self, hashes: np.ndarray) -> list[tuple[int, int]]:
        """(position in ``hashes``, file number) of every hash some indexed file holds."""
        found: list[tuple[int, int]] = []
        for sorted_hashes, owner_of in [(self.hashes, self.owners), *self.added]:
            if not len(sorted_hashes):
                continue
            left = np.searchsorted(sorted_hashes, hashes, "left")
            hit = sorted_hashes[np.minimum(left, len(sorted_hashes) - 1)] == hashes
            for position in np.flatnonzero(hit).tolist():  # rare: each is checked in Python
                slot = int(left[position])
                while slot < len(sorted_hashes) and sorted_hashes[slot] == hashes[position]:
                    found.append(
                        (position, int(owner_of[slot]) if isinstance(owner_of, np.ndarray) else owner_of)
                    )
                    slot += 1
        return found

    def _entries(self, number: int) -> dict[str, Entry]:
        """msgid → entry of one lake file, read once (a candidate is rare, or a whole re-ingest)."""
        entries = self.cache.get(number)
        if entries is None:
            if len(self.cache) >= CACHED_FILES:
                self.cache.clear()
            date, path = self.files[number]
            table = pq.read_table(path, columns=["msgid", "raw", "source"])
            entries = self.cache[number] = {
                msgid: Entry(raw_digest(raw.encode("utf-8")), date, *source_parts(source))
                for msgid, raw, source in zip(*(c.to_pylist() for c in table.columns), strict=True)
            }
        return entries

    def get_many(self, msgids: list[str]) -> dict[str, Entry]:
        """The entries of those ``msgids`` that are indexed; where a msgid is in two lake files
        (never written so), the first file's."""
        found: dict[str, Entry] = {}
        if not msgids:
            return found
        for position, number in self._candidates(msgid_hashes(msgids)):
            msgid = msgids[position]
            if msgid not in found:
                entry = self._entries(number).get(msgid)  # a hash collision finds nothing here
                if entry is not None:
                    found[msgid] = entry
        return found

    def add(self, path: Path, msgids: list[str]) -> None:
        """Index a lake file just written whole (``path``) holding ``msgids``."""
        hashes = self._write_hashes(self.folder / _hash_file_name(f"{path.parent.name}/{path.name}"), msgids)
        number = len(self.files)
        date = path.parent.name.removeprefix("date=")
        self.files.append((date, path))
        self.added.append((hashes, number))
        # Every lookup searches each added array, and a long ingest adds a file per date and flush
        # (hundreds at 10M records): merge the newest two while the newer is at least half the
        # older, so the arrays stay few (logarithmic) and each hash is re-sorted O(log n) times.
        while len(self.added) >= 2 and 2 * len(self.added[-1][0]) >= len(self.added[-2][0]):
            (older, older_owner), (newer, newer_owner) = self.added[-2], self.added.pop()
            merged = np.concatenate([older, newer])
            owners = np.concatenate([_owners(older_owner, len(older)), _owners(newer_owner, len(newer))])
            order = np.argsort(merged, kind="stable")  # stable: a hash in two files, the first first
            self.added[-1] = (merged[order], owners[order])
