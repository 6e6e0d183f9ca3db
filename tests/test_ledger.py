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


def _zero_length(path):
    path.write_bytes(b"")


def _random_bytes(path):
    path.write_bytes(bytes(range(256)) * 64)


def _truncated(path):
    with Ledger(path) as ledger:
        ledger.append([review_row(f"f{i}", actor="x" * 500) for i in range(200)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign_sqlite(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('hello')")
    db.commit()
    db.close()


def _triggers_dropped(path):
    with Ledger(path) as ledger:
        ledger.append([review_row("f1")])
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_append_only_delete")
    db.commit()
    db.close()


DAMAGE = [
    ("zero-length", _zero_length, "empty"),
    ("random bytes", _random_bytes, "not an SQLite database"),
    ("truncated", _truncated, "damaged"),
    ("SQLite without the ledger's tables", _foreign_sqlite, "without the ledger's tables"),
    ("append-only triggers dropped", _triggers_dropped, "append-only triggers are missing"),
]


@pytest.mark.parametrize(("name", "damage", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_ledger_is_refused_by_name_and_never_replaced(tmp_path, name, damage, message):
    path = tmp_path / "ledger.sqlite"
    damage(path)
    before = path.read_bytes()
    with pytest.raises(AuditorError, match=message) as caught:
        Ledger(path)
    assert caught.value.exit_code == 65
    assert str(path) in str(caught.value) and "auditor backup restore" in str(caught.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize(("name", "damage", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_cli_commands_refuse_a_damaged_ledger_with_exit_65(tmp_path, runner, name, damage, message):
    from auditor.cli import cli

    ws = tmp_path / "ws"
    from auditor.workspace import Workspace

    Workspace(ws).init()
    damage(ws / "ledger.sqlite")
    before = (ws / "ledger.sqlite").read_bytes()
    for args in (["action", "list"], ["review", "list"]):
        result = runner.invoke(cli, ["-w", str(ws), *args])
        assert result.exit_code == 65, result.output
        assert str(ws / "ledger.sqlite") in result.output
    assert (ws / "ledger.sqlite").read_bytes() == before


def test_a_missing_ledger_is_created_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        assert ledger.events() == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []
    assert path.read_bytes().startswith(b"SQLite format 3\x00")


def test_a_version_1_ledger_migrates_keeping_every_event_and_the_guard(tmp_path):
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    from auditor.ledger import _statements

    for statement in _statements(MIGRATIONS[0]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO events (kind, recorded, effective, actor, subject, step) "
        "VALUES ('action', '2026-11-16T00:00:00', '2026-11-16', 'lina', 'zhangwei', 'warning')"
    )
    db.close()
    with Ledger(path) as ledger:
        assert [r["step"] for r in ledger.events()] == ["warning"]
        ledger.append([{"kind": "action_voided", "effective": "2026-11-17", "actor": "lina", "ref": 1}])
        assert ledger.actions()[1].voided
        assert ledger.last_event_id() == 2
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        sqlite3.connect(path).execute("DELETE FROM events")


def test_backup_refuses_to_snapshot_a_damaged_ledger(tmp_path):
    from auditor import backup
    from auditor.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    ws.init()
    ws.ledger_path.write_bytes(b"")
    with pytest.raises(AuditorError, match="is empty") as caught:
        backup.create(ws)
    assert caught.value.exit_code == 65
    assert not list((ws.backups_dir / "snapshots").glob("*.json"))


def test_a_new_ledger_gets_the_usual_file_mode(tmp_path):
    from auditor.atomic import FILE_MODE

    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    assert path.stat().st_mode & 0o777 == FILE_MODE
