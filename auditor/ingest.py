"""Ingest: export files → the lake, with every input record accounted for.

Each record ends as exactly one of accepted, duplicate (its msgid is already in the lake or
earlier in this run, with the same content) or rejected (with file, line, reason and raw bytes
in ``W/rejects/``), so ``accepted + duplicates + rejected == records`` always holds and nothing
is lost silently. A file is read whole or not at all: one that decompresses past the caps is
quarantined (``W/quarantine/``) and one that cannot be opened is skipped, each with its reason,
and the other files go on.
New rows are written once the files read since the last write hold FLUSH_RECORDS records (and
after the last file) — one Parquet file per date and such group of input files (two for a large
date: ``SPLIT_ROWS``), named by its content — so memory is bounded by the largest input file plus
FLUSH_RECORDS, a folder of small batch files does not become a lake of small files, and
re-ingesting the same files changes nothing. The groups are cut by records *read*, not stored, so a
run resuming an interrupted one cuts them where it did and writes the very same files.
Reading and decoding a message file (``ingest_decode``) needs nothing from the run, so for large
inputs it runs a few files ahead in a process pool, a large JSONL file in line spans; this process
decides every record in input order either way, so the lake, ledgers and rejects are the same.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import os
import tempfile
import time
import zoneinfo
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor import atomic, failpoints, lake, msgindex
from auditor.ingest_decode import (
    COVERAGE,
    DATE_COLUMN,
    HASH_COLUMN,
    MSGID,
    MSGTIME,
    MSGTYPE,
    DecodedFile,
    OpenedFile,
    Row,
    collector_paused,
    decode_file,
    decode_pool,
    open_and_decode,
    open_file,
    rows_table,
)
from auditor.msgindex import Entry, MsgidIndex, content_digest, raw_digest, source_parts
from auditor.process_pool import PoolStart, with_workers
from auditor.wecom.files import (
    PREVIEW_BYTES,
    Limits,
    LineSpan,
    RawRecord,
    classify,
    decoded,
    discover,
    file_cap,
    is_gzip,
    line_spans,
    read_records,
    reads_whole,
)
from auditor.wecom.groups import parse_group
from auditor.wecom.messages import RecordError
from auditor.wecom.roster import parse_roster_row, read_roster_records
from auditor.workspace import Workspace


@dataclass
class FileReport:
    path: str
    kind: str
    sha256: str = ""
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    note: str = ""
    dates: set[str] = field(default_factory=set)  # dates of its messages (accepted or duplicate)
    status: str = "ingested"  # or "quarantined" (too big to read) or "skipped" (unreadable); see note

    def ledger_entry(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["dates"] = sorted(self.dates)
        return entry


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    generic_types: dict[str, int] = field(default_factory=dict)  # new messages read by the generic walk

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def reject_ratio(self) -> float:
        records = self.total("records")
        return self.total("rejected") / records if records else 0.0

    def problems(self) -> list[dict[str, str]]:
        """Files not read: quarantined or skipped, with the reason."""
        return [
            {"path": f.path, "sha256": f.sha256, "status": f.status, "reason": f.note}
            for f in self.files
            if f.status != "ingested"
        ]

    def summary(self) -> dict[str, Any]:
        """The reconciliation: files, records, accepted, duplicates, rejected (plus detail)."""
        return {
            "files": len(self.files),
            **{k: self.total(k) for k in ("records", "accepted", "duplicates", "rejected")},
            "dates": self.dates,
            "rejects_file": self.rejects_file,
            "not_read": self.problems(),
            "generic_types": self.generic_types,
            "by_file": [f.ledger_entry() for f in self.files],
        }


REJECT_BUFFER_LINES = 256  # stored rejects held in memory before they are appended to the file


class _Rejects:
    """Rejected records with reason and raw bytes, in proportion: each raw record is cut at
    PREVIEW_BYTES (its length and SHA-256 say what it was) and at most ``per_file`` records of a
    file are stored; the rest are counted in one line (the input file itself still has them).

    The lines stream, in input order, into a hidden temporary file in ``folder`` (hashed as they
    are written, so memory holds at most REJECT_BUFFER_LINES of them: a night of millions of
    rejects stays small), which ``publish`` renames to its content's name. A killed run leaves
    only the temporary, removed by the next run under the lock (``atomic.remove_stale_temps``);
    a failed one removes it on ``close``.
    """

    def __init__(self, folder: Path, per_file: int) -> None:
        self.folder = folder
        self.per_file = per_file
        self.buffer: list[str] = []  # lines not yet in the file
        self.counts: Counter[str] = Counter()
        self.digest = hashlib.sha256()
        self.tmp: Path | None = None  # created at the first stored line
        self.handle: BinaryIO | None = None

    def __enter__(self) -> _Rejects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, record: RawRecord, reason: str) -> None:
        self.counts[record.file] += 1
        if self.counts[record.file] > self.per_file:
            return
        raw = record.raw[:PREVIEW_BYTES]
        entry: dict[str, Any] = {
            "file": record.file,
            "line": record.line,
            "reason": reason,
            "raw_base64": base64.b64encode(raw).decode("ascii"),
        }
        length = len(record.raw) if record.length is None else record.length
        if length > len(raw):
            entry["raw_length"] = length
            entry["raw_sha256"] = record.sha256 or hashlib.sha256(record.raw).hexdigest()
        with contextlib.suppress(UnicodeDecodeError):  # a readable preview where there is one
            entry["raw_text"] = raw.decode("utf-8")[:2000]
        self.buffer.append(json.dumps(entry, ensure_ascii=False))
        if len(self.buffer) >= REJECT_BUFFER_LINES:
            self._flush()

    def count_omitted(self, file: str, records: int) -> None:
        """Rejected records of ``file`` that are not stored (past ``per_file``), only counted: a
        decoder keeps no more than that many of a file (``Limits.stored_rejects``)."""
        self.counts[file] += records

    def _flush(self) -> None:
        """Append the buffered lines to the temporary file (created on first use, 0600: raw chat
        content) and to the hash."""
        if not self.buffer:
            return
        if self.handle is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".tmp-rejects-", suffix=".jsonl", dir=self.folder)
            self.tmp = Path(name)
            os.fchmod(fd, atomic.PRIVATE_MODE)
            self.handle = os.fdopen(fd, "wb")
        data = ("\n".join(self.buffer) + "\n").encode("utf-8")
        self.buffer.clear()
        self.digest.update(data)
        self.handle.write(data)
        failpoints.reached("ingest-rejects-flushed")

    def publish(self) -> Path | None:
        """Add the count lines, then publish the file as ``rejects-<sha256 prefix>.jsonl``
        (``atomic.publish``); None when nothing was rejected."""
        self.buffer.extend(
            json.dumps(
                {
                    "file": name,
                    "omitted": count - self.per_file,
                    "reason": f"{count - self.per_file:,} more rejected records of this file not stored "
                    "(ingest.max_stored_rejects)",
                },
                ensure_ascii=False,
            )
            for name, count in self.counts.items()
            if count > self.per_file
        )
        self._flush()
        if self.handle is None or self.tmp is None:
            return None
        self.handle.close()
        self.handle = None
        path = self.folder / f"rejects-{self.digest.hexdigest()[:16]}.jsonl"
        if path.exists():  # the same rejects stored before: that file is this one
            self.tmp.unlink()
        else:
            atomic.publish(self.tmp, path, atomic.PRIVATE_MODE)
        self.tmp = None
        return path

    def close(self) -> None:
        """Drop the temporary file unless it was published (a run that failed stores no rejects)."""
        try:
            if self.handle is not None:
                self.handle.close()  # may raise (a full disk): the temporary goes all the same
        finally:
            self.handle = None
            if self.tmp is not None:
                self.tmp.unlink(missing_ok=True)
                self.tmp = None


BATCH_ROWS = 50_000
FLUSH_RECORDS = 200_000  # records read before the rows buffered are written (at a file's end)
OVERLAP_RECORDS = 2 * FLUSH_RECORDS  # rows written and decided at once, unless one file is larger
# A date's rows from this many on are written as two files in two threads (halves of its order):
# the last write is the run's tail, with nothing else left to do on the second core.
SPLIT_ROWS = 100_000
LOOKUP_ROWS = 65_536  # msgids per msgid-index query
CONTENT_DATES = 2  # dates whose stored content digests are kept (records reusing msgids with other bytes)
Outcome = tuple[str, str | None] | RecordError  # (accepted or duplicate, date), or why it is rejected
_Written = tuple[str, Path, np.ndarray]  # a lake file the writer wrote: its date, path and msgid hashes


def _raw_and_source(table: pa.Table, row: int) -> tuple[str, str]:
    return table.column("raw")[row].as_py(), table.column("source")[row].as_py()


def _entry(date: str, raw: str, source: str) -> Entry:
    """The index entry of a row this run buffered or is writing (made only when a msgid recurs)."""
    return Entry(raw_digest(raw.encode("utf-8")), date, *source_parts(source))


def _repeated(ordered: np.ndarray) -> np.ndarray:
    """Which of the sorted hashes ``ordered`` occur more than once (every occurrence)."""
    same = ordered[1:] == ordered[:-1]
    repeated = np.zeros(len(ordered), bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    return repeated


def _date_groups(rows: pa.Table, dates: pa.ChunkedArray, distinct: pa.Array) -> list[tuple[str, pa.Table]]:
    """``rows`` by their local date (``dates``), each date's rows in order, the dates in order of
    first appearance. A file in time order holds each date in one run (a day's export spills into
    the next local day at its end): those runs are slices, not copies of the file's rows."""
    if len(distinct) == 1:
        return [(distinct[0].as_py(), rows)]
    codes = pc.index_in(dates, value_set=distinct).to_numpy()
    cuts = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist(), len(codes)]
    if len(cuts) == len(distinct) + 1:  # each date in one run
        return [(distinct[int(codes[a])].as_py(), rows.slice(a, b - a)) for a, b in itertools.pairwise(cuts)]
    return [(date, rows.filter(pc.equal(dates, date))) for date in distinct.to_pylist()]


