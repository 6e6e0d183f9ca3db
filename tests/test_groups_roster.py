"""groups.json (both WeCom shapes) and roster.csv into the lake."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import lake
from auditor.config import DEFAULTS
from auditor.ingest import _ms_to_datetime, ingest
from auditor.wecom.groups import LATEST_EPOCH, parse_group
from auditor.wecom.messages import RecordError

INTERNAL = {
    "roomid": "wr1",
    "roomname": "研发部内部沟通群",
    "creator": "zhangwei",
    "room_create_time": 1700000000,
    "notice": "文明交流",
    "members": [
        {"memberid": "zhangwei", "jointime": 1700000000},
        {"memberid": "wmVendor", "jointime": 1700000100},
    ],
}
CUSTOMER = {
    "group_chat": {
        "chat_id": "wrC",
        "name": "华南客户交流群",
        "owner": "lina",
        "create_time": 1700000000,
        "notice": "",
        "admin_list": [{"userid": "wangfang"}],
        "member_list": [
            {"userid": "lina", "type": 1, "join_time": 1700000000, "join_scene": 1},
            {"userid": "wmCust", "type": 2, "join_time": 1700000500, "join_scene": 3},
        ],
    }
}

CATEGORY_CASES = [
    ("explicit wins", {**INTERNAL, "category": "customer"}, "customer"),
    ("internal default", INTERNAL, "internal"),
    ("name rule: 项目", {**INTERNAL, "roomname": "星河项目专项群"}, "project"),
    ("customer shape default", {"group_chat": {**CUSTOMER["group_chat"], "name": "交流群"}}, "customer"),
    ("name rule beats shape", {"group_chat": {**CUSTOMER["group_chat"], "name": "售后专项群"}}, "project"),
]


@pytest.mark.parametrize(("case", "item", "category"), CATEGORY_CASES, ids=[c[0] for c in CATEGORY_CASES])
def test_group_category(case, item, category):
    group, _ = parse_group(item, DEFAULTS["groups"])
    assert group["category"] == category


def test_customer_group_members_and_admins():
    group, members = parse_group(CUSTOMER, DEFAULTS["groups"])
    assert (group["roomid"], group["owner"], group["admins"], group["shape"]) == (
        "wrC",
        "lina",
        ["wangfang"],
        "customer",
    )
    assert [(m["userid"], m["member_kind"], m["join_time"], m["join_scene"]) for m in members] == [
        ("lina", "internal", 1_700_000_000_000, 1),
        ("wmCust", "external", 1_700_000_500_000, 3),
    ]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"roomname": "x"}, "needs 'roomid'"),
        ({**INTERNAL, "category": "vip"}, "must be one of"),
        ({**INTERNAL, "room_create_time": "yesterday"}, "must be an integer"),
        ({**INTERNAL, "room_create_time": 10**15}, "room_create_time' is out of range"),
        ({**INTERNAL, "room_create_time": -1}, "out of range"),
        ({**INTERNAL, "members": [{"memberid": "a", "jointime": 10**17}]}, "jointime' is out of range"),
        (
            {
                "group_chat": {
                    **CUSTOMER["group_chat"],
                    "member_list": [{"userid": "wmX", "join_scene": 2**70}],
                }
            },
            "join_scene' is out of range",
        ),
        ({**INTERNAL, "members": [{"jointime": 1}]}, "members\\[0\\]: missing field 'memberid'"),
        ("a string", "must be a JSON object"),
    ],
)
def test_bad_groups_are_rejected(item, reason):
    with pytest.raises(RecordError, match=reason):
        parse_group(item, DEFAULTS["groups"])


def test_groups_and_roster_upsert_idempotently(ws, tmp_path):
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps([INTERNAL, CUSTOMER, {"bad": 1}], ensure_ascii=False), encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "userid,name,department,status,left_date\nzhangwei,张伟,研发部,active,\n"
        "lina,李娜,客服部,left,2026-10-31\nbad,坏,x,fired,\n",
        encoding="utf-8",
    )
    first = ingest(ws, [groups, roster]).summary()
    assert (first["records"], first["accepted"], first["rejected"]) == (6, 4, 2)
    second = ingest(ws, [groups, roster]).summary()
    assert (second["accepted"], second["duplicates"], second["rejected"]) == (0, 4, 2)
    stored = lake.read_single(ws.groups_dir / "groups.parquet", lake.GROUP_SCHEMA).to_pylist()
    assert [g["roomid"] for g in stored] == ["wr1", "wrC"]
    people = lake.read_single(ws.roster_dir / "roster.parquet", lake.ROSTER_SCHEMA).to_pylist()
    assert {p["userid"]: p["status"] for p in people} == {"zhangwei": "active", "lina": "left"}
    # a changed group (new notice) is accepted again and replaces the old row
    groups.write_text(json.dumps([{**INTERNAL, "notice": "新公告"}], ensure_ascii=False), encoding="utf-8")
    assert ingest(ws, [groups]).summary()["accepted"] == 1
    stored = lake.read_single(ws.groups_dir / "groups.parquet", lake.GROUP_SCHEMA).to_pylist()
    assert [g["notice"] for g in stored] == ["新公告", ""]


@pytest.mark.parametrize(
    ("csv_text", "reason"),
    [
        ("userid,name\nzhangwei,张伟\n", "header lacks department, status, left_date"),
        ("userid,name,department,status,left_date\nx,y,z,left,\n", "needs a left_date"),
        ("userid,name,department,status,left_date\nx,y,z,left,31/10/2026\n", "YYYY-MM-DD"),
        ("userid,name,department,status,left_date\nx,y,z\n", "expected 5 columns"),
    ],
)
def test_bad_roster_rows(ws, tmp_path, csv_text, reason):
    path = tmp_path / "roster.csv"
    path.write_text(csv_text, encoding="utf-8")
    summary = ingest(ws, [path]).summary()
    assert summary["rejected"] == 1
    entry = json.loads(next(ws.rejects_dir.glob("*.jsonl")).read_text(encoding="utf-8"))
    assert reason in entry["reason"]


def test_a_group_with_an_absurd_value_is_rejected_not_a_crash(ws, tmp_path):
    """A time no lake timestamp can hold, a number no column can (ingest used to fail converting or
    writing them, every night again) rejects that record only."""
    groups = tmp_path / "groups.json"
    absurd = {**INTERNAL, "roomid": "wr2", "room_create_time": 10**15}
    scene = {
        "group_chat": {**CUSTOMER["group_chat"], "member_list": [{"userid": "wmX", "join_scene": 2**70}]}
    }
    groups.write_text(json.dumps([INTERNAL, absurd, scene], ensure_ascii=False), encoding="utf-8")
    summary = ingest(ws, [groups]).summary()
    assert (summary["accepted"], summary["rejected"]) == (1, 2)
    stored = lake.read_single(ws.groups_dir / "groups.parquet", lake.GROUP_SCHEMA).to_pylist()
    assert [g["roomid"] for g in stored] == ["wr1"]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, LATEST_EPOCH * 1000 + 999))
def test_group_times_are_the_datetimes_the_lake_reads_back(ms):
    assert _ms_to_datetime(ms) == pa.scalar(ms, pa.int64()).cast(lake.TIMESTAMP).as_py()
