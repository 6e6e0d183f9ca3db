"""The review ledger: append-only, migrations, concurrency."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from auditor.errors import AuditorError
from auditor.ledger import MIGRATIONS, Ledger


def review_row(finding: str, actor: str = "lina") -> dict:
    return {
        "kind": "review",
        "effective": "2026-11-16",
        "actor": actor,
        "finding_id": finding,
        "decision": "confirmed",
        "subject": "zhangwei",
        "details": {"sender": "zhangwei"},
    }


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET decision = 'dismissed'",
        "UPDATE events SET actor = 'someone else' WHERE event_id = 1",
        "DELETE FROM events",
        "DELETE FROM events WHERE event_id = 1",
    ],
)
def test_raw_updates_and_deletes_fail(tmp_path, statement):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.append([review_row("f1")])
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(statement)
    assert db.execute("SELECT count(*), min(decision) FROM events").fetchone() == (1, "confirmed")


def test_an_event_needs_an_actor(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger, pytest.raises(sqlite3.IntegrityError):
        ledger.append([review_row("f1", actor=" ")])


def test_a_failed_batch_writes_nothing(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        with pytest.raises(sqlite3.IntegrityError):
            ledger.append([review_row("f1"), {**review_row("f2"), "decision": "maybe"}])
        assert ledger.events() == []


def test_schema_version_is_recorded_and_reopening_migrates_nothing(tmp_path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    with Ledger(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(AuditorError, match="newer wecom-auditor"):
        Ledger(path)


def test_current_state_is_derived_from_events(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.append([review_row("f1")])
        ledger.append(
            [{**review_row("f1", actor="wangfang"), "decision": "dismissed", "reason": "second look"}]
        )
        assert ledger.reviews()["f1"].decision == "dismissed"
        assert [e["decision"] for e in ledger.events()] == ["confirmed", "dismissed"]  # history kept


def test_two_reviewers_at_once_lose_nothing(tmp_path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    errors = []

    def reviewer(name: str) -> None:
        try:
            with Ledger(path) as ledger:
                for i in range(40):
                    ledger.append([review_row(f"{name}-{i}", actor=name)])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in ("lina", "wangfang", "zhaolei")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(path) as ledger:
        assert len(ledger.events()) == 120
        assert len(ledger.reviews()) == 120
