"""The msgid index: which lake file holds a msgid, over the whole messages lake.

A msgid is unique across the lake, not per date partition, so ingest asks this index about
every record: the same msgid with the same content is a duplicate, with other content a
conflict (rejected, never stored twice nor silently dropped). Reading every partition for
that would cost the whole lake per run.

The index lives in ``W/state/msgids/`` as a few sorted **runs** (``run-N.bin``: ``count`` sorted
64-bit hashes of msgids, then the ``count`` 32-bit numbers of the lake files holding them) and
``index.json``, which names the lake files indexed (a file's position is its number, with its
row count) and the runs, oldest first. Each lake file written adds a run; the newest two are
merged while the newer is at least half the older, so there are a few runs (logarithmically
many) and a batch of msgids is looked up with a ``numpy.searchsorted`` per window of each run:
nearly every record is new and costs no Python beyond hashing its msgid. A hash found is only a candidate:
the lake file named is read (msgid, raw, source; cached for the run) and the exact msgid
decides, so a 64-bit collision can never make a new record a duplicate. Ingest asks a
``HashFilter`` (filled from the runs when it opens, 64 MB) first, and searches the runs only for the
hashes it cannot rule out.

Memory does not grow with the lake: runs are memory-mapped, never loaded; once they are larger
than ``RESIDENT_BYTES`` a lookup maps one window of a run at a time and gives its pages back
(they stay in the page cache, not in this process); merges and checks read a step at a time.

It is derived data, rebuildable from the lake at any time. Runs are written whole and atomically
before ``index.json`` names them, so a killed run leaves at worst unnamed runs (removed) and lake
files not named yet (hashed again when opened). An index that does not match the lake — a lake
file gone or of another row count, a run missing, truncated, unsorted or naming a file that is
not there, another layout (the older one hash file per lake file) — is rebuilt from the lake.
Deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import mmap
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.util import hash_array

from auditor import atomic, failpoints, lake

LAYOUT = 3  # 1 was a hash file per lake file, loaded whole; 2 hashed msgids with BLAKE2b
MANIFEST = "index.json"
RUN_SUFFIX = ".bin"
HASH, OWNER = np.dtype("<u8"), np.dtype("<u4")
ENTRY_BYTES = HASH.itemsize + OWNER.itemsize
RESIDENT_BYTES = 16 << 20  # runs up to this size keep the pages lookups touched; larger ones drop them
STEP = 1 << 16  # hashes handled per step when merging or checking a run (bounds their memory)
WINDOW = 1 << 19  # hashes (4 MB) of a run a lookup searches at a time (and then drops, past RESIDENT_BYTES)
CACHED_ROWS = 2_000_000  # rows of lake files kept read for confirming candidates (about 200 MB)
FILTER_WORD_BITS = 23  # a HashFilter's size: 2**23 64-bit words (64 MB)
FILTER_PROBES = 4  # bits a hash sets in its word, from its lowest 24 (the word is from its top 23)


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
    # surrogatepass: a lone surrogate (a \u escape the json module reads) must not end the run
    return hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def raw_digests(raws: pa.Array) -> bytes:
    """``raw_digest`` of every value's UTF-8 bytes, joined (16 bytes each), read straight from the
    array's buffers: no Python string per value."""
    blake2b = hashlib.blake2b
    raws = raws.cast(pa.large_string())  # one offset width whatever the column's
    offsets = np.frombuffer(raws.buffers()[1], np.int64)[raws.offset : raws.offset + len(raws) + 1].tolist()
    data = memoryview(raws.buffers()[2] or b"")
    return b"".join([blake2b(data[a:b], digest_size=16).digest() for a, b in itertools.pairwise(offsets)])


MSGID_HASH_KEY = "wecom-auditor-01"  # SipHash's 16-byte key for msgid hashes: changing it changes every hash
# A msgid whose hash index.json records: an index made by another hash (another pandas' hash_array
# one day, or another key) does not match it and is rebuilt rather than trusted.
HASH_PROBE = "wecom-auditor msgid index"


