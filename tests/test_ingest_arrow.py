"""Arrow's JSON reader for common-shape records (``common_arrow.common_rows``) against the msgspec
path it stands in front of: for any lines, valid or broken, the decoded file — every record's row or
reject reason, its kept bytes and source, the counts, and the table's own columns (msgid hash, local
date) — is the same with Arrow as without it; and so is what ingest stores."""

from __future__ import annotations

import contextlib
import json
import tempfile
import zoneinfo
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor import ingest_decode
from auditor.ingest_decode import DECODED_SCHEMA, decode_file, decode_records
from auditor.wecom import common_arrow
from auditor.wecom import files as files_module
from auditor.wecom.files import NOT_DECODED, Limits, RawRecord
from auditor.wecom.messages import RecordError
from tests.factories import BASE_MS, message
from tests.test_ingest_fastpath import NOW_MS, ingest_outcome, jsonl_files, records

TZ = "Asia/Shanghai"
LIMITS = Limits(record_bytes=2_000, file_bytes=1 << 30, document_bytes=1 << 30, stored_rejects=5)


def _no_arrow(raws: list[bytes], latest_ms: int, raw=None):
    return common_arrow._EMPTY, np.zeros(0, np.int64)


def without_arrow():
    return mock.patch.object(ingest_decode, "common_rows", _no_arrow)


# Types whose text is fields of their payload (messages.EXTRACTORS): msgtype → its fields.
FIELD_TYPES = {
    "file": ("filename",),
    "link": ("title", "description", "link_url"),
    "location": ("title", "address"),
    "card": ("corpname", "userid"),
    "weapp": ("title", "description", "displayname", "name"),
}


def _good(n: int, ms: int, text: str, msgtype: str, sender: str = "zhangwei") -> bytes:
    """A good record; the text of a type whose text is payload fields is cut into them (some empty)."""
    if msgtype == "text":
        payload: dict = {"content": text}
    elif msgtype in FIELD_TYPES:
        payload = {key: text[i::2] for i, key in enumerate(FIELD_TYPES[msgtype])} | {"md5sum": "ab"}
    elif msgtype == "revoke":
        payload = {"pre_msgid": text}
    else:
        payload = {"md5sum": "ab", "filesize": len(text)}
    record = message(f"m{n}", msgtype=msgtype, payload=payload, msgtime=BASE_MS + ms, seq=n)
    record["from"] = sender
    return json.dumps(record, ensure_ascii=False).encode()


GOOD = _good(1, 5, "你好", "text")


