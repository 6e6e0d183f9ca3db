"""Property tests: the reconciliation always adds up, and ingest is idempotent."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.ingest import _date_groups, ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message

good = st.builds(
    lambda i, t, text: json.dumps(
        message(f"m{i}", msgtime=BASE_MS + t, text={"content": text}), ensure_ascii=False
    ).encode(),
    st.integers(0, 30),
    st.integers(0, 3 * 86_400_000),
    st.text(max_size=20),
)
garbage = st.one_of(
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),
    st.sampled_from([b"[]", b"{}", b"null", b'{"msgid": 5}', b"\xff\xfe", b'{"msgid":"x"']),
)
lines = st.lists(st.one_of(good, good, garbage), max_size=40)


def _lake_state(ws: Workspace) -> dict[str, bytes]:
    return {str(p.relative_to(ws.root)): p.read_bytes() for p in sorted(ws.lake.rglob("*.parquet"))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(lines, min_size=1, max_size=3))
def test_reconciliation_adds_up_and_reingest_is_a_no_op(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for i, content in enumerate(files):
            path = root / "in" / f"f{i}.jsonl"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"\n".join(content) + b"\n")
            paths.append(path)
        ws = Workspace(root / "ws")
        first = ingest(ws, paths).summary()
        assert first["accepted"] + first["duplicates"] + first["rejected"] == first["records"]
        state = _lake_state(ws)
        second = ingest(ws, paths).summary()
        assert second["records"] == first["records"]
        assert second["accepted"] == 0
        assert second["rejected"] == first["rejected"]
        assert _lake_state(ws) == state
        stored = sum(1 for _ in ws.messages_dir.rglob("*.parquet"))
        assert (stored == 0) == (first["accepted"] == 0)


@given(
    st.lists(st.lists(st.sampled_from(["2026-11-12", "2026-11-13", "2026-11-14"]), max_size=6), min_size=1),
)
def test_date_groups_are_the_rows_of_each_date_in_order(chunks):
    """A decoded file's rows by date, as filtering each date would give them, whatever the chunks
    and however the dates interleave; a date in one run is a slice of the file's rows (no copy)."""
    dates = pa.chunked_array([pa.array(chunk, pa.string()) for chunk in chunks], pa.string())
    if not len(dates):
        return
    rows = pa.table({"row": pa.chunked_array([pa.array(range(len(dates)), pa.int64())])})
    distinct = dates.unique()
    groups = _date_groups(rows, dates, distinct)
    assert [date for date, _ in groups] == distinct.to_pylist()
    for date, group in groups:
        assert group.equals(rows.filter(pc.equal(dates, date)))
    values = dates.to_pylist()
    runs = 1 + sum(a != b for a, b in itertools.pairwise(values))
    if runs == len(distinct):
        address = rows.column("row").chunk(0).buffers()[1].address
        assert all(group.column("row").chunk(0).buffers()[1].address == address for _, group in groups)