def msgid_hashes(msgids: Sequence[str] | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit hashes of ``msgids`` (uint64), stable across runs: they are persisted, and index.json
    records the hash of HASH_PROBE so that an index of other hashes is rebuilt. SipHash-2-4 by
    pandas' ``hash_array``: one C loop over the strings, a quarter of a Python call per msgid
    (hashlib), and uniform, as ``HashFilter`` needs."""
    if isinstance(msgids, pa.ChunkedArray | pa.Array):
        values = msgids.to_numpy(zero_copy_only=False)
    else:
        values = np.asarray(msgids, dtype=object) if len(msgids) else np.zeros(0, dtype=object)
    return hash_array(values, hash_key=MSGID_HASH_KEY, categorize=False).astype(HASH, copy=False)


def _hash_probe() -> str:
    return f"{int(msgid_hashes([HASH_PROBE])[0]):016x}"


class HashFilter:
    """A Bloom filter over msgid hashes: ``may_hold`` is False for every hash never added.

    A binary search of a large sorted array misses the cache at nearly every step, over this run's
    buffer, the write in flight and the index runs (which, past ``RESIDENT_BYTES``, fault their
    pages in again for every lookup), yet nearly every msgid ingested is new: one probe of this
    array rules it out, and only the few it cannot rule out are searched. Blocked: a hash sets
    ``FILTER_PROBES`` bits of one 64-bit word (the word from its top bits, each bit from six of its
    lowest bits; the hashes are uniform), so a probe is one memory access and sorted hashes fill
    it a word at a time. At 10M hashes a new one passes about 0.025 % of the time (two bits in
    half the words: 0.7 %, and each pass searches every run), which only costs a search, never a
    wrong answer. Fixed size, so memory does not grow with the lake."""

    def __init__(self, word_bits: int = FILTER_WORD_BITS) -> None:
        self.shift = np.uint64(64 - word_bits)
        self.words = np.zeros(1 << word_bits, np.uint64)  # pages are taken as bits are set

    def _probe(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(word index, its bits as a mask) of each hash."""
        hashes = hashes.astype(HASH, copy=False)
        one, six_bits = np.uint64(1), np.uint64(63)
        mask = one << (hashes & six_bits)
        for probe in range(1, FILTER_PROBES):
            mask |= one << ((hashes >> np.uint64(6 * probe)) & six_bits)
        return hashes >> self.shift, mask

    def add(self, hashes: np.ndarray) -> None:
        """Set the hashes' bits, a word at a time (the hashes are sorted first unless they are)."""
        if not len(hashes):
            return
        words, masks = self._probe(hashes)
        if np.any(words[1:] < words[:-1]):
            order = np.argsort(words, kind="stable")
            words, masks = words[order], masks[order]
        starts = np.flatnonzero(np.concatenate([[True], words[1:] != words[:-1]]))
        self.words[words[starts]] |= np.bitwise_or.reduceat(masks, starts)

    def may_hold(self, hashes: np.ndarray) -> np.ndarray:
        """Which of ``hashes`` may have been added (False: certainly not)."""
        words, masks = self._probe(hashes)
        return (self.words[words] & masks) == masks


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


class _Run:
    """One run, memory-mapped read-only: ``hashes`` (sorted) and ``owners`` (their file numbers).

    The kernel maps file pages in large blocks (fault-around, large folios), so a binary search
    over the whole run would map nearly all of it. A lookup therefore searches one window of
    ``WINDOW`` hashes at a time — ``fences`` holds each window's first hash — and can give the
    window's pages back before the next."""

    def __init__(self, path: Path, count: int) -> None:
        self.path, self.count = path, count
        with open(path, "rb") as handle:
            if not count or os.fstat(handle.fileno()).st_size != count * ENTRY_BYTES:
                raise ValueError(f"{path.name}: not {count} entries")
            self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self.map.madvise(mmap.MADV_RANDOM)  # lookups touch a few pages each: read no more around them
        self.hashes = np.frombuffer(self.map, HASH, count)
        self.owners = np.frombuffer(self.map, OWNER, count, count * HASH.itemsize)
        self.fences = self.hashes[::WINDOW].copy()
        self.drop_pages()

    def drop_pages(self) -> None:
        """Give back the pages this process has touched (the page cache keeps them)."""
        self.map.madvise(mmap.MADV_DONTNEED)

    def check(self, files: int) -> None:
        """ValueError unless the hashes are sorted and every owner is one of ``files``; read a
        step at a time, so checking a large run does not hold it."""
        for start in range(0, self.count, STEP):
            hashes = self.hashes[start : start + STEP + 1]
            if np.any(hashes[1:] < hashes[:-1]) or int(self.owners[start : start + STEP].max()) >= files:
                raise ValueError(f"{self.path.name}: unsorted, or naming a file not indexed")
            self.drop_pages()

    def find(self, queries: np.ndarray, drop: bool) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``queries``, file numbers) of every entry equal to one of ``queries``
        (sorted); with ``drop``, the pages are given back after each window. A whole re-ingest
        finds every query, so the hits are gathered as arrays, not one by one."""
        # The first entry equal to a query lies after the last fence below it and at most at the
        # next fence: in [window start, next window start], both included.
        windows = np.maximum(np.searchsorted(self.fences, queries, "left") - 1, 0)
        cuts = [0, *(np.flatnonzero(np.diff(windows)) + 1).tolist(), len(queries)]
        positions, owners = [], []
        for start, end in itertools.pairwise(cuts):
            low = int(windows[start]) * WINDOW
            window = self.hashes[low : low + WINDOW + 1]
            wanted = queries[start:end]
            left = np.searchsorted(window, wanted, "left")
            at = np.flatnonzero(window[np.minimum(left, len(window) - 1)] == wanted)
            slots = low + left[at]
            # an entry equal to the one before it (a hash two files share) follows it: step on
            # while any does, each step a pass over the hits that still match
            while len(at):
                positions.append(start + at)
                owners.append(self.owners[slots].astype(np.int64))
                slots = slots + 1
                more = slots < self.count
                more[more] = self.hashes[slots[more]] == wanted[at[more]]
                at, slots = at[more], slots[more]
            if drop:
                self.drop_pages()
        if not positions:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(positions), np.concatenate(owners)

    def close(self) -> None:
        del self.hashes, self.owners  # the views first: a map with views cannot close
        self.map.close()


def _write_run(path: Path, parts: Iterable[tuple[np.ndarray, np.ndarray]], count: int) -> None:
    """Write ``count`` entries given as (sorted hashes, owners) pieces in order, atomically; the
    pieces are written as they come, so a merge never holds its whole output."""
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.truncate(count * ENTRY_BYTES)
        position = 0
        for hashes, owners in parts:
            handle.seek(position * HASH.itemsize)
            handle.write(hashes.astype(HASH, copy=False).tobytes())
            handle.seek(count * HASH.itemsize + position * OWNER.itemsize)
            handle.write(owners.astype(OWNER, copy=False).tobytes())
            position += len(hashes)


def _merged_steps(older: _Run, newer: _Run) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The two runs merged as (hashes, owners) pieces in order, reading both a step at a time
    from the front: a piece holds every hash up to the smaller of the two steps' last ones."""
    o = n = 0
    while o < older.count or n < newer.count:
        a, b = older.hashes[o : o + STEP], newer.hashes[n : n + STEP]
        # A run read to its end sets no limit; otherwise what lies beyond its step is not smaller.
        limits = [
            step[-1] for step, end, count in ((a, o, older.count), (b, n, newer.count)) if end + STEP < count
        ]
        cut = min(limits) if limits else None
        take_a = len(a) if cut is None else int(np.searchsorted(a, cut, "right"))
        take_b = len(b) if cut is None else int(np.searchsorted(b, cut, "right"))
        hashes = np.concatenate([a[:take_a], b[:take_b]])
        owners = np.concatenate([older.owners[o : o + take_a], newer.owners[n : n + take_b]])
        order = np.argsort(hashes, kind="stable")  # two sorted pieces: timsort merges them in one pass
        yield hashes[order], owners[order]
        o, n = o + take_a, n + take_b
        older.drop_pages()
        newer.drop_pages()


