"""The review ledger: an append-only record of who decided what, in ``W/ledger.sqlite``.

Every event — a review decision, an action taken, an appeal filed or resolved — is one row
with actor, time and reason. Triggers reject UPDATE and DELETE, so history cannot be
rewritten through SQL; current state (a finding's status, an action's validity) is derived
from the events. Migrations are versioned with ``PRAGMA user_version``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError

STEPS = ("warning", "public_criticism", "temporary_removal", "termination_review")
DECISIONS = ("confirmed", "dismissed")
OUTCOMES = ("upheld", "overturned")
APPEND_ONLY_TRIGGERS = (
    "events_append_only_update",
    "events_append_only_delete",
)  # `auditor check` looks for them

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
]


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


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)  # explicit transactions below
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

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
        overturned = {a.action_id for a in self.appeals().values() if a.outcome == "overturned"}
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
                voided=label in overturned,
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