class _PlacesByHash:
    """Where each row this run buffered is (its date and row number there), by its msgid's hash:
    sorted runs, the newest two merged while the newer is at least half the older (as the msgid
    index's), so asking about a part's msgids costs a few ``searchsorted`` however much is buffered,
    and no Python object is made per row. A hash found is only a candidate: the caller compares
    the msgid at the place found (``find``)."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, places: date code << 32 | row)
        self.dates: list[str] = []

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self.runs)

    def add(self, hashes: np.ndarray, date: str, rows: np.ndarray) -> None:
        if date not in self.dates:
            self.dates.append(date)
        order = np.argsort(hashes, kind="stable")
        places = (self.dates.index(date) << 32) + rows.astype(np.int64)
        self.runs.append((hashes[order], places[order]))
        while len(self.runs) >= 2 and 2 * len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (older, older_places), (newer, newer_places) = self.runs[-2:]
            merged = np.concatenate([older, newer])
            order = np.argsort(merged, kind="stable")  # two sorted pieces: one merging pass
            self.runs[-2:] = [(merged[order], np.concatenate([older_places, newer_places])[order])]

    def holds(self, ordered: np.ndarray) -> np.ndarray:
        """Which of the sorted hashes ``ordered`` some buffered row has (sorted, they are searched
        in one sweep of each run)."""
        held = np.zeros(len(ordered), bool)
        for run, _ in self.runs:
            at = np.minimum(np.searchsorted(run, ordered), len(run) - 1)
            held |= run[at] == ordered
        return held

    def find(self, msgid_hash: int, is_msgid: Callable[[str, int], bool]) -> tuple[str, int] | None:
        """The place (date, row) with this hash at which ``is_msgid`` holds, if any."""
        value = np.uint64(msgid_hash)
        for run, places in self.runs:
            low, high = np.searchsorted(run, value, "left"), np.searchsorted(run, value, "right")
            for place in places[low:high].tolist():
                date, row = self.dates[place >> 32], place & 0xFFFFFFFF
                if is_msgid(date, row):
                    return date, row
        return None


@dataclass
class _FileLookup:
    """What deciding a file's records one by one consults, bound when the file is offered (judging a
    record may settle the write in flight, which empties the sink's own ``in_flight``)."""

    hash_of: dict[str, int]  # msgid → its hash, for every record decided one by one
    maybe_known: set[str]  # those whose hash is seen somewhere: the only msgids looked up
    stored: dict[str, Entry]  # the lake's entries of those (the msgid index)
    in_flight: _PlacesByHash  # the rows handed to the writer, by msgid hash
    flying: dict[str, pa.Table]  # … and their tables by date
    fresh: dict[str, tuple[str, int]] = field(default_factory=dict)  # msgid → place, buffered here

    def being_written(self, msgid: str) -> Entry | None:
        """``msgid``'s entry among the rows being written, if it is one of them."""
        if msgid not in self.maybe_known:
            return None
        flying = self.flying
        place = self.in_flight.find(
            self.hash_of[msgid], lambda date, row: flying[date].column("msgid")[row].as_py() == msgid
        )
        return None if place is None else _entry(place[0], *_raw_and_source(flying[place[0]], place[1]))


