"""One day of messages as the day detectors see it."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

from auditor.detectors.base import Hit


@dataclass
class Day:
    date: str
    # msgid, roomid, sender, sender_kind, msgtime (epoch ms), action, msgtype, text, group_category;
    # rows in (msgtime, msgid) order
    messages: pd.DataFrame
    hits: dict[str, list[Hit]]  # msgid → text hits
    groups: dict[str, dict[str, Any]]  # roomid → group row
    roster: dict[str, dict[str, Any]]  # userid → roster row
    tz: zoneinfo.ZoneInfo
    # text → flooding repeat key (``flooding.repeat_key``) for every text of the day, when the audit's
    # analysis computed them; None makes the flooding detector compute the keys it needs itself
    repeat_keys: Mapping[str, str] | None = None

    @cached_property
    def _group_messages(self) -> pd.DataFrame:
        m = self.messages
        return m[(m["action"] == "send") & (m["roomid"] != "") & (m["sender_kind"] != "robot")]

    def group_messages(self) -> pd.DataFrame:
        """Messages people sent in group chats (robots are never counted as people), selected once
        for all the day detectors (each reads them, none changes them)."""
        return self._group_messages
