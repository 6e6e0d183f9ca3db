"""The common-shape shortcut of ingest (msgspec Struct → row) against parse_message, the one parser.

Whatever a record is, the shortcut either makes exactly parse_message's row of it or leaves it to
parse_message; so a whole ingest with and without the shortcut writes the same lake and rejects.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import zoneinfo
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import ingest_decode
from auditor.ingest import ingest
from auditor.ingest_decode import _row_of_dict, decode_records, record_row
from auditor.wecom import common_arrow
from auditor.wecom.files import NOT_DECODED, RawRecord
from auditor.wecom.messages import EXTRACTORS, FUTURE_SLACK_MS, RecordError, common_record, parse_message
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message

NOW_MS = BASE_MS + 30 * 86_400_000
DAY_MS = 86_400_000

_texts = st.text(max_size=8)
_msgtimes = st.one_of(
    st.integers(BASE_MS - 3 * DAY_MS, BASE_MS + 3 * DAY_MS),
    st.sampled_from(
        [BASE_MS // 1000, NOW_MS + 2 * DAY_MS, 0, -1, 2**70, True, 1.5e12, None, "1794800000000"]
    ),
)
_payloads = st.one_of(
    st.fixed_dictionaries({"content": st.one_of(_texts, st.none(), st.lists(_texts, max_size=2))}),
    st.fixed_dictionaries({"content": _texts, "extra": st.integers()}),
    _texts,
    st.none(),
    st.just({}),
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "msgid": st.one_of(_texts, st.sampled_from(["", "  ", "m1"]), st.integers(0, 3), st.none()),
        "action": st.sampled_from(["send", "recall", "switch", "delete", None, 1]),
        "from": st.one_of(st.sampled_from(["zhangwei", "wo7", "wm8", "wb9", ""]), st.integers(), st.none()),
        "tolist": st.one_of(
            st.lists(_texts, max_size=3), st.none(), st.lists(st.integers(), min_size=1), _texts
        ),
        "roomid": st.one_of(_texts, st.none(), st.integers()),
        "msgtime": _msgtimes,
        "msgtype": st.sampled_from([*EXTRACTORS, "brand_new_type", "", None, 3]),
        "seq": st.one_of(st.none(), st.integers(-(2**65), 2**65), st.booleans()),
        "text": _payloads,
        "image": st.one_of(st.just({"md5sum": "a", "filesize": 1}), _texts),
        "revoke": st.just({"pre_msgid": "m0"}),
        "encrypt_chat_msg": st.just("x"),
    },
)
_drop = st.sets(
    st.sampled_from(["msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype", "text"])
)


@st.composite
def records(draw) -> bytes:
    record = message(f"m{draw(st.integers(0, 5))}")
    for key in draw(_drop):
        record.pop(key, None)
    record.update(draw(_fields))
    return json.dumps(record, ensure_ascii=draw(st.booleans())).encode("utf-8")


@settings(max_examples=600, deadline=None)
@given(raw=records())
def test_the_shortcut_makes_parse_messages_row_or_leaves_the_record_to_it(raw):
    try:
        expected = _row_of_dict(parse_message(json.loads(raw), now_ms=NOW_MS))
    except RecordError:
        expected = None
    fast = common_record(raw, NOW_MS + FUTURE_SLACK_MS)
    if fast is not None:  # taken by the shortcut: parse_message accepts it, with the same row
        assert expected is not None
    _, row = record_row(RawRecord("f.jsonl", 1, raw, NOT_DECODED), NOW_MS)
    if isinstance(row, RecordError):
        row = None
    assert row == expected
    if row is not None:
        assert [type(v) for v in row] == [type(v) for v in expected]


def test_the_common_shape_takes_the_usual_records_and_nothing_else():
    latest = NOW_MS + DAY_MS
    usual = [
        message(),
        message(msgtype="image", payload={"md5sum": "a"}, seq=3),
        message(action="recall", roomid=None, tolist=None),
        message(seq=2**63 - 1),  # the ends of int64, as the lake stores seq
        message(seq=-(2**63)),
    ]
    for record in usual:
        assert common_record(json.dumps(record, ensure_ascii=False).encode(), latest) is not None
    others = [
        message(msgtype="revoke", payload={"pre_msgid": "m0"}),  # pre_msgid
        message(msgtype="file", payload={"filename": "a.xlsx"}),  # text from another payload
        message(payload={"content": ["a", "b"]}),  # a list of strings: parse_message joins them
        message(msgtime=BASE_MS // 1000),  # seconds: the reason comes from parse_message
        message(msgid=" "),
        message(action="switch"),
        message(action="Send"),  # actions and types are matched exactly, as parse_message does
        message(msgtype="Text"),
        message(seq=2**63),  # out of int64: parse_message names the range
        message(seq=-(2**63) - 1),
        message(seq=True),
    ]
    for record in others:
        assert common_record(json.dumps(record, ensure_ascii=False).encode(), latest) is None
    assert common_record(b'{"msgid": "m1", "msgtime": NaN}', latest) is None
    assert common_record(b"\xff", latest) is None


def test_the_source_column_names_each_records_own_file_and_line():
    raws = [json.dumps(message(f"m{i}"), ensure_ascii=False).encode() for i in range(3)]
    records = [
        RawRecord("a.jsonl", 7, raws[0]),
        RawRecord("b:c.jsonl", 12, raws[1]),
        RawRecord("a.jsonl", 9, raws[2]),
    ]
    for group in (records, records[:1], [records[0], records[2]]):
        decoded = decode_records("", iter(group), NOW_MS, zoneinfo.ZoneInfo("UTC"))
        assert decoded.table.column("source").to_pylist() == [r.source for r in group]


def _good(i: int, t: int, text: str, msgtype: str) -> bytes:
    payload = {"content": text} if msgtype == "text" else {"md5sum": text}
    record = message(f"m{i}", msgtype=msgtype, payload=payload, msgtime=BASE_MS + t, seq=i)
    return json.dumps(record, ensure_ascii=False).encode()


_lines = st.lists(
    st.one_of(
        st.builds(
            _good, st.integers(0, 12), st.integers(0, 2 * DAY_MS), _texts, st.sampled_from(["text", "image"])
        ),
        records(),
        st.sampled_from([b"{}", b"[]", b"null", b'{"msgid":"x"', b"\xff\xfe", b"   "]),
    ),
    max_size=30,
)


def ingest_outcome(paths: list[Path], root: Path, patch: contextlib.AbstractContextManager) -> tuple:
    """What ingest of ``paths`` into a new workspace at ``root`` stores and says with ``patch`` in
    force: its summary (without the reject log's name), the lake's files and the reject logs' bytes."""
    ws = Workspace(root)
    with patch:
        summary = ingest(ws, paths).summary()
    lake = {str(p.relative_to(ws.root)): p.read_bytes() for p in sorted(ws.lake.rglob("*.parquet"))}
    rejects = [p.read_bytes() for p in sorted(ws.rejects_dir.glob("*.jsonl"))]
    summary.pop("rejects_file")
    return summary, lake, rejects


def jsonl_files(folder: Path, files: list[list[bytes]]) -> list[Path]:
    """Each list of lines written as one JSONL file in ``folder``; their paths."""
    folder.mkdir(exist_ok=True)
    paths = [folder / f"f{i}.jsonl" for i in range(len(files))]
    for path, lines in zip(paths, files, strict=True):
        path.write_bytes(b"\n".join(lines) + b"\n")
    return paths


def _without_shortcut() -> contextlib.AbstractContextManager:
    return mock.patch.object(ingest_decode, "common_record", lambda raw, latest: None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(_lines, min_size=1, max_size=3))
def test_ingest_with_and_without_the_shortcut_stores_and_rejects_the_same(files):
    with tempfile.TemporaryDirectory() as tmp:
        paths = jsonl_files(Path(tmp, "in"), files)
        fast = ingest_outcome(paths, Path(tmp, "fast"), contextlib.nullcontext())
        slow = ingest_outcome(paths, Path(tmp, "slow"), _without_shortcut())
    assert fast == slow
    summary = fast[0]
    assert summary["accepted"] + summary["duplicates"] + summary["rejected"] == summary["records"]


def _decoded(lines: list[bytes], stored_rejects: int | None) -> tuple:
    records = [RawRecord("f.jsonl", n, raw, NOT_DECODED) for n, raw in enumerate(lines, start=1)]
    decoded = decode_records("f.jsonl", iter(records), NOW_MS, zoneinfo.ZoneInfo("UTC"), stored_rejects)
    rows = [
        (record.source, str(row) if isinstance(row, RecordError) else row)
        for record, row in decoded.in_order(list(range(decoded.table.num_rows)))
    ]
    positions = [position for position, _, _ in decoded.others]
    return decoded.records, decoded.omitted_rejects, positions, rows, decoded.table


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.one_of(_lines, st.just([_good(1, 5, "a", "text")] * 7)), max_size=4).map(
        lambda parts: [line for part in parts for line in part]
    ),
    stored_rejects=st.sampled_from([None, 0, 2]),
)
def test_blocks_and_table_pieces_do_not_change_the_decoded_file(lines, stored_rejects):
    """Records are tried a block at a time and tabled TABLE_ROWS at a time: with tiny blocks and
    pieces (every boundary crossed) the file decodes exactly as in one block and one piece."""
    lines = [line for line in lines if line.strip()]
    whole = _decoded(lines, stored_rejects)
    with (
        mock.patch.object(ingest_decode, "BLOCK_RECORDS", 3),
        mock.patch.object(common_arrow, "MIN_TRIED", 1),
    ):
        pieces = _decoded(lines, stored_rejects)
    assert pieces[:4] == whole[:4]
    assert pieces[4].equals(whole[4])
    singly = [record_row(RawRecord("f.jsonl", n, raw, NOT_DECODED), NOW_MS) for n, raw in enumerate(lines, 1)]
    if stored_rejects is None:
        assert whole[3] == [
            (record.source, str(row) if isinstance(row, RecordError) else row) for record, row in singly
        ]
