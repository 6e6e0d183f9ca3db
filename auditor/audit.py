"""Audit: message partitions → findings partitions.

``audit`` is the one entry every command uses (``audit``, ``nightly``, ``replay``): it chooses
the engine (engines/) and drives it over the dates, overlapped: the engine analyses a date's
texts while this process finishes the date before (``_pipelined``). Each distinct text is
analysed once per date; day detectors and the policy run in this process. Findings for a date
are sorted and written as one file that replaces the old one atomically, so the same input and
rules give byte-identical findings whatever the engine or the number of workers.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor import lake
from auditor.allowlist import unsuppressed
from auditor.analyzer import Ruleset
from auditor.detectors import day_detectors
from auditor.detectors.base import Hit
from auditor.detectors.day import Day, RepeatKeys
from auditor.engines import make_engine, worker_count
from auditor.engines.chunk import FILE_TYPES, DateKeys
from auditor.lake_view import Coded, LakeView
from auditor.policy import event_finding, message_findings
from auditor.workspace import Workspace

__all__ = [
    "FILE_TYPES",
    "AuditReport",
    "DateMessages",
    "Sources",
    "attribute_quoted",
    "audit",
    "finish_date",
    "read_date",
]


@dataclass
class AuditReport:
    ruleset_version: str
    dates: dict[str, int] = field(default_factory=dict)  # date → findings
    messages: int = 0
    distinct_texts: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "ruleset_version": self.ruleset_version,
            "dates": self.dates,
            "messages": self.messages,
            "findings": sum(self.dates.values()),
            "distinct_texts": self.distinct_texts,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Sources(LakeView):
    """The lake view an audit reads and writes, with the groups and roster its detectors need."""

    groups: dict[str, dict[str, Any]]
    roster: dict[str, dict[str, Any]]
    default_category: str

    @classmethod
    def of_workspace(cls, ws: Workspace, findings_dir: Path | None = None) -> Sources:
        return cls(
            ws.messages_dir,
            findings_dir or ws.findings_dir,
            ws.groups(),
            ws.roster(),
            ws.config["groups"]["default_category"],
        )

    def category(self, roomid: str) -> str:
        """The policy category of a room (a group not in the groups list has the default one)."""
        group = self.groups.get(roomid)
        return group["category"] if group is not None else self.default_category


def attribute_quoted(hits: list[Hit], items: list[dict[str, Any]]) -> list[Hit]:
    """Hits inside a quoted item of a forwarded chat record name that item's own author and time in
    their evidence: the words are the quoted person's, forwarded by the sender."""
    out = []
    for hit in hits:
        item = next((q for q in items if q["start"] <= hit.start and hit.end <= q["end"]), None)
        if item is not None:
            quoted = {"quoted_from": item["from"], "quoted_msgtime": item["msgtime"]}
            hit = replace(hit, evidence={**hit.evidence, **quoted})
        out.append(hit)
    return out


@dataclass
class DateMessages:
    """A date read and keyed, its analysis submitted or about to be."""

    date: str
    frame: pd.DataFrame  # LakeView.read_day's, with each message's group_category
    keys: DateKeys  # the distinct analysis keys (what is submitted) and each message's
    coded: dict[str, Coded]  # LakeView.read_day's: its columns of few values as codes


def read_date(date: str, sources: Sources) -> DateMessages:
    """A date's messages with their group categories and analysis keys."""
    day = sources.read_day(date)
    frame = day.frame
    codes, rooms = day.coded["roomid"]
    categories = np.array([sources.category(roomid) for roomid in rooms.tolist()], dtype=object)
    frame["group_category"] = pd.Series(categories[codes], dtype=object)
    keys = DateKeys.of(frame["msgtype"].to_numpy(dtype=object), day.text_codes, day.texts)
    return DateMessages(date, frame, keys, day.coded)


