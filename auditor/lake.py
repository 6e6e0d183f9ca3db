"""The Parquet lake: explicit schemas, date partitions, atomic deterministic writes.

Layout (DESIGN.md): ``lake/messages/date=YYYY-MM-DD/part-<hash>.parquet``; findings one file
per date; groups, members and roster one file each. File names are hashes of their rows, so an
interrupted and re-run ingest writes the very same files as an uninterrupted one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import atomic, failpoints, lake_manifest

TIMESTAMP = pa.timestamp("ms", tz="UTC")

MESSAGE_SCHEMA = pa.schema(
    [
        pa.field("msgid", pa.string(), nullable=False),
        pa.field("seq", pa.int64()),
        pa.field("action", pa.string(), nullable=False),
        pa.field("msgtype", pa.string(), nullable=False),
        pa.field("sender", pa.string(), nullable=False),
        pa.field("sender_kind", pa.string(), nullable=False),
        pa.field("tolist", pa.list_(pa.string()), nullable=False),
        pa.field("roomid", pa.string(), nullable=False),
        pa.field("msgtime", TIMESTAMP, nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("text_coverage", pa.string()),  # extracted / none_by_type / generic (null: older lakes)
        pa.field("pre_msgid", pa.string()),
        pa.field("raw", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)

GROUP_SCHEMA = pa.schema(
    [
        pa.field("roomid", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("shape", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("owner", pa.string(), nullable=False),
        pa.field("creator", pa.string(), nullable=False),
        pa.field("create_time", TIMESTAMP),
        pa.field("notice", pa.string(), nullable=False),
        pa.field("admins", pa.list_(pa.string()), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)

MEMBER_SCHEMA = pa.schema(
    [
        pa.field("roomid", pa.string(), nullable=False),
        pa.field("userid", pa.string(), nullable=False),
        pa.field("member_kind", pa.string(), nullable=False),
        pa.field("join_time", TIMESTAMP),
        pa.field("join_scene", pa.int64()),
    ]
)

ROSTER_SCHEMA = pa.schema(
    [
        pa.field("userid", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("left_date", pa.date32()),
        # optional (notifications by e-mail); absent from older roster files, read back as null
        pa.field("email", pa.string()),
        pa.field("source", pa.string(), nullable=False),
    ]
)

FINDING_SCHEMA = pa.schema(
    [
        pa.field("finding_id", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("roomid", pa.string(), nullable=False),
        pa.field("msgid", pa.string()),  # null for conversation-level findings
        pa.field("sender", pa.string(), nullable=False),
        pa.field("msgtime", TIMESTAMP, nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("excerpt", pa.string(), nullable=False),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),  # JSON
        pa.field("ruleset_version", pa.string(), nullable=False),
    ]
)

DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


def local_date(msgtime_ms: int, tz: zoneinfo.ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(msgtime_ms / 1000, tz).date().isoformat()


class LocalDates:
    """``local_date`` for a stream of mostly ordered times: remembers the last day's span in
    epoch milliseconds, so consecutive messages of one day cost a comparison, not a datetime."""

    def __init__(self, tz: zoneinfo.ZoneInfo) -> None:
        self.tz = tz
        self.start = self.end = 0
        self.date = ""

    def __call__(self, msgtime_ms: int) -> str:
        if not self.start <= msgtime_ms < self.end:
            day = dt.datetime.fromtimestamp(msgtime_ms / 1000, self.tz).date()
            midnight = dt.datetime.combine(day, dt.time(), self.tz)
            next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz)
            self.start, self.end = int(midnight.timestamp() * 1000), int(next_midnight.timestamp() * 1000)
            self.date = day.isoformat()
        return self.date


def partition_dir(base: Path, date: str) -> Path:
    return base / f"date={date}"


def dates(base: Path) -> list[str]:
    """Partition dates present under ``base``, ascending."""
    if not base.is_dir():
        return []
    return sorted(m.group(1) for p in base.iterdir() if p.is_dir() and (m := DATE_DIR.match(p.name)))


def partition_files(base: Path, date: str) -> list[Path]:
    folder = partition_dir(base, date)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def read_partition(base: Path, date: str, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """All rows of one date (only ``columns`` if given); an empty table when there are none."""
    files = partition_files(base, date)
    if not files:
        empty = schema.empty_table()
        return empty.select(columns) if columns else empty
    tables = [pq.read_table(f, columns=columns, schema=schema) for f in files]
    return pa.concat_tables(tables)


def read_matching(
    base: Path, date: str, schema: pa.Schema, key: str, value: str, columns: list[str]
) -> pa.Table:
    """The rows of one date whose ``key`` column equals ``value``, their ``columns`` only. The key
    column is read whole, the others only from the row groups holding a match: a rare value (a
    day's few chat records, whose raw records are wanted) costs a fraction of reading the date."""
    pieces = []
    for path in partition_files(base, date):
        handle = pq.ParquetFile(path)
        for group in range(handle.num_row_groups):
            matching = pc.equal(handle.read_row_group(group, columns=[key]).column(key), value)
            if pc.any(matching).as_py():
                pieces.append(handle.read_row_group(group, columns=columns).filter(matching))
    return pa.concat_tables(pieces) if pieces else schema.empty_table().select(columns)


def iter_batches(
    base: Path, date: str, columns: list[str] | None = None, batch_size: int = 65536
) -> Iterator[pa.RecordBatch]:
    """Stream a date's rows in record batches so memory does not grow with the partition."""
    for path in partition_files(base, date):
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns)


