"""Reading and decoding one message export file into lake columns: the CPU-heavy half of ingest.

It needs nothing but the file and the settings, so ingest runs it in its own process for small
inputs and in a pool of worker processes for large ones (``decode_in_pool``), while the main
process keeps deciding every record (dedup against the lake, order, rejects) as before.

A file comes back as a ``DecodedFile``: every record that parses as one Arrow table in the lake's
columns, in input order — the common shape (nearly all) read by Arrow's JSON reader or msgspec a
column at a time (no dict or tuple per record), the other shapes (files, links, cards …: a few in
a hundred) parsed by ``parse_message`` and tabled with them — and the rejected records one by one
with their position, so the records can be replayed in input order (``DecodedFile.in_order``).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import os
import tempfile
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor import lake, msgindex
from auditor.atomic import file_sha256
from auditor.process_pool import exit_with_parent, fresh_pool
from auditor.wecom.common_arrow import common_rows, common_text_columns
from auditor.wecom.files import (
    NOT_DECODED,
    Limits,
    LineSpan,
    OversizeInput,
    RawRecord,
    RecordBlock,
    blocks_of,
    decoded,
    exceeds,
    file_cap,
    is_gzip,
    joined_blocks,
    read_blocks,
)
from auditor.wecom.messages import (
    FUTURE_SLACK_MS,
    CommonRecord,
    RecordError,
    common_record,
    common_texts,
    parse_message,
    sender_kind,
)

Row = tuple[Any, ...]  # a lake row in MESSAGE_SCHEMA order, without raw and source
ROW_FIELDS = [f.name for f in lake.MESSAGE_SCHEMA if f.name not in ("raw", "source")]
HASH_COLUMN = "msgid_hash"  # msgindex.msgid_hashes of each row's msgid, beside the lake's columns
DATE_COLUMN = "date"  # the local date of each row, beside the lake's columns
# Rows as ingest buffers them: the hashes are made once, here, for the lookup and the new file's index run.
HASHED_SCHEMA = lake.MESSAGE_SCHEMA.append(pa.field(HASH_COLUMN, pa.uint64(), nullable=False))
DECODED_SCHEMA = HASHED_SCHEMA.append(pa.field(DATE_COLUMN, pa.string(), nullable=False))
# A decoded block's rows of one kind (Arrow's, msgspec's, parse_message's): raw and source are added
# once for the block's rows in order (``_block_table``).
PART_SCHEMA = pa.schema([f for f in DECODED_SCHEMA if f.name not in ("raw", "source")])
_row_of_dict = itemgetter(*ROW_FIELDS)
# Places in a Row of the fields read from rows one by one.
MSGID, MSGTYPE, MSGTIME, COVERAGE = (
    ROW_FIELDS.index(n) for n in ("msgid", "msgtype", "msgtime", "text_coverage")
)
T = TypeVar("T")


@dataclass
class DecodedFile:
    """A message file's records: ``table`` holds the ones that parse, in input order
    (DECODED_SCHEMA), ``others`` the rejected ones as (position among all records, record, why it
    is rejected), in input order. Past ``Limits.stored_rejects`` rejected records, the rest are only
    counted (``omitted_rejects``; positions leave them out): the reject log stores no more of a
    file, so a file of millions of rejects costs no more memory than one of a few."""

    name: str
    records: int
    table: pa.Table
    others: list[tuple[int, RawRecord, RecordError]] = field(default_factory=list)
    omitted_rejects: int = 0  # rejected records past ``Limits.stored_rejects``: counted, not in ``others``
    spilled: Spill | None = None  # where ``table`` waits while it travels between processes
    spilled_rows: tuple[int, int] | None = None  # (offset, length) of its rows in a spill it shares

    def spill(self, folder: Path) -> None:
        """Move the table into a Spill in ``folder``."""
        self.spilled = Spill.of(self.table, folder)
        self.table = self.table.schema.empty_table()

    def unspill(self) -> None:
        """Map the spilled table back (no copy); the mapping lives as long as the table's buffers."""
        if self.spilled is None:
            return
        table = self.spilled.mapped()
        self.table = table if self.spilled_rows is None else table.slice(*self.spilled_rows)
        self.spilled = self.spilled_rows = None

    def discard(self) -> None:
        if self.spilled is not None:
            self.spilled.path.unlink(missing_ok=True)
            self.spilled = self.spilled_rows = None

    def in_order(self, rows: list[int]) -> Iterator[tuple[RawRecord, Row | RecordError]]:
        """The records at ``rows`` of the table (ascending) and every rejected record, merged in
        input order, each as (record, row or why it is rejected) — rare, so rebuilt in Python."""
        picked = self.table.take(pa.array(rows, pa.int64())) if rows else self.table.slice(0, 0)
        columns = {name: picked.column(name).to_pylist() for name in ROW_FIELDS if name != "msgtime"}
        columns["msgtime"] = picked.column("msgtime").cast(pa.int64()).to_pylist()
        table_rows = zip(*(columns[name] for name in ROW_FIELDS), strict=True)
        raws, sources = picked.column("raw").to_pylist(), picked.column("source").to_pylist()
        others, taken = self.others, 0
        for index, row, raw, source in zip(rows, table_rows, raws, sources, strict=True):
            # the table's row ``index`` is record number index + (others before it)
            while taken < len(others) and others[taken][0] <= index + taken:
                yield others[taken][1:]
                taken += 1
            file, _, line = source.rpartition(":")
            yield RawRecord(file, int(line), raw.encode("utf-8"), NOT_DECODED), row
        for other in others[taken:]:
            yield other[1:]


