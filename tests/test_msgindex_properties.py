"""Property tests for deduplication: whatever the mix of new, repeated, conflicting and hash-colliding
msgids, across batches, files, flushes and runs, ingest decides every record as a plain dict would."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import ingest as ingest_module
from auditor import msgindex
from auditor.ingest import ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message

DAY_MS = 86_400_000

# A record: (msgid number, content variant, form). Forms of one content: as is, keys reversed, a new seq.
records = st.tuples(st.integers(0, 7), st.integers(0, 1), st.integers(0, 2))
runs = st.lists(st.lists(st.lists(records, max_size=12), min_size=1, max_size=3), min_size=1, max_size=3)


def _record(number: int, variant: int, form: int) -> dict:
    record = message(
        f"m{number}",
        msgtime=BASE_MS + (number % 2) * DAY_MS + number,  # two dates, mixed within a batch
        text={"content": f"内容 {variant}"},
    )
    if form == 1:
        record = dict(reversed(list(record.items())))
    elif form == 2:
        record["seq"] = 1000 + number
    return record


def _colliding_hashes(msgids) -> np.ndarray:
    """A weak hash: every msgid of one length collides, so only the exact msgid can tell them apart."""
    if not isinstance(msgids, list):  # an Arrow column, as decoding passes it
        msgids = msgids.to_pylist()
    return np.array([len(m) for m in msgids], dtype="<u8")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    runs=runs,
    colliding=st.booleans(),
    lookup_rows=st.integers(1, 5),
    batch_rows=st.integers(1, 4),
    window=st.sampled_from([1, 2, 3, msgindex.WINDOW]),
    filter_words=st.sampled_from([1, msgindex.FILTER_WORD_BITS]),
)
def test_dedup_equals_a_dict_model(runs, colliding, lookup_rows, batch_rows, window, filter_words):
    model: dict[str, int] = {}  # msgid → content variant stored
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest_module, "LOOKUP_ROWS", lookup_rows)
        patch.setattr(ingest_module, "BATCH_ROWS", batch_rows)
        patch.setattr(ingest_module, "FLUSH_RECORDS", 3)  # flushes between files: writes in flight
        patch.setattr(ingest_module, "CONTENT_DATES", 1)  # two dates: stored contents are read again
        patch.setattr(msgindex, "WINDOW", window)  # runs searched a few hashes at a time
        patch.setattr(msgindex, "RESIDENT_BYTES", 0 if window < 4 else msgindex.RESIDENT_BYTES)
        if colliding:
            patch.setattr(msgindex, "msgid_hashes", _colliding_hashes)
        # a filter of two words lets nearly every hash through to the exact searches
        patch.setattr(msgindex, "HashFilter", functools.partial(msgindex.HashFilter, filter_words))
        root = Path(tmp)
        ws = Workspace(root / "ws")
        for run_number, files in enumerate(runs):
            paths, expected = [], {"accepted": 0, "duplicates": 0, "rejected": 0}
            expected_rejects = set()
            for file_number, content in enumerate(files):
                path = root / "in" / f"r{run_number}-f{file_number}.jsonl"
                path.parent.mkdir(exist_ok=True)
                lines = [json.dumps(_record(*r), ensure_ascii=False) for r in content]
                path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                paths.append(path)
                for line, (number, variant, _) in enumerate(content, start=1):
                    msgid = f"m{number}"
                    if msgid not in model:
                        model[msgid] = variant
                        expected["accepted"] += 1
                    elif model[msgid] == variant:
                        expected["duplicates"] += 1
                    else:
                        expected["rejected"] += 1
                        expected_rejects.add((str(path), line))
            report = ingest(ws, paths)
            summary = report.summary()
            assert {k: summary[k] for k in expected} == expected
            rejects = (
                [json.loads(line) for line in Path(report.rejects_file).read_text().splitlines()]
                if report.rejects_file
                else []
            )
            assert {(r["file"], r["line"]) for r in rejects} == expected_rejects
            assert all("conflicting record reuses msgid" in r["reason"] for r in rejects)
        stored = {
            row["msgid"]: row["text"]
            for path in ws.messages_dir.rglob("*.parquet")
            for row in pq.read_table(path, columns=["msgid", "text"]).to_pylist()
        }
        assert stored == {msgid: f"内容 {variant}" for msgid, variant in model.items()}
        index = msgindex.MsgidIndex(ws.msgid_index_path, ws.messages_dir)  # reopened: it matches the lake
        assert len(index.files) == len(list(ws.messages_dir.rglob("*.parquet")))
        assert sorted(index.get_many(list(model))) == sorted(model)
        index.close()


@given(st.lists(st.text(max_size=30), max_size=20), st.integers(0, 5), st.booleans())
def test_raw_digests_are_each_values_digest(values, cut, large):
    """One digest per value, read from the array's buffers, as ``raw_digest`` of its UTF-8 bytes
    gives it: empty values, any script, a sliced array, either offset width."""
    import pyarrow as pa

    array = pa.array(values, pa.large_string() if large else pa.string()).slice(min(cut, len(values)))
    expected = b"".join(msgindex.raw_digest(v.encode("utf-8", "surrogatepass")) for v in array.to_pylist())
    assert msgindex.raw_digests(array) == expected


@given(
    st.lists(st.integers(0, 2**64 - 1), max_size=200),
    st.lists(st.integers(0, 2**64 - 1), max_size=50),
    st.integers(1, 12),
    st.booleans(),
)
def test_hash_filter_never_rules_out_an_added_hash(added, later, word_bits, in_order):
    """Whatever the hashes (sorted or not, repeated, colliding in their word), none added is ruled out."""
    hashes = np.array(sorted(added) if in_order else added, msgindex.HASH)
    hash_filter = msgindex.HashFilter(word_bits)
    hash_filter.add(hashes)
    hash_filter.add(np.array(later, msgindex.HASH))
    assert hash_filter.may_hold(np.array(added + later, msgindex.HASH)).all()


def test_hash_filter_rules_out_nearly_every_new_hash():
    """At ten million msgids (a month of a big company), nearly every new one is ruled out, so the
    exact searches, one per run for each hash let through, run for few: the filter's reason to exist."""
    rng = np.random.default_rng(7)
    hash_filter = msgindex.HashFilter()
    for _ in range(10):
        hash_filter.add(np.sort(rng.integers(0, 2**64 - 1, 1_000_000, msgindex.HASH, endpoint=True)))
    new = rng.integers(0, 2**64 - 1, 1_000_000, msgindex.HASH, endpoint=True)
    assert hash_filter.may_hold(new).mean() < 0.0005