def finish_date(
    messages: DateMessages, repeat_keys: pa.Array, sources: Sources, ruleset: Ruleset, engine, tz
) -> int:
    """The findings of a date whose analysis is collected (``repeat_keys``: of each distinct key):
    its messages' hits, the day detectors, the policy; written as the date's findings file.
    Returns how many."""
    date, frame, keys = messages.date, messages.frame, messages.keys
    policy = ruleset.config["policy"]
    rows: list[dict[str, Any]] = []
    hits_by_msgid: dict[str, list[Hit]] = {}
    columns = {
        c: frame[c].to_numpy(dtype=object) for c in ("msgid", "roomid", "sender", "msgtime", "group_category")
    }
    msgtypes = frame["msgtype"].to_numpy(dtype=object)
    quoted: dict[str, list[dict[str, Any]]] | None = None  # read once, only if a chat record has hits
    for i in engine.rows_with_hits(keys).tolist():  # rows are built only for the few messages with hits
        text = keys.row_text(i)
        # phrases allowlisted for one group apply per message, not per distinct text
        hits = engine.lookup(keys.key(keys.rows[i]))
        hits = unsuppressed(ruleset.lexicon.room_allowlist, columns["roomid"][i], text, hits)
        if hits and msgtypes[i] == "chatrecord":
            quoted = sources.quoted_items(date) if quoted is None else quoted
            hits = attribute_quoted(hits, quoted.get(columns["msgid"][i], []))
        if hits:
            record = {c: values[i] for c, values in columns.items()} | {"text": text}
            hits_by_msgid[record["msgid"]] = hits
            rows += message_findings(record, hits, record["group_category"], policy, date, ruleset.version)

    repeats = RepeatKeys(repeat_keys, keys.rows)
    day = Day(date, frame, hits_by_msgid, sources.groups, sources.roster, tz, repeats, messages.coded)
    events = []
    for cls in day_detectors():
        if ruleset.enabled(cls.category):
            events += cls(ruleset.settings(cls.settings_key()), ruleset.lexicon).detect(day)
    anchors = {event.anchor_msgid for event in events}
    anchor_rows = np.flatnonzero(pd.Series(columns["msgid"], copy=False).isin(list(anchors)))
    position = {columns["msgid"][i]: int(i) for i in anchor_rows}  # a repeated msgid: its last row
    for event in events:
        anchor = position.get(event.anchor_msgid)
        anchor_text = keys.row_text(anchor) if anchor is not None else ""
        anchor_hits = hits_by_msgid.get(event.anchor_msgid or "", [])
        category = sources.category(event.roomid)
        rows.append(event_finding(event, anchor_text, anchor_hits, category, policy, date, ruleset.version))

    rows.sort(
        key=lambda r: (r["msgtime"], r["roomid"], r["msgid"] or "", r["category"], r["rule"], r["finding_id"])
    )
    day_date = dt.date.fromisoformat(date)
    for row in rows:  # the lake stores dates as date32
        row["date"] = day_date
    table = pa.Table.from_pylist(rows, schema=lake.FINDING_SCHEMA)  # msgtime: epoch ms → timestamp
    lake.write_table(lake.findings_path(sources.findings_dir, date), table)
    return len(rows)


def audit(
    ws: Workspace,
    dates: list[str],
    workers: int | None = None,
    on_date: Callable[[str, int, int], None] | None = None,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    ruleset: Ruleset | None = None,
    sources: Sources | None = None,
) -> AuditReport:
    """Audit ``dates`` of the workspace lake with the workspace's rules.

    Replay passes its own ``ruleset`` (whose settings then choose the engine and workers) and
    ``sources`` (another lake, findings written elsewhere); nothing else differs.
    """
    ruleset = ruleset or Ruleset(ws.config, ws.dictionaries_dir)
    sources = sources or Sources.of_workspace(ws)
    settings = ruleset.config["audit"]
    workers = worker_count(ruleset.config, workers)
    started = time.perf_counter()
    report = AuditReport(ruleset.version)
    texts = make_engine(
        ruleset, workers, engine or settings["engine"], scheduler or settings["scheduler"] or None
    )
    try:
        for date, messages, findings in _pipelined(dates, sources, ruleset, texts, ws.tz):
            report.messages += messages
            report.dates[date] = findings
            if on_date:
                on_date(date, messages, findings)
    finally:
        texts.close()
    report.distinct_texts = texts.distinct_texts
    report.seconds = time.perf_counter() - started
    return report


def _pipelined(
    dates: list[str], sources: Sources, ruleset: Ruleset, engine, tz
) -> Iterator[tuple[str, int, int]]:
    """(date, messages, findings) of each date in order, the dates overlapped: while this process
    finishes a date (its hits, day detectors, findings file), the engine analyses the next one, and
    the one after is read while the engine is still busy. At most two dates are in memory.

    The next date is submitted before the current one is collected, so the workers need not wait
    for this process at a date boundary; the engine still decides what the next date sends from
    what the current one found (``local.LocalEngine``), so findings are the same as date by date. A
    date that cannot be read fails the audit only after the dates before it are finished.
    """
    if not dates:
        return
    engine.start(sources.message_count(dates[0]))  # the workers start while the first date is read
    current = read_date(dates[0], sources)
    submitted = engine.submit(current.keys)
    for following in [*dates[1:], None]:
        upcoming, failure = None, None
        if following is not None:
            try:  # read while the engine analyses the current date
                upcoming = read_date(following, sources)
            except Exception as exc:
                failure = exc
        # sent before the current date is collected: the workers go on without waiting for it
        following_submitted = engine.submit(upcoming.keys) if upcoming else None
        repeat_keys = engine.collect(submitted)
        submitted = following_submitted
        findings = finish_date(current, repeat_keys, sources, ruleset, engine, tz)
        yield current.date, len(current.frame), findings
        if failure is not None:
            raise failure
        current = upcoming
        # The finished date's frames are freed now: give their pages back to the OS (as ingest does
        # at each flush), or Arrow's allocator keeps them and its resident size creeps up date by
        # date (+60-90 MB over 30 realistic dates, while its allocated bytes stay flat).
        pa.default_memory_pool().release_unused()
