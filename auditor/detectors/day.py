"""One day of messages as the day detectors see it."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.detectors.base import Hit
from auditor.string_codes import NONE, string_codes


@dataclass
class RepeatKeys:
    """The flooding repeat keys the audit's analysis computed: one per distinct text of the day
    (``keys``) and each message's text among them (``rows``; -1 for a message without text).

    Coded only for the messages the flooding detector asks about (people who post often enough to
    repeat themselves at all: a third of a realistic day's messages), not every distinct text."""

    keys: pa.Array
    rows: np.ndarray

    @classmethod
    def of_messages(cls, keys: list[str]) -> RepeatKeys:
        """From each message's own repeat key ("" for none)."""
        codes, distinct = string_codes(keys)
        return cls(distinct, codes)

    def codes(self, messages: np.ndarray) -> np.ndarray:
        """A code per message at positions ``messages`` of the day, equal exactly where their keys
        are (``string_codes``), ``NONE`` for a message without text or with an empty key."""
        positions = self.rows[messages]
        distinct, inverse = np.unique(positions, return_inverse=True)
        codes, _ = string_codes(self.keys.take(pa.array(np.maximum(distinct, 0), type=pa.int64())))
        codes[distinct < 0] = NONE
        return codes[inverse.reshape(-1)]


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
    # the flooding repeat keys, when the audit's analysis computed them; None makes the flooding
    # detector compute the keys it needs itself
    repeat_keys: RepeatKeys | None = None
    # columns of few distinct values (action, roomid, sender, sender_kind) as each message's code and
    # the values (``LakeView.read_day``'s), when the caller has them: a test of a column then looks at
    # a few hundred values, not every message's string
    coded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    @cached_property
    def group_rows(self) -> np.ndarray:
        """Which of ``messages`` are ``group_messages()`` (bool)."""
        if self.coded is not None:
            return (
                self._holds("action", "send")
                & ~self._holds("roomid", "")
                & ~self._holds("sender_kind", "robot")
            )
        m = self.messages
        return ((m["action"] == "send") & (m["roomid"] != "") & (m["sender_kind"] != "robot")).to_numpy()

    def _holds(self, column: str, value: str) -> np.ndarray:
        """Which messages' ``column`` is ``value`` (bool), from the column's codes."""
        assert self.coded is not None
        codes, values = self.coded[column]
        return (values == value)[codes]

    @cached_property
    def _group_messages(self) -> pd.DataFrame:
        # usually every message is one (a copy of every column would cost 0.06-0.11 s a 333k-row day);
        # otherwise the texts are left out of the copy: no day detector reads them from it
        if self.group_rows.all():
            return self.messages
        return self.messages.loc[self.group_rows, [c for c in self.messages.columns if c != "text"]]

    def group_messages(self) -> pd.DataFrame:
        """Messages people sent in group chats (robots are never counted as people), selected once
        for all the day detectors (each reads them, none changes them), without their ``text``
        when some messages are not (``group_texts`` gives those)."""
        return self._group_messages

    def group_texts(self, rows: np.ndarray) -> np.ndarray:
        """The texts (object array) of the rows ``rows`` of ``group_messages()``."""
        return self.messages["text"].iloc[np.flatnonzero(self.group_rows)[rows]].to_numpy(dtype=object)

    @cached_property
    def _people(self) -> np.ndarray:
        if self.coded is not None:  # pairs of codes, numbered as same_values numbers the pairs of strings
            rows = self.group_rows
            rooms, senders = self.coded["roomid"][0][rows], self.coded["sender"][0][rows]
            pairs = rooms.astype(np.int64) * len(self.coded["sender"][1]) + senders
            return pd.factorize(pairs)[0].astype(np.int64, copy=False)
        return same_values(self.group_messages()["roomid"], self.group_messages()["sender"])

    def people(self) -> np.ndarray:
        """For each of ``group_messages()``, a code for its (roomid, sender): equal exactly when
        the person and room are. Codes number people in order of their first message."""
        return self._people

    @cached_property
    def _people_order(self) -> np.ndarray:
        return stable_order(self.people())

    def people_order(self) -> np.ndarray:
        """The rows of ``group_messages()`` by person, each person's in time order."""
        return self._people_order

    @cached_property
    def _first_rows(self) -> np.ndarray:
        people = self.people()
        if not len(people):
            return np.empty(0, dtype=np.int64)
        newest = np.maximum.accumulate(people)  # codes are numbered in order of first message
        return np.flatnonzero(np.concatenate(([True], people[1:] > newest[:-1])))

    def first_rows(self) -> np.ndarray:
        """Each person's first row in ``group_messages()``, indexed by the person's code."""
        return self._first_rows


def stable_order(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for int64 codes from -1 up, by two 16-bit passes:
    numpy sorts 16-bit integers by radix, about ten times faster than a 64-bit stable sort."""
    shifted = codes.astype(np.int64) + 1
    top = int(shifted.max()) if len(shifted) else 0
    if top < 1 << 16:
        return np.argsort(shifted.astype(np.uint16), kind="stable")
    if top >= 1 << 32 or int(shifted.min()) < 0:
        return np.argsort(codes, kind="stable")
    order = np.argsort((shifted & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((shifted[order] >> 16).astype(np.uint16), kind="stable")]


def same_values(*columns: pd.Series | np.ndarray) -> np.ndarray:
    """Codes (int64, 0…n-1) of the rows, equal exactly where every column's values are equal.

    Hash-based (``pd.factorize``), not sorted: a grouping that needs no order, at a fraction of a
    sorted multi-column ``groupby().ngroup()``'s cost on a day of object strings. Codes number the
    rows' combinations in order of first appearance.
    """
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
        column_codes, uniques = pd.factorize(values, use_na_sentinel=False)
        codes, _ = pd.factorize(codes * len(uniques) + column_codes)  # dense again: never overflows
    return codes.astype(np.int64, copy=False)