def spill_together(decoded_files: list[DecodedFile], folder: Path) -> None:
    """Spill the tables of files decoded together (consecutive slices of one table) as one file."""
    if not decoded_files:
        return
    spill = Spill.of(pa.concat_tables([d.table for d in decoded_files]), folder)
    offset = 0
    for decoded_file in decoded_files:
        rows = decoded_file.table.num_rows
        decoded_file.spilled, decoded_file.spilled_rows = spill, (offset, rows)
        decoded_file.table = decoded_file.table.schema.empty_table()
        offset += rows


@dataclass
class Spill:
    """A decoded table in an Arrow IPC file, for the process that decides the records to map rather
    than unpickle (a pickled table is copied three times on the way). It is a hidden temporary,
    private (raw chat content), removed once mapped or, after a killed run, by the next run under the
    lock (``atomic.remove_stale_temps``). Files decoded together share one (pickled together, they
    share it in the deciding process too): it is mapped once."""

    path: Path
    table: pa.Table | None = field(default=None, compare=False)

    @classmethod
    def of(cls, table: pa.Table, folder: Path) -> Spill:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".tmp-decoded-", suffix=".arrow", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle, pa.ipc.new_file(handle, table.schema) as writer:
                writer.write_table(table)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return cls(Path(name))

    def mapped(self) -> pa.Table:
        """The table, mapped (once) and its file removed."""
        if self.table is None:
            try:
                self.table = pa.ipc.open_file(pa.memory_map(str(self.path))).read_all()
            finally:
                self.path.unlink(missing_ok=True)
        return self.table


def rows_table(
    rows: list[Row], raws: list[bytes], sources: list[str], hashes: Sequence[int] | np.ndarray
) -> pa.Table:
    """Rows parsed one by one (ROW_FIELDS order), their raw records, sources and msgid hashes as a
    table of HASHED_SCHEMA, a column at a time: Python objects cost ten times the bytes."""
    columns: dict[str, Any] = dict(zip(ROW_FIELDS, zip(*rows, strict=True), strict=True))
    columns["msgtime"] = pa.array(columns["msgtime"], pa.int64()).cast(lake.TIMESTAMP)
    columns["raw"] = pa.array(raws, pa.binary()).cast(pa.string())  # checks the UTF-8
    columns["source"] = sources
    columns[HASH_COLUMN] = np.asarray(hashes, msgindex.HASH)
    return pa.table([columns[f.name] for f in HASHED_SCHEMA], schema=HASHED_SCHEMA)


def _parsed_table(rows: list[Row], records: list[RawRecord], tz: zoneinfo.ZoneInfo) -> pa.Table:
    """The rows ``parse_message`` made of records of other shapes, as PART_SCHEMA."""
    table = rows_table(
        rows,
        [record.raw for record in records],
        [record.source for record in records],
        msgindex.msgid_hashes([row[MSGID] for row in rows]),
    )
    dates = local_dates(np.asarray([row[MSGTIME] for row in rows], np.int64), tz)
    table = table.append_column(DECODED_SCHEMA.field(DATE_COLUMN), dates)
    return table.drop_columns(["raw", "source"])


