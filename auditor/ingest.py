"""Ingest: export files → the lake, with every input record accounted for.

Each record ends as exactly one of accepted, duplicate (its msgid is already in the lake or
earlier in this run) or rejected (with file, line, reason and raw bytes in ``W/rejects/``), so
``accepted + duplicates + rejected == records`` always holds and nothing is lost silently.
New rows are written as each input file is finished — one Parquet file per date and input file,
named by its content — so memory is bounded by the largest input file and re-ingesting the
same files changes nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa

from auditor import atomic, failpoints, lake
from auditor.atomic import file_sha256
from auditor.wecom.files import RawRecord, classify, discover, read_records
from auditor.wecom.groups import parse_group
from auditor.wecom.messages import RecordError, parse_message
from auditor.wecom.roster import parse_roster_row, read_roster_records
from auditor.workspace import Workspace


@dataclass
class FileReport:
    path: str
    kind: str
    sha256: str = ""
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    note: str = ""
    dates: set[str] = field(default_factory=set)  # dates of its messages (accepted or duplicate)

    def ledger_entry(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["dates"] = sorted(self.dates)
        return entry


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    generic_types: dict[str, int] = field(default_factory=dict)  # new messages read by the generic walk

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def reject_ratio(self) -> float:
        records = self.total("records")
        return self.total("rejected") / records if records else 0.0

    def summary(self) -> dict[str, Any]:
        """The reconciliation: files, records, accepted, duplicates, rejected (plus detail)."""
        return {
            "files": len(self.files),
            **{k: self.total(k) for k in ("records", "accepted", "duplicates", "rejected")},
            "dates": self.dates,
            "rejects_file": self.rejects_file,
            "generic_types": self.generic_types,
            "by_file": [f.ledger_entry() for f in self.files],
        }


class _Rejects:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, record: RawRecord, reason: str) -> None:
        entry = {
            "file": record.file,
            "line": record.line,
            "reason": reason,
            "raw_base64": base64.b64encode(record.raw).decode("ascii"),
        }
        with contextlib.suppress(UnicodeDecodeError):  # a readable preview where there is one
            entry["raw_text"] = record.raw.decode("utf-8")[:2000]
        self.lines.append(json.dumps(entry, ensure_ascii=False))

    def write(self, folder: Path) -> Path | None:
        if not self.lines:
            return None
        body = ("\n".join(self.lines) + "\n").encode("utf-8")
        path = folder / f"rejects-{hashlib.sha256(body).hexdigest()[:16]}.jsonl"
        if not path.exists():
            atomic.write_bytes(path, body)
        return path


BATCH_ROWS = 50_000


class _MessageSink:
    """Deduplicates messages against the lake and this run, and buffers them per date.

    With ``resume``, a message already in the lake *from this very source line* counts as
    accepted, not duplicate: the run is finishing an interrupted one, and its reconciliation
    must equal the uninterrupted run's.
    """

    def __init__(self, ws: Workspace, resume: bool) -> None:
        self.ws = ws
        self.local_date = lake.LocalDates(ws.tz)
        self.resume = resume
        self.existing: dict[str, dict[str, str]] = {}  # date → msgid → source
        self.generic: Counter[str] = Counter()  # msgtype → new messages read by the generic walk
        self.seen: dict[str, tuple[int, str]] = {}  # msgid → (hash of raw, source) in this run
        self.columns: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.batches: dict[str, list[pa.Table]] = defaultdict(list)
        self.written: set[str] = set()

    def _in_lake(self, date: str, msgid: str) -> str | None:
        """The source of the stored row with this msgid, if any."""
        if date not in self.existing:
            table = lake.read_partition(self.ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid", "source"])
            self.existing[date] = dict(
                zip(table.column("msgid").to_pylist(), table.column("source").to_pylist(), strict=True)
            )
        return self.existing[date].get(msgid)

    def offer(self, record: RawRecord) -> tuple[str, str]:
        """(accepted or duplicate, date); raises RecordError for a record to reject."""
        row = parse_message(record.value)
        raw = record.raw.decode("utf-8")
        fingerprint = hash(raw)
        date = self.local_date(row["msgtime"])
        earlier = self.seen.get(row["msgid"])
        if earlier is not None:
            if earlier[0] != fingerprint:
                raise RecordError(f"msgid {row['msgid']!r} already read from {earlier[1]} with other content")
            return "duplicate", date
        self.seen[row["msgid"]] = (fingerprint, record.source)
        stored_from = self._in_lake(date, row["msgid"])
        if stored_from is not None:
            return ("accepted" if self.resume and stored_from == record.source else "duplicate"), date
        self.written.add(date)
        if row["text_coverage"] == "generic":
            self.generic[row["msgtype"]] += 1
        cols = self.columns[date]
        for key, value in row.items():
            cols[key].append(value)
        cols["raw"].append(raw)
        cols["source"].append(record.source)
        if len(cols["msgid"]) >= BATCH_ROWS:
            self._seal(date)
        return "accepted", date

    def _seal(self, date: str) -> None:
        """Move buffered rows into a compact Arrow batch: Python objects cost ten times the bytes."""
        cols = self.columns.pop(date)
        cols["msgtime"] = pa.array(cols["msgtime"], pa.int64()).cast(lake.TIMESTAMP)
        self.batches[date].append(
            pa.table({f.name: cols[f.name] for f in lake.MESSAGE_SCHEMA}, schema=lake.MESSAGE_SCHEMA)
        )

    def flush(self) -> None:
        """Write what this sink holds, one file per date; later files dedupe against it."""
        for date in list(self.columns):
            self._seal(date)
        for date in sorted(self.batches):
            table = pa.concat_tables(self.batches.pop(date))
            lake.append_messages(self.ws.messages_dir, date, table)
            self.existing[date].update(
                zip(table.column("msgid").to_pylist(), table.column("source").to_pylist(), strict=True)
            )
            failpoints.reached("ingest-date-written")


class _KeyedTable:
    """A small table replaced whole on change (groups, members, roster): upsert by key."""

    def __init__(self, path: Path, schema: pa.Schema, key: Callable[[dict[str, Any]], Any]) -> None:
        self.path, self.schema, self.key = path, schema, key
        self.rows = {key(r): r for r in lake.read_single(path, schema).to_pylist()}
        self.changed = False

    def upsert(self, row: dict[str, Any], *, resume: bool = False) -> str:
        """accepted when the row is new or differs (ignoring ``source``), else duplicate.

        Resuming, an identical row stored from the same source is this run's own earlier write.
        """
        old = self.rows.get(self.key(row))
        if old is not None and _without_source(old) == _without_source(row):
            return "accepted" if resume and old.get("source") == row.get("source") else "duplicate"
        self.rows[self.key(row)] = row
        self.changed = True
        return "accepted"

    def write(self) -> None:
        if self.changed:
            rows = [self.rows[k] for k in sorted(self.rows)]
            lake.write_table(self.path, pa.Table.from_pylist(rows, schema=self.schema))


def _without_source(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "source"}


def _ms_to_datetime(value: int | None):
    return None if value is None else pa.scalar(value, pa.int64()).cast(lake.TIMESTAMP).as_py()


def source_name(ws: Workspace, path: Path) -> str:
    """How a file is named in ``source``: relative to the workspace when inside it (the inbox), so
    the lake does not depend on where the workspace is mounted; otherwise as given."""
    try:
        return str(path.resolve().relative_to(ws.root.resolve()))
    except ValueError:
        return str(path)


def _workspace_own(ws: Workspace, path: Path) -> bool:
    """The workspace's own files (lake, runs, rejects, reports …) are never inputs, even when a folder
    given to ingest contains the workspace; its inbox is."""
    resolved = path.resolve()
    root = ws.root.resolve()
    return resolved.is_relative_to(root) and not resolved.is_relative_to(ws.inbox_dir.resolve())


def _write_file_ledger(files_dir: Path, report: FileReport) -> None:
    """The first complete ingest of a file's content is what the reports reconcile against."""
    path = files_dir / f"{report.sha256}.json"
    if not path.exists():
        atomic.write_text(path, json.dumps(report.ledger_entry(), ensure_ascii=False, indent=1) + "\n")