class _MessageSink:
    """Deduplicates messages against the whole lake (the msgid index) and this run, and buffers
    them per date.

    With ``resume``, a message already in the lake *from this very source line* counts as
    accepted, not duplicate: the run is finishing an interrupted one, and its reconciliation
    must equal the uninterrupted run's.
    """

    def __init__(self, ws: Workspace, resume: bool, now_ms: int) -> None:
        self.ws = ws
        self.local_date = lake.LocalDates(ws.tz)
        self.resume = resume
        self.now_ms = now_ms
        self.index = MsgidIndex(ws.msgid_index_path, ws.messages_dir)
        self.seen = msgindex.HashFilter()  # every msgid hash the lake or this run may hold
        self.index.fill(self.seen)
        self.pending = _PlacesByHash()  # buffered (not yet in the lake)
        self.rows: Counter[str] = Counter()  # buffered rows per date
        # date → msgid → content_digest, read on demand, the least recent date first
        self.lake_content: dict[str, dict[str, bytes]] = {}
        # Per date: rows, their raw bytes, sources and msgid hashes; sealed into columns a batch at a time.
        self.buffer: dict[str, tuple[list[Row], list[bytes], list[str], list[int]]] = defaultdict(
            lambda: ([], [], [], [])
        )
        self.generic: Counter[str] = Counter()  # msgtype → new messages read by the generic walk
        self.batches: dict[str, list[pa.Table]] = defaultdict(list)
        self.written: set[str] = set()
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="lake-writer")
        self.second_writer = ThreadPoolExecutor(1, thread_name_prefix="lake-writer-2")
        self.writing: tuple[Future[list[_Written]], list[tuple[str, pa.Table]]] | None = None
        self.in_flight = _PlacesByHash()  # handed to the writer, not indexed yet

    def offer_file(self, decoded_file: DecodedFile, tally: FileReport, rejects: _Rejects) -> None:
        """Decide every record of a decoded file — accepted, duplicate or rejected (into ``rejects``,
        with the reason) — and count it in ``tally``. Its msgids are looked up together by their
        hashes (made once, by the decoder): the records whose hash is seen nowhere — not in the
        lake's index, this run's buffer or the write in flight, nor twice in the file (nearly
        all) — are buffered as one Arrow table without a Python object each; the others go one by
        one through ``_offer_one``, in input order with the rejected records, where the exact
        msgid decides."""
        table = decoded_file.table
        common = table.num_rows
        hashes = table.column(HASH_COLUMN).to_numpy()  # made by the decoder
        order = np.argsort(hashes)
        ordered = hashes[order]
        # Only the hashes the filter cannot rule out are searched for (``seen`` holds every hash of
        # the lake, this run's buffer and the write in flight).
        maybe = self.seen.may_hold(ordered)
        asked, queries = order[maybe], ordered[maybe]
        held = np.zeros(len(hashes), bool)  # a row this run buffered or is writing may have the msgid
        held[asked] = self.pending.holds(queries) | self.in_flight.holds(queries)
        candidate = held.copy()
        candidate[order] |= _repeated(ordered)
        for start in range(0, len(asked), LOOKUP_ROWS):
            part = asked[start : start + LOOKUP_ROWS]
            candidate[part[self.index.candidates(hashes[part])]] = True
        self.seen.add(ordered)  # before the next file: each of these may be buffered now
        rest = np.flatnonzero(candidate).tolist()  # the records decided one by one
        rest_ids = table.column("msgid").take(pa.array(rest, pa.int64())).to_pylist() if rest else []
        hash_of = dict(zip(rest_ids, hashes[rest].tolist(), strict=True))
        # A hash seen nowhere is a new msgid: only the candidates' msgids are looked up, here (the
        # lake's index) and in ``_offer_one`` (this run's buffer and the write in flight).
        maybe_known = set(rest_ids)
        looked_up = list(maybe_known)
        stored: dict[str, Entry] = {}
        for start in range(0, len(looked_up), LOOKUP_ROWS):
            batch = looked_up[start : start + LOOKUP_ROWS]
            stored.update(self.index.get_many(batch, np.array([hash_of[m] for m in batch], msgindex.HASH)))
        flying = dict(self.writing[1]) if self.writing is not None else {}
        lookup = _FileLookup(hash_of, maybe_known, stored, self.in_flight, flying)
        if rest:
            new = np.ones(common, bool)
            new[rest] = False
            dates = self._buffer_table(table.filter(pa.array(new)))
        else:
            dates = self._buffer_table(table)
        accepted, duplicates, rejected = common - len(rest), 0, 0
        if stored:  # the same records again (a whole archive re-ingested): decided in bulk
            again, resumed, known_dates = self._stored_again(table, rest, rest_ids, stored, held)
            rest = [row for row, is_again in zip(rest, again, strict=True) if not is_again]
            accepted, duplicates = accepted + resumed, int(again.sum()) - resumed
            dates |= known_dates
        if rest or decoded_file.others:
            for record, row in decoded_file.in_order(rest):  # in input order: rejects are stored in it
                outcome = self._offer_one(record, row, lookup)
                if isinstance(outcome, RecordError):
                    rejects.add(record, str(outcome))
                    rejected += 1
                    continue
                status, date = outcome
                dates.add(date)
                if status == "accepted":
                    accepted += 1
                else:
                    duplicates += 1
        fresh = lookup.fresh
        for date in {date for date, _ in fresh.values()}:
            places = [(msgid, row) for msgid, (d, row) in fresh.items() if d == date]
            self.pending.add(
                np.array([hash_of[m] for m, _ in places], msgindex.HASH),
                date,
                np.array([row for _, row in places], np.int64),
            )
        if decoded_file.omitted_rejects:  # after the stored ones: those filled the file's quota
            rejects.count_omitted(decoded_file.name, decoded_file.omitted_rejects)
            rejected += decoded_file.omitted_rejects
        tally.records += decoded_file.records
        tally.accepted += accepted
        tally.duplicates += duplicates
        tally.rejected += rejected
        tally.dates |= dates
        self.written |= dates

    def _stored_again(
        self, table: pa.Table, rows: list[int], msgids: list[str], stored: dict[str, Entry], held: np.ndarray
    ) -> tuple[np.ndarray, int, set[str]]:
        """Which of the common-shape ``rows`` (their ``msgids``) repeat a record the lake holds byte
        for byte, with no row of this run's that may share the msgid (``held``): each is a
        duplicate, or accepted when resuming from its very line (``_offer_known``'s outcome), and
        needs no Python row of its own. Returns that mask, how many were accepted so, and their
        dates."""
        entries = [stored.get(msgid) for msgid in msgids]
        maybe = [
            k for k, (row, entry) in enumerate(zip(rows, entries, strict=True)) if entry and not held[row]
        ]
        again = np.zeros(len(rows), bool)
        if not maybe:
            return again, 0, set()
        picked = pa.array([rows[k] for k in maybe], pa.int64())
        digests = msgindex.raw_digests(table.column("raw").take(picked).combine_chunks())
        sources = table.column("source").take(picked).to_pylist()
        resumed, dates = 0, set()
        for j, (k, source) in enumerate(zip(maybe, sources, strict=True)):
            entry = entries[k]
            if entry.digest == digests[16 * j : 16 * j + 16]:
                again[k] = True
                resumed += self.resume and entry.source == source
                dates.add(entry.date)
        return again, resumed, dates

    def _buffer_table(self, table: pa.Table) -> set[str]:
        """Buffer rows whose msgids are new and distinct, a date at a time; their dates."""
        if not table.num_rows:
            return set()
        is_generic = pc.fill_null(pc.equal(table.column("text_coverage"), "generic"), False)
        if pc.any(is_generic).as_py():  # a message type read by the generic walk: counted for the report
            for item in pc.value_counts(table.column("msgtype").filter(is_generic)).to_pylist():
                self.generic[item["values"]] += item["counts"]
        date_column = table.column(DATE_COLUMN)
        distinct = date_column.unique()
        rows = table.drop_columns([DATE_COLUMN])
        groups = _date_groups(rows, date_column, distinct)
        for date, group in groups:
            if self.buffer.get(date, ((),))[0]:  # rows buffered one by one come first in the date's order
                self._seal(date)
            first = self.rows[date]
            self.pending.add(
                group.column(HASH_COLUMN).to_numpy(), date, np.arange(first, first + group.num_rows)
            )
            self.rows[date] = first + group.num_rows
            self.batches[date].append(group)
        return set(distinct.to_pylist())

    def _buffer_one(self, record: RawRecord, row: Row, msgid_hash: int) -> tuple[str, int]:
        """Buffer a record whose msgid is new (judged one by one: not in a file's bulk table); its place."""
        date = self.local_date(row[MSGTIME])
        rows, raws, sources, hashes = self.buffer[date]
        place = (date, self.rows[date])
        self.rows[date] += 1
        rows.append(row)
        raws.append(record.raw)
        sources.append(f"{record.file}:{record.line}")
        hashes.append(msgid_hash)
        if len(rows) >= BATCH_ROWS:
            self._seal(date)
        if row[COVERAGE] == "generic":
            self.generic[row[MSGTYPE]] += 1
        return place

    def _offer_one(self, record: RawRecord, row: Row | RecordError, lookup: _FileLookup) -> Outcome:
        """A record that is rejected already, not of the common shape, or whose msgid's hash is
        known or repeats in its file: the exact msgid decides."""
        if type(row) is not tuple:
            return row
        msgid = row[MSGID]
        buffered = lookup.fresh.get(msgid)
        if buffered is None and msgid in lookup.maybe_known:
            buffered = self.pending.find(lookup.hash_of[msgid], lambda d, r: self._buffered(d, r)[0] == msgid)
        if buffered is not None:
            known: Entry | None = self._buffered_entry(*buffered)
        else:
            known = lookup.stored.get(msgid) or lookup.being_written(msgid)
        if known is None:  # the first of a msgid repeated in its file, or a hash shared by chance
            lookup.fresh[msgid] = self._buffer_one(record, row, lookup.hash_of[msgid])
            return "accepted", lookup.fresh[msgid][0]
        try:
            return self._offer_known(record, msgid, buffered, known)
        except RecordError as exc:
            return exc

    def _buffered_entry(self, date: str, row: int) -> Entry:
        return _entry(date, *self._buffered(date, row)[1:])

    def _offer_known(
        self, record: RawRecord, msgid: str, buffered: tuple[str, int] | None, known: Entry
    ) -> tuple[str, str]:
        """A msgid this run buffered or the lake holds (``known``): the same record again (a
        duplicate, or accepted when resuming from this very line) or a conflict (RecordError)."""
        if known.digest != raw_digest(record.raw) and not self._same_content(msgid, record, buffered, known):
            raise RecordError(
                f"conflicting record reuses msgid {msgid!r}: {known.source} (date {known.date}) "
                "holds other content under it"
            )
        return ("accepted" if self.resume and known.source == record.source else "duplicate"), known.date

    def _same_content(
        self, msgid: str, record: RawRecord, buffered: tuple[str, int] | None, known: Entry
    ) -> bool:
        """Other bytes may still be the same record (key order, spacing, a batch item re-exported
        as a JSONL line); rare, so the stored record is only read back then."""
        if buffered is not None:
            earlier = json.loads(self._buffered(known.date, buffered[1])[1])
            return content_digest(earlier) == content_digest(decoded(record).value)
        self._settle()  # the stored record may be in the file being written
        contents = self.lake_content.pop(known.date, None)  # put back last: the least recent goes first
        if contents is None:
            table = lake.read_partition(
                self.ws.messages_dir, known.date, lake.MESSAGE_SCHEMA, ["msgid", "raw"]
            )
            contents = {
                m: content_digest(json.loads(raw))
                for m, raw in zip(
                    table.column("msgid").to_pylist(), table.column("raw").to_pylist(), strict=True
                )
            }
            while len(self.lake_content) >= CONTENT_DATES:  # a dict of a large date is ~75 MB
                del self.lake_content[next(iter(self.lake_content))]
        self.lake_content[known.date] = contents
        return contents.get(msgid) == content_digest(decoded(record).value)

    def _buffered(self, date: str, row: int) -> tuple[str, str, str]:
        """msgid, raw record and source of a buffered row."""
        for table in self.batches[date]:
            if row < table.num_rows:
                return table.column("msgid")[row].as_py(), *_raw_and_source(table, row)
            row -= table.num_rows
        rows, raws, sources, _ = self.buffer[date]
        return rows[row][MSGID], raws[row].decode("utf-8"), sources[row]

    def _seal(self, date: str) -> None:
        """Move buffered rows into a compact Arrow batch, a column at a time: Python objects cost
        ten times the bytes."""
        rows, raws, sources, hashes = self.buffer.pop(date)
        if rows:  # the hashes were made once, when the record was offered
            self.batches[date].append(rows_table(rows, raws, sources, hashes))

    def flush(self) -> None:
        """Hand what this sink holds to the writer thread, one file per date; later records dedupe
        against it (``in_flight``) while it is written. Sorting, compressing and syncing Parquet run
        outside the GIL, so the writer uses a second core while this thread reads on."""
        for date in list(self.buffer):
            self._seal(date)
        self._settle()
        # The last flush's tables are freed now: give their pages back to the OS, or Arrow's
        # allocator keeps them and the next day's tables come on top.
        pa.default_memory_pool().release_unused()
        tables = [(date, pa.concat_tables(self.batches.pop(date))) for date in sorted(self.batches)]
        if not tables:
            return
        # Every buffered row is in ``tables`` now, at the row it had in its date's buffer (the batches
        # are joined in order): what was pending is in flight, as it is.
        self.in_flight, self.pending = self.pending, _PlacesByHash()
        self.rows.clear()
        self.writing = (self.writer.submit(self._write, tables), tables)

    def make_room(self, records: int) -> None:
        """Wait for the write in flight when it and ``records`` about to be decided would hold more
        than OVERLAP_RECORDS rows at once: deciding a file while the last is written uses a second
        core, but two whole-day files at once would set the peak by the two largest neighbours."""
        if self.writing is not None and len(self.in_flight) + records > OVERLAP_RECORDS:
            self._settle()

    def _write(self, tables: list[tuple[str, pa.Table]]) -> list[_Written]:
        """In the writer thread: the lake files of one flush, each with its rows' msgid hashes. A
        date of SPLIT_ROWS rows or more is two files, the second half written in a second thread
        (compressing and syncing release the GIL); where it is cut depends on the rows only, so
        a resumed run writes the same files."""
        written = []
        for date, table in tables:
            rows = table.drop_columns([HASH_COLUMN])
            order = lake.message_order(rows)
            halves = (
                [order] if len(order) < SPLIT_ROWS else [order[: len(order) // 2], order[len(order) // 2 :]]
            )
            second = [
                self.second_writer.submit(lake.append_messages, self.ws.messages_dir, date, rows, half)
                for half in halves[1:]
            ]
            paths = [lake.append_messages(self.ws.messages_dir, date, rows, halves[0])]
            paths += [task.result() for task in second]
            hashes = table.column(HASH_COLUMN)
            written += [
                (date, path, hashes.take(half).to_numpy()) for path, half in zip(paths, halves, strict=True)
            ]
            failpoints.reached("ingest-date-written")
        return written

    def _settle(self) -> None:
        """Wait for the write in flight (raising its error) and index its files: a lake file is
        indexed only once it is whole."""
        if self.writing is None:
            return
        future, _ = self.writing
        self.writing = None
        for date, path, hashes in future.result():
            self.index.add(path, hashes)
            self.lake_content.pop(date, None)
        self.in_flight = _PlacesByHash()

    def close(self) -> None:
        try:
            self._settle()
        finally:
            self.writer.shutdown()
            self.second_writer.shutdown()
            self.index.close()


class _KeyedTable:
    """A small table replaced whole on change (groups, members, roster): upsert by key."""

    def __init__(self, path: Path, schema: pa.Schema, key: Callable[[dict[str, Any]], Any]) -> None:
        self.path, self.schema, self.key = path, schema, key
        self.rows = {key(r): r for r in lake.read_single(path, schema).to_pylist()}
        self.changed = False

    def upsert(self, row: dict[str, Any], *, resume: bool = False) -> str:
        """accepted when the row is new or differs (ignoring ``source``), else duplicate.

        Resuming, an identical row stored from the same source is this run's own earlier write.
        """
        old = self.rows.get(self.key(row))
        if old is not None and _without_source(old) == _without_source(row):
            return "accepted" if resume and old.get("source") == row.get("source") else "duplicate"
        self.rows[self.key(row)] = row
        self.changed = True
        return "accepted"

    def write(self) -> None:
        if self.changed:
            rows = [self.rows[k] for k in sorted(self.rows)]
            lake.write_table(self.path, pa.Table.from_pylist(rows, schema=self.schema))


def _without_source(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "source"}


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))  # as Arrow gives lake.TIMESTAMP values


