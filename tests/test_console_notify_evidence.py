"""The console's "send notice" and "export evidence": against the local SMTP server and fake WeCom
API the notify tests use, through CSRF, with hostile names, and zips that `auditor check-evidence`
accepts. (Every role on every route: the tables of test_console.)"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.cli import cli
from auditor.evidence import EXPORT_LOG, Selection, download_name
from auditor.ingest import ingest
from auditor.ledger import Ledger
from auditor.lock import workspace_lock
from auditor.violations import record_action
from tests import console_fixture as cf
from tests import test_notify
from tests.test_console import client_for
from tests.test_notify import _free_port, configure, smtp_settings, wecom_settings

smtp, wecom = test_notify.smtp, test_notify.wecom  # the notify tests' local servers, as fixtures here

ADDRESS = "zw@example.com"
FILENAME = re.compile(
    r'attachment; filename="evidence-(finding|person|case)-[0-9A-Za-z-]+-(masked|RESTRICTED)\.zip"'
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The console fixture with zhangwei's e-mail address in the roster and a warning for him."""
    ws = cf.build(tmp_path_factory.mktemp("console-notify"))
    more = ws.root.parent / "roster-more"
    more.mkdir()
    (more / "roster.csv").write_text(
        "userid,name,department,status,left_date,email\n"
        f"zhangwei,张伟,研发部,active,,{ADDRESS}\nlina,李娜,客服部,active,,\n",
        encoding="utf-8",
    )
    ingest(ws, [more])
    record_action(
        ws,
        "zhangwei",
        "warning",
        by="wangfang",
        reason="<script>window.__pwned=1</script>",
        finding_ids=[cf.finding_in(ws, "wrA", "profanity", "zhangwei")],
        on=dt.date(2026, 11, 17),
    )
    return ws


@pytest.fixture
def ws(built, tmp_path):
    return cf.copy(built, tmp_path / "ws")


def warning_id(ws) -> str:
    [action] = [a for a in Ledger(ws.ledger_path).actions().values() if a.step == "warning"]
    return action.action_id