def _mutate(raw: bytes, how: str, k: int) -> bytes:
    """``raw`` (a JSON object) broken or bent in one of the ways Arrow and msgspec may read otherwise."""
    body = raw[:-1]
    extra = {
        "nan": b',"x":NaN',
        "inf": b',"x":[-Infinity]',
        "dup": b',"msgid":"again"',
        "dup_text": b',"text":{"content":"b"}',
        "deep": b',"x":' + b"[" * k + b"]" * k,
        "deep_obj": b',"x":' + b'{"a":' * k + b"1" + b"}" * k,
        "lone": b',"x":"\\ud800"',
        "lone_text": b',"text":{"content":"\\udfff"}',
        "pair": b',"text":{"content":"\\ud83d\\ude00"}',
        "bad_utf8": b',"x":"\xff"',
        "bad_utf8_key": b',"\xc0\xaf":1',
        "bad_utf8_text": b',"text":{"content":"\xed\xa0\x80"}',
        "big_ignored": b',"x":1e400',
        "huge_int": b',"x":123456789012345678901234567890',
        "esc_key": b',"ms\\u0067id":"escaped"',
        "esc_key_only": b',"msgid":"m","msgid2":1,"\\u0074ext":{"content":"escaped key"}',
        "text_extra": b',"text":{"content":"c","more":[1,{"a":null}]}',
        "text_str": b',"text":"plain"',
        "text_null": b',"text":null',
        "content_null": b',"text":{"content":null}',
        "content_num": b',"text":{"content":5}',
        "tolist_null": b',"tolist":["a",null]',
        "tolist_num": b',"tolist":[1]',
        "tolist_str": b',"tolist":"a"',
        "roomid_null": b',"roomid":null',
        "seq_float": b',"seq":1.0',
        "seq_neg0": b',"seq":-0',
        "seq_big": b',"seq":9223372036854775808',
        "seq_max": b',"seq":9223372036854775807',
        "seq_bool": b',"seq":true',
        "msgtime_float": b',"msgtime":%d.0' % (BASE_MS + k),
        "msgtime_str": b',"msgtime":"%d"' % (BASE_MS + k),
        "msgtime_sec": b',"msgtime":%d' % (BASE_MS // 1000),
        "msgtime_future": b',"msgtime":%d' % (NOW_MS + 2 * 86_400_000),
        "msgtime_edge": b',"msgtime":%d' % (NOW_MS + 86_400_000),
        "msgid_blank": b',"msgid":"  "',
        "msgid_wide": b',"msgid":"\xe3\x80\x80"',  # U+3000: str.strip() removes it
        "msgid_cjk": b',"msgid":"\xe4\xb8\xad"',
        "msgid_sep": b',"msgid":"\\u001c"',  # str.strip() removes U+001C too
        "msgid_null": b',"msgid":null',
        "from_num": b',"from":7',
        "action_switch": b',"action":"switch","time":%d,"user":"u"' % (BASE_MS + k),
        "revoke": b',"msgtype":"revoke","revoke":{"pre_msgid":"m0"}',
        "file": b',"msgtype":"file","file":{"filename":"a.pdf"}',
        "file_list": b',"msgtype":"file","file":{"filename":["a.pdf","","b.doc"]}',
        "file_num": b',"msgtype":"file","file":{"filename":7}',
        "file_empty": b',"msgtype":"file","file":{"filename":""}',
        "file_null": b',"msgtype":"file","file":null',
        "file_str": b',"msgtype":"file","file":"a.pdf"',
        "file_none": b',"msgtype":"file"',
        "file_lone": b',"msgtype":"file","file":{"filename":"\\ud800.pdf"}',
        "file_nl": b',"msgtype":"file","file":{"filename":"a\\n","fileext":"pdf","filesize":3}',
        "link_all": b',"msgtype":"link","link":{"title":"t","description":"d","link_url":"https://x.cn","image_url":"i"}',
        "link_some": b',"msgtype":"link","link":{"title":"\xe5\xad\xa3\xe5\xba\xa6\xe6\x8a\xa5\xe5\x91\x8a","description":"","link_url":"https://example.com/q3"}',
        "link_nulls": b',"msgtype":"link","link":{"title":null,"description":null}',
        "location": b',"msgtype":"location","location":{"latitude":39.9,"address":"a","title":"t","zoom":15}',
        "card": b',"msgtype":"card","card":{"corpname":"c","userid":"u"}',
        "weapp": b',"msgtype":"weapp","weapp":{"title":"t","description":"","displayname":"d"}',
        "weapp_nested": b',"msgtype":"weapp","weapp":{"title":{"a":1}}',
        "revoke_null": b',"msgtype":"revoke","revoke":{"pre_msgid":null}',
        "revoke_num": b',"msgtype":"revoke","revoke":{"pre_msgid":5}',
        "revoke_str": b',"msgtype":"revoke","revoke":"m0"',
        "revoke_none": b',"msgtype":"revoke"',
        "text_with_file": b',"file":{"filename":"stray.pdf"}',
        "new_type": b',"msgtype":"brand_new","brand_new":{"title":"Hello there"}',
        "nul_esc": b',"text":{"content":"a\\u0000b"}',
        "ctrl": b',"text":{"content":"a\x01b"}',
    }.get(how)
    if extra is not None:
        key = extra[2 : extra.index(b'"', 2)]
        if how not in ("dup", "dup_text", "esc_key") and key.isascii():
            # the key replaced, not repeated (Arrow refuses a repeated key: that is "dup")
            record = json.loads(raw)
            record.pop(key.decode(), None)
            body = json.dumps(record, ensure_ascii=bool(k % 2)).encode()[:-1]
        return body + extra + b"}"
    return {
        "cut": raw[: k % max(len(raw), 1)],
        "two": raw + b" " + raw,
        "two_cr": raw + b"\r" + raw,
        "two_glued": raw + raw,
        "then_null": raw + b" null",
        "cr_inside": body + b',\r"x":1}',
        "trailing_cr": raw + b"\r",
        "lead_space": b" " + raw,
        "trail_space": raw + b"  \t",
        "vt": b"\x0b" + raw,
        "trailing_comma": body + b",}",
        "bom": b"\xef\xbb\xbf" + raw,
        "gbk": body + ',"x":"中文"}'.encode("gbk"),
    }.get(how, raw)


HOW = [
    *[
        "nan",
        "inf",
        "dup",
        "dup_text",
        "deep",
        "deep_obj",
        "lone",
        "lone_text",
        "pair",
        "bad_utf8",
        "bad_utf8_key",
        "bad_utf8_text",
        "big_ignored",
        "huge_int",
        "esc_key",
        "esc_key_only",
        "text_extra",
        "text_str",
        "text_null",
        "content_null",
        "content_num",
        "tolist_null",
        "tolist_num",
        "tolist_str",
        "roomid_null",
        "seq_float",
        "seq_neg0",
        "seq_big",
        "seq_max",
        "seq_bool",
        "msgtime_float",
        "msgtime_str",
        "msgtime_sec",
        "msgtime_future",
        "msgtime_edge",
        "msgid_blank",
        "msgid_wide",
        "msgid_cjk",
        "msgid_sep",
        "msgid_null",
        "from_num",
        "action_switch",
        "revoke",
        "file",
        "file_list",
        "file_num",
        "file_empty",
        "file_null",
        "file_str",
        "file_none",
        "file_lone",
        "file_nl",
        "link_all",
        "link_some",
        "link_nulls",
        "location",
        "card",
        "weapp",
        "weapp_nested",
        "revoke_null",
        "revoke_num",
        "revoke_str",
        "revoke_none",
        "text_with_file",
        "new_type",
        "nul_esc",
        "ctrl",
        "cut",
        "two",
        "two_cr",
        "two_glued",
        "then_null",
        "cr_inside",
        "trailing_cr",
        "lead_space",
        "trail_space",
        "vt",
        "trailing_comma",
        "bom",
        "gbk",
    ],
    "as_is",
]
SCALARS = [b"null", b"[]", b"1", b'"x"', b"{}", b"true", b"\x00", b"{", b"}", b"nul"]

_good_lines = st.builds(
    _good,
    st.integers(0, 12),
    st.integers(0, 5 * 86_400_000),
    st.text(max_size=8),
    st.sampled_from(["text", "image", "voice", "emotion", "agree", *FIELD_TYPES, "revoke"]),
    st.sampled_from(["zhangwei", "wo7x", "wm8", "wb9", "lisi"]),
)
_lines = st.one_of(
    _good_lines,
    st.builds(_mutate, _good_lines, st.sampled_from(HOW), st.sampled_from([1, 3, 100, 300, 600, 1200])),
    records(),
    st.sampled_from(SCALARS),
    st.binary(max_size=12),
)


def _decoded(lines: list[bytes], stored_rejects: int | None) -> tuple:
    """The decoded file: counts, every record in order (source, bytes, row or reason), and the
    table's rows (all DECODED_SCHEMA columns) by source."""
    blank = [line for line in lines if line.strip() and b"\n" not in line]
    raws = [RawRecord("f.jsonl", n, raw, NOT_DECODED) for n, raw in enumerate(blank, start=1)]
    decoded = decode_records("f.jsonl", iter(raws), NOW_MS, zoneinfo.ZoneInfo(TZ), stored_rejects)
    in_order = [
        (record.source, record.raw, str(row) if isinstance(row, RecordError) else row)
        for record, row in decoded.in_order(list(range(decoded.table.num_rows)))
    ]
    assert decoded.table.schema == DECODED_SCHEMA
    table = {row["source"]: row for row in decoded.table.to_pylist()}
    return decoded.records, decoded.omitted_rejects, in_order, table


def assert_same_with_and_without_arrow(lines: list[bytes], stored_rejects: int | None = None) -> None:
    arrow = _decoded(lines, stored_rejects)
    with without_arrow():
        plain = _decoded(lines, stored_rejects)
    assert arrow[:3] == plain[:3]
    # A record only one of the two tables holds is one msgspec refuses and parse_message accepts
    # (NaN in a field neither keeps): its row is the same (in_order above), not its way there.
    both = arrow[3].keys() & plain[3].keys()
    assert {s: arrow[3][s] for s in both} == {s: plain[3][s] for s in both}


@pytest.mark.parametrize("how", HOW)
def test_each_edge_case_decodes_the_same_with_and_without_arrow(how):
    lines = [_mutate(_good(n, n * 1000, "好", "text"), how, k) for n, k in enumerate([1, 3, 300, 600, 1200])]
    assert_same_with_and_without_arrow([GOOD, *lines, GOOD])
    assert_same_with_and_without_arrow(lines)  # first in its block too


@pytest.mark.parametrize("scalar", SCALARS)
def test_other_json_values_decode_the_same_with_and_without_arrow(scalar):
    assert_same_with_and_without_arrow([scalar, GOOD, scalar])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_lines, max_size=40), stored_rejects=st.sampled_from([None, 0, 3]))