def _ms_to_datetime(value: int | None) -> dt.datetime | None:
    """Epoch milliseconds as the datetime Arrow reads back from the lake (an Arrow scalar per value
    cost 0.14 ms: most of a large groups file's time)."""
    return None if value is None else _EPOCH + dt.timedelta(milliseconds=value)


def source_name(ws: Workspace, path: Path) -> str:
    """How a file is named in ``source``: relative to the workspace when inside it (the inbox), so
    the lake does not depend on where the workspace is mounted; otherwise as given."""
    try:  # the parent resolved, not the file: a symlink is named as itself, not as its target
        return str((path.parent.resolve() / path.name).relative_to(ws.root.resolve()))
    except ValueError:
        return str(path)


def _workspace_own(ws: Workspace, path: Path) -> bool:
    """The workspace's own files (lake, runs, rejects, reports …) are never inputs, even when a folder
    given to ingest contains the workspace; its inbox is."""
    resolved = path.resolve()
    root = ws.root.resolve()
    return resolved.is_relative_to(root) and not resolved.is_relative_to(ws.inbox_dir.resolve())


def _write_file_ledgers(files_dir: Path, reports: list[FileReport]) -> None:
    """The first complete ingest of a file's content is what the reports reconcile against. Each
    ledger is written atomically; a folder of small batch files makes hundreds, so they are written
    together (``atomic.write_files``: synced a few at once, the folder once)."""
    first: dict[str, FileReport] = {}
    for report in reports:
        first.setdefault(report.sha256, report)  # the same content twice in one run: the first counts
    todo = [(files_dir / f"{sha}.json", report) for sha, report in first.items()]
    atomic.write_files(
        (path, (json.dumps(report.ledger_entry(), ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        for path, report in todo
        if not path.exists()
    )


def limits_of(ws: Workspace) -> Limits:
    settings = ws.config["ingest"]
    return Limits(
        settings["max_record_bytes"],
        settings["max_decompressed_bytes"],
        settings["max_document_bytes"],
        settings["max_stored_rejects"],
    )


def _quarantine(ws: Workspace, path: Path, file_report: FileReport) -> None:
    """Record a file too big to read under ``W/quarantine/<sha256>.json``; the file itself stays
    where it is (an export folder may be read-only), and is never read again for this content
    unless given to ``auditor ingest`` with a higher cap."""
    record = {
        "path": file_report.path,
        "sha256": file_report.sha256,
        "bytes_on_disk": path.stat().st_size,
        "reason": file_report.note,
        "quarantined": dt.datetime.now(dt.UTC).isoformat(),
    }
    atomic.write_text(
        ws.quarantine_dir / f"{file_report.sha256}.json",
        json.dumps(record, ensure_ascii=False, indent=1) + "\n",
        atomic.PRIVATE_MODE,
    )


def _file_report(ws: Workspace, path: Path, opened: OpenedFile) -> FileReport:
    """A file's report before any record is read (``open_file``); one too big is quarantined."""
    file_report = FileReport(source_name(ws, path), classify(path), opened.sha256)
    file_report.status, file_report.note = opened.status, opened.note
    if opened.status == "quarantined":
        try:
            _quarantine(ws, path, file_report)
        except OSError as exc:  # a file removed meanwhile: retried by the next run
            file_report.status = "skipped"
            file_report.note = f"unreadable: {exc.strerror or exc}: skipped"
    return file_report


PARALLEL_BYTES = 32 << 20  # message files' bytes on disk from which they are decoded by a process pool
DECODE_WORKERS = 2
DECODE_AHEAD, DECODE_AHEAD_BYTES = 256, 192 << 20  # files (and their bytes on disk) decoded ahead
SPAN_BYTES = 16 << 20  # a plain JSONL file of twice this is decoded in pieces of about this size
# Small plain files are decoded this many bytes and files at a time, in one task
GROUP_BYTES, GROUP_FILES = 8 << 20, 16


class _Decoder:
    """Opens and decodes the message files, in order: in this process, or — when the messages are
    large enough to pay for starting workers (about a CPU second) — a few files ahead in a process
    pool, so reading and decoding run on other cores while this process decides each file. A large
    plain JSONL file is decoded in line spans by all workers at once, and each span is decided as soon
    as it is decoded, so deciding its first records does not wait for the whole file. Small files in
    a row (GetChatData batches of a thousand records) are decoded several in one task."""

    def __init__(self, ws: Workspace, files: list[Path], limits: Limits, now_ms: int) -> None:
        self.todo = deque((p, source_name(ws, p)) for p in files if classify(p) == "messages")
        self.limits = limits
        self.settings = (limits, now_ms, ws.config["timezone"], ws.state_dir)
        # per file: (its opening, when done here), the tasks decoding it, its bytes on disk
        self.ahead: deque[tuple[OpenedFile | None, list[Future[Any]] | list[_Share], int]] = deque()
        self.current: list[Future[Any]] = []  # the span tasks of the file being decided
        workers = min(DECODE_WORKERS, os.cpu_count() or 1)
        large = sum(_size(path) for path, _ in self.todo) >= PARALLEL_BYTES
        self.parallel = large and workers > 1
        # The workers start from a thread (about a second waiting on the fork server), while this
        # process hashes the first files that are cut into spans (``_fill``).
        self.pool_start = (
            PoolStart(lambda: with_workers(decode_pool(workers), workers)) if self.parallel else None
        )

    @property
    def pool(self) -> ProcessPoolExecutor:
        """The decoding workers, once started (raising what starting them raised)."""
        assert self.pool_start is not None
        return self.pool_start.pool()

    def next(self) -> tuple[OpenedFile, Iterator[DecodedFile]]:
        """The next message file, opened, and its records decoded in parts (none if it cannot be
        read), each part given as soon as it is decoded."""
        if not self.parallel:
            path, name = self.todo.popleft()
            [(opened, decoded_file)] = open_and_decode([(path, name)], *self.settings[:3])
            return opened, iter([decoded_file] if decoded_file is not None else [])
        self._fill()
        opened, tasks, _ = self.ahead.popleft()
        self._fill()
        if opened is None:  # opened and decoded by one task
            opened, decoded_file = tasks[0].result()
            if decoded_file is not None:
                decoded_file.unspill()
            return opened, iter([decoded_file] if decoded_file is not None else [])
        self.current = tasks
        return opened, self._parts(tasks)

    @staticmethod
    def _parts(tasks: list[Future[Any]]) -> Iterator[DecodedFile]:
        while tasks:  # each task dropped as its part is given: the part is not held here once decided
            part = tasks.pop(0).result()
            part.unspill()
            yield part

    def _fill(self) -> None:
        """Start decoding the next files, as far ahead as DECODE_AHEAD and DECODE_AHEAD_BYTES allow.

        One worker alone decodes a large file that cannot be cut into spans (gzip, a .json document):
        it is started before the other files taken at the same time, so that it does not end last
        while the other workers wait."""
        taken: list[tuple[Path, str, int]] = []
        queued = sum(s for _, _, s in self.ahead)
        if self.ahead and (
            len(self.ahead) + min(GROUP_FILES, DECODE_AHEAD // 2) > DECODE_AHEAD
            or queued + GROUP_BYTES > DECODE_AHEAD_BYTES
        ):
            return  # until there is room for a group: small files taken one at a time would go alone
        while self.todo and len(self.ahead) + len(taken) < DECODE_AHEAD:
            path, name = self.todo[0]
            size = _size(path)
            if (self.ahead or taken) and queued + size > DECODE_AHEAD_BYTES:
                break
            self.todo.popleft()
            taken.append((path, name, size))
            queued += size
        whole = [not _splits(path, size) for path, _, size in taken]
        hashed: dict[int, OpenedFile] = {}
        if self.pool_start is not None and not self.pool_start.started():  # still starting: hash meanwhile
            hashed = {i: open_file(path, self.limits) for i, (path, _, _) in enumerate(taken) if not whole[i]}
        alone = {
            i: _Share(self.pool.submit(open_and_decode, [(path, name)], *self.settings), 0)
            for i, (path, name, size) in enumerate(taken)
            if whole[i] and size >= SPAN_BYTES
        }
        runs = {run[0]: run for run in self._runs(taken, whole)}
        shares: dict[int, _Share] = {}
        for i, (path, name, size) in enumerate(taken):
            if i in runs:  # sent in input order: this process decides the files in it
                task = self.pool.submit(open_and_decode, [taken[j][:2] for j in runs[i]], *self.settings)
                shares.update((j, _Share(task, n)) for n, j in enumerate(runs[i]))
            if whole[i]:
                self.ahead.append((None, [alone.get(i) or shares[i]], size))
                continue
            # Its spans go to the workers first and it is hashed meanwhile: hashing a file of
            # hundreds of MB here first kept a worker idle (the pool's first tasks are its spans).
            spans = _spans(path, size, self.limits)
            tasks = [self.pool.submit(decode_file, path, name, *self.settings, span) for span in spans]
            opened = hashed.get(i) or open_file(path, self.limits)
            if opened.status != "ingested":  # too big or unreadable (or it became so): nothing of it is kept
                for task in tasks:
                    task.cancel() or task.add_done_callback(_discard)
                tasks = []
            self.ahead.append((opened, tasks, size))

    @staticmethod
    def _runs(taken: list[tuple[Path, str, int]], whole: list[bool]) -> list[list[int]]:
        """The whole files of ``taken`` below SPAN_BYTES, by position, as they are decoded: each run of
        small plain files in a row (GROUP_FILES and GROUP_BYTES at most) in one task, any other alone."""
        runs: list[list[int]] = []
        run: list[int] = []
        for i, (path, _, size) in enumerate(taken):
            mine = whole[i] and size < SPAN_BYTES  # the others are cut into spans or started first
            joins = mine and _joins(path, size)
            if run and (
                not joins or len(run) == GROUP_FILES or sum(taken[j][2] for j in run) + size > GROUP_BYTES
            ):
                runs.append(run)
                run = []
            if joins:
                run.append(i)
            elif mine:
                runs.append([i])
        return [*runs, run] if run else runs

    def close(self) -> None:
        """Stops the workers; on an error, files not yet started are dropped, and the tables of
        those decoded but not decided removed."""
        if self.pool_start is not None:
            self.pool_start.shutdown()
            self.pool_start = None
        for tasks in [self.current, *(tasks for _, tasks, _ in self.ahead)]:
            for task in tasks:  # a part decided already was unspilled: discarding it does nothing
                if task.done() and not task.cancelled() and task.exception() is None:
                    result = task.result()
                    part = result[1] if isinstance(result, tuple) else result
                    if part is not None:
                        part.discard()
        self.ahead.clear()
        self.current = []


def _spans(path: Path, size: int, limits: Limits) -> list[LineSpan]:
    """The line spans a plain JSONL file is decoded in; none when it is over its cap or cannot be
    read (``open_file`` says which)."""
    try:
        return line_spans(path, SPAN_BYTES) if size <= file_cap(path, limits)[0] else []
    except OSError:
        return []


class _Share:
    """One file's share of a decoding task (``open_and_decode``, of one file or several), answering
    as a task of its own would."""

    def __init__(self, task: Future[Any], index: int) -> None:
        self.task, self.index = task, index

    def result(self) -> tuple[OpenedFile, DecodedFile | None]:
        return self.task.result()[self.index]

    def done(self) -> bool:
        return self.task.done()

    def cancelled(self) -> bool:
        return self.task.cancelled()

    def exception(self) -> BaseException | None:
        return self.task.exception()


def _joins(path: Path, size: int) -> bool:
    """Whether a whole message file is decoded together with its small neighbours: a plain file (what
    it holds is its size on disk) below GROUP_BYTES."""
    try:
        return size < GROUP_BYTES and not is_gzip(path)
    except OSError:  # reported when the file is opened
        return False


def _discard(task: Future[Any]) -> None:
    """Remove what a decoding task that is no longer wanted left (its spilled table)."""
    if not task.cancelled() and task.exception() is None:
        task.result().discard()


def _splits(path: Path, size: int) -> bool:
    """Whether a message file is decoded in line spans: plain JSONL, at least two spans' worth."""
    try:
        return size >= 2 * SPAN_BYTES and not reads_whole(path) and not is_gzip(path)
    except OSError:  # reported when the file is opened
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported when the file is opened
        return 0


def ingest(
    ws: Workspace,
    paths: Iterable[str | Path],
    on_file: Callable[[FileReport], None] | None = None,
    *,
    resume: bool = False,
) -> IngestReport:
    """Read every export under ``paths`` into the workspace lake; returns the reconciliation.

    ``resume`` is for the nightly job re-running files an interrupted run did not finish.
    """
    found = discover(paths)
    files = [p for p in found.files if not _workspace_own(ws, p)]
    limits = limits_of(ws)
    report = IngestReport()
    for skipped in found.skipped:
        report.files.append(
            FileReport(source_name(ws, skipped.path), "messages", status="skipped", note=skipped.reason)
        )
    # Rejects stream to a temporary file; one that a failure leaves unpublished is removed.
    with _Rejects(ws.rejects_dir, ws.config["ingest"]["max_stored_rejects"]) as rejects:
        messages = _MessageSink(ws, resume, int(time.time() * 1000))
        groups = _KeyedTable(ws.groups_dir / "groups.parquet", lake.GROUP_SCHEMA, itemgetter("roomid"))
        members = _KeyedTable(
            ws.members_dir / "members.parquet", lake.MEMBER_SCHEMA, itemgetter("roomid", "userid")
        )
        roster = _KeyedTable(ws.roster_dir / "roster.parquet", lake.ROSTER_SCHEMA, itemgetter("userid"))

        try:
            with collector_paused():
                _ingest_files(
                    ws, files, report, limits, rejects, messages, (groups, members, roster), resume, on_file
                )
        finally:  # also after a failure: what was written whole is indexed, the writer thread ends
            messages.close()

        # Small tables and the ledgers last, each write atomic.
        report.dates = sorted(messages.written)
        report.generic_types = dict(sorted(messages.generic.items()))
        for table in (groups, members, roster):
            table.write()
        rejects_path = rejects.publish()
    report.rejects_file = str(rejects_path) if rejects_path else None
    _write_file_ledgers(ws.files_dir, [f for f in report.files if f.status == "ingested"])
    return report


def _ingest_files(
    ws: Workspace,
    files: list[Path],
    report: IngestReport,
    limits: Limits,
    rejects: _Rejects,
    messages: _MessageSink,
    tables: tuple[_KeyedTable, _KeyedTable, _KeyedTable],
    resume: bool,
    on_file: Callable[[FileReport], None] | None,
) -> None:
    """Each file into the lake; messages handed to the writer whenever FLUSH_RECORDS were read."""
    unwritten = 0  # message records read since the last write
    decoder = _Decoder(ws, files, limits, messages.now_ms)
    try:
        for path in files:
            if classify(path) == "messages":
                opened, parts = decoder.next()
            else:
                opened, parts = open_file(path, limits), []
            file_report = _file_report(ws, path, opened)
            report.files.append(file_report)
            if file_report.kind == "messages" and file_report.status == "ingested":
                deciding = 0  # the file's records decided so far and about to be (its parts come as decoded)
                for part in parts:
                    deciding += part.records
                    messages.make_room(deciding)
                    messages.offer_file(part, file_report, rejects)
                    del part  # let go once decided: its table is freed unless it is buffered
                unwritten += file_report.records
                if unwritten >= FLUSH_RECORDS:
                    messages.flush()
                    unwritten = 0
            elif file_report.status == "ingested":
                _ingest_small(ws, path, file_report, limits, rejects, tables, resume)
            if file_report.status == "ingested" and file_report.records == 0:
                file_report.note = "empty file: no records"
            if on_file:
                on_file(file_report)
    finally:
        decoder.close()
    messages.flush()


def _offer_small(
    ws: Workspace,
    kind: str,
    record: RawRecord,
    tables: tuple[_KeyedTable, _KeyedTable, _KeyedTable],
    resume: bool,
) -> Outcome:
    """A groups or roster record into its small table."""
    groups, members, roster = tables
    try:
        if record.error is not None:
            raise RecordError(record.error)
        if kind == "groups":
            group, group_members = parse_group(record.value, ws.config["groups"])
            group["create_time"] = _ms_to_datetime(group["create_time"])
            outcome = groups.upsert({**group, "source": record.source}, resume=resume)
            for member in group_members:
                member["join_time"] = _ms_to_datetime(member["join_time"])
                if members.upsert(member) == "accepted":
                    outcome = "accepted"
        else:
            row = parse_roster_row(record.value)
            outcome = roster.upsert({**row, "source": record.source}, resume=resume)
    except RecordError as exc:
        return exc
    return outcome, None


def _ingest_small(
    ws: Workspace,
    path: Path,
    file_report: FileReport,
    limits: Limits,
    rejects: _Rejects,
    tables: tuple[_KeyedTable, _KeyedTable, _KeyedTable],
    resume: bool,
) -> None:
    """A groups or roster file into its small tables."""
    kind, name = file_report.kind, file_report.path
    if kind == "roster":
        records = read_roster_records(path, name, limits.document_bytes)
    else:
        records = read_records(path, limits, name)
    for record in records:
        outcome = _offer_small(ws, kind, record, tables, resume)
        file_report.records += 1
        if isinstance(outcome, RecordError):
            rejects.add(record, str(outcome))
            file_report.rejected += 1
            continue
        status, _ = outcome
        if status == "accepted":
            file_report.accepted += 1
        else:
            file_report.duplicates += 1