def other_row(record: RawRecord, now_ms: int) -> tuple[RawRecord, Row | RecordError]:
    """A record not of the common shape: decoded, then parsed by ``parse_message`` (the one parser),
    or why it is rejected. The record comes back NOT_DECODED: its row (or error) is all that is used,
    and the decoded JSON would cost many times its bytes while it waits to be decided."""
    value = decoded(record)
    if value.error is not None:
        return record, RecordError(value.error)
    try:
        return record, _row_of_dict(parse_message(value.value, now_ms=now_ms))
    except RecordError as exc:  # kept without its traceback: no cycle for the collector
        return record, exc.with_traceback(None)


def record_row(record: RawRecord, now_ms: int) -> tuple[RawRecord, Row | RecordError]:
    """One record's row as ``decode_records`` makes it (the common shape by msgspec, anything else by
    ``parse_message``): the two ways must agree, and tests compare them through this."""
    decoded_file = decode_records("", iter([record]), now_ms, zoneinfo.ZoneInfo("UTC"))
    return next(decoded_file.in_order(list(range(decoded_file.table.num_rows))))


BLOCK_RECORDS = 16_384  # records read by Arrow (or tried against the common shape) at a time


def decode_records(
    name: str,
    records: Iterator[RawRecord],
    now_ms: int,
    tz: zoneinfo.ZoneInfo,
    stored_rejects: int | None = None,
) -> DecodedFile:
    """``decode_blocks`` of ``records`` taken BLOCK_RECORDS at a time."""
    return decode_blocks(name, blocks_of(records, BLOCK_RECORDS), now_ms, tz, stored_rejects)


def decode_blocks(
    name: str,
    blocks: Iterator[RecordBlock],
    now_ms: int,
    tz: zoneinfo.ZoneInfo,
    stored_rejects: int | None = None,
) -> DecodedFile:
    """Split the records of ``blocks`` into the table of those that parse and the rejected ones
    (see DecodedFile), keeping at most ``stored_rejects`` rejected records (None: all). In each
    block, Arrow's JSON reader reads the common-shape records into columns (``common_rows``),
    msgspec the few it leaves (``common_record``), and ``parse_message`` the rest; the block's
    rows are then put back in input order."""
    latest_ms = now_ms + FUTURE_SLACK_MS
    tables: list[pa.Table] = []
    others: list[tuple[int, RawRecord, RecordError]] = []
    count = 0
    kept = _KeptRejects(stored_rejects)
    for block in blocks:
        size = len(block.raws)
        whole = pa.array(block.raws, pa.large_binary())
        if block.specials:  # only records without an error are read
            readable = np.asarray([i for i in range(size) if block.record(i).error is None], np.int64)
            parsed, by_arrow = common_rows([block.raws[i] for i in readable], latest_ms, whole.take(readable))
            by_arrow = readable[by_arrow]
        else:
            parsed, by_arrow = common_rows(block.raws, latest_ms, whole)
        left = np.ones(size, bool)
        left[by_arrow] = False
        parts = [_arrow_table(parsed, tz)]
        places = [by_arrow]
        common: list[CommonRecord] = []
        taken: list[int] = []  # the places in ``block`` of ``common``
        parsed: list[Row] = []  # rows of other shapes, their records and places in ``block``
        parsed_records: list[RawRecord] = []
        parsed_at: list[int] = []
        for index in np.flatnonzero(left).tolist():
            record = block.record(index)
            value = common_record(record.raw, latest_ms) if record.error is None else None
            if value is not None:
                common.append(value)
                taken.append(index)
                continue
            record, row = other_row(record, now_ms)
            if isinstance(row, RecordError):
                if kept.keeps():
                    others.append((count + index - kept.omitted, record, row))
                continue
            parsed.append(row)
            parsed_records.append(record)
            parsed_at.append(index)
        if common:
            parts.append(_common_table(common, tz))
            places.append(np.asarray(taken, np.int64))
        if parsed:
            parts.append(_parsed_table(parsed, parsed_records, tz))
            places.append(np.asarray(parsed_at, np.int64))
        tables.append(_block_table(block, whole, parts, places))
        count += size
    table = pa.concat_tables(tables) if tables else DECODED_SCHEMA.empty_table()
    return DecodedFile(name, count, table, others, kept.omitted)