class _FileRows:
    """A lake file's msgids as a duplicate check reads them, in a few arrays with no Python object
    per row: their hashes sorted (with the row of each), and each row's msgid, raw record digest
    and source. About 100 bytes a row, where a dict of entries took 350."""

    def __init__(self, date: str, path: Path) -> None:
        table = pq.read_table(path, columns=["msgid", "raw", "source"])
        self.date = date
        self.msgids = table.column("msgid").combine_chunks()
        self.sources = table.column("source").combine_chunks()
        hashes = msgid_hashes(self.msgids)
        self.order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[self.order]
        self.digests = raw_digests(table.column("raw").combine_chunks())
        self.size = len(hashes)

    def find(self, msgids: list[str], hashes: np.ndarray) -> list[tuple[int, Entry]]:
        """(i, entry) for each ``msgids[i]`` (whose hash is ``hashes[i]``) this file holds."""
        left = np.searchsorted(self.hashes, hashes, "left")
        counts = np.searchsorted(self.hashes, hashes, "right") - left
        asked = np.repeat(np.arange(len(hashes)), counts)  # nearly always one row each
        within = np.arange(len(asked)) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = self.order[np.repeat(left, counts) + within]
        stored = self.msgids.take(pa.array(rows, pa.int64())).to_pylist()
        # the exact msgid decides: a row found by a hash collision is not the msgid asked about
        same = [
            k for k, (i, msgid) in enumerate(zip(asked.tolist(), stored, strict=True)) if msgids[i] == msgid
        ]
        rows, asked = rows[same], asked[same]
        sources = self.sources.take(pa.array(rows, pa.int64())).to_pylist()
        return [
            (i, Entry(self.digests[16 * row : 16 * row + 16], self.date, *source_parts(source)))
            for i, row, source in zip(asked.tolist(), rows.tolist(), sources, strict=True)
        ]


