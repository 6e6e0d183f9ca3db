"""One case per WeCom archive message type: its row fields and auditable text."""

from __future__ import annotations

import json

import pytest

from auditor.wecom.messages import RecordError, parse_message, sender_kind
from tests.factories import BASE_MS, message

J = lambda obj: json.dumps(obj, ensure_ascii=False)  # noqa: E731

# (msgtype, payload key, payload, expected text)
TYPE_CASES = [
    ("text", "text", {"content": "明天开会"}, "明天开会"),
    ("image", "image", {"md5sum": "a", "filesize": 1, "sdkfileid": "s"}, ""),
    ("agree", "agree", {"userid": "u", "agree_time": 1}, ""),
    ("disagree", "disagree", {"userid": "u", "disagree_time": 1}, ""),
    ("voice", "voice", {"md5sum": "a", "voice_size": 1, "play_length": 2, "sdkfileid": "s"}, ""),
    ("video", "video", {"md5sum": "a", "filesize": 1, "play_length": 2, "sdkfileid": "s"}, ""),
    ("card", "card", {"corpname": "示例公司", "userid": "lina"}, "示例公司\nlina"),
    (
        "location",
        "location",
        {"longitude": 1.0, "latitude": 2.0, "address": "南山区", "title": "大厦", "zoom": 15},
        "大厦\n南山区",
    ),
    ("emotion", "emotion", {"type": 1, "width": 1, "height": 1, "md5sum": "a"}, ""),
    (
        "file",
        "file",
        {"md5sum": "a", "filename": "工资表.xlsx.exe", "fileext": "exe", "filesize": 1},
        "工资表.xlsx.exe",
    ),
    (
        "link",
        "link",
        {"title": "标题", "description": "描述", "link_url": "http://x.cn/a", "image_url": "i"},
        "标题\n描述\nhttp://x.cn/a",
    ),
    (
        "weapp",
        "weapp",
        {"title": "小程序", "description": "说明", "username": "gh", "displayname": "服务"},
        "小程序\n说明\n服务",
    ),
    (
        "chatrecord",
        "chatrecord",
        {
            "title": "聊天记录",
            "item": [
                {
                    "type": "ChatRecordText",
                    "msgtime": 1,
                    "content": J({"content": "引用的话"}),
                    "from_chatroom": True,
                },
                {
                    "type": "ChatRecordLink",
                    "msgtime": 1,
                    "content": J({"title": "链接", "link_url": "http://a.cn"}),
                },
                {"type": "ChatRecordFile", "msgtime": 1, "content": J({"filename": "a.exe"})},
                {
                    "type": "chatrecord",
                    "msgtime": 1,
                    "content": J(
                        {
                            "title": "内层",
                            "item": [{"type": "ChatRecordText", "content": J({"content": "更深的话"})}],
                        }
                    ),
                },
                {"type": "ChatRecordImage", "msgtime": 1, "content": J({"md5sum": "x"})},
            ],
        },
        "聊天记录\n引用的话\n链接\nhttp://a.cn\na.exe\n内层\n更深的话",
    ),
    ("todo", "todo", {"title": "待办", "content": "写周报"}, "待办\n写周报"),
    (
        "vote",
        "vote",
        {"votetitle": "去哪", "voteitem": ["爬山", "烧烤"], "votetype": 101, "voteid": "v"},
        "去哪\n爬山\n烧烤",
    ),
    (
        "collect",
        "collect",
        {
            "room_name": "群",
            "creator": "a",
            "create_time": "x",
            "title": "统计",
            "details": [{"id": 1, "ques": "订餐吗", "type": "Text"}],
        },
        "群\n统计\n订餐吗",
    ),
    ("redpacket", "redpacket", {"type": 1, "wish": "恭喜发财", "totalcnt": 1, "totalamount": 1}, "恭喜发财"),
    ("external_redpacket", "redpacket", {"type": 1, "wish": "感谢", "totalcnt": 1, "totalamount": 1}, "感谢"),
    (
        "meeting",
        "meeting",
        {"topic": "周会", "address": "会议室", "remarks": "带电脑", "meetingid": 1},
        "周会\n会议室\n带电脑",
    ),
    (
        "docmsg",
        "doc",
        {"title": "文档", "link_url": "https://doc.x.cn/1", "doc_creator": "a"},
        "文档\nhttps://doc.x.cn/1",
    ),
    ("markdown", "info", {"content": "**通知**"}, "**通知**"),
    (
        "news",
        "info",
        {"item": [{"title": "新闻", "description": "摘要", "url": "https://n.cn", "picurl": ""}]},
        "新闻\n摘要\nhttps://n.cn",
    ),
    (
        "calendar",
        "calendar",
        {"title": "复盘", "creatorname": "a", "attendeename": ["b"], "place": "大会议室", "remarks": "全员"},
        "复盘\na\nb\n大会议室\n全员",  # creator and attendees are named too
    ),
    (
        "mixed",
        "mixed",
        {
            "item": [
                {"type": "text", "content": J({"content": "截图如下"})},
                {"type": "image", "content": J({"md5sum": "x"})},
            ]
        },
        "截图如下",
    ),
    ("meeting_voice_call", "meeting_voice_call", {"endtime": 1, "sdkfileid": "s", "demofiledata": []}, ""),
    (
        "voip_doc_share",
        "voip_doc_share",
        {"filename": "材料.pptx", "md5sum": "a", "filesize": 1},
        "材料.pptx",
    ),
    ("sphfeed", "sphfeed", {"feed_type": 4, "sph_name": "官方号", "feed_desc": "发布会"}, "官方号\n发布会"),
    ("voiptext", "voiptext", {"callduration": 10, "invitetype": 1}, ""),
    ("qydiskfile", "info", {"filename": "制度.pdf"}, "制度.pdf"),
    ("some_future_type", "some_future_type", {"content": "whatever"}, "whatever"),  # the generic walk
]