def _block_table(
    block: RecordBlock, whole: pa.LargeBinaryArray, parts: list[pa.Table], places: list[np.ndarray]
) -> pa.Table:
    """A block's rows in input order (DECODED_SCHEMA): ``parts`` (PART_SCHEMA: Arrow's rows, then
    msgspec's and parse_message's) are made of the records at ``places`` of ``block``; their rows
    are put in order, and the raw records and sources are cut once for the rows kept, ``whole``
    being the block's records, rather than made for each part and reordered with it (a copy of
    every record's bytes, a tenth of the decoding)."""
    kept = np.concatenate(places)
    if len(parts) > 1:  # the rows of msgspec and parse_message among Arrow's
        order = np.argsort(kept, kind="stable")
        rows, kept = pa.concat_tables(parts).take(order), kept[order]
    else:
        rows = parts[0]
    columns = dict(zip(rows.column_names, rows.columns, strict=True))
    kept_raws = whole if len(kept) == len(whole) else whole.take(kept)
    columns["raw"] = kept_raws.cast(pa.string())  # a row's record is valid UTF-8
    columns["source"] = _sources(block.files_at(kept.tolist()), np.asarray(block.lines)[kept])
    return pa.table([columns[f.name] for f in DECODED_SCHEMA], schema=DECODED_SCHEMA)


class _KeptRejects:
    """Which rejected records of a file are kept: the first ``limit`` (None: all); the rest are counted."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.kept = self.omitted = 0

    def keeps(self) -> bool:
        """Whether the next rejected record is kept (else it is counted as omitted)."""
        if self.limit is not None and self.kept >= self.limit:
            self.omitted += 1
            return False
        self.kept += 1
        return True


def _split(
    joined: DecodedFile, files: list[tuple[str, int]], stored_rejects: int | None
) -> list[DecodedFile]:
    """The DecodedFile of each of ``files`` ((name, records), in order) decoded together as ``joined``
    (every reject kept): its rows a slice of the joined table, its rejects kept as ``decode_blocks``
    keeps a file's."""
    positions = [position for position, _, _ in joined.others]
    out = []
    start = row = 0  # the file's first record, and its first row in the joined table
    for name, records in files:
        low, high = bisect.bisect_left(positions, start), bisect.bisect_left(positions, start + records)
        kept = _KeptRejects(stored_rejects)
        others = [
            (position - start - kept.omitted, record, value)
            for position, record, value in joined.others[low:high]
            if kept.keeps()
        ]
        common = records - (high - low)
        out.append(DecodedFile(name, records, joined.table.slice(row, common), others, kept.omitted))
        start, row = start + records, row + common
    return out


def _sources(files: list[str], lines: Sequence[int] | np.ndarray) -> pa.Array:
    """The ``source`` column (``file:line``, as ``RawRecord.source`` spells it) made by Arrow in one
    pass rather than a Python string per record; a decoded file's records nearly always share one
    file name."""
    line_texts = pa.array(lines, pa.int64()).cast(pa.string())
    if not files:
        return line_texts
    file = files[0]
    names = pa.scalar(file, pa.string()) if files.count(file) == len(files) else pa.array(files, pa.string())
    return pc.binary_join_element_wise(names, line_texts, ":")


def _common_table(common: list[CommonRecord], tz: zoneinfo.ZoneInfo) -> pa.Table:
    """The rows of common-shape records, a column at a time (what ``common_row`` would make of each),
    as PART_SCHEMA."""
    senders = [r.sender for r in common]
    kinds = {sender: sender_kind(sender) for sender in set(senders)}
    texts, coverages = common_texts(common)
    msgtimes = [r.msgtime for r in common]
    msgids = [r.msgid for r in common]
    columns: dict[str, Any] = {
        "msgid": msgids,
        "seq": pa.array([r.seq for r in common], pa.int64()),
        "action": [r.action for r in common],
        "msgtype": [r.msgtype for r in common],
        "sender": senders,
        "sender_kind": [kinds[s] for s in senders],
        "tolist": [r.tolist or [] for r in common],
        "roomid": [r.roomid or "" for r in common],
        "msgtime": pa.array(msgtimes, pa.int64()).cast(lake.TIMESTAMP),
        "text": texts,
        "text_coverage": coverages,
        "pre_msgid": pa.nulls(len(common), pa.string()),
        HASH_COLUMN: msgindex.msgid_hashes(msgids),
        DATE_COLUMN: local_dates(np.asarray(msgtimes, np.int64), tz),
    }
    return pa.table([columns[f.name] for f in PART_SCHEMA], schema=PART_SCHEMA)


