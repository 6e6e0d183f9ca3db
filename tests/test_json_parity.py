"""Ingest parses JSON with msgspec for speed; the json module stays the judge. Properties: every input
gets the json module's verdict (the same value, or the same reason for refusing it), and batch items
are written back byte for byte as the json module writes them."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.wecom.files import Limits, _parse_json_line, compact_json, parse_json, read_blocks, read_records

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def same(a, b) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 and 0.0 == -0.0 are not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def assert_json_module_verdict(data: bytes) -> None:
    value, error, _ = parse_json(data)
    expected_value, expected_error = _parse_json_line(data)
    assert error == expected_error
    assert same(value, expected_value)


TRICKY = [
    b'{"a":1,"a":2}',  # the last duplicate key wins
    b'{"a":NaN}',  # only the json module accepts NaN and Infinity
    b'{"a":-Infinity}',
    b'{"a":"\\ud800"}',  # a lone surrogate
    b'{"a":1e400}',  # inf for the json module
    b'{"a":123456789012345678901234567890}',  # beyond 64 bits: still an int
    b'{"a":-9223372036854775809}',
    b'{"a":18446744073709551616}',
    b"\xef\xbb\xbf{}",
    b'{"a":"\x01"}',
    b'{"a":"\xff"}',
    b'{"a":"\xed\xa0\x80"}',  # a surrogate encoded in UTF-8
    b'{"a":"\xc0\xaf"}',  # an overlong encoding
    b'{"a":1.}',
    b'{"a":01}',
    b'{"a":.5}',
    b"[1,2",
    b"{} {}",
    b"{}\x00",
    b" \t\r\n{} \t\r\n",
    b"\x0c{}",  # a form feed is not JSON whitespace
    b'"\xe4\xbd\xa0"',
    b"[" * 5000 + b"]" * 5000,  # nested too deeply for either
    b"",
]


@pytest.mark.parametrize("data", TRICKY, ids=range(len(TRICKY)))
def test_tricky_inputs_get_the_json_module_verdict(data):
    assert_json_module_verdict(data)


@settings(max_examples=400, deadline=None)
@given(value=json_values, ensure_ascii=st.booleans(), spaced=st.booleans())
def test_valid_json_parses_to_the_json_modules_value(value, ensure_ascii, spaced):
    separators = (", ", ": ") if spaced else (",", ":")
    assert_json_module_verdict(json.dumps(value, ensure_ascii=ensure_ascii, separators=separators).encode())


@settings(max_examples=400, deadline=None)
@given(value=json_values, cut=st.integers(min_value=0), junk=st.binary(max_size=3))
def test_damaged_json_gets_the_json_modules_verdict(value, cut, junk):
    text = json.dumps(value, ensure_ascii=False).encode()
    cut %= len(text) + 1
    assert_json_module_verdict(text[:cut] + junk + text[cut:])


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=40))
def test_any_bytes_get_the_json_modules_verdict(data):
    assert_json_module_verdict(data)


FLOATS = [
    1e-07,
    1e-05,
    0.0001,
    1e15,
    1e16,
    1.2345678901234568e16,
    5e-324,
    1.7976931348623157e308,
    -0.0,
    39.9042,
]


@settings(max_examples=400, deadline=None)
@given(value=json_values | st.lists(st.sampled_from(FLOATS), max_size=4))
def test_batch_items_are_written_as_the_json_module_writes_them(value):
    parsed, error, fast = parse_json(json.dumps(value).encode())
    assert error is None and fast
    expected = json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert compact_json(parsed, fast) == expected


@pytest.mark.parametrize("data", [b'{"a":NaN}', b"[1e400]", b"[-Infinity]"])
def test_what_only_the_json_module_reads_it_also_writes(data):
    parsed, error, fast = parse_json(data)
    assert error is None and not fast
    expected = json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert compact_json(parsed, fast) == expected


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(json_values | st.lists(st.sampled_from(FLOATS), max_size=4), max_size=5),
    spaced=st.booleans(),
)
def test_batch_items_are_stored_as_the_json_module_writes_them(tmp_path_factory, items, spaced):
    """Through the reader: a document with no float skips the per-item check, one with floats keeps it."""
    path = tmp_path_factory.mktemp("batch") / "batch.json"
    separators = (", ", ": ") if spaced else (",", ":")
    path.write_text(json.dumps({"errcode": 0, "chatdata": items}, separators=separators), encoding="utf-8")
    records = list(read_records(path, Limits(1 << 20, 1 << 24, 1 << 24, 1000)))
    assert [r.raw for r in records] == [
        json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8") for item in items
    ]


def _batch_records(tmp_path, body: bytes, decode: bool) -> list[tuple[int, bytes, str | None]]:
    path = tmp_path / f"batch-{decode}.json"
    path.write_bytes(body)
    return [
        (r.line, r.raw, r.error)
        for r in read_records(path, Limits(1 << 20, 1 << 24, 1 << 24, 1000), decode=decode)
    ]


# Batch items read without decoding (ingest's reader) are cut from the document's bytes; each of these
# must still come out as the json module writes it, or the whole document be read as before.
BATCH_ITEMS = [
    b'{"a":"\\/"}',  # an escape the json module writes otherwise
    b'{"a":"\\u4e2d"}',
    b'{"a":"\\u001F"}',  # upper-case hex
    b'{"a":"\\u007f"}',  # DEL: written as it is
    b'{"a":"\\u000a\\n\\t\\"\\\\\\u001f"}',
    b'{"a":-0}',  # the int 0
    b'{"a":[1e5,1E5,1.0,-0.0,2.50]}',
    b'{"a":[[1.5],[true,-0]],"b":[0,-1]}',  # numbers in (nested) arrays
    b'{"a":"score :1.5 ,-0"}',  # only looks like numbers
    b"-0",
    b"1.5",
    b'"text"',
    b'{"msgid":"m","text":{"content":"\xe4\xbd\xa0\xe5\xa5\xbd, \xe5\xb8\x82 : 3"}}',
    b'{ "a" : [ 1 , { "b" : null } ] , "c" : true }',
]


@pytest.mark.parametrize("item", BATCH_ITEMS, ids=range(len(BATCH_ITEMS)))
def test_batch_items_cut_from_the_document_are_written_as_the_json_module_writes_them(tmp_path, item):
    body = b'{"errcode": 0, "chatdata": [{"x": 1.25}, ' + item + b', {"y": "\\/"}]}'
    fast = _batch_records(tmp_path, body, decode=False)
    assert fast == _batch_records(tmp_path, body, decode=True)
    assert fast[1][1] == json.dumps(json.loads(item), ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "body",
    [
        b'{"errcode": 0, "chatdata": [{"a": "\xff"}]}',  # not UTF-8: read as before (as JSON Lines)
        b'{"errcode": 0, "chatdata": [{"a": "\xed\xa0\x80"}]}',  # a surrogate encoded in UTF-8
        b'{"errcode": 45009, "errmsg": "busy", "chatdata": []}',
        b'{"errcode": false, "chatdata": [{"a": 1}]}',
        b'{"chatdata": {"a": 1}}',
        b'{"chatdata": [{"a": NaN}]}',
        b'[{"a": 1}, {"b": 2}]',
        b'{"chatdata": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    ],
    ids=range(8),
)
def test_other_documents_are_read_as_before(tmp_path, body):
    assert _batch_records(tmp_path, body, decode=False) == _batch_records(tmp_path, body, decode=True)


def test_batch_items_cut_into_blocks_keep_their_numbers_and_the_item_limit(tmp_path):
    """Ingest's reader cuts a batch straight into blocks: items numbered across blocks from 1, and an item
    over ``record_bytes`` rejected as the decoding reader rejects it."""
    items = [{"msgid": f"m{i}", "text": "话" * (i * 20)} for i in range(7)]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"errcode": 0, "chatdata": items}, ensure_ascii=False), encoding="utf-8")
    limits = Limits(200, 1 << 24, 1 << 24, 1000)
    blocks = list(read_blocks(path, limits, "b.json", size=3))
    assert [len(block.raws) for block in blocks] == [3, 3, 1]
    undecoded = [r for block in blocks for r in block.records()]
    decoded = list(read_records(path, limits, "b.json"))
    assert [(r.line, r.raw, r.error) for r in undecoded] == [(r.line, r.raw, r.error) for r in decoded]
    assert [r.line for r in undecoded if r.error] == [4, 5, 6, 7]
    assert "over the limit" in (undecoded[-1].error or "")


def test_a_repeated_key_in_a_batch_item_is_kept_as_it_came(tmp_path):
    """As a JSONL line keeps it; the value read is the json module's (the last)."""
    body = b'{"chatdata": [{"a": 1, "a": 2}]}'
    assert _batch_records(tmp_path, body, decode=False) == [(1, b'{"a":1,"a":2}', None)]


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(json_values | st.lists(st.sampled_from(FLOATS), max_size=4), max_size=5),
    spaced=st.booleans(),
    ensure_ascii=st.booleans(),
)
def test_batch_items_read_undecoded_are_the_json_modules_writing(
    tmp_path_factory, items, spaced, ensure_ascii
):
    separators = (", ", ": ") if spaced else (",", ":")
    body = json.dumps({"errcode": 0, "chatdata": items}, separators=separators, ensure_ascii=ensure_ascii)
    tmp_path = tmp_path_factory.mktemp("batch")
    fast = _batch_records(tmp_path, body.encode("utf-8", "surrogatepass"), decode=False)
    assert fast == _batch_records(tmp_path, body.encode("utf-8", "surrogatepass"), decode=True)
