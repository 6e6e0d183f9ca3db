"""Audit: message partitions → findings partitions.

Each distinct text is analysed once per run (收到 appears thousands of times a day), in a
process pool whose workers each build the analyzer once. Day detectors and the policy run in
this process. Findings for a date are sorted and written as one file that replaces the old one
atomically, so the same input and rules give byte-identical findings.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor import failpoints, lake
from auditor.allowlist import unsuppressed
from auditor.analyzer import Analyzer, Ruleset, audit_analyzer
from auditor.detectors import day_detectors
from auditor.detectors.base import Hit
from auditor.detectors.day import Day
from auditor.errors import AuditorError
from auditor.policy import event_finding, message_findings
from auditor.wecom.messages import quoted_items
from auditor.workspace import Workspace

CHUNK = 2000  # texts per task sent to a worker
FILE_TYPES = ("file", "voip_doc_share", "qydiskfile")
MESSAGE_COLUMNS = ["msgid", "action", "msgtype", "sender", "sender_kind", "roomid", "msgtime", "text"]

_worker_analyzer: Analyzer | None = None


def _exit_with_parent() -> None:
    """Ends this worker as soon as the process that started the pool is gone, however it died.

    A pool worker otherwise waits on its task queue forever once the parent is SIGKILLed (it
    holds the queue's write end itself). The parent sentinel is a pipe only the parent writes to,
    so it reads as ready exactly when the parent has exited.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(config: dict[str, Any], company_dictionaries: Path | None) -> None:
    global _worker_analyzer
    _exit_with_parent()
    _worker_analyzer = audit_analyzer(Ruleset(config, company_dictionaries))


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers start from a fresh interpreter (forkserver, else spawn), never by forking this
    process: a forked worker would inherit every descriptor, the workspace lock's included, and
    keep the workspace locked after this process is killed."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _analyze_chunk(keys: list[tuple[str, bool]]) -> list[list[Hit]]:
    assert _worker_analyzer is not None
    return _worker_analyzer.analyze_many(keys)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LocalEngine:
    """Hits per distinct (text, is_file), computed inline or in a local process pool whose
    workers each build the analyzer once; kept for the run, so each distinct text is analysed once.

    The engine interface: ``prepare(messages_dir, date, keys)`` before a date is audited,
    ``lookup(key)`` for each message, ``close()``; the Dask engine has the same three.
    """

    def __init__(self, ruleset: Ruleset, workers: int) -> None:
        self.ruleset = ruleset
        self.workers = workers
        self.hits: dict[tuple[str, bool], list[Hit]] = {}
        self._analyzer: Analyzer | None = None
        self._pool: ProcessPoolExecutor | None = None

    def prepare(self, messages_dir: Path, date: str, keys: Iterable[tuple[str, bool]]) -> None:
        self.fill(keys)

    def lookup(self, key: tuple[str, bool]) -> list[Hit]:
        return self.hits[key]

    @property
    def distinct_texts(self) -> int:
        return len(self.hits)

    def fill(self, keys: Iterable[tuple[str, bool]]) -> None:
        todo = sorted(k for k in set(keys) if k not in self.hits)
        chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
        if self.workers > 1 and len(chunks) > 1:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=_pool_context(),
                    initializer=_init_worker,
                    initargs=(self.ruleset.config, self.ruleset.company_dictionaries),
                )
            results = self._pool.map(_analyze_chunk, chunks)
        else:
            if self._analyzer is None:
                self._analyzer = audit_analyzer(self.ruleset)
            results = (self._analyzer.analyze_many(chunk) for chunk in chunks)
        for chunk, chunk_hits in zip(chunks, results, strict=True):
            self.hits.update(zip(chunk, chunk_hits, strict=True))
            failpoints.reached("mid-audit")

    def close(self) -> None:
        """Stops the workers; on an error or SIGTERM, chunks not yet started are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


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
class Sources:
    """Where an audit reads from and writes to; replay points these elsewhere."""

    messages_dir: Path
    findings_dir: Path
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


def _read_day(messages_dir: Path, date: str) -> pd.DataFrame:
    """A date's messages in (msgtime, msgid) order — the order day detectors rely on."""
    table = lake.read_partition(messages_dir, date, lake.MESSAGE_SCHEMA, MESSAGE_COLUMNS)
    table = table.sort_by([("msgtime", "ascending"), ("msgid", "ascending")])
    table = table.set_column(
        table.schema.get_field_index("msgtime"), "msgtime", pc.cast(table.column("msgtime"), pa.int64())
    )
    return table.to_pandas()