@example(lines=[b"null", GOOD], stored_rejects=None)  # Arrow 26 crashes on a block opening with a null
@example(lines=[GOOD, _mutate(GOOD, "two", 0), GOOD], stored_rejects=None)
def test_any_lines_decode_the_same_with_and_without_arrow(lines, stored_rejects):
    assert_same_with_and_without_arrow(lines, stored_rejects)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_lines, max_size=40), tried=st.sampled_from([1, 2, 5]), block=st.sampled_from([3, 7]))
def test_refused_blocks_are_halved_down_to_their_records(lines, tried, block):
    """With tiny blocks and halving down to single records, every boundary is crossed."""
    with (
        mock.patch.object(common_arrow, "MIN_TRIED", tried),
        mock.patch.object(ingest_decode, "BLOCK_RECORDS", block),
    ):
        assert_same_with_and_without_arrow(lines)


def test_a_record_with_invalid_utf8_where_no_field_is_read_is_rejected_not_a_crash():
    """msgspec and Arrow both skip an unknown field's bytes: before this check such a record was taken
    for common and its raw column failed to build (ArrowInvalid: a traceback for the whole ingest)."""
    bad = _mutate(GOOD, "bad_utf8", 0)
    reason = f"not valid UTF-8 at byte {bad.index(0xFF)}"
    for context in (contextlib.nullcontext(), without_arrow()):
        with context:
            _, _, in_order, table = _decoded([GOOD, bad, GOOD], None)
        assert in_order[1][2] == reason
        assert len(table) == 2


