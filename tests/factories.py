"""Builders of archive records and files for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASE_MS = 1_794_800_000_000  # 2026-11-16 in Asia/Shanghai


def message(
    msgid: str = "m1", *, msgtype: str = "text", payload: Any = None, **fields: Any
) -> dict[str, Any]:
    """A decrypted GetChatData record with sensible defaults."""
    record: dict[str, Any] = {
        "msgid": msgid,
        "action": "send",
        "from": "zhangwei",
        "tolist": ["lina"],
        "roomid": "wr001",
        "msgtime": BASE_MS,
        "msgtype": msgtype,
    }
    record[msgtype] = {"content": "你好"} if payload is None and msgtype == "text" else payload
    record.update(fields)
    return record


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
