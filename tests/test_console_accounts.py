"""The console's accounts (``auditor user``) and its workflow events in the ledger."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.cli import cli
from auditor.console.users import UserStore
from auditor.errors import AuditorError
from auditor.ledger import MIGRATIONS, Ledger, _statements
from auditor.violations import acknowledge, assign, escalate
from tests import report_fixture
from tests.test_violations import findings_of

DAY = dt.date(2026, 11, 16)


def run(runner, ws, *args, stdin=None):
    return runner.invoke(cli, ["-w", str(ws.root), *args], input=stdin)


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "message"),
    [
        (
            ["user", "add", "wangfang", "--role", "officer", "--password-stdin"],
            "long enough pw\n",
            0,
            "created",
        ),
        (["user", "add", "wangfang", "--role", "chief", "--password-stdin"], "long enough pw\n", 2, "chief"),
        (["user", "add", "wangfang", "--role", "viewer", "--password-stdin"], "short\n", 2, "at least 10"),
        (
            ["user", "add", "../etc", "--role", "viewer", "--password-stdin"],
            "long enough pw\n",
            2,
            "user name",
        ),
        (
            ["user", "add", "<b>x</b>", "--role", "viewer", "--password-stdin"],
            "long enough pw\n",
            2,
            "user name",
        ),
        (["user", "add", "lina", "--role", "owner"], "long enough pw\nlong enough pw\n", 0, "created"),
        (
            ["user", "add", "lina", "--role", "owner"],
            "long enough pw\nanother one!!\n" * 3,
            1,
            "do not match",
        ),
    ],
)
def test_user_add(runner, ws, args, stdin, exit_code, message):
    result = run(runner, ws, *args, stdin=stdin)
    assert result.exit_code == exit_code, result.output
    assert message in result.output


def test_a_duplicate_account_is_refused_and_the_first_stands(runner, ws):
    assert (
        run(
            runner, ws, "user", "add", "lina", "--role", "owner", "--password-stdin", stdin="first password\n"
        ).exit_code
        == 0
    )
    result = run(
        runner, ws, "user", "add", "lina", "--role", "officer", "--password-stdin", stdin="second password\n"
    )
    assert result.exit_code == 2 and "already exists" in result.output
    with UserStore(ws.root) as users:
        assert users.authenticate("lina", "first password").role == "owner"
        assert users.authenticate("lina", "second password") is None
    assert "lina  owner" in run(runner, ws, "user", "list").output


def test_passwords_are_stored_as_argon2_hashes_only(ws):
    with UserStore(ws.root) as users:
        users.add("wangfang", "officer", "a secret password")
    raw = (ws.root / "users.sqlite").read_bytes()
    assert b"a secret password" not in raw and b"$argon2id$" in raw
    assert (ws.root / "users.sqlite").stat().st_mode & 0o077 == 0  # hashes are nobody else's business


def test_an_account_without_password_never_signs_in_with_one(ws):
    with UserStore(ws.root) as users:
        users.add("wecomonly", "viewer", None)
        assert users.authenticate("wecomonly", "") is None
        assert users.authenticate("nobody", "whatever password") is None


def test_a_damaged_account_file_is_a_clear_error(ws):
    (ws.root / "users.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(AuditorError, match="not the console's account file"):
        UserStore(ws.root)


def test_serve_and_user_need_a_workspace(runner, tmp_path):
    result = runner.invoke(cli, ["-w", str(tmp_path / "nowhere"), "user", "list"])
    assert result.exit_code == 2 and "does not exist" in result.output


# --- workflow events -----------------------------------------------------------------------------


@pytest.fixture
def audited(tmp_path):
    return report_fixture.build(tmp_path)


def test_assign_escalate_acknowledge_are_append_only_events(audited):
    [fid] = findings_of(audited, category="pii")
    assign(audited, [fid], "lina", by="wangfang", on=DAY)
    assign(audited, [fid], "wangfang", by="wangfang", on=DAY)  # a later claim wins
    escalate(audited, [fid], by="wangfang", reason="customer data", on=DAY)
    acknowledge(audited, [fid], by="zhangwei", on=DAY)
    acknowledge(audited, [fid], by="zhangwei", on=DAY)
    with Ledger(audited.ledger_path) as ledger:
        state = ledger.workflow()[fid]
        assert (state.assignee, state.assigned_by) == ("wangfang", "wangfang")
        assert (state.escalated_by, state.escalation_reason) == ("wangfang", "customer data")
        assert state.acknowledged_by == ["zhangwei"]
        assert [e["kind"] for e in ledger.events()] == [
            "assign",
            "assign",
            "escalate",
            "acknowledge",
            "acknowledge",
        ]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        sqlite3.connect(audited.ledger_path).execute("UPDATE events SET actor = 'x'")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ws, fid: assign(ws, [fid, "nope"], "lina", by="wangfang", on=DAY), "unknown finding id"),
        (lambda ws, fid: assign(ws, [fid], " ", by="wangfang", on=DAY), "reviewer's name"),
        (lambda ws, fid: escalate(ws, [fid], by="wangfang", reason=" ", on=DAY), "needs a reason"),
        (lambda ws, fid: acknowledge(ws, [fid], by="", on=DAY), "who acts"),
    ],
)
def test_a_refused_workflow_event_writes_nothing(audited, call, message):
    [fid] = findings_of(audited, category="pii")
    with pytest.raises(AuditorError, match=message):
        call(audited, fid)
    assert not audited.ledger_path.exists() or Ledger(audited.ledger_path).events() == []


def test_a_version_2_ledger_migrates_to_the_workflow_kinds_keeping_every_event(tmp_path):
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(
        "INSERT INTO events (kind, recorded, effective, actor, subject, step) "
        "VALUES ('action', '2026-11-16T00:00:00', '2026-11-16', 'lina', 'zhangwei', 'warning')"
    )
    db.close()
    with Ledger(path) as ledger:
        assert [r["step"] for r in ledger.events()] == ["warning"]
        ledger.append([{"kind": "escalate", "effective": "2026-11-17", "actor": "lina", "finding_id": "f1"}])
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 4
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        sqlite3.connect(path).execute("DELETE FROM events")


def test_a_wecom_only_account_takes_no_password(runner, ws):
    result = run(runner, ws, "user", "add", "lina", "--role", "owner", "--wecom-only")
    assert result.exit_code == 0, result.output
    result = run(
        runner, ws, "user", "add", "zhao", "--role", "owner", "--wecom-only", "--password-stdin", stdin="x\n"
    )
    assert result.exit_code == 2 and "takes no password" in result.output


def test_user_password_and_remove(runner, ws):
    run(runner, ws, "user", "add", "lina", "--role", "owner", "--password-stdin", stdin="first password\n")
    result = run(runner, ws, "user", "password", "lina", "--password-stdin", stdin="second password\n")
    assert result.exit_code == 0, result.output
    with UserStore(ws.root) as users:
        assert users.authenticate("lina", "first password") is None
        assert users.authenticate("lina", "second password").name == "lina"
    assert (
        run(runner, ws, "user", "password", "nobody", "--password-stdin", stdin="long enough!\n").exit_code
        == 2
    )
    assert run(runner, ws, "user", "remove", "lina").exit_code == 0
    result = run(runner, ws, "user", "remove", "lina")
    assert result.exit_code == 2 and "no user lina" in result.output
    assert "no accounts" in run(runner, ws, "user", "list").output


# --- evidence in words ---------------------------------------------------------------------------

TOKEN = "ghp_x8Fq2LmZ9wR4tY7uI1oP3aS5dF6gH0jK2lQw"
EVIDENCE_CASES = [
    (
        {
            "hits": [
                {"rule": "profanity.lexicon", "severity": "medium", "term": "他妈的", "start": 0, "end": 3}
            ]
        },
        "规则 profanity.lexicon（中）；命中词条「他妈的」",
    ),
    (
        {
            "hits": [
                {
                    "rule": "abuse.model",
                    "severity": "medium",
                    "score": 0.93,
                    "ngrams": ["骗子 +1.41", "河南人 +0.72"],
                }
            ]
        },
        "模型判定得分 0.93，主要依据：骗子 +1.41、河南人 +0.72",
    ),
    (
        {
            "hits": [
                {
                    "rule": "malicious_link.ip_host",
                    "severity": "high",
                    "url": "http://1.2.3.4/?token=" + TOKEN,
                }
            ]
        },
        "链接 http://1.2.3.4/?token=ghp_******",
    ),
    ({"participants": ["mayang", "sunjun"], "messages": 4}, "参与者：mayang、sunjun"),
    ({"left_date": "2026-11-06", "messages": 1}, "已于 2026-11-06 离职"),
    ({"group_category": "customer", "base_severity": "medium"}, "客户服务群中的严重程度（基础：中）"),
]


@pytest.mark.parametrize(("evidence", "expected"), EVIDENCE_CASES)
def test_evidence_in_words_a_reviewer_reads(evidence, expected):
    import json

    from auditor.console.data import evidence_words
    from auditor.console.labels import labels

    words = "\n".join(evidence_words(json.dumps(evidence, ensure_ascii=False), labels("zh")))
    assert expected in words
    assert TOKEN not in words  # a secret in a URL is masked


def test_serve_checks_its_options_and_hands_the_app_to_uvicorn(runner, ws, monkeypatch):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options, app=app))
    result = run(runner, ws, "serve", "--port", "8799")
    assert result.exit_code == 0, result.output
    assert "no accounts yet" in result.output
    assert (started["host"], started["port"], started["ssl_certfile"]) == ("127.0.0.1", 8799, None)
    cert = ws.root / "cert.pem"
    cert.write_text("x")
    result = run(runner, ws, "serve", "--ssl-certfile", str(cert))
    assert result.exit_code == 2 and "go together" in result.output


# --- invariants and faults -----------------------------------------------------------------------


@given(st.text(max_size=60))
def test_a_post_sign_in_destination_is_always_a_local_path(target):
    from urllib.parse import urlsplit

    from auditor.console.auth import safe_next

    result = safe_next(target)
    assert result.startswith("/") and not result.startswith(("//", "/\\"))
    assert urlsplit(result).netloc == "" and urlsplit(result).scheme == ""


@given(st.text(max_size=40))
def test_a_csv_cell_never_starts_a_formula(value):
    from auditor.console.trail import FORMULA_START, spreadsheet_safe

    cell = spreadsheet_safe(value)
    assert not cell.startswith(FORMULA_START)
    assert cell.endswith(value)


@given(
    st.dictionaries(
        st.sampled_from(["date_from", "severity", "status", "category", "q", "x"]), st.text(max_size=20)
    )
)
def test_any_queue_query_is_a_filter_or_a_400(params):
    from starlette.exceptions import HTTPException

    from auditor.console.data import QueueFilter

    try:
        flt = QueueFilter.of(params)
    except HTTPException as exc:
        assert exc.status_code == 400
    else:
        assert flt.status in ("pending", "confirmed", "dismissed", "all")
        assert QueueFilter.of(flt.params()) == flt  # what a saved filter keeps reads back the same


def test_a_crash_while_creating_the_account_file_leaves_nothing(ws, monkeypatch):
    import os

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", crash)
    with pytest.raises(OSError, match="No space"):
        UserStore(ws.root)
    assert not (ws.root / "users.sqlite").exists()
    assert not list(ws.root.glob(".tmp-users.sqlite-*"))