def _quoted_items(messages_dir: Path, date: str) -> dict[str, list[dict[str, Any]]]:
    """The quoted items of every forwarded chat record of a date, by msgid (from the raw records)."""
    table = lake.read_partition(messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid", "msgtype", "raw"])
    table = table.filter(pc.equal(table.column("msgtype"), "chatrecord"))
    return {
        msgid: quoted_items(json.loads(raw))
        for msgid, raw in zip(table.column("msgid").to_pylist(), table.column("raw").to_pylist(), strict=True)
    }


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


def audit_date(date: str, sources: Sources, ruleset: Ruleset, engine, tz) -> tuple[int, int]:
    """Audit one date; returns (messages, findings)."""
    frame = _read_day(sources.messages_dir, date)
    categories = {roomid: group["category"] for roomid, group in sources.groups.items()}
    default = sources.default_category
    frame["group_category"] = [categories.get(r, default) for r in frame["roomid"].to_numpy(dtype=object)]
    is_file = frame["msgtype"].isin(FILE_TYPES).to_list()
    texts = frame["text"].to_list()
    keys = [(t, f) for t, f in zip(texts, is_file, strict=True) if t]
    engine.prepare(sources.messages_dir, date, keys)

    policy = ruleset.config["policy"]
    rows: list[dict[str, Any]] = []
    hits_by_msgid: dict[str, list[Hit]] = {}
    columns = {
        c: frame[c].to_numpy(dtype=object) for c in ("msgid", "roomid", "sender", "msgtime", "group_category")
    }
    msgtypes = frame["msgtype"].to_numpy(dtype=object)
    quoted: dict[str, list[dict[str, Any]]] | None = None  # read once, only if a chat record has hits
    for i, (text, file_flag) in enumerate(zip(texts, is_file, strict=True)):
        hits = engine.lookup((text, file_flag)) if text else None
        if hits:  # phrases allowlisted for one group apply per message, not per distinct text
            hits = unsuppressed(ruleset.lexicon.room_allowlist, columns["roomid"][i], text, hits)
        if hits and msgtypes[i] == "chatrecord":
            quoted = _quoted_items(sources.messages_dir, date) if quoted is None else quoted
            hits = attribute_quoted(hits, quoted.get(columns["msgid"][i], []))
        if hits:  # rows are built only for the few messages with hits
            record = {c: values[i] for c, values in columns.items()} | {"text": text}
            hits_by_msgid[record["msgid"]] = hits
            rows += message_findings(record, hits, record["group_category"], policy, date, ruleset.version)

    day = Day(date, frame, hits_by_msgid, sources.groups, sources.roster, tz)
    position = {m: i for i, m in enumerate(columns["msgid"])}
    for cls in day_detectors():
        if not ruleset.enabled(cls.category):
            continue
        for event in cls(ruleset.settings(cls.settings_key()), ruleset.lexicon).detect(day):
            anchor = position.get(event.anchor_msgid)
            anchor_text = texts[anchor] if anchor is not None else ""
            category = categories.get(event.roomid, default)
            anchor_hits = hits_by_msgid.get(event.anchor_msgid or "", [])
            rows.append(
                event_finding(event, anchor_text, anchor_hits, category, policy, date, ruleset.version)
            )

    rows.sort(
        key=lambda r: (r["msgtime"], r["roomid"], r["msgid"] or "", r["category"], r["rule"], r["finding_id"])
    )
    day_date = dt.date.fromisoformat(date)
    for row in rows:  # the lake stores dates as date32
        row["date"] = day_date
    table = pa.Table.from_pylist(rows, schema=lake.FINDING_SCHEMA)  # msgtime: epoch ms → timestamp
    lake.write_table(lake.findings_path(sources.findings_dir, date), table)
    return len(frame), len(rows)


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


def make_engine(ruleset: Ruleset, workers: int, engine: str = "local", scheduler: str | None = None):
    """The local process pool, or a Dask distributed cluster (``pip install .[dask]``)."""
    if engine == "dask":
        from auditor.dask_engine import DaskEngine

        return DaskEngine(ruleset, scheduler)
    return LocalEngine(ruleset, workers)


def run_audit(
    sources: Sources,
    ruleset: Ruleset,
    dates: list[str],
    workers: int,
    tz,
    on_date: Callable[[str, int, int], None] | None = None,
    *,
    engine: str = "local",
    scheduler: str | None = None,
) -> AuditReport:
    started = time.perf_counter()
    report = AuditReport(ruleset.version)
    texts = make_engine(ruleset, workers, engine, scheduler)
    try:
        for date in dates:
            messages, findings = audit_date(date, sources, ruleset, texts, tz)
            report.messages += messages
            report.dates[date] = findings
            if on_date:
                on_date(date, messages, findings)
    finally:
        texts.close()
    report.distinct_texts = texts.distinct_texts
    report.seconds = time.perf_counter() - started
    return report


def audit(
    ws: Workspace,
    dates: list[str],
    workers: int | None = None,
    on_date: Callable[[str, int, int], None] | None = None,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
) -> AuditReport:
    """Audit ``dates`` of the workspace lake with the workspace's rules."""
    settings = ws.config["audit"]
    workers = workers or settings["workers"] or available_cores()
    ruleset = Ruleset(ws.config, ws.dictionaries_dir)
    return run_audit(
        Sources.of_workspace(ws),
        ruleset,
        dates,
        workers,
        ws.tz,
        on_date,
        engine=engine or settings["engine"],
        scheduler=scheduler or settings["scheduler"] or None,
    )
