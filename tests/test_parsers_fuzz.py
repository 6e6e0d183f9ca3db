"""Property: any JSON value is either parsed or rejected with a reason — never an unexpected exception."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.config import DEFAULTS
from auditor.wecom.groups import parse_group
from auditor.wecom.messages import EXTRACTORS, RecordError, parse_message
from tests.factories import message

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = [
    "msgid",
    "action",
    "from",
    "tolist",
    "roomid",
    "msgtime",
    "msgtype",
    "seq",
    "time",
    "user",
    "revoke",
    *{key for key, _ in EXTRACTORS.values()},
]


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from(sorted(EXTRACTORS)), key=st.sampled_from(KEYS), value=json_values)
def test_message_records_parse_or_reject(base, key, value):
    record = message(msgtype=base, payload={"content": "x"})
    record[key] = value
    try:
        row = parse_message(record)
    except RecordError:
        return
    assert isinstance(row["text"], str) and isinstance(row["msgid"], str)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_anything_as_a_record_or_group_is_parsed_or_rejected(value):
    for parse in (parse_message, lambda v: parse_group(v, DEFAULTS["groups"])):
        with contextlib.suppress(RecordError):
            parse(value)


@settings(max_examples=200, deadline=None)
@given(items=json_values)
def test_chatrecord_and_mixed_items_of_any_shape(items):
    for msgtype in ("chatrecord", "mixed", "news", "vote", "collect"):
        record = message(
            msgtype=msgtype, payload={"item": items, "title": "t", "details": items, "voteitem": items}
        )
        assert isinstance(parse_message(record)["text"], str)