def test_arrow_reads_the_common_records_of_a_block():
    """Not a shortcut that never fires: the common records are Arrow's, the rest are left."""
    lines = [GOOD, _good(2, 9, "x", "image"), _mutate(GOOD, "file", 0), _mutate(GOOD, "dup", 0), b"null"]
    with mock.patch.object(common_arrow, "MIN_TRIED", 1):  # the refused block halved down to records
        parsed, positions = common_arrow.common_rows(lines, NOW_MS)
    assert positions.tolist() == [0, 1]
    assert parsed.column("msgid").to_pylist() == [json.loads(line)["msgid"] for line in lines[:2]]


@st.composite
def _files(draw) -> bytes:
    """A JSONL file's bytes: lines with \\n or \\r\\n endings, blank lines, a BOM, over-long lines."""
    parts = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    for line in draw(
        st.lists(st.one_of(_lines, st.just(b""), st.just(b"  "), st.just(b"x" * 2_500)), max_size=30)
    ):
        parts += [line.replace(b"\n", b""), draw(st.sampled_from([b"\n", b"\r\n", b"\n\n"]))]
    return b"".join(parts)


def _file_outcome(path: Path) -> tuple:
    decoded = decode_file(path, path.name, LIMITS, NOW_MS, TZ)
    return (
        decoded.records,
        decoded.omitted_rejects,
        [
            (r.source, r.raw, r.length, r.sha256, str(row))
            for r, row in decoded.in_order(list(range(decoded.table.num_rows)))
        ],
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_files())
def test_jsonl_files_decode_the_same_with_and_without_arrow(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "f.jsonl")
        path.write_bytes(data)
        arrow = _file_outcome(path)
        with without_arrow():
            plain = _file_outcome(path)
    assert arrow == plain


def _ingested(paths: list[Path], root: Path, arrow: bool) -> tuple:
    return ingest_outcome(paths, root, contextlib.nullcontext() if arrow else without_arrow())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.lists(_lines, min_size=1, max_size=30), min_size=1, max_size=3))
