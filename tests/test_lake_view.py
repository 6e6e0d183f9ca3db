"""How a date's messages are read: in (msgtime, msgid) order whatever the files hold, with the
columns of few values sharing their string objects."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor import lake_view
from auditor.lake_view import _coded, _column, in_order

ROWS = st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", "c", "ab", "é", ""])), max_size=30)


@given(ROWS, st.booleans(), st.integers(0, 30))
def test_rows_come_in_msgtime_then_msgid_order(rows, presorted, split):
    """Whether the rows are in order already or not, and however they are chunked (a date of
    several files)."""
    if presorted:
        rows = sorted(rows)
    split = min(split, len(rows))
    batches = [
        pa.RecordBatch.from_pydict(
            {
                "msgtime": pa.array([t for t, _ in part], pa.int64()),
                "msgid": pa.array([m for _, m in part], pa.string()),
                "row": pa.array(range(start, start + len(part)), pa.int64()),
            }
        )
        for start, part in ((0, rows[:split]), (split, rows[split:]))
    ]
    table = pa.Table.from_batches(batches)
    got = in_order(table)
    expected = table.sort_by([("msgtime", "ascending"), ("msgid", "ascending")])
    assert got == expected  # the same order as sorting, whatever way it was reached
    if presorted:
        assert got.column("row").to_pylist() == list(range(len(rows)))  # no copy, no reorder


@given(
    st.lists(st.tuples(st.integers(0, 5), st.text("abé", max_size=3)), unique=True, max_size=40),
    st.data(),
    st.sampled_from([1, lake_view.MAX_PIECES]),
)
def test_a_date_of_several_sorted_files_comes_in_order_as_slices_of_them(rows, data, max_pieces):
    """Each file is sorted; read in file-name order they may overlap (late rows of a later flush
    fall between another file's). In order, the rows are slices of the files, not a sorted copy,
    unless there are more runs than MAX_PIECES."""
    rows = sorted(rows)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=4)))
    files = [rows[a:b] for a, b in itertools.pairwise([0, *cuts, len(rows)]) if b > a]
    files = data.draw(st.permutations(files))
    if data.draw(st.booleans()) and len(files) > 1:  # two files that overlap
        files = [sorted(files[0] + files[1]), *files[2:]][::-1]
    schema = pa.schema([("msgtime", pa.int64()), ("msgid", pa.string())])
    batches = [
        pa.record_batch([pa.array([t for t, _ in f], pa.int64()), pa.array([m for _, m in f])], schema=schema)
        for f in files
    ]
    table = pa.Table.from_batches(batches, schema=schema)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lake_view, "MAX_PIECES", max_pieces)
        got = in_order(table)
    assert got == table.sort_by([("msgtime", "ascending"), ("msgid", "ascending")])
    assert got.to_pylist() == [{"msgtime": t, "msgid": m} for t, m in rows]
    files_buffers = {chunk.buffers()[1].address for chunk in table.column("msgtime").chunks}
    sliced = {chunk.buffers()[1].address for chunk in got.column("msgtime").chunks} <= files_buffers
    assert sliced == (max_pieces > 1 or got is table)  # more runs than MAX_PIECES: taken


def test_a_repeating_column_has_the_same_values_sharing_their_strings():
    column = pa.chunked_array([["send", "recall", "send"], ["send", ""]])
    codes, values = coded = _coded(column)
    series = _column(column, coded)
    assert series.to_list() == ["send", "recall", "send", "send", ""]
    assert series[0] is series[2] is series[3]
    assert _column(column).to_list() == series.to_list() == values[codes].tolist()