ROW_GROUP = 65_536  # rows per Parquet row group: the unit of streaming reads


def lake_root(path: Path) -> Path:
    """The lake folder a table file belongs to: ``<lake>/<table>/[date=D/]<file>``."""
    table_dir = path.parent.parent if DATE_DIR.match(path.parent.name) else path.parent
    return table_dir.parent


def write_table(
    path: Path, table: pa.Table, order: pa.Array | None = None, dictionary: bool | list[str] = True
) -> None:
    """Atomically write one Parquet file (deterministic bytes for the same rows), recorded in the
    lake manifest with its hash and row count (see lake_manifest for the kill-safe order).

    ``order``: the rows' indices in the order to write them, taken a row group at a time, so a
    sorted copy of the whole table is never held beside it (the same bytes as writing
    ``table.take(order)``); it may pick only some of the rows. ``dictionary``: the columns (Parquet
    paths) dictionary-encoded, or all."""
    root = lake_root(path)
    options = {"compression": "zstd", "write_statistics": True, "use_dictionary": dictionary}
    with atomic.atomic_path(path) as tmp:
        if order is None:
            pq.write_table(table, tmp, row_group_size=ROW_GROUP, **options)
        else:
            with pq.ParquetWriter(tmp, table.schema, **options) as writer:
                for group in _ordered_groups(table, order):
                    writer.write_table(group, row_group_size=ROW_GROUP)
        # The rows written: an order may pick only some of the table's rows.
        rows = table.num_rows if order is None else len(order)
        record = lake_manifest.FileRecord.of(tmp, rows)
        lake_manifest.begin(root, path, record)
        failpoints.reached("lake-entry-pending")
    failpoints.reached("lake-file-renamed")
    lake_manifest.commit(root, path, record)


def _ordered_groups(table: pa.Table, order: pa.Array) -> Iterator[pa.Table]:
    """The rows at ``order``, a row group at a time (no rows: one empty group). Each group is taken
    from the window of rows its indices span: Arrow concatenates every chunk of a chunked table a
    take touches, and ingest's tables are many chunks (one per decoded part) in nearly sorted order,
    so taking from the whole table copied it whole once per row group (most of the writer's time)."""
    indices = order.to_numpy()
    if not len(indices):
        yield table.take(order)
        return
    for start in range(0, len(indices), ROW_GROUP):
        part = indices[start : start + ROW_GROUP]
        low = int(part.min())
        window = table.slice(low, int(part.max()) + 1 - low)
        yield window.take(pa.array(part - low))


def content_name(prefix: str, keys: pa.Array | pa.ChunkedArray) -> str:
    """A file name made from the string keys it holds, in order: the same keys, the same name.
    Hashes the Arrow array's own buffers (value lengths, then bytes), with no Python string per key."""
    values = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    values = values.cast(pa.large_string())  # one offset width whatever the input's
    offsets = np.frombuffer(values.buffers()[1], np.int64)[values.offset : values.offset + len(values) + 1]
    data = values.buffers()[2]
    digest = hashlib.sha256(np.diff(offsets).tobytes())
    if data is not None and len(values):
        digest.update(memoryview(data)[offsets[0] : offsets[-1]])
    return f"{prefix}-{digest.hexdigest()[:20]}.parquet"


# Message columns worth a dictionary: those whose values repeat. msgid, seq, msgtime, raw and source
# are (nearly) unique per row, so a dictionary there is built only to be dropped once it outgrows its
# page (work and allocations in the writer for nothing); plain, they are also 2.5 % smaller.
MESSAGE_DICTIONARY_COLUMNS = [
    "action",
    "msgtype",
    "sender",
    "sender_kind",
    "tolist.list.element",
    "roomid",
    "text",
    "text_coverage",
    "pre_msgid",
]


def message_order(table: pa.Table) -> pa.Array:
    """The rows' indices in the lake's order within a date: by msgtime, then msgid."""
    return pc.sort_indices(table, sort_keys=[("msgtime", "ascending"), ("msgid", "ascending")])


def append_messages(base: Path, date: str, table: pa.Table, order: pa.Array | None = None) -> Path:
    """Add already-deduplicated rows to a date as one new file named after its msgids: those at
    ``order`` (a run of ``message_order``, as when a large date is written in parts), or all."""
    if order is None:
        order = message_order(table)
    path = partition_dir(base, date) / content_name("part", table.column("msgid").take(order))
    write_table(path, table, order, MESSAGE_DICTIONARY_COLUMNS)
    return path


def findings_path(base: Path, date: str) -> Path:
    """One file per date, replaced whole (os.replace is atomic): re-auditing never mixes old and new."""
    return partition_dir(base, date) / "findings.parquet"


def read_findings(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A findings file with ``date`` as an ISO string, the form the code passes dates around in.

    The file stores date32 (as every date in the lake); files written before it did held the string.
    """
    table = pq.read_table(path, columns=columns)
    if "date" in table.column_names and pa.types.is_date32(table.schema.field("date").type):
        index = table.schema.get_field_index("date")
        table = table.set_column(index, "date", pc.cast(table.column("date"), pa.string()))
    return table


def read_single(path: Path, schema: pa.Schema) -> pa.Table:
    return pq.read_table(path, schema=schema) if path.exists() else schema.empty_table()