@pytest.mark.parametrize(
    ("msgtype", "key", "payload", "expected"), TYPE_CASES, ids=[c[0] for c in TYPE_CASES]
)
def test_every_message_type_parses_with_its_text(msgtype, key, payload, expected):
    record = message(msgtype=msgtype)
    record.pop(msgtype, None)
    record[key] = payload
    row = parse_message(record)
    assert row["msgtype"] == msgtype
    assert row["text"] == expected
    assert row["action"] == "send"
    assert row["msgtime"] == BASE_MS


def test_revoke_is_a_recall_that_keeps_pre_msgid():
    row = parse_message(message("r1", msgtype="revoke", payload={"pre_msgid": "m0"}, action="recall"))
    assert (row["action"], row["pre_msgid"], row["text"]) == ("recall", "m0", "")


@pytest.mark.parametrize("msgtype", ["meeting_voice_call", "voip_doc_share"])
def test_calls_without_roomid_key_are_one_to_one(msgtype):
    record = message(msgtype=msgtype, payload={"filename": "a.pptx"})
    del record["roomid"]
    assert parse_message(record)["roomid"] == ""


def test_switch_action_uses_time_and_user():
    row = parse_message({"msgid": "s1", "action": "switch", "time": BASE_MS, "user": "wmabc"})
    assert (row["action"], row["msgtype"], row["sender"], row["sender_kind"], row["msgtime"]) == (
        "switch",
        "",
        "wmabc",
        "external",
        BASE_MS,
    )


@pytest.mark.parametrize(
    ("userid", "kind"),
    [
        ("wmAbc", "external"),
        ("woXyz", "external"),
        ("wbRobot1", "robot"),
        ("zhangwei", "internal"),
        ("wangwei", "internal"),
        ("w", "internal"),
    ],
)
def test_sender_kind_from_id_prefix(userid, kind):
    assert sender_kind(userid) == kind


BAD_RECORDS = [
    ([1, 2], "must be a JSON object"),
    ("text", "must be a JSON object"),
    ({"action": "send", "from": "a", "msgtime": 1, "msgtype": "text"}, "missing field 'msgid'"),
    (message(msgid=""), "'msgid' is empty"),
    (message(msgid=123), "'msgid' must be a string"),
    (message(msgtime="1794800000000"), "'msgtime' must be an integer"),
    (message(msgtime=True), "'msgtime' must be an integer"),
    (message(msgtime=-5), "before 2010-01-01"),
    (message(tolist="lina"), "'tolist' must be a list"),
    (message(tolist=[1]), "list of strings"),
    (message(roomid=7), "'roomid' must be a string"),
    (message(action="forward"), "unknown action"),
    (message(seq="3"), "'seq' must be an integer"),
    (message(seq=2**63), "'seq' is out of range"),  # the lake's seq is int64: stored, it broke the write
    (message(seq=-(2**63) - 1), "'seq' is out of range"),
    ({"msgid": "x", "action": "switch", "user": "a"}, "missing field 'time'"),
    (
        {"msgid": "x", "seq": 1, "publickey_ver": 1, "encrypt_random_key": "k", "encrypt_chat_msg": "c"},
        "still encrypted",
    ),
]


@pytest.mark.parametrize(("record", "reason"), BAD_RECORDS, ids=[r for _, r in BAD_RECORDS])
def test_invalid_records_are_rejected_with_a_reason(record, reason):
    with pytest.raises(RecordError, match=reason):
        parse_message(record)


NOW_MS = 1_795_000_000_000  # 2026-11-18 UTC, the time of the "run" in the table below
MSGTIME_CASES = [
    # (msgtime, accepted, words the reason must contain)
    (NOW_MS, True, ""),
    (1_262_304_000_000, True, ""),  # 2010-01-01 00:00 UTC exactly
    (NOW_MS + 86_400_000, True, ""),  # a day ahead: clocks differ
    (NOW_MS // 1000, False, "looks like seconds"),  # seconds, not ms: would land in January 1970
    (1_500_000_000, False, "looks like seconds"),  # 2017 in seconds
    (0, False, "before 2010-01-01"),
    (1_262_303_999_999, False, "before 2010-01-01"),
    (NOW_MS + 86_400_001, False, "more than a day after this run"),
    (99_999_999_999_999, False, "5138"),  # year 5138
    (10**18, False, "beyond year 9999"),
]


@pytest.mark.parametrize(("msgtime", "accepted", "reason"), MSGTIME_CASES)
def test_impossible_msgtimes_are_rejected_with_a_hint(msgtime, accepted, reason):
    record = message(msgtime=msgtime)
    if accepted:
        assert parse_message(record, now_ms=NOW_MS)["msgtime"] == msgtime
        return
    with pytest.raises(RecordError, match=reason) as info:
        parse_message(record, now_ms=NOW_MS)
    assert "'msgtime'" in str(info.value)
    if "seconds" not in reason:
        assert "seconds" not in str(info.value)


def test_a_switch_record_time_is_checked_too():
    with pytest.raises(RecordError, match="looks like seconds"):
        parse_message({"msgid": "s1", "action": "switch", "time": BASE_MS // 1000, "user": "wmabc"})
