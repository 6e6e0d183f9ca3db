"""Notifications against local servers: an SMTP server (aiosmtpd) and a fake WeCom API."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.cli import cli
from auditor.ingest import ingest
from auditor.ledger import Ledger
from auditor.notify.dispatch import nightly_stage, run_summaries, send_action_notice
from auditor.notify.wecom import WeComChannel
from auditor.pipeline import nightly
from auditor.report.follow import stale_dates
from auditor.report.render import report
from auditor.violations import load_findings, record_action
from auditor.workspace import Workspace
from tests import report_fixture
from tests.factories import BASE_MS, message, write_jsonl

DATE = "2026-11-16"
HOSTILE_NAME = "研发\r\nBcc: victim@example.com\r\n<script>alert(1)</script>群"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.logins: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"

    def parsed(self, i: int = -1):
        return email.message_from_bytes(self.messages[i][1], policy=email.policy.default)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
         "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem", folder / "key.pem"


class FakeWeCom(BaseHTTPRequestHandler):
    """gettoken hands out tok-1, tok-2 …; message/send answers from ``script`` (errcodes) then 0."""

    state: dict

    def log_message(self, *args) -> None:
        pass

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        assert url.path == "/cgi-bin/gettoken"
        assert query == {"corpid": ["ww-corp"], "corpsecret": ["s3cret"]}
        self.state["tokens"] += 1
        self._answer(
            {"errcode": 0, "errmsg": "ok", "access_token": f"tok-{self.state['tokens']}", "expires_in": 7200}
        )

    def do_POST(self) -> None:
        url = urlparse(self.path)
        assert url.path == "/cgi-bin/message/send"
        token = parse_qs(url.query)["access_token"][0]
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.state["sent"].append((token, payload))
        script = self.state["script"]
        errcode = script.pop(0) if script else 0
        if errcode == "invaliduser":
            self._answer({"errcode": 0, "errmsg": "ok", "invaliduser": payload["touser"]})
            return
        if token != f"tok-{self.state['tokens']}" and errcode == 0:
            errcode = 40014
        self._answer({"errcode": errcode, "errmsg": "scripted" if errcode else "ok"})


@pytest.fixture
def wecom():
    state = {"tokens": 0, "sent": [], "script": []}
    handler = type("Handler", (FakeWeCom,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """The report fixture's hostile day, with a customer group named with CRLF and markup, an owner with
    an e-mail address, an admin without one and an external admin, and a warning for zhangwei."""
    root = tmp_path_factory.mktemp("notify")
    ws = report_fixture.build(root)
    groups = [
        {
            "group_chat": {
                "chat_id": "wrA",
                "name": HOSTILE_NAME,
                "owner": "zhangwei",
                "admin_list": [{"userid": "lina"}, {"userid": "wmEXTERNAL"}],
                "member_list": [],
            }
        }
    ]
    more = root / "more"
    more.mkdir()
    (more / "groups.json").write_text(json.dumps(groups, ensure_ascii=False), encoding="utf-8")
    (more / "roster.csv").write_text(
        "userid,name,department,status,left_date,email\n"
        "zhangwei,张伟,研发部,active,,zw@example.com\nlina,李娜,客服部,active,,\n",
        encoding="utf-8",
    )
    ingest(ws, [more])
    theirs = sorted(f["finding_id"] for f in load_findings(ws).values() if f["sender"] == "zhangwei")
    record_action(
        ws, "zhangwei", "warning", by="officer", reason="", finding_ids=theirs[:2], on=dt.date(2026, 11, 17)
    )
    report(ws, [DATE])  # pages as of the ledger's newest decision
    return root


def workspace(prepared: Path, tmp_path: Path, **notify) -> Workspace:
    shutil.copytree(prepared, tmp_path / "copy")
    ws = Workspace(tmp_path / "copy" / "ws")
    configure(ws, **notify)
    return ws


def configure(ws: Workspace, **notify) -> None:
    lines = ["[notify]"] + [f"{k} = {json.dumps(v)}" for k, v in notify.items() if not isinstance(v, dict)]
    for table, values in notify.items():
        if isinstance(values, dict):
            lines += [f"[notify.{table}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    ws.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws._config = None


def smtp_settings(port: int, **more) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "plain", "sender": "auditor@example.com"} | more


def wecom_settings(base: str) -> dict:
    return {"api_base": base, "corpid": "ww-corp", "agentid": 1000002, "secret_env": "TEST_WECOM_SECRET"}


def notices_sent(ws: Workspace) -> list[dict]:
    with Ledger(ws.ledger_path) as ledger:
        return [json.loads(r["details"]) | {"subject": r["subject"]} for r in ledger.events("notice_sent")]


# --- e-mail ------------------------------------------------------------------------------------


def test_a_group_summary_goes_to_the_owner_once_and_hostile_names_stay_in_the_body(prepared, tmp_path, smtp):
    inbox, port = smtp
    ws = workspace(prepared, tmp_path, enabled=True, smtp=smtp_settings(port))
    outcome = run_summaries(ws, [DATE])
    statuses = {(d.notice.recipient, d.status) for d in outcome.deliveries}
    assert statuses == {("zhangwei", "sent"), ("lina", "skipped"), ("wmEXTERNAL", "skipped")}
    [(rcpt, _)] = inbox.messages
    assert rcpt == ["zw@example.com"]
    msg = inbox.parsed()
    assert msg["To"] == "zw@example.com" and msg["Bcc"] is None
    assert msg.get_content_type() == "text/plain"
    subject = msg["Subject"]
    assert "\r" not in subject and "\n" not in subject
    assert "victim" not in subject and "script" not in subject and "研发" not in subject
    assert subject.startswith("【群合规日报】2026-11-16")
    body = msg.get_content()
    assert "<script>alert(1)</script>" in body  # plain text: shown as written, never markup
    assert "13812345678" not in body  # only counts and masked facts leave the workspace
    assert str(ws.reports_dir / DATE / "groups") in body
    assert [n["subject"] for n in notices_sent(ws)] == ["zhangwei"]

    again = run_summaries(ws, [DATE])  # the nightly job re-running over the same day
    assert [d.status for d in again.deliveries if d.notice.recipient == "zhangwei"] == ["already-sent"]
    assert len(inbox.messages) == 1 and len(notices_sent(ws)) == 1
    assert stale_dates(ws) == []  # a notice is not a decision: the pages are not older than the ledger


def test_starttls_with_login_and_a_private_ca(prepared, tmp_path, tls_files, monkeypatch):
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        inbox.logins.append(auth_data.login)
        return AuthResult(success=auth_data.password == b"pw-from-env")

    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "pw-from-env")
        settings = smtp_settings(
            controller.port, security="starttls", username="auditor", password_env="TEST_SMTP_PASSWORD",
            ca_file=str(cert),
        )  # fmt: skip
        ws = workspace(prepared, tmp_path, smtp=settings)
        [delivery] = send_action_notice(ws, "ACT-000001", channel="email")
        assert delivery.status == "sent", delivery.error
        assert inbox.logins == [b"auditor"]
        assert "pw-from-env" not in ws.config_path.read_text(encoding="utf-8")
    finally:
        controller.stop()


def test_an_unreachable_server_fails_the_delivery_and_records_nothing(prepared, tmp_path):
    ws = workspace(prepared, tmp_path, enabled=True, smtp=smtp_settings(_free_port()))
    outcome = run_summaries(ws, [DATE])
    [failed] = outcome.failed
    assert failed.notice.recipient == "zhangwei" and "SMTP 127.0.0.1" in failed.error
    assert notices_sent(ws) == [] and outcome.pending == [[DATE]]


# --- the nightly stage ---------------------------------------------------------------------------


def _one_more_message(ws: Workspace, name: str) -> None:
    calm = message(name, roomid="wrA", text={"content": "收到，谢谢"}, msgtime=BASE_MS + 900_000)
    write_jsonl(ws.inbox_dir / f"{name}.jsonl", [calm])


def test_nightly_sends_once_across_runs_and_a_failure_never_fails_it(prepared, tmp_path, smtp):
    inbox, port = smtp
    ws = workspace(prepared, tmp_path, enabled=True, smtp=smtp_settings(_free_port()))  # nobody listens
    _one_more_message(ws, "late1")
    first = nightly(ws, workers=1, interactive=False)
    assert first.exit_code == 0 and first.manifest["status"] == "ok"
    assert first.manifest["notify"]["status"] == "failed" and first.manifest["notify"]["failed"] == 1
    assert first.manifest["outputs"]["snapshots"]  # the backup still ran
    assert json.loads((ws.state_dir / "notify-pending.json").read_text())["batches"] == [[DATE]]

    configure(ws, enabled=True, smtp=smtp_settings(port))  # the server is back
    _one_more_message(ws, "late2")  # the next night: same date, no new finding
    second = nightly(ws, workers=1, interactive=False)
    assert second.manifest["notify"]["sent"] == 1 and second.manifest["notify"]["pending"] == []
    _one_more_message(ws, "late3")
    third = nightly(ws, workers=1, interactive=False)
    assert third.manifest["notify"]["sent"] == 0 and third.manifest["notify"]["already_sent"] == 1
    assert len(inbox.messages) == 1 and len(notices_sent(ws)) == 1


def test_the_stage_reports_a_broken_setup_instead_of_raising(prepared, tmp_path, caplog):
    import logging

    ws = workspace(
        prepared, tmp_path, enabled=True, channels=["wecom"], wecom=wecom_settings("http://127.0.0.1:9")
    )
    result = nightly_stage(ws, [DATE], logging.getLogger("test"))  # TEST_WECOM_SECRET is not set
    assert result["status"] == "failed" and "TEST_WECOM_SECRET" in result["error"]
    assert result["pending"] == [[DATE]]
    assert nightly_stage(Workspace(tmp_path / "copy" / "ws", {"notify": {"enabled": False}}), [DATE],
                         logging.getLogger("test")) == {"status": "disabled"}  # fmt: skip


# --- WeCom ---------------------------------------------------------------------------------------


def test_wecom_token_is_cached_refreshed_on_42001_and_bodies_are_plain(
    prepared, tmp_path, wecom, monkeypatch
):
    state, base = wecom
    monkeypatch.setenv("TEST_WECOM_SECRET", "s3cret")
    ws = workspace(
        prepared, tmp_path, enabled=True, channels=["wecom"], base_url="https://audit.example.com/reports",
        wecom=wecom_settings(base),
    )  # fmt: skip
    outcome = run_summaries(ws, [DATE])
    assert {(d.notice.recipient, d.status) for d in outcome.deliveries} == {
        ("zhangwei", "sent"), ("lina", "sent"), ("wmEXTERNAL", "skipped"),
    }  # fmt: skip
    assert state["tokens"] == 1  # one token for both messages
    for token, payload in state["sent"]:
        assert token == "tok-1" and payload["agentid"] == 1000002 and payload["msgtype"] == "textcard"
        card = payload["textcard"]
        assert card["url"].startswith("https://audit.example.com/reports/2026-11-16/groups/g-")
        assert "victim" not in card["title"] and "\n" not in card["title"]
        assert "<script>" not in card["description"] and "&lt;script&gt;" in card["description"]

    state["script"] = [42001]  # a new channel's token (the second), expired early: a third one
    [delivery] = send_action_notice(ws, "ACT-000001")
    assert delivery.status == "sent" and state["tokens"] == 3
    token, payload = state["sent"][-1]
    assert token == "tok-3" and payload["touser"] == "zhangwei" and payload["msgtype"] == "text"
    content = payload["text"]["content"]
    assert "警告" in content and "<" not in content and ">" not in content
    assert "13812345678" not in content


@pytest.mark.parametrize(
    ("script", "status", "recorded"),
    [
        ([60020], "failed", False),  # not allowed from this IP: retried later
        ([42001, 42001], "failed", False),  # a fresh token refused too
        (["invaliduser"], "skipped", False),  # not a user of the application: retrying cannot help
        ([40014], "sent", True),
    ],
)
def test_wecom_errcodes(prepared, tmp_path, wecom, monkeypatch, script, status, recorded):
    state, base = wecom
    monkeypatch.setenv("TEST_WECOM_SECRET", "s3cret")
    ws = workspace(prepared, tmp_path, channels=["wecom"], wecom=wecom_settings(base))
    state["script"] = list(script)
    [delivery] = send_action_notice(ws, "ACT-000001")
    assert delivery.status == status
    assert bool(notices_sent(ws)) is recorded


def test_wecom_channel_refuses_without_its_secret(monkeypatch):
    from auditor.config import load_config
    from auditor.errors import AuditorError

    monkeypatch.delenv("AUDITOR_WECOM_SECRET", raising=False)
    settings = load_config(None)["notify"]["wecom"] | {"corpid": "ww", "agentid": 1}
    with pytest.raises(AuditorError, match="AUDITOR_WECOM_SECRET"):
        WeComChannel(settings)


# --- CLI -----------------------------------------------------------------------------------------


def test_send_notice_dry_run_prints_and_records_nothing(prepared, tmp_path, runner):
    ws = workspace(prepared, tmp_path, smtp=smtp_settings(_free_port()))
    result = runner.invoke(cli, ["-w", str(ws.root), "notify", "send-notice", "ACT-000001", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry-run: warning to zhangwei (email zw@example.com)" in result.output
    assert "Subject: 【违规警告】ACT-000001（2026-11-17）" in result.output
    assert "如有异议" in result.output and "13812345678" not in result.output
    english = runner.invoke(
        cli, ["-w", str(ws.root), "notify", "send-notice", "ACT-000001", "--dry-run", "--lang", "en"]
    )
    assert "Subject: [Warning] ACT-000001 (2026-11-17)" in english.output and "appeal until" in english.output
    assert notices_sent(ws) == []


def test_send_notice_once_then_already_sent(prepared, tmp_path, runner, smtp):
    inbox, port = smtp
    ws = workspace(prepared, tmp_path, smtp=smtp_settings(port))
    args = ["-w", str(ws.root), "notify", "send-notice", "ACT-000001", "--channel", "email"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0 and "sent: warning to zhangwei" in first.output
    second = runner.invoke(cli, args)
    assert second.exit_code == 0 and "already-sent: warning" in second.output
    assert len(inbox.messages) == 1
    [event] = notices_sent(ws)
    assert event["channel"] == "email" and event["address"] == "zw@example.com"


def test_a_delivery_failure_from_the_cli_is_exit_69(prepared, tmp_path, runner):
    ws = workspace(prepared, tmp_path, smtp=smtp_settings(_free_port()))
    result = runner.invoke(cli, ["-w", str(ws.root), "notify", "send-notice", "ACT-000001"])
    assert result.exit_code == 69 and "not delivered" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send-notice", "ACT-000099", "--dry-run"], "no action ACT-000099"),
        (["send-notice", "nonsense", "--dry-run"], "not an ACT id"),
        (["run", "--date", "2026-01-01", "--dry-run"], "not audited yet: 2026-01-01"),
        (["run", "--date", "16/11/2026"], "--date must be YYYY-MM-DD"),
    ],
)
def test_bad_input_is_exit_2(prepared, tmp_path, runner, args, message):
    ws = workspace(prepared, tmp_path)
    result = runner.invoke(cli, ["-w", str(ws.root), "notify", *args])
    assert result.exit_code == 2 and message in result.output


def test_only_warnings_and_public_criticism_get_notices(prepared, tmp_path, runner):
    ws = workspace(prepared, tmp_path)
    removal = record_action(
        ws, "zhangwei", "temporary_removal", by="officer", reason="", finding_ids=[], on=dt.date(2026, 11, 18)
    )
    result = runner.invoke(cli, ["-w", str(ws.root), "notify", "send-notice", removal, "--dry-run"])
    assert result.exit_code == 2 and "warning and public_criticism only" in result.output


def test_notify_run_dry_run_prints_the_summary(prepared, tmp_path, runner):
    ws = workspace(prepared, tmp_path, channels=["email", "wecom"])
    result = runner.invoke(cli, ["-w", str(ws.root), "notify", "run", "--date", DATE, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry-run: group_summary to zhangwei (email zw@example.com)" in result.output
    assert (
        "skipped: group_summary to lina (email -)" in result.output and "no e-mail address" in result.output
    )
    assert "dry-run: group_summary to lina (wecom lina)" in result.output
    assert "| 您是群「研发" in result.output
    assert not (ws.state_dir / "notify-pending.json").exists() and notices_sent(ws) == []


# --- settings, roster, ledger --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[notify]\nchannel = ['email']\n", "unknown setting 'notify.channel'"),
        ("[notify.smtp]\nport = '25'\n", "'notify.smtp.port' must be a number"),
        ("[notify.smtp]\nsecurity = 'tls'\n", "starttls, ssl or plain"),
        ("[notify]\nchannels = ['fax']\n", "notify.channels"),
        ("[notify]\nchannels = [1]\n", "'notify.channels[0]' must be str"),
        ("[notify]\nenabled = true\n", "set notify.smtp.host and notify.smtp.sender"),
        ("[notify]\nenabled = true\nchannels = ['wecom']\n", "notify.wecom.corpid"),
        ("[notify]\nbase_url = 'javascript:alert(1)'\n", "notify.base_url"),
        ("[notify.wecom]\nsecret = 'inline'\n", "unknown setting 'notify.wecom.secret'"),
    ],
)
def test_bad_notify_settings_are_exit_2(ws, runner, toml, message):
    ws.config_path.write_text(toml, encoding="utf-8")
    result = runner.invoke(cli, ["-w", str(ws.root), "notify", "run", "--dry-run"])
    assert result.exit_code == 2 and message in result.output


def test_old_roster_files_stay_readable_and_bad_addresses_are_rejected(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    ws = Workspace(tmp_path / "ws")
    ws.init()
    old = pa.table({"userid": ["a"], "name": ["甲"], "department": ["d"], "status": ["active"],
                    "left_date": pa.array([None], pa.date32()), "source": ["roster.csv"]})  # fmt: skip
    ws.roster_dir.mkdir(parents=True)
    pq.write_table(old, ws.roster_dir / "roster.parquet")
    assert ws.roster()["a"]["email"] is None
    (tmp_path / "roster.csv").write_text(
        "userid,name,department,status,left_date,email\n"
        "b,乙,d,active,,b@example.com\n"
        'c,丙,d,active,,"c@example.com\r\nBcc: x@example.com"\n'
        "d,丁,d,active,,Dee <d@example.com>\n",
        encoding="utf-8",
    )
    report = ingest(ws, [tmp_path / "roster.csv"])
    assert report.summary()["rejected"] == 2
    assert ws.roster()["b"]["email"] == "b@example.com"


def test_a_version_2_ledger_gains_notice_sent_and_keeps_its_guard(tmp_path):
    import sqlite3

    from auditor.ledger import MIGRATIONS, _statements

    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(
        "INSERT INTO events (kind, recorded, effective, actor, subject, step) "
        "VALUES ('action', 'x', '2026-11-16', 'officer', 'zhangwei', 'warning')"
    )
    db.close()
    with Ledger(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert len(ledger.actions()) == 1
        ledger.append([{"kind": "notice_sent", "effective": "2026-11-17", "actor": "auditor",
                        "subject": "zhangwei", "ref": 1, "details": {"notice_id": "n1"}}])  # fmt: skip
        assert ledger.sent_notices() == {"n1"} and ledger.last_event_id() == 1
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            ledger.db.execute("DELETE FROM events WHERE kind = 'notice_sent'")


# --- addresses and templates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "userid", "roster", "address"),
    [
        ("wecom", "zhangwei", {}, "zhangwei"),
        ("wecom", "zhang.wei@corp", {}, "zhang.wei@corp"),
        ("wecom", "zhangwei|lina", {}, None),  # touser would reach two people
        ("wecom", "zhangwei\r\n", {}, None),
        ("wecom", "wmEXTERNAL", {}, None),  # an external contact
        ("wecom", "wbROBOT", {}, None),
        ("email", "zhangwei", {"zhangwei": {"email": "zw@example.com"}}, "zw@example.com"),
        ("email", "zhangwei", {"zhangwei": {"email": None}}, None),
        ("email", "lina", {}, None),
    ],
)
def test_addresses(channel, userid, roster, address):
    from auditor.notify.dispatch import _address

    found, why = _address(channel, userid, roster)
    assert found == address and bool(why) is (address is None)


@settings(max_examples=60, deadline=None)
@given(name=st.text(), reason=st.text())
def test_chat_content_never_reaches_a_subject(name, reason):
    from auditor.notify.templates import one_line, render

    def summary(group_name: str):
        body = {
            "recipient_name": "张伟 (zhangwei)", "group_name": group_name, "group_category": "客户服务群",
            "role": "群主", "by_category": [("脏话", 2)], "by_severity": [("高", 2)], "links": [(DATE, "x")],
        }  # fmt: skip
        return render("group_summary", "zh", {"dates": [DATE], "total": 2, "pending": 1}, body)

    def notice(text: str):
        finding = {"date": DATE, "group": text, "category": text, "severity": "高", "excerpt": text}
        body = {
            "recipient_name": text,
            "findings": [finding],
            "reason": text,
            "appeal_deadline": "2026-11-24",
        }
        return render("warning", "en", {"action_id": "ACT-000001", "effective": DATE}, body)

    assert summary(name).subject == summary("研发群").subject
    assert notice(reason).subject == notice("x").subject == "[Warning] ACT-000001 (2026-11-16)"
    assert name in summary(name).body
    folded = one_line(name)
    assert all(c.isprintable() for c in folded) and "\n" not in folded and "\r" not in folded
