"""Build a Day of messages for the day-detector tests."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pandas as pd

from auditor.config import load_config
from auditor.detectors.day import Day

T0 = 1_794_800_000_000
CONFIG = load_config(None)


def day_of(rows: list[dict], hits=None, groups=None, roster=None, date="2026-11-16") -> Day:
    defaults = {
        "action": "send",
        "msgtype": "text",
        "roomid": "wr1",
        "sender_kind": "internal",
        "text": "收到",
        "group_category": "internal",
    }
    full = []
    for i, row in enumerate(rows):
        record = {**defaults, "msgid": f"m{i:04d}", **row}
        if record["sender"].startswith(("wm", "wo")):
            record["sender_kind"] = "external"
        if record["sender"].startswith("wb"):
            record["sender_kind"] = "robot"
        full.append(record)
    return Day(
        date, pd.DataFrame(full), hits or {}, groups or {}, roster or {}, zoneinfo.ZoneInfo("Asia/Shanghai")
    )


def at(seconds: float) -> int:
    return T0 + int(seconds * 1000)


LEFT = {"userid": "gone", "name": "", "department": "", "status": "left", "left_date": dt.date(2026, 11, 1)}