def local_dates(msgtimes: np.ndarray, tz: zoneinfo.ZoneInfo) -> pa.Array:
    """``lake.LocalDates`` of each of ``msgtimes`` (epoch ms), a day at a time: the times in order,
    each day's run found by a binary search for its end."""
    local_date = lake.LocalDates(tz)
    order = np.argsort(msgtimes, kind="stable")
    ordered = msgtimes[order]
    day = np.empty(len(msgtimes), np.int64)
    days: list[str] = []
    start = 0
    while start < len(ordered):
        date = local_date(int(ordered[start]))
        end = int(np.searchsorted(ordered, local_date.end, side="left"))
        day[order[start:end]] = len(days)
        days.append(date)
        start = end
    return pa.array(days, pa.string()).take(day)


_NO_TOLIST = pa.scalar([], pa.list_(pa.string()))


def _arrow_table(parsed: pa.Table, tz: zoneinfo.ZoneInfo) -> pa.Table:
    """The rows of the common-shape records read by Arrow (``common_rows``): ``_common_table``'s, made
    from Arrow's columns."""
    column = {name: parsed.column(name).combine_chunks() for name in parsed.column_names}
    senders = column["from"]
    encoded = senders.dictionary_encode()  # each distinct sender's kind asked once
    kinds = pa.array([sender_kind(sender) for sender in encoded.dictionary.to_pylist()], pa.string())
    texts, coverages = common_text_columns(column["msgtype"], column["text"])
    tolist = column["tolist"]
    columns: dict[str, Any] = {
        "msgid": column["msgid"],
        "seq": column["seq"],
        "action": column["action"],
        "msgtype": column["msgtype"],
        "sender": senders,
        "sender_kind": kinds.take(encoded.indices),
        "tolist": pc.if_else(pc.is_null(tolist), _NO_TOLIST, tolist),
        "roomid": pc.fill_null(column["roomid"], ""),
        "msgtime": column["msgtime"].cast(lake.TIMESTAMP),
        "text": texts,
        "text_coverage": coverages,
        "pre_msgid": pa.nulls(len(senders), pa.string()),
        HASH_COLUMN: msgindex.msgid_hashes(column["msgid"]),
        DATE_COLUMN: local_dates(column["msgtime"].to_numpy(), tz),
    }
    return pa.table([columns[f.name] for f in PART_SCHEMA], schema=PART_SCHEMA)


@dataclass
class OpenedFile:
    """A file before its records are read: its hash, and whether it can be read at all."""

    sha256: str = ""
    status: str = "ingested"  # or "quarantined" (too big to read) or "skipped" (unreadable); see note
    note: str = ""


def open_file(path: Path, limits: Limits, decompress: bool = True) -> OpenedFile:
    """Hash the file and check it decompresses within its cap (one bounded pass); with
    ``decompress=False`` only its size on disk is checked here (``open_and_decode`` checks the
    rest of a gzip file while it decodes it)."""
    opened = OpenedFile()
    try:
        opened.sha256 = file_sha256(path)
        if exceeds(path, file_cap(path, limits)[0], decompress):
            _quarantine(opened, path, limits)
    except OSError as exc:  # permissions, a file removed meanwhile: retried by the next run
        opened.status = "skipped"
        opened.note = f"unreadable: {exc.strerror or exc}: skipped"
    return opened


def _quarantine(opened: OpenedFile, path: Path, limits: Limits) -> None:
    cap, setting = file_cap(path, limits)
    opened.status = "quarantined"
    opened.note = f"decompresses to more than {cap:,} bytes ({setting}): quarantined, not read"