def test_ingest_stores_and_rejects_the_same_with_and_without_arrow(files):
    with tempfile.TemporaryDirectory() as tmp:
        one_line_each = [[line.replace(b"\n", b"") for line in lines] for lines in files]
        paths = jsonl_files(Path(tmp, "in"), one_line_each)
        with_arrow = _ingested(paths, Path(tmp, "arrow"), arrow=True)
        plain = _ingested(paths, Path(tmp, "plain"), arrow=False)
    assert with_arrow == plain


@pytest.mark.parametrize("arrow", [True, False])
def test_a_lone_surrogate_is_rejected_where_it_would_be_stored_and_deduplicated_elsewhere(tmp_path, arrow):
    """The json module reads ``\\udfff`` into a str that UTF-8 cannot hold: in the text (or any stored
    string) the record is rejected with the reason; in a field nothing stores it is kept, and a repeat
    of its msgid with other bytes is compared by content, not a crash (both ended the run before)."""
    in_text = _mutate(_good(1, 5, "x", "text"), "lone_text", 0)
    ignored = _mutate(_good(2, 5, "x", "text"), "lone", 0)
    path = tmp_path / "in" / "a.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join([in_text, ignored, ignored.replace(b'"x":', b'"y":')]) + b"\n")
    summary, lake, rejects = _ingested([path], tmp_path / "ws", arrow)
    assert (summary["accepted"], summary["rejected"], summary["records"]) == (1, 2, 3)
    reasons = [json.loads(line)["reason"] for line in b"".join(rejects).splitlines()]
    assert "the message's text holds a lone surrogate ('\\udfff'), which UTF-8 cannot store" in reasons
    assert len(lake) == 1


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"\n", b"\r\n", b"\r", b"  ", b"\x0b", b"{}", b"x" * 9, b"\xef\xbb\xbf", b"\n\n"]),
        max_size=60,
    ).map(b"".join),
    chunk=st.integers(1, 12),
    cap=st.integers(1, 20),
)
def test_blocks_of_lines_are_the_records_line_by_line(tmp_path_factory, data, chunk, cap):
    """``read_blocks`` (a chunk's lines checked by a few C calls) yields exactly the records that
    ``_jsonl_record`` makes of each line, whatever the chunking, blank lines, CR, BOM and caps."""
    path = tmp_path_factory.mktemp("blocks") / "f.jsonl"
    path.write_bytes(data)
    limits = Limits(record_bytes=cap, file_bytes=1 << 20, document_bytes=1 << 20, stored_rejects=5)
    with mock.patch.object(files_module, "CHUNK", chunk):
        got = [r for block in files_module.read_blocks(path, limits, "f") for r in block.records()]
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    expected = [
        record
        for number, line in files_module.iter_lines(chunks, cap)
        if (record := files_module._jsonl_record("f", number, line, cap, decode=False))
    ]
    assert got == expected


def test_a_null_in_a_tolist_is_found_whatever_the_list_layout():
    """A null list may keep values behind it (Arrow's layout allows it): only a null item of a list
    that is there leaves the record to msgspec."""
    values = pa.array(["a", None, "b", None, "c"])
    tolist = pa.ListArray.from_arrays(
        pa.array([0, 2, 4, 5], pa.int32()), values, mask=pa.array([False, True, False])
    )
    table = pa.table(
        {
            "msgid": ["m1", "m2", "m3"],
            "action": ["send"] * 3,
            "from": ["a"] * 3,
            "msgtime": [BASE_MS] * 3,
            "msgtype": ["text"] * 3,
            "tolist": tolist,
        }
    )
    assert common_arrow._accepted(table, NOW_MS).to_pylist() == [False, True, True]


@pytest.mark.parametrize("every", [1, 2, 50])
def test_dense_or_sparse_refusals_decode_the_same(every):
    """Records Arrow refuses (a repeated key) every ``every`` records: halving finds the good runs,
    or gives up where both halves are refused; either way the file decodes as without Arrow."""
    dup = _mutate(GOOD, "dup", 0)
    lines = [dup if n % every == 0 else _good(n, n, "好", "text") for n in range(200)]
    assert_same_with_and_without_arrow(lines)
