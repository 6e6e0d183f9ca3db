"""A lake file written in a row order a row group at a time (``lake.write_table`` with ``order``, as
``append_messages`` writes) has the very bytes of the sorted table written whole."""

from __future__ import annotations

import errno

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import lake, lake_manifest

ROWS = st.lists(
    st.tuples(st.integers(0, 5), st.text(alphabet="ab群😀", min_size=1, max_size=4), st.text(max_size=30)),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, row_group=st.integers(1, 9), chunk=st.integers(1, 12))
def test_writing_in_order_equals_writing_the_sorted_table(tmp_path_factory, rows, row_group, chunk):
    """``chunk``: the table comes in chunks of that many rows, as ingest's batches do (a row group
    is taken from the chunks its rows span); nullable and list columns as the lake's."""
    base = tmp_path_factory.mktemp("lake") / "lake" / "messages"
    whole = pa.table(
        {
            "msgtime": pa.array([t for t, _, _ in rows], pa.int64()).cast(lake.TIMESTAMP),
            "msgid": [m for _, m, _ in rows],
            "text": [x for _, _, x in rows],
            "pre_msgid": pa.array([x if t % 2 else None for t, _, x in rows], pa.string()),
            "tolist": pa.array([list(x[:3]) for _, _, x in rows], pa.list_(pa.string())),
        }
    )
    table = pa.concat_tables([whole.slice(start, chunk) for start in range(0, len(rows), chunk)] or [whole])
    order = pc.sort_indices(table, sort_keys=[("msgtime", "ascending"), ("msgid", "ascending")])
    original = lake.ROW_GROUP
    lake.ROW_GROUP = row_group  # not monkeypatch: hypothesis runs many examples in one test
    try:
        lake.write_table(base / "date=2026-11-16" / "ordered.parquet", table, order)
        lake.write_table(base / "date=2026-11-16" / "sorted.parquet", table.take(order))
    finally:
        lake.ROW_GROUP = original
    ordered = (base / "date=2026-11-16" / "ordered.parquet").read_bytes()
    assert ordered == (base / "date=2026-11-16" / "sorted.parquet").read_bytes()
    assert lake.read_partition(base, "2026-11-16", table.schema).num_rows == 2 * len(rows)


@settings(max_examples=25, deadline=None)
@given(rows=ROWS, keep=st.data())
def test_an_order_picking_some_rows_records_the_rows_written(tmp_path_factory, rows, keep):
    """An ``order`` may pick only some rows (one half of a date, say): the manifest records the
    rows in the file, not the table's, so ``check`` finds the file whole."""
    base = tmp_path_factory.mktemp("lake") / "lake" / "messages"
    table = pa.table(
        {
            "msgtime": pa.array([t for t, _, _ in rows], pa.int64()).cast(lake.TIMESTAMP),
            "msgid": [m for _, m, _ in rows],
        }
    )
    picked = keep.draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), unique=True)) if rows else []
    path = base / "date=2026-11-16" / "some.parquet"
    lake.write_table(path, table, pa.array(picked, pa.int64()))
    root = lake.lake_root(path)
    entry = lake_manifest.read_entry(root, path)
    digest, size = lake_manifest.file_sha256(path), path.stat().st_size
    assert lake_manifest.footer_rows(path) == len(picked)
    assert lake_manifest.match(entry, sha256=digest, size=size, rows=len(picked)) is None


def test_a_disk_full_after_some_row_groups_leaves_no_file(tmp_path, monkeypatch):
    """The ordered write fails between row groups: the error is raised and neither the file nor its
    temporary stays."""
    real_writer = pq.ParquetWriter

    class FillsUp(real_writer):
        written = 0

        def write_table(self, table, row_group_size=None):
            FillsUp.written += 1
            if FillsUp.written == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            super().write_table(table, row_group_size=row_group_size)

    monkeypatch.setattr(lake.pq, "ParquetWriter", FillsUp)
    monkeypatch.setattr(lake, "ROW_GROUP", 2)
    table = pa.table(
        {"msgtime": pa.array([3, 1, 2, 5, 4], pa.int64()).cast(lake.TIMESTAMP), "msgid": list("abcde")}
    )
    folder = tmp_path / "lake" / "messages" / "date=2026-11-16"
    with pytest.raises(OSError, match="No space left"):
        lake.append_messages(folder.parent, "2026-11-16", table)
    assert FillsUp.written == 2 and not [p for p in folder.rglob("*") if p.is_file()]


def test_a_message_file_keeps_dictionaries_only_where_values_repeat(tmp_path):
    """``MESSAGE_DICTIONARY_COLUMNS`` names real leaf columns of the message schema: those columns
    are dictionary-encoded, the (nearly) unique ones — msgid, seq, msgtime, raw, source — plain."""
    rows = [
        {
            "msgid": f"m{i}",
            "seq": i,
            "action": "send",
            "msgtype": "text",
            "sender": "zhangsan",
            "sender_kind": "internal",
            "tolist": ["lisi"],
            "roomid": "wrA",
            "msgtime": 1_763_000_000_000 + i,
            "text": "收到",
            "text_coverage": "extracted",
            "pre_msgid": None,
            "raw": f'{{"msgid":"m{i}"}}',
            "source": f"a.jsonl:{i + 1}",
        }
        for i in range(50)
    ]
    table = pa.Table.from_pylist(rows, schema=lake.MESSAGE_SCHEMA)
    path = lake.append_messages(tmp_path / "lake" / "messages", "2026-11-16", table)
    group = pq.ParquetFile(path).metadata.row_group(0)
    encoded = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    assert set(lake.MESSAGE_DICTIONARY_COLUMNS) < encoded.keys()
    dictionary = {name for name, encodings in encoded.items() if "RLE_DICTIONARY" in encodings}
    assert dictionary == set(lake.MESSAGE_DICTIONARY_COLUMNS)
    assert lake.read_partition(tmp_path / "lake" / "messages", "2026-11-16", lake.MESSAGE_SCHEMA) == table


@settings(max_examples=40, deadline=None)
@given(
    files=st.lists(st.lists(st.sampled_from(["text", "image", "chatrecord"]), max_size=12), max_size=3),
    row_group=st.integers(1, 5),
)
def test_reading_the_rows_of_one_value_equals_filtering_the_whole_date(tmp_path_factory, files, row_group):
    """``read_matching`` reads the other columns of the row groups with a match only: the rows it gives
    are the date's with that value, in file and row order, whatever the files and their row groups."""
    base = tmp_path_factory.mktemp("lake") / "lake" / "messages"
    schema = pa.schema([("msgid", pa.string()), ("msgtype", pa.string()), ("raw", pa.string())])
    original = lake.ROW_GROUP
    lake.ROW_GROUP = row_group
    try:
        for n, types in enumerate(files):
            rows = {"msgid": [f"{n}-{i}" for i in range(len(types))], "msgtype": types}
            table = pa.table(rows | {"raw": [f'{{"n": {n}, "i": {i}}}' for i in range(len(types))]}, schema)
            lake.write_table(base / "date=2026-11-16" / f"part-{n}.parquet", table)
    finally:
        lake.ROW_GROUP = original
    whole = lake.read_partition(base, "2026-11-16", schema)
    expected = whole.filter(pc.equal(whole.column("msgtype"), "chatrecord")).select(["msgid", "raw"])
    got = lake.read_matching(base, "2026-11-16", schema, "msgtype", "chatrecord", ["msgid", "raw"])
    assert got.to_pydict() == expected.to_pydict()
    assert got.schema == expected.schema
