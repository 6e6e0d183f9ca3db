"""One day of messages as the day detectors see it."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
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
    # a code per message (``flooding.repeat_codes`` of its flooding repeat key), when the audit's
    # analysis computed the keys; None makes the flooding detector compute the keys it needs itself
    repeat_codes: np.ndarray | None = None

    @cached_property
    def group_rows(self) -> np.ndarray:
        """Which of ``messages`` are ``group_messages()`` (bool)."""
        m = self.messages
        return ((m["action"] == "send") & (m["roomid"] != "") & (m["sender_kind"] != "robot")).to_numpy()

    @cached_property
    def _group_messages(self) -> pd.DataFrame:
        return self.messages[self.group_rows]

    def group_messages(self) -> pd.DataFrame:
        """Messages people sent in group chats (robots are never counted as people), selected once
        for all the day detectors (each reads them, none changes them)."""
        return self._group_messages

    @cached_property
    def _people(self) -> np.ndarray:
        return same_values(self.group_messages()["roomid"], self.group_messages()["sender"])

    def people(self) -> np.ndarray:
        """For each of ``group_messages()``, a code for its (roomid, sender): equal exactly when
        the person and room are. The codes carry no order."""
        return self._people


def same_values(*columns: pd.Series | np.ndarray) -> np.ndarray:
    """Codes (int64, 0…n-1) of the rows, equal exactly where every column's values are equal.

    Hash-based (``pd.factorize``), not sorted: a grouping that needs no order, at a fraction of a
    sorted multi-column ``groupby().ngroup()``'s cost on a day of object strings.
    """
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
        column_codes, uniques = pd.factorize(values, use_na_sentinel=False)
        codes, _ = pd.factorize(codes * len(uniques) + column_codes)  # dense again: never overflows
    return codes.astype(np.int64, copy=False)