def ingest(
    ws: Workspace,
    paths: Iterable[str | Path],
    on_file: Callable[[FileReport], None] | None = None,
    *,
    resume: bool = False,
) -> IngestReport:
    """Read every export under ``paths`` into the workspace lake; returns the reconciliation.

    ``resume`` is for the nightly job re-running files an interrupted run did not finish.
    """
    files = [p for p in discover(paths) if not _workspace_own(ws, p)]
    max_bytes = ws.config["ingest"]["max_record_bytes"]
    report = IngestReport()
    rejects = _Rejects()
    messages = _MessageSink(ws, resume)
    groups = _KeyedTable(ws.groups_dir / "groups.parquet", lake.GROUP_SCHEMA, itemgetter("roomid"))
    members = _KeyedTable(
        ws.members_dir / "members.parquet", lake.MEMBER_SCHEMA, itemgetter("roomid", "userid")
    )
    roster = _KeyedTable(ws.roster_dir / "roster.parquet", lake.ROSTER_SCHEMA, itemgetter("userid"))

    for path in files:
        kind = classify(path)
        name = source_name(ws, path)
        file_report = FileReport(name, kind, file_sha256(path))
        records = read_roster_records(path, name) if kind == "roster" else read_records(path, max_bytes, name)
        for record in records:
            file_report.records += 1
            try:
                if record.error is not None:
                    raise RecordError(record.error)
                if kind == "messages":
                    outcome, date = messages.offer(record)
                    file_report.dates.add(date)
                elif kind == "groups":
                    group, group_members = parse_group(record.value, ws.config["groups"])
                    group["create_time"] = _ms_to_datetime(group["create_time"])
                    outcome = groups.upsert({**group, "source": record.source}, resume=resume)
                    for member in group_members:
                        member["join_time"] = _ms_to_datetime(member["join_time"])
                        if members.upsert(member) == "accepted":
                            outcome = "accepted"
                else:
                    row = parse_roster_row(record.value)
                    outcome = roster.upsert({**row, "source": record.source}, resume=resume)
            except RecordError as exc:
                rejects.add(record, str(exc))
                file_report.rejected += 1
                continue
            if outcome == "accepted":
                file_report.accepted += 1
            else:
                file_report.duplicates += 1
        if kind == "messages":
            # Each input file's new rows are written when it is read: memory stays bounded by the
            # largest file, and the parts are named by content, so a re-run writes the same files.
            messages.flush()
        if file_report.records == 0:
            file_report.note = "empty file: no records"
        report.files.append(file_report)
        if on_file:
            on_file(file_report)

    # Small tables and the ledgers last, each write atomic.
    report.dates = sorted(messages.written)
    report.generic_types = dict(sorted(messages.generic.items()))
    for table in (groups, members, roster):
        table.write()
    rejects_path = rejects.write(ws.rejects_dir)
    report.rejects_file = str(rejects_path) if rejects_path else None
    for file_report in report.files:
        _write_file_ledger(ws.files_dir, file_report)
    return report
