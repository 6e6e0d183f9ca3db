"""The lake as the stages see it: which dates to work on, and one date's messages.

``audit``, ``report``, ``nightly`` and ``replay`` all choose their dates and read a date's
messages here, so a date means the same to every command and a replay (which reads another
lake and writes findings elsewhere) is only a different view, not a different loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import lake
from auditor.errors import AuditorError
from auditor.string_codes import string_codes
from auditor.wecom.messages import quoted_items

if TYPE_CHECKING:
    from auditor.workspace import Workspace

MESSAGE_COLUMNS = ["msgid", "action", "msgtype", "sender", "sender_kind", "roomid", "msgtime", "text"]


REPEATING = frozenset(["action", "msgtype", "sender", "sender_kind", "roomid"])  # a few values, many rows


Coded = tuple[np.ndarray, np.ndarray]  # a column as dictionary codes (per row) and its distinct values


def _coded(column: pa.ChunkedArray) -> Coded:
    """A string column of few distinct values as (each row's code, the values as Python strings)."""
    encoded = column.combine_chunks().dictionary_encode()
    return encoded.indices.to_numpy(), encoded.dictionary.to_numpy(zero_copy_only=False)


def _column(column: pa.ChunkedArray, coded: Coded | None = None) -> pd.Series:
    """A column as pandas holds it: strings as Python strings in an object array, converted from
    Arrow once here (pandas' own Arrow-backed strings convert again at every ``to_numpy``/``to_list``
    the audit and the day detectors do, a third of the audit's own work on a realistic day).

    A column of few distinct values (a few hundred rooms, a handful of actions), given ``coded``,
    is converted one distinct value at a time: every row holding a value shares its one string
    object, which is quicker to make and to hash (grouping by room and sender hashes each object
    once)."""
    if coded is not None:
        codes, values = coded
        return pd.Series(values[codes], dtype=object, copy=False)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pd.Series(column.to_numpy(), dtype=object, copy=False)
    return column.to_pandas()


@dataclass
class LakeDay:
    """A date's messages as the audit reads them."""

    frame: pd.DataFrame  # every column of MESSAGE_COLUMNS, rows in (msgtime, msgid) order
    text_codes: np.ndarray  # each message's text as a code into ``texts``, -1 for no text (``string_codes``)
    texts: pa.Array  # the distinct texts, in first-message order
    coded: dict[str, Coded]  # the REPEATING columns as codes and values, as the day detectors can read them


MAX_PIECES = 512  # runs of rows kept as slices when sorting a date; more are taken into a copy


def in_order(table: pa.Table) -> pa.Table:
    """The rows in (msgtime, msgid) order, as ``sort_by`` would put them. The lake writes each file
    sorted, so a date is a few sorted files read in file-name order, with at most a few rows (late
    records of the date, written by a later flush) falling between another file's: in sorted order
    it is a few runs of consecutive rows. Checking is a fraction of sorting; sorted, the runs are
    kept as slices of the table, with no copy, where taking the sorted rows copies every column."""
    if table.num_rows < 2:
        return table
    steps = np.diff(table.column("msgtime").to_numpy())
    if (steps >= 0).all():
        ties = steps == 0  # at one-second times most neighbours tie: compare every neighbour, no copies
        msgids = table.column("msgid").combine_chunks()
        rising = pc.less(msgids.slice(0, len(msgids) - 1), msgids.slice(1)).to_numpy(zero_copy_only=False)
        if rising[ties].all():
            return table
    order = pc.sort_indices(table, sort_keys=[("msgtime", "ascending"), ("msgid", "ascending")]).to_numpy()
    starts = [0, *(np.flatnonzero(np.diff(order) != 1) + 1).tolist()]
    if len(starts) > MAX_PIECES:
        return table.take(order)
    ends = [*starts[1:], len(order)]
    return pa.concat_tables([table.slice(int(order[a]), b - a) for a, b in zip(starts, ends, strict=True)])


def resolve_dates(available: list[str], date: str | None, since: str | None, until: str | None) -> list[str]:
    """The dates to work on: one date, a range, or (with neither) every date in the lake."""
    if date and (since or until):
        raise AuditorError("use either --date or --since/--until, not both")
    if date:
        if date not in available:
            raise AuditorError(f"no messages in the lake for {date}")
        return [date]
    chosen = [d for d in available if (not since or d >= since) and (not until or d <= until)]
    if (since or until) and not chosen:
        raise AuditorError(f"no messages in the lake between {since or 'the start'} and {until or 'the end'}")
    return chosen


@dataclass
class LakeView:
    """Where the stages read messages and write findings; replay points these elsewhere."""

    messages_dir: Path
    findings_dir: Path

    @classmethod
    def of_workspace(cls, ws: Workspace, findings_dir: Path | None = None) -> LakeView:
        return cls(ws.messages_dir, findings_dir or ws.findings_dir)

    def dates(self) -> list[str]:
        """Every date with messages, ascending."""
        return lake.dates(self.messages_dir)

    def audited_dates(self) -> list[str]:
        """Every date with findings, ascending."""
        return lake.dates(self.findings_dir)

    def select(
        self, date: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[str]:
        """The dates a command works on (see ``resolve_dates``)."""
        return resolve_dates(self.dates(), date, since, until)

    def read_day(self, date: str) -> LakeDay:
        """A date's messages in (msgtime, msgid) order — the order day detectors rely on — with
        ``msgtime`` as epoch milliseconds. Texts stay in Arrow (the audit needs a Python string
        only for the few messages with hits) and are hashed once here: the codes key the analysis."""
        table = lake.read_partition(self.messages_dir, date, lake.MESSAGE_SCHEMA, MESSAGE_COLUMNS)
        table = table.set_column(
            table.schema.get_field_index("msgtime"), "msgtime", pc.cast(table.column("msgtime"), pa.int64())
        )
        table = in_order(table)
        text_codes, texts = string_codes(table.column("text"))
        coded = {name: _coded(table.column(name)) for name in REPEATING}
        columns = {
            name: pd.Series(pd.arrays.ArrowStringArray(table.column(name)), copy=False)
            if name == "text"
            else _column(table.column(name), coded.get(name))
            for name in table.column_names
        }
        frame = pd.DataFrame(columns, copy=False)  # a block per column: no copy into one 2-D block
        return LakeDay(frame, text_codes, texts, coded)

    def message_count(self, date: str) -> int:
        """How many messages a date has, from its files' footers (a hint: 0 for a file that cannot
        be read, whose error ``read_day`` then reports)."""
        try:
            return sum(
                pq.read_metadata(path).num_rows for path in lake.partition_files(self.messages_dir, date)
            )
        except (OSError, pa.ArrowException):
            return 0

    def quoted_items(self, date: str) -> dict[str, list[dict[str, Any]]]:
        """The quoted items of every forwarded chat record of a date, by msgid (from the raw records)."""
        table = lake.read_matching(
            self.messages_dir, date, lake.MESSAGE_SCHEMA, "msgtype", "chatrecord", ["msgid", "raw"]
        )
        return {
            msgid: quoted_items(json.loads(raw))
            for msgid, raw in zip(
                table.column("msgid").to_pylist(), table.column("raw").to_pylist(), strict=True
            )
        }
