"""A lake file written in a row order a row group at a time (``lake.write_table`` with ``order``, as
``append_messages`` writes) has the very bytes of the sorted table written whole."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import lake

ROWS = st.lists(
    st.tuples(st.integers(0, 5), st.text(alphabet="ab群😀", min_size=1, max_size=4), st.text(max_size=30)),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, row_group=st.integers(1, 9))
def test_writing_in_order_equals_writing_the_sorted_table(tmp_path_factory, rows, row_group):
    base = tmp_path_factory.mktemp("lake") / "lake" / "messages"
    table = pa.table(
        {
            "msgtime": pa.array([t for t, _, _ in rows], pa.int64()).cast(lake.TIMESTAMP),
            "msgid": [m for _, m, _ in rows],
            "text": [x for _, _, x in rows],
        }
    )
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