def open_and_decode(
    files: list[tuple[Path, str]], limits: Limits, now_ms: int, tz_key: str, spill_to: Path | None = None
) -> list[tuple[OpenedFile, DecodedFile | None]]:
    """Message files ((path, name) each) opened and, when they can be read, decoded (None otherwise);
    the tables spilled into ``spill_to`` when given (see ``Spill``).

    One file is decoded as it is read. Several (small ones) are read first and their records
    decoded together (``joined_blocks``), then given back a file each, their tables in one spill:
    a small file alone pays the per-block and per-spill costs of a large one.

    A gzip file is checked against its cap while it is decoded, not inflated once to check it and
    again to decode it: one that passes the cap is quarantined and its records dropped, so it is
    still read whole or not at all, and no more of it is held than of a file at the cap."""
    if len(files) == 1:
        (path, name), settings = files[0], (limits, now_ms, tz_key, spill_to)
        return [_opened(path, limits, functools.partial(decode_file, path, name, *settings))]
    read = [_opened(path, limits, functools.partial(_all_blocks, path, limits, name)) for path, name in files]
    readable = [
        (name, blocks) for (_, name), (_, blocks) in zip(files, read, strict=True) if blocks is not None
    ]
    with collector_paused():
        every_block = (block for _, blocks in readable for block in blocks)
        joined = decode_blocks(
            "", joined_blocks(every_block, BLOCK_RECORDS), now_ms, zoneinfo.ZoneInfo(tz_key)
        )
    sizes = [(name, sum(len(block.raws) for block in blocks)) for name, blocks in readable]
    decoded = iter(_split(joined, sizes, limits.stored_rejects))
    out = [(opened, None if blocks is None else next(decoded)) for opened, blocks in read]
    if spill_to is not None:
        spill_together([d for _, d in out if d is not None], spill_to)
    return out


def _all_blocks(path: Path, limits: Limits, name: str, strict_cap: bool) -> list[RecordBlock]:
    return list(read_blocks(path, limits, name, size=BLOCK_RECORDS, strict_cap=strict_cap))


def _opened(path: Path, limits: Limits, read: Callable[..., T]) -> tuple[OpenedFile, T | None]:
    """The file opened and, when it can be read, what ``read(strict_cap=is_gzip)`` reads of it (None
    otherwise)."""
    try:
        gzip = is_gzip(path)
    except OSError:
        gzip = False  # open_file reports it
    opened = open_file(path, limits, decompress=not gzip)
    if opened.status != "ingested":
        return opened, None
    try:
        return opened, read(strict_cap=gzip)
    except OversizeInput:
        _quarantine(opened, path, limits)
        return opened, None


def decode_file(
    path: Path,
    name: str,
    limits: Limits,
    now_ms: int,
    tz_key: str,
    spill_to: Path | None = None,
    span: LineSpan | None = None,
    strict_cap: bool = False,
) -> DecodedFile:
    """The records of a message file opened already (or of its ``span``), decoded; ``strict_cap``:
    OversizeInput when it decompresses past its cap (``read_records``)."""
    with collector_paused():
        blocks = read_blocks(path, limits, name, span=span, size=BLOCK_RECORDS, strict_cap=strict_cap)
        decoded_file = decode_blocks(name, blocks, now_ms, zoneinfo.ZoneInfo(tz_key), limits.stored_rejects)
    if spill_to is not None:
        decoded_file.spill(spill_to)
    return decoded_file


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Ingest holds a few small tuples and lists per record while it reads a file and until the rows
    are written (up to FLUSH_RECORDS records and a file); Python's cyclic collector would walk them
    again and again (a full pass over them takes most of a second), though they form no cycles. It is
    paused for the run, and in a decoding worker for each file."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _init_decoder() -> None:
    exit_with_parent()
    # A decoding worker allocates and frees Arrow buffers block after block (Arrow's JSON reader, the
    # columns, the spill). mimalloc, with the purge delay of 0 that auditor/__init__.py sets for the
    # audit's memory, hands each freed page back to the kernel and faults it in again for the next
    # block: on the 1M archive that was a third of the decoding's CPU, in kernel time. The system
    # allocator keeps them for reuse; a worker holds no more than a file's or span's columns at once.
    pa.set_memory_pool(pa.system_memory_pool())


def decode_pool(workers: int) -> ProcessPoolExecutor:
    """Decoding workers, started as the audit's are (never forked from the locked process). The
    initializer lives here so that the fork server imports this module (pyarrow, msgspec, the
    parsers) once, before it forks the workers, rather than each worker on its first task."""
    return fresh_pool(workers, _init_decoder)
