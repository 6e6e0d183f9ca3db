"""A small, fixed day with hostile content, for the report tests and the browser tests."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.audit import audit
from auditor.ingest import ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

XSS = [
    "<script>window.__pwned = 1</script>傻逼",
    '<img src=x onerror="window.__pwned = 1">你是猪吗',
    '"><svg onload=window.__pwned=1>卧槽',
]
PHONE = "13812345678"
TRAVERSAL_ROOM = "../../etc"


def build(root: Path) -> Workspace:
    ws = Workspace(root / "ws")
    ws.init()
    records = [
        message(f"x{i}", roomid="wrA", text={"content": text}, msgtime=BASE_MS + i * 60_000)
        for i, text in enumerate(XSS)
    ]
    records.append(
        message(
            "link1",
            roomid="wrA",
            msgtype="link",
            msgtime=BASE_MS + 300_000,
            payload={"title": "点我领取", "description": "福利", "link_url": "javascript:window.__pwned=1"},
        )
    )
    records.append(
        message("pii1", roomid="wrA", text={"content": f"客户电话 {PHONE} 傻逼"}, msgtime=BASE_MS + 360_000)
    )
    records.append(message("calm", roomid="wrA", text={"content": "收到"}, msgtime=BASE_MS + 420_000))
    records.append(
        message("t1", roomid=TRAVERSAL_ROOM, text={"content": "你脑子有病"}, msgtime=BASE_MS + 480_000)
    )
    records.append(
        message(
            "c1",
            roomid="wrC",
            sender="lina",
            text={"content": "好的"},
            msgtime=BASE_MS + 500_000,
            **{"from": "lina"},
        )
    )
    write_jsonl(root / "in" / "day.jsonl", records)
    groups = [
        {
            "roomid": "wrA",
            "roomname": "研发部<b>内部</b>群",
            "creator": "zhangwei",
            "room_create_time": 1_700_000_000,
            "notice": "<script>alert(1)</script>",
            "members": [{"memberid": "zhangwei", "jointime": 1_794_790_000}],
        },
        {
            "group_chat": {
                "chat_id": "wrC",
                "name": "客户服务群",
                "owner": "lina",
                "create_time": 1_700_000_000,
                "admin_list": [{"userid": "wangfang"}],
                "member_list": [],
            }
        },
    ]
    (root / "in" / "groups.json").write_text(json.dumps(groups, ensure_ascii=False), encoding="utf-8")
    (root / "in" / "roster.csv").write_text(
        "userid,name,department,status,left_date\nzhangwei,张伟,研发部,active,\nlina,李娜,客服部,active,\n",
        encoding="utf-8",
    )
    ingest(ws, [root / "in"])
    audit(ws, ["2026-11-16"], workers=1)
    return ws
