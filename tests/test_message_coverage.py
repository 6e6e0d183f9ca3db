"""No message type left unread: the generic walk, both vote shapes, call documents, minor name fields,
quoted chat-record items with their own author and time, and the text_coverage column."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor import lake
from auditor.audit import audit
from auditor.ingest import ingest
from auditor.report.render import report
from auditor.wecom.messages import generic_strings, parse_message, quoted_items
from tests.factories import message, write_jsonl

J = json.dumps

COVERAGE_CASES = [
    # (msgtype, record fields beyond the envelope, text, coverage)
    ("text", {"text": {"content": "你好"}}, "你好", "extracted"),
    ("text", {"text": {"content": ""}}, "", "extracted"),  # known type, nothing typed
    (
        "image",
        {"image": {"sdkfileid": "CtYBMzA2OTAy", "md5sum": "50de8e5ae8ffe4f1df7a93841f71993a"}},
        "",
        "none_by_type",
    ),
    ("voice", {"voice": {"voice_size": 6810, "play_length": 10, "sdkfileid": "kcyZjZ"}}, "", "none_by_type"),
    ("emotion", {"emotion": {"type": 1, "width": 100, "sdkfileid": "x"}}, "", "none_by_type"),
    ("meeting_voice_call", {"meeting_voice_call": {"endtime": 1, "demofiledata": []}}, "", "none_by_type"),
    (
        "meeting_voice_call",
        {
            "meeting_voice_call": {
                "demofiledata": [{"filename": "报价单.xlsx", "demooperator": "lina", "starttime": 1}]
            }
        },
        "报价单.xlsx",
        "extracted",
    ),
    # both vote shapes: nested under "vote", and at the record's top level (public SDK models)
    (
        "vote",
        {"vote": {"votetitle": "去哪", "voteitem": ["爬山"], "votetype": 101}},
        "去哪\n爬山",
        "extracted",
    ),
    (
        "vote",
        {"votetitle": "去哪", "voteitem": ["爬山", "烧烤"], "votetype": 101, "voteid": "v1"},
        "去哪\n爬山\n烧烤",
        "extracted",
    ),
    (
        "calendar",
        {
            "calendar": {
                "title": "复盘",
                "creatorname": "张伟",
                "attendeename": ["李娜", "王强"],
                "starttime": 1,
            }
        },
        "复盘\n张伟\n李娜\n王强",
        "extracted",
    ),
    (
        "weapp",
        {"weapp": {"title": "报销", "username": "gh_abc@app", "displayname": "费控助手"}},
        "报销\n费控助手",
        "extracted",
    ),
    # types this version does not know (会议控制消息, 接龙消息, 笔记消息 and whatever comes next)
    (
        "meeting_notification",
        {
            "meeting_notification": {
                "meetingid": 1234567,
                "notification_type": 1,
                "content": "会议已开始，请加入",
            }
        },
        "会议已开始，请加入",
        "generic",
    ),
    (
        "solitaire",
        {
            "solitaire": {
                "title": "周五聚餐接龙",
                "items": [{"index": 1, "userid": "lina", "content": "李娜 +1"}],
            }
        },
        "周五聚餐接龙\n李娜 +1",
        "generic",
    ),
    (
        "note",
        {
            "note": {
                "noteid": "n-9f8e7d6c5b4a39281706",
                "title": "客户名单",
                "link_url": "https://doc.example/x",
                "summary": "手机 13812345678",
            }
        },
        "客户名单\n手机 13812345678",
        "generic",
    ),
    ("brand_new", {"brand_new": J({"content": "嵌套的 JSON 字符串"})}, "嵌套的 JSON 字符串", "generic"),
    ("flat_new", {"headline": "顶层字段里的话", "count": 3}, "顶层字段里的话", "generic"),  # no payload key
    ("empty_new", {"empty_new": {}}, "", "generic"),
]


@pytest.mark.parametrize(
    ("msgtype", "fields", "text", "coverage"), COVERAGE_CASES, ids=[c[0] for c in COVERAGE_CASES]
)
def test_text_and_coverage_of_every_shape(msgtype, fields, text, coverage):
    record = message(msgtype=msgtype)
    record.pop(msgtype, None)
    record.update(fields)
    row = parse_message(record)
    assert (row["text"], row["text_coverage"]) == (text, coverage)


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/path?q=1",
        "50de8e5ae8ffe4f1df7a93841f71993a",
        "CtYBMzA2OTAyMDEwMjA0MjA0MjA0MDRjMGE4",
        "1794800000",
        "2026-11-30 18:00",
        "wmABCDEF123",
        "lina@example.com",
        "   ",
        "_",
    ],
)
def test_the_generic_walk_leaves_out_ids_hashes_urls_and_numbers(value):
    assert list(generic_strings({"field": value})) == []


@pytest.mark.parametrize(
    "key", ["msgid", "sdkfileid", "md5sum", "roomid", "creator_userid", "link_url", "fileext"]
)
def test_the_generic_walk_skips_id_like_keys_even_with_words_in_them(key):
    assert list(generic_strings({key: "看起来像一句话"})) == []


def test_the_generic_walk_survives_deep_nesting():
    deep: object = "最深处的话"
    for _ in range(200):
        deep = {"x": deep}
    assert list(generic_strings(deep)) == []  # bounded depth, no RecursionError


def _chatrecord(items):
    return message(msgtype="chatrecord", payload={"title": "群聊的聊天记录", "item": items})


def test_quoted_items_keep_their_own_author_and_time():
    record = _chatrecord(
        [
            {
                "type": "ChatRecordText",
                "msgtime": 1794700000,
                "content": J({"content": "第一句"}),
                "from": "lina",
            },
            {"type": "ChatRecordImage", "msgtime": 1794700001, "content": J({"md5sum": "a"})},
            {
                "type": "ChatRecordText",
                "msgtime": 1794700002,
                "content": J({"content": "第二句"}),
                "from_chatroom": True,
            },
        ]
    )
    text = parse_message(record)["text"]
    spans = quoted_items(record)
    assert [text[s["start"] : s["end"]] for s in spans] == ["第一句", "第二句"]
    assert [(s["from"], s["msgtime"], s["from_chatroom"]) for s in spans] == [
        ("lina", 1794700000, False),
        ("", 1794700002, True),
    ]


@given(
    st.lists(
        st.tuples(st.text(max_size=20), st.sampled_from(["ChatRecordText", "text", "ChatRecordLink"])),
        max_size=6,
    )
)
def test_quoted_spans_always_cover_their_items_text(items):
    record = _chatrecord(
        [
            {"type": kind, "msgtime": i, "content": J({"content": content, "title": content})}
            for i, (content, kind) in enumerate(items)
        ]
    )
    text = parse_message(record)["text"]
    previous_end = 0
    for span in quoted_items(record):
        assert 0 <= previous_end <= span["start"] <= span["end"] <= len(text)
        previous_end = span["end"]


def test_lake_summary_and_report_index_count_types_read_generically(ws, tmp_path):
    records = [
        message("m1"),
        message("m2", msgtype="image", payload={"sdkfileid": "x"}),
        message("m3", msgtype="solitaire", payload={"title": "接龙：周五聚餐"}),
        message("m4", msgtype="solitaire", payload={"title": "接龙：周六加班"}),
        message("m5", msgtype="note", payload={"title": "笔记"}),
    ]
    result = ingest(ws, [write_jsonl(tmp_path / "in.jsonl", records)])
    assert result.summary()["generic_types"] == {"note": 1, "solitaire": 2}
    (date,) = lake.dates(ws.messages_dir)
    table = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid", "text_coverage"])
    assert dict(zip(*table.to_pydict().values(), strict=True)) == {
        "m1": "extracted",
        "m2": "none_by_type",
        "m3": "generic",
        "m4": "generic",
        "m5": "generic",
    }
    audit(ws, [date], workers=1)
    report(ws, [date])
    day_page = (ws.reports_dir / date / "index.html").read_text(encoding="utf-8")
    assert "3 条消息属于本版本未知的类型" in day_page and "solitaire 2" in day_page
    assert "3 条消息属于本版本未知的类型" in (ws.reports_dir / "index.html").read_text(encoding="utf-8")
    summary = json.loads((ws.reports_dir / date / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["generic_types"] == {"note": 1, "solitaire": 2}


def test_a_finding_inside_a_forwarded_record_names_the_quoted_author(ws, tmp_path):
    record = _chatrecord(
        [
            {
                "type": "ChatRecordText",
                "msgtime": 1794700000,
                "content": J({"content": "收到"}),
                "from": "wangqiang",
            },
            {
                "type": "ChatRecordText",
                "msgtime": 1794700100,
                "content": J({"content": "你就是个傻逼"}),
                "from": "lina",
            },
        ]
    )
    ingest(ws, [write_jsonl(tmp_path / "in.jsonl", [record, message("m2", payload={"content": "傻逼"})])])
    (date,) = lake.dates(ws.messages_dir)
    audit(ws, [date], workers=1)
    findings = lake.read_partition(ws.findings_dir, date, lake.FINDING_SCHEMA).to_pylist()
    by_msgid = {f["msgid"]: json.loads(f["evidence"]) for f in findings if f["category"] == "profanity"}
    quoted_hit = by_msgid["m1"]["hits"][0]
    assert (quoted_hit["quoted_from"], quoted_hit["quoted_msgtime"]) == ("lina", 1794700100)
    assert "quoted_from" not in by_msgid["m2"]["hits"][0]  # the sender's own words