def send(client, action_id: str):
    response = client.post(
        f"/actions/{action_id}/notice", data={"csrf_token": cf.token(client), "next": "/people/zhangwei"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/people/zhangwei"
    return client.get("/people/zhangwei").text


def notices(ws) -> list:
    return Ledger(ws.ledger_path).events("notice_sent")


# --- send notice -------------------------------------------------------------------------------


def test_a_warning_notice_goes_out_once_by_email_under_the_officers_name(ws, smtp):
    inbox, port = smtp
    configure(ws, smtp=smtp_settings(port))
    client = client_for(ws, "officer")
    action_id = warning_id(ws)
    page = client.get("/people/zhangwei").text
    assert f'action="/actions/{action_id}/notice"' in page
    assert 'action="/actions/ACT-000001/notice"' not in page  # a termination review has no notice

    page = send(client, action_id)
    assert f"通知已通过电子邮件发送至 {ADDRESS}" in page and action_id in page
    assert [rcpt for rcpt, _ in inbox.messages] == [[ADDRESS]]
    sent = inbox.parsed()
    assert sent.get_content_type() == "text/plain"  # the reason travels as plain text, never markup
    assert "<script>window.__pwned=1</script>" in sent.get_content()
    assert "<script>window.__pwned" not in page  # and the page escapes it
    [event] = notices(ws)
    assert (event["actor"], event["subject"]) == ("wangfang", "zhangwei")
    assert json.loads(event["details"])["channel"] == "email"
    assert "已发通知: 电子邮件" in page  # the person page shows what went out, by whom

    page = send(client, action_id)
    assert "该通知此前已通过电子邮件发送" in page
    assert len(inbox.messages) == 1 and len(notices(ws)) == 1


def test_a_failed_delivery_records_nothing_and_can_be_sent_again(ws, smtp):
    configure(ws, smtp=smtp_settings(_free_port()))  # nothing listens there
    client = client_for(ws, "officer")
    page = send(client, warning_id(ws))
    assert "通过电子邮件发送失败" in page and "未记录，可再次发送" in page
    assert notices(ws) == []
    inbox, port = smtp
    configure(ws, smtp=smtp_settings(port))
    assert "通知已通过电子邮件发送" in send(client, warning_id(ws))
    assert len(inbox.messages) == 1 and len(notices(ws)) == 1


def test_a_notice_by_wecom_application_message(ws, wecom, monkeypatch):
    state, base = wecom
    monkeypatch.setenv("TEST_WECOM_SECRET", "s3cret")
    configure(ws, channels=["wecom"], wecom=wecom_settings(base))
    page = send(client_for(ws, "officer"), warning_id(ws))
    assert "通知已通过企业微信发送至 zhangwei" in page
    [(_, payload)] = state["sent"]
    assert payload["touser"] == "zhangwei" and payload["msgtype"] == "text"
    assert json.loads(notices(ws)[0]["details"])["channel"] == "wecom"


@pytest.mark.parametrize(
    ("setup", "action", "why"),
    [
        ("unconfigured", "warning", "e-mail notifications need notify.smtp.host"),
        ("wecom-no-secret", "warning", "TEST_WECOM_SECRET"),
        ("", "ACT-000001", "notices are sent for warning and public_criticism only"),
        ("locked", "warning", "another run is in progress"),
        ("voided", "warning", "is void"),
    ],
)
def test_why_a_notice_was_not_sent_is_shown_and_nothing_is_recorded(ws, setup, action, why, monkeypatch):
    client = client_for(ws, "officer")
    action_id = warning_id(ws) if action == "warning" else action
    if setup == "wecom-no-secret":
        monkeypatch.delenv("TEST_WECOM_SECRET", raising=False)
        configure(ws, channels=["wecom"], wecom=wecom_settings("http://127.0.0.1:9"))
    if setup == "voided":
        form = {"reason": "wrong person", "csrf_token": cf.token(client)}
        client.post(f"/actions/{action_id}/void", data=form)
    if setup == "locked":
        with workspace_lock(ws.lock_path):
            page = send(client, action_id)
    else:
        page = send(client, action_id)
    assert "未发送通知：" in page and why in page
    assert notices(ws) == []


def test_sending_a_notice_needs_the_csrf_token(ws, smtp):
    inbox, port = smtp
    configure(ws, smtp=smtp_settings(port))
    client = client_for(ws, "officer")
    for token in (None, "forged"):
        data = {} if token is None else {"csrf_token": token}
        response = client.post(f"/actions/{warning_id(ws)}/notice", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    assert inbox.messages == [] and notices(ws) == []


def test_an_unknown_action_is_404_and_sends_nothing(ws):
    client = client_for(ws, "officer")
    for action_id in ("ACT-999999", "bogus", "..%2FACT-1"):
        response = client.post(f"/actions/{action_id}/notice", data={"csrf_token": cf.token(client)})
        assert response.status_code in (404, 405) and "<script>" not in response.text
    assert notices(ws) == []


# --- export evidence ---------------------------------------------------------------------------


def export(client, path: str, **form):
    return client.post(path, data=form | {"csrf_token": cf.token(client)})


def checked(runner, response, tmp_path) -> dict[str, bytes]:
    """The downloaded zip passes `auditor check-evidence`; its members by name."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert FILENAME.fullmatch(disposition), disposition
    out = tmp_path / "download.zip"
    out.write_bytes(response.content)
    result = runner.invoke(cli, ["check-evidence", str(out)])
    assert result.exit_code == 0 and result.output.startswith("ok:"), result.output
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def export_log(ws) -> list[dict]:
    path = ws.logs_dir / EXPORT_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_an_officer_exports_a_finding_masked_and_the_export_is_logged(ws, runner, tmp_path):
    fid = cf.finding_in(ws, "wrA", "profanity", "zhangwei")
    response = export(client_for(ws, "officer"), f"/findings/{fid}/evidence")
    members = checked(runner, response, tmp_path)
    assert f'filename="evidence-finding-{fid}-masked.zip"' in response.headers["content-disposition"]
    manifest = json.loads(members["manifest.json"])
    assert manifest["classification"] == "masked"
    assert manifest["selection"] == {"kind": "finding", "value": fid}
    assert not any(cf.report_fixture.PHONE.encode() in data for data in members.values())
    [entry] = export_log(ws)
    assert (entry["by"], entry["role"], entry["classification"]) == ("wangfang", "officer", "masked")
    assert entry["sha256"] == response.headers["x-evidence-sha256"]
    assert dt.datetime.fromisoformat(entry["at"]).tzinfo is not None
    again = export(client_for(ws, "officer"), f"/findings/{fid}/evidence")
    assert again.content == response.content  # the same state, the same bytes
    assert len(export_log(ws)) == 2  # every export is logged


def test_unmasked_is_for_officers_only_and_marked_restricted(ws, runner, tmp_path):
    response = export(client_for(ws, "officer"), "/actions/ACT-000001/evidence", unmasked="1")
    members = checked(runner, response, tmp_path)
    assert response.headers["content-disposition"].endswith('evidence-case-ACT-000001-RESTRICTED.zip"')
    assert all(b"RESTRICTED" in data for data in members.values())
    assert export_log(ws)[0]["classification"] == "RESTRICTED"
    hr = export(client_for(ws, "hr"), "/actions/ACT-000001/evidence", unmasked="1")
    assert hr.status_code == 403 and len(export_log(ws)) == 1  # refused, and nothing logged
    masked = export(client_for(ws, "hr"), "/actions/ACT-000001/evidence")  # zhangwei is referred
    assert b"RESTRICTED" not in masked.content and export_log(ws)[1]["role"] == "hr"


def test_an_owner_exports_only_their_groups_findings(ws, runner, tmp_path):
    owner = client_for(ws, "owner")  # lina owns wrC
    members = checked(runner, export(owner, f"/findings/{cf.finding_in(ws, 'wrC')}/evidence"), tmp_path)
    assert json.loads(members["manifest.json"])["classification"] == "masked"
    assert export(owner, f"/findings/{cf.finding_in(ws, 'wrA')}/evidence").status_code == 403
    assert export(owner, "/people/zhaolei/evidence").status_code == 403
    assert len(export_log(ws)) == 1


def test_a_hostile_persons_export_has_a_generated_name_and_passes_the_check(ws, runner, tmp_path):
    from urllib.parse import quote

    client = client_for(ws, "officer")
    response = export(client, f"/people/{quote(cf.HOSTILE_SENDER, safe='')}/evidence")
    members = checked(runner, response, tmp_path)
    disposition = response.headers["content-disposition"]
    assert "<" not in disposition and "svg" not in disposition
    assert json.loads(members["manifest.json"])["selection"]["value"] == cf.HOSTILE_SENDER
    contexts = [n for n in members if n.startswith("context/")]
    assert contexts and all(re.fullmatch(r"context/\d{4}\.json", n) for n in contexts)
    assert export_log(ws)[0]["selection"] == {"kind": "person", "value": cf.HOSTILE_SENDER}
    page = client.get(f"/findings/{cf.finding_in(ws, 'wrC', sender=cf.HOSTILE_SENDER)}").text
    assert "<svg onload" not in page and 'aria-label="导出证据"' in page


def test_nothing_to_export_is_a_clear_404(ws):
    response = export(client_for(ws, "officer"), "/people/nobody-at-all/evidence")
    assert response.status_code == 404 and "nothing to export" in response.text
    assert export(client_for(ws, "officer"), "/findings/0000deadbeef/evidence").status_code == 404
    assert export_log(ws) == []


def test_an_export_that_cannot_be_logged_is_not_given(ws):
    shutil.rmtree(ws.logs_dir, ignore_errors=True)
    ws.logs_dir.write_text("a file where the logs folder should be", encoding="utf-8")
    fid = cf.finding_in(ws, "wrA", "profanity", "zhangwei")
    response = export(client_for(ws, "officer"), f"/findings/{fid}/evidence", unmasked="1")
    assert response.status_code == 503 and "could not be recorded" in response.text
    assert b"PK" not in response.content[:2]


def test_exporting_needs_the_csrf_token(ws):
    fid = cf.finding_in(ws, "wrA", "profanity", "zhangwei")
    response = client_for(ws, "officer").post(f"/findings/{fid}/evidence", data={"unmasked": "1"})
    assert response.status_code == 403 and "CSRF" in response.text
    assert export_log(ws) == []


@given(kind=st.sampled_from(["finding", "person", "case"]), value=st.text(max_size=80))
def test_a_download_name_is_always_generated_and_safe(kind, value):
    written = {"sha256": "ab" * 32, "classification": "masked"}
    name = download_name(Selection(kind, value), written)
    assert re.fullmatch(r"evidence-(finding|person|case)-[0-9a-fA-CT-]{6,64}-masked\.zip", name)
    assert value in name or name == f"evidence-{kind}-{'ab' * 8}-masked.zip"
