"""The review ledger: an append-only record of who decided what, in ``W/ledger.sqlite``.

Every event — a review decision, an action taken, an appeal filed or resolved — is one row
with actor, time and reason. Triggers reject UPDATE and DELETE, so history cannot be
rewritten through SQL; current state (a finding's status, an action's validity) is derived
from the events. Migrations are versioned with ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.atomic import FILE_MODE, fsync_dir
from auditor.errors import EXIT_DATA, AuditorError

STEPS = ("warning", "public_criticism", "temporary_removal", "termination_review")
DECISIONS = ("confirmed", "dismissed")
OUTCOMES = ("upheld", "overturned")
APPEND_ONLY_TRIGGERS = (
    "events_append_only_update",
    "events_append_only_delete",
)  # `auditor check` looks for them

KINDS_V2 = ("review", "action", "appeal_filed", "appeal_resolved", "action_voided")


def _rebuild_events(version: int, kinds: tuple[str, ...]) -> str:
    """A migration that widens the event kinds: SQLite cannot change a CHECK in place, so the table
    is rebuilt with every row copied (DROP TABLE fires no DELETE trigger) and the append-only guard
    is re-created on the new table in the same transaction. The text is fixed per (version, kinds)."""
    listed = ", ".join(f"'{k}'" for k in kinds)
    return f"""
    CREATE TABLE events_v{version} (
        event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT NOT NULL CHECK (kind IN ({listed})),
        recorded   TEXT NOT NULL,
        effective  TEXT NOT NULL,
        actor      TEXT NOT NULL CHECK (length(trim(actor)) > 0),
        reason     TEXT NOT NULL DEFAULT '',
        finding_id TEXT,
        decision   TEXT CHECK (decision IS NULL OR decision IN ('confirmed', 'dismissed')),
        subject    TEXT,
        step       TEXT CHECK (step IS NULL OR step IN
                       ('warning', 'public_criticism', 'temporary_removal', 'termination_review')),
        ref        INTEGER REFERENCES events(event_id),  -- appeal/void/notice → action, resolution → appeal
        outcome    TEXT CHECK (outcome IS NULL OR outcome IN ('upheld', 'overturned')),
        details    TEXT NOT NULL DEFAULT '{{}}'
    );
    INSERT INTO events_v{version} SELECT * FROM events;
    DROP TABLE events;
    ALTER TABLE events_v{version} RENAME TO events;
    CREATE INDEX events_finding ON events(finding_id);
    CREATE INDEX events_subject ON events(subject);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be changed'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be deleted'); END;
    """


MIGRATIONS = [
    # 1: the event table and its append-only guard
    """
    CREATE TABLE events (
        event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT NOT NULL CHECK (kind IN ('review', 'action', 'appeal_filed', 'appeal_resolved')),
        recorded   TEXT NOT NULL,            -- when the row was written (UTC, ISO 8601)
        effective  TEXT NOT NULL,            -- the local date the decision or step took effect
        actor      TEXT NOT NULL CHECK (length(trim(actor)) > 0),
        reason     TEXT NOT NULL DEFAULT '',
        finding_id TEXT,                     -- review
        decision   TEXT CHECK (decision IS NULL OR decision IN ('confirmed', 'dismissed')),
        subject    TEXT,                     -- the person concerned
        step       TEXT CHECK (step IS NULL OR step IN
                       ('warning', 'public_criticism', 'temporary_removal', 'termination_review')),
        ref        INTEGER REFERENCES events(event_id),  -- appeal → action, resolution → appeal
        outcome    TEXT CHECK (outcome IS NULL OR outcome IN ('upheld', 'overturned')),
        details    TEXT NOT NULL DEFAULT '{}' -- JSON: the finding's facts, deadlines, linked findings
    );
    CREATE INDEX events_finding ON events(finding_id);
    CREATE INDEX events_subject ON events(subject);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be changed'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be deleted'); END;
    """,
    # 2: 'action_voided' (a mistaken action withdrawn). SQLite cannot widen a CHECK in place, so the
    # table is rebuilt with every row copied; DROP TABLE fires no DELETE trigger, and the guard is
    # re-created on the new table in the same transaction.
    _rebuild_events(2, KINDS_V2),
    # 3: 'notice_sent' (a notification delivered: details.notice_id, channel, address; ref → the
    # action a notice is about).
    _rebuild_events(3, (*KINDS_V2, "notice_sent")),
    # 4: the review console's workflow on a finding — 'assign' (claiming is assigning oneself; the
    # reviewer is details.assignee), 'escalate' (to an officer's attention, with a reason) and
    # 'acknowledge' (a group owner or admin has read it).
    _rebuild_events(4, (*KINDS_V2, "notice_sent", "assign", "escalate", "acknowledge")),
]
# Events no page shows: they must not make the reports look older than the ledger (report/follow.py).
UNSHOWN_KINDS = ("notice_sent",)
WORKFLOW_KINDS = ("assign", "escalate", "acknowledge")


def action_label(event_id: int) -> str:
    return f"ACT-{event_id:06d}"


def appeal_label(event_id: int) -> str:
    return f"APL-{event_id:06d}"


def parse_label(label: str, prefix: str) -> int:
    head, _, number = label.partition("-")
    if head != prefix or not number.isdigit():
        raise AuditorError(
            f"not a{'n' if prefix[0] in 'A' else ''} {prefix} id: {label!r} (like {prefix}-000012)"
        )
    return int(number)


@dataclass
class Review:
    finding_id: str
    decision: str
    actor: str
    effective: str
    reason: str
    details: dict[str, Any]


@dataclass
class Workflow:
    """Where a finding stands in the review console's queue, derived from its workflow events."""

    assignee: str | None = None
    assigned_by: str | None = None
    escalated_by: str | None = None  # the latest escalation …
    escalation_reason: str = ""  # … and why
    acknowledged_by: list[str] = field(default_factory=list)