class MsgidIndex:
    """Open with ``MsgidIndex(folder, messages_dir)``; it is brought up to date with the lake at once."""

    def __init__(self, folder: Path, messages_dir: Path) -> None:
        self.folder = folder
        self.messages_dir = messages_dir
        for stale in ("msgids.sqlite", "msgids.sqlite-wal", "msgids.sqlite-shm"):  # the SQLite layout
            (folder.parent / stale).unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        self.files: list[tuple[str, Path]] = []  # (date, lake file), numbered by position
        self.rows: list[int] = []  # each file's row count
        self.runs: list[_Run] = []  # oldest first
        self.next_run = 0
        self.cache: dict[int, _FileRows] = {}  # by file number, the least recently used first
        self.sync()

    def close(self) -> None:
        """Nothing to commit (every change is written when made): unmap the runs."""
        self.cache.clear()
        for run in self.runs:
            run.close()
        self.runs = []

    def _lake_files(self) -> dict[str, tuple[str, Path]]:
        return {
            f"date={date}/{path.name}": (date, path)
            for date in lake.dates(self.messages_dir)
            for path in lake.partition_files(self.messages_dir, date)
        }

    def sync(self) -> None:
        """Open the index as ``index.json`` names it if it matches the lake, else start empty;
        remove whatever it does not name; index the lake files it lacks."""
        self.close()
        files = self._lake_files()
        self.files, self.rows, self.next_run = [], [], 0
        if not self._open_manifest(files):
            self.close()
            self.files, self.rows, self.next_run = [], [], 0
            (self.folder / MANIFEST).unlink(missing_ok=True)
        named = {MANIFEST, *(run.path.name for run in self.runs)}
        for path in self.folder.iterdir():
            if path.name not in named:  # an unnamed run, a temporary of a killed write, an old layout
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        indexed = {f"date={date}/{path.name}" for date, path in self.files}
        for name in sorted(files.keys() - indexed):
            path = files[name][1]
            self.add(path, msgid_hashes(pq.read_table(path, columns=["msgid"]).column("msgid")))

    def _open_manifest(self, files: dict[str, tuple[str, Path]]) -> bool:
        """Load ``index.json`` and map its runs; False (nothing kept) when it is missing, of
        another layout, damaged, or does not match the lake."""
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("layout") != LAYOUT or manifest.get("hash_probe") != _hash_probe():
                return False
            for name, rows in manifest["files"]:
                if name not in files or pq.read_metadata(files[name][1]).num_rows != rows:
                    return False  # a lake file gone or changed: the numbers no longer hold
                self.files.append(files[name])
                self.rows.append(rows)
            for name, count in manifest["runs"]:
                self.runs.append(_Run(self.folder / Path(name).name, count))
            if sum(run.count for run in self.runs) != sum(self.rows):
                return False
            for run in self.runs:
                run.check(len(self.files))
            self.next_run = int(manifest["next_run"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        return True

    def _write_manifest(self) -> None:
        manifest = {
            "layout": LAYOUT,
            "hash_probe": _hash_probe(),
            "files": [
                [f"date={date}/{path.name}", rows]
                for (date, path), rows in zip(self.files, self.rows, strict=True)
            ],
            "runs": [[run.path.name, run.count] for run in self.runs],
            "next_run": self.next_run,
        }
        atomic.write_text(self.folder / MANIFEST, json.dumps(manifest, separators=(",", ":")))

    def _new_run_path(self) -> Path:
        self.next_run += 1
        return self.folder / f"run-{self.next_run:08d}{RUN_SUFFIX}"

    def _candidates(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``hashes``, file numbers) of every hash some indexed file holds."""
        order = np.argsort(hashes)  # sorted queries walk each run's windows in order
        queries = hashes[order]
        drop = self._drops_pages()
        found = [run.find(queries, drop) for run in self.runs]
        if not found:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return order[np.concatenate([at for at, _ in found])], np.concatenate([n for _, n in found])

    def _file_rows(self, number: int) -> _FileRows:
        """One lake file's rows as duplicate checks read them, read once while the cache holds
        it (a candidate is rare, or a whole re-ingest that hits the same few files)."""
        rows = self.cache.pop(number, None)  # put back last: the cache drops the least recent
        if rows is None:
            rows = _FileRows(*self.files[number])
            while self.cache and sum(r.size for r in self.cache.values()) + rows.size > CACHED_ROWS:
                del self.cache[next(iter(self.cache))]
        self.cache[number] = rows
        return rows

    def candidates(self, hashes: np.ndarray) -> np.ndarray:
        """Positions in ``hashes`` of those some indexed lake file may hold (a hash found is only
        a candidate: ``get_many`` confirms by the exact msgid)."""
        return np.unique(self._candidates(hashes)[0])

    def get_many(self, msgids: list[str], hashes: np.ndarray | None = None) -> dict[str, Entry]:
        """The entries of those ``msgids`` that are indexed; where a msgid is in two lake files
        (never written so), the first file's. ``hashes``: their ``msgid_hashes`` if made already."""
        found: dict[str, Entry] = {}
        if not msgids:
            return found
        if hashes is None:
            hashes = msgid_hashes(msgids)
        positions, numbers = self._candidates(hashes)
        for number in np.unique(numbers).tolist():  # older files first
            asked = positions[numbers == number]
            wanted = [msgids[p] for p in asked.tolist()]
            for i, entry in self._file_rows(number).find(wanted, hashes[asked]):
                found.setdefault(wanted[i], entry)
        return found

    def fill(self, hash_filter: HashFilter) -> None:
        """Add every indexed hash to ``hash_filter``, a step of a run at a time."""
        drop = self._drops_pages()
        for run in self.runs:
            for start in range(0, run.count, STEP):
                hash_filter.add(run.hashes[start : start + STEP])
                if drop:
                    run.drop_pages()

    def _drops_pages(self) -> bool:
        """Whether reads give run pages back as they go: the runs are too large to keep resident."""
        return sum(run.count for run in self.runs) * ENTRY_BYTES > RESIDENT_BYTES

    def add(self, path: Path, hashes: np.ndarray) -> None:
        """Index a lake file just written whole (``path``) whose msgids have these ``msgid_hashes``."""
        number = len(self.files)
        self.files.append((path.parent.name.removeprefix("date="), path))
        self.rows.append(len(hashes))
        obsolete: list[_Run] = []
        if len(hashes):
            hashes = np.sort(hashes)
            run_path = self._new_run_path()
            _write_run(run_path, [(hashes, np.full(len(hashes), number, OWNER))], len(hashes))
            self.runs.append(_Run(run_path, len(hashes)))
        # Every lookup searches each run: merge the newest two while the newer is at least half
        # the older, so runs stay few (logarithmic) and each hash is rewritten O(log n) times.
        while len(self.runs) >= 2 and 2 * self.runs[-1].count >= self.runs[-2].count:
            older, newer = self.runs[-2], self.runs[-1]
            run_path = self._new_run_path()
            _write_run(run_path, _merged_steps(older, newer), older.count + newer.count)
            self.runs[-2:] = [_Run(run_path, older.count + newer.count)]
            obsolete += [older, newer]
        failpoints.reached("msgindex-runs-written")
        self._write_manifest()  # the commit point: runs not named yet are removed when opened
        for run in obsolete:
            run.close()
            with contextlib.suppress(FileNotFoundError):
                run.path.unlink()
