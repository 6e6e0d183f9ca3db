"""How a date's messages are read: in (msgtime, msgid) order whatever the files hold, with the
columns of few values sharing their string objects."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

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
        pa.record_batch(
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
    assert got.select(["msgtime", "msgid"]) == expected.select(["msgtime", "msgid"])
    if presorted:
        assert got.column("row").to_pylist() == list(range(len(rows)))  # no copy, no reorder


def test_a_repeating_column_has_the_same_values_sharing_their_strings():
    column = pa.chunked_array([["send", "recall", "send"], ["send", ""]])
    codes, values = coded = _coded(column)
    series = _column(column, coded)
    assert series.to_list() == ["send", "recall", "send", "send", ""]
    assert series[0] is series[2] is series[3]
    assert _column(column).to_list() == series.to_list() == values[codes].tolist()