@dataclass
class Action:
    action_id: str
    event_id: int
    subject: str
    step: str
    actor: str
    effective: str
    reason: str
    findings: list[str]
    details: dict[str, Any]
    voided: bool = False
    void_reason: str = ""  # the overturning appeal's id, or "DATE NAME: reason" of an action void
    # an appeal found the findings wrong, so they leave the ladder; a voided action (recorded by
    # mistake) only stops counting as a step taken, its confirmed findings still count
    overturned: bool = False


@dataclass
class Appeal:
    appeal_id: str
    event_id: int
    action_id: str
    subject: str
    filed: str
    reason: str
    investigation_deadline: str
    outcome: str | None = None
    resolved_by: str | None = None
    resolved: str | None = None


SQLITE_HEADER = b"SQLite format 3\x00"
APPEND_ONLY_TRIGGERS = ("events_append_only_update", "events_append_only_delete")


def damaged(path: Path, problem: str) -> AuditorError:
    """The one error for a ledger that exists but cannot be trusted: name it, say how to get it back."""
    return AuditorError(
        f"the review ledger {path} is damaged: {problem}. It was left untouched; restore it from a "
        "snapshot (`auditor backup list`, `auditor backup restore SNAPSHOT --to DIR`, then copy "
        f"DIR/ledger.sqlite to {path})",
        EXIT_DATA,
    )


def _create(path: Path) -> None:
    """A new ledger appears complete or not at all: built under a temporary name, then linked into
    place (a link never replaces a file a concurrent creator put there first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            for number, script in enumerate(MIGRATIONS, start=1):
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
        finally:
            db.close()
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; a ledger gets the usual mode, as before
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first: theirs stands
            os.link(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _check(path: Path, db: sqlite3.Connection) -> int:
    """Refuse a ledger that is not ours or not whole; returns its schema version."""
    try:
        verdict = db.execute("PRAGMA quick_check").fetchall()
        if [tuple(r) for r in verdict] != [("ok",)]:
            raise damaged(path, "SQLite integrity check failed: " + "; ".join(str(r[0]) for r in verdict[:3]))
        version = db.execute("PRAGMA user_version").fetchone()[0]
        names = {
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        }
    except sqlite3.DatabaseError as exc:
        raise damaged(path, f"SQLite says {exc}") from None
    if version == 0 or "events" not in names:
        raise damaged(path, "it is an SQLite database without the ledger's tables")
    missing = [t for t in APPEND_ONLY_TRIGGERS if t not in names]
    if missing:
        raise damaged(path, f"its append-only triggers are missing ({', '.join(missing)})")
    return version


class Ledger:
    """Opens ``path``, creating it only when no file exists there (a workspace's first decision).

    An existing file that is empty, not SQLite, corrupt, without the ledger's tables or without its
    append-only triggers is an error (exit 65) naming the file; it is never replaced, because
    replacing it would silently erase every decision and the next backup would keep the loss.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            _create(path)
        if path.stat().st_size == 0:
            raise damaged(path, "the file is empty (0 bytes)")
        with open(path, "rb") as handle:
            if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise damaged(path, "it is not an SQLite database")
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)  # explicit transactions below
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.execute("PRAGMA foreign_keys=ON")
            _check(path, self.db)
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise AuditorError(f"{self.path} was written by a newer wecom-auditor (schema {version})")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def append(self, rows: Iterable[dict[str, Any]]) -> list[int]:
        """Write events in one transaction: all of them or none."""
        recorded = dt.datetime.now(dt.UTC).isoformat()
        ids = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                values = {"recorded": recorded, "reason": "", "details": "{}", **row}
                if isinstance(values["details"], dict):
                    values["details"] = json.dumps(values["details"], ensure_ascii=False, sort_keys=True)
                columns = ", ".join(values)
                marks = ", ".join(f":{k}" for k in values)
                ids.append(
                    self.db.execute(f"INSERT INTO events ({columns}) VALUES ({marks})", values).lastrowid
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return ids

    def last_event_id(self) -> int:
        """The newest event's id: a page rendered at this id shows every decision up to it."""
        marks = ", ".join("?" for _ in UNSHOWN_KINDS)
        return self.db.execute(
            f"SELECT coalesce(max(event_id), 0) FROM events WHERE kind NOT IN ({marks})", UNSHOWN_KINDS
        ).fetchone()[0]

    def sent_notices(self) -> set[str]:
        """The ids of every notice delivered so far: a notice with one of these is never sent again."""
        return {json.loads(row["details"])["notice_id"] for row in self.events("notice_sent")}

    def events(self, kind: str | None = None) -> list[sqlite3.Row]:
        if kind:
            return self.db.execute(
                "SELECT * FROM events WHERE kind = ? ORDER BY event_id", (kind,)
            ).fetchall()
        return self.db.execute("SELECT * FROM events ORDER BY event_id").fetchall()

    # --- current state, derived from the events ---------------------------------------------

    def reviews(self) -> dict[str, Review]:
        """The latest decision per finding (a later review supersedes an earlier one)."""
        out = {}
        for row in self.events("review"):
            out[row["finding_id"]] = Review(
                row["finding_id"],
                row["decision"],
                row["actor"],
                row["effective"],
                row["reason"],
                json.loads(row["details"]),
            )
        return out

    def workflow(self) -> dict[str, Workflow]:
        """Assignment, escalation and acknowledgements per finding (the latest assignment wins)."""
        out: dict[str, Workflow] = {}
        for row in self.db.execute(
            "SELECT * FROM events WHERE kind IN ('assign', 'escalate', 'acknowledge') ORDER BY event_id"
        ):
            state = out.setdefault(row["finding_id"], Workflow())
            if row["kind"] == "assign":
                state.assignee, state.assigned_by = json.loads(row["details"])["assignee"], row["actor"]
            elif row["kind"] == "escalate":
                state.escalated_by, state.escalation_reason = row["actor"], row["reason"]
            elif row["actor"] not in state.acknowledged_by:
                state.acknowledged_by.append(row["actor"])
        return out

    def appeals(self) -> dict[int, Appeal]:
        appeals: dict[int, Appeal] = {}
        for row in self.events("appeal_filed"):
            details = json.loads(row["details"])
            appeals[row["event_id"]] = Appeal(
                appeal_label(row["event_id"]),
                row["event_id"],
                action_label(row["ref"]),
                row["subject"],
                row["effective"],
                row["reason"],
                details["investigation_deadline"],
            )
        for row in self.events("appeal_resolved"):
            appeal = appeals[row["ref"]]
            appeal.outcome, appeal.resolved_by, appeal.resolved = (
                row["outcome"],
                row["actor"],
                row["effective"],
            )
        return appeals

    def actions(self) -> dict[int, Action]:
        """Every action; one is void when an appeal overturned it or an ``action_voided`` event names it."""
        overturned = {a.action_id: a.appeal_id for a in self.appeals().values() if a.outcome == "overturned"}
        why_void = dict(overturned)
        for row in self.events("action_voided"):
            why_void.setdefault(
                action_label(row["ref"]), f"{row['effective']} {row['actor']}: {row['reason']}"
            )
        out = {}
        for row in self.events("action"):
            details = json.loads(row["details"])
            label = action_label(row["event_id"])
            out[row["event_id"]] = Action(
                label,
                row["event_id"],
                row["subject"],
                row["step"],
                row["actor"],
                row["effective"],
                row["reason"],
                details.get("findings", []),
                details,
                voided=label in why_void,
                void_reason=why_void.get(label, ""),
                overturned=label in overturned,
            )
        return out


def _statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite3.complete_statement keeps trigger bodies whole."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements
