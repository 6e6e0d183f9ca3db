"""The review console in a real browser (headless Debian Chromium, Playwright), served by uvicorn:
an officer signs in, filters the queue, bulk-dismisses with a reason, confirms, records a warning,
sends its notice (to a local SMTP server), exports the case's evidence and reads the audit trail;
an owner acknowledges in their own group. No console errors, no request leaves the console's
origin. Screenshots go to test-artifacts/ (and to docs/ with AUDITOR_DOCS_SCREENSHOTS=1, for the
README)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from auditor.console.app import create_app
from auditor.evidence import check
from auditor.ingest import ingest
from auditor.ledger import Ledger
from auditor.violations import load_findings
from tests import console_fixture as cf
from tests import test_notify
from tests.test_notify import configure, smtp_settings
from tests.test_report_browser import ARTIFACTS, CHROMIUM, FLAGS

if not CHROMIUM and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (make test installs it in CI)", allow_module_level=True)

smtp = test_notify.smtp  # the notify tests' local SMTP server, as a fixture here
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def served(tmp_path_factory):
    """The console over a fresh copy of the fixture workspace, on a free local port."""
    import uvicorn

    ws = cf.build(tmp_path_factory.mktemp("browser-console"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ws, today=lambda: cf.TODAY), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    yield ws, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def open_console(browser, base: str):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    seen = {"errors": [], "requests": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    return context, page, seen


def sign_in(page, base: str, name: str, start: str = "/login") -> None:
    page.goto(f"{base}{start}")
    assert "/login" in page.url  # a page asked for first sends one to sign in, and back after
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", cf.PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("load")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("AUDITOR_DOCS_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=False)


def queue_ids(page) -> list[str]:
    return page.eval_on_selector_all("input[name='ids[]'][type=checkbox]", "els => els.map(e => e.value)")


def test_an_officer_reviews_from_sign_in_to_the_audit_trail(browser, served, smtp, tmp_path):
    ws, base = served
    inbox, port = smtp
    more = tmp_path / "roster"
    more.mkdir()
    (more / "roster.csv").write_text(
        "userid,name,department,status,left_date,email\nzhangwei,张伟,研发部,active,,zw@example.com\n",
        encoding="utf-8",
    )
    ingest(ws, [more])
    configure(ws, smtp=smtp_settings(port))
    context, page, seen = open_console(browser, base)
    try:
        sign_in(page, base, "wangfang", start="/queue")
        assert page.url == f"{base}/queue"
        assert page.evaluate("window.__pwned") is None
        everything = queue_ids(page)
        # filter the queue: the group's category and a severity, as query parameters
        page.select_option("select[name=group_category]", "internal")
        page.select_option("select[name=severity]", "medium")
        page.click("form[aria-label=filters] button[type=submit]")
        page.wait_for_load_state("load")
        assert "group_category=internal" in page.url and "severity=medium" in page.url
        filtered = queue_ids(page)
        assert 2 <= len(filtered) < len(everything)
        assert set(page.eval_on_selector_all("tbody tr", "rs => rs.map(r => r.className)")) == {"s-medium"}
        shot(page, "console-queue")
        # bulk-dismiss two with a reason
        for fid in filtered[:2]:
            page.check(f"input[name='ids[]'][value='{fid}']")
        page.fill("fieldset.decide input[name=reason]", "quoted a customer's message")
        page.click("button[name=op][value=dismiss]")
        page.wait_for_load_state("load")
        assert "已记录：dismiss × 2" in page.inner_text(".notice.ok")
        assert not set(filtered[:2]) & set(queue_ids(page))  # off the pending queue, filters kept
        assert "severity=medium" in page.url
        # confirm one from its own page
        target = cf.finding_in(ws, "wrA", "pii")
        page.goto(f"{base}/findings/{target}")
        assert "上下文对话" in page.inner_text("main")
        shot(page, "console-finding")
        page.fill("fieldset.decide input[name=reason]", "customer's phone number in an internal group")
        page.click("button[name=op][value=confirm]")
        page.wait_for_load_state("load")
        assert "confirm × 1" in page.inner_text(".notice.ok")
        # record a warning on the person's page
        page.click("a[href='/people/zhangwei']")
        page.wait_for_load_state("load")
        page.select_option("select[name=step]", "warning")
        page.check(f"input[name='ids[]'][value='{target}']")
        page.fill("form[aria-label] input[name=on]", "2026-11-17")
        page.click("form[action='/people/zhangwei/actions'] button[type=submit]")
        page.wait_for_load_state("load")
        action_id = re.search(r"已记录：(ACT-\d{6})", page.inner_text(".notice.ok")).group(1)
        # send the warning's notice: delivered once, shown, and in the ledger under the officer's name
        page.click(f"form[action='/actions/{action_id}/notice'] button[type=submit]")
        page.wait_for_load_state("load")
        assert "通知已通过电子邮件发送至 zw@example.com" in page.inner_text(".notice.ok")
        assert [rcpt for rcpt, _ in inbox.messages] == [["zw@example.com"]]
        shot(page, "console-person")
        # export the case's evidence, unmasked: a RESTRICTED zip the checker accepts
        form = f"form[action='/actions/{action_id}/evidence']"
        page.check(f"{form} input[name=unmasked]")
        with page.expect_download() as download:
            page.click(f"{form} button[type=submit]")
        assert download.value.suggested_filename == f"evidence-case-{action_id}-RESTRICTED.zip"
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        problems, manifest = check(saved)
        assert problems == [] and manifest["classification"] == "RESTRICTED"
        # the audit trail shows all of it, under the officer's name
        page.click("nav a[href='/trail']")
        page.wait_for_load_state("load")
        trail = page.inner_text("table.events")
        assert trail.count("wangfang") >= 4 and "quoted a customer's message" in trail and "warning" in trail
        shot(page, "console-trail")
        page.goto(f"{base}/dashboard")
        assert page.locator("svg.chart").count() == 3
        shot(page, "console-dashboard")
        with Ledger(ws.ledger_path) as ledger:
            reviews = ledger.events("review")
            assert [(r["decision"], r["actor"]) for r in reviews] == [
                ("dismissed", "wangfang"),
                ("dismissed", "wangfang"),
                ("confirmed", "wangfang"),
            ]
            assert [a.step for a in ledger.actions().values()] == ["termination_review", "warning"]
            [notice] = ledger.events("notice_sent")
            assert (notice["actor"], notice["subject"]) == ("wangfang", "zhangwei")
        assert seen["errors"] == []
        assert all(url.startswith(base) for url in seen["requests"]), seen["requests"]
    finally:
        context.close()


def test_an_owner_sees_their_group_and_acknowledges(browser, served):
    ws, base = served
    context, page, seen = open_console(browser, base)
    try:
        sign_in(page, base, "lina")
        shown = queue_ids(page)
        wrc = {fid for fid, f in load_findings(ws).items() if f["roomid"] == "wrC"}
        assert shown and set(shown) == wrc  # lina owns wrC only
        decisions = page.eval_on_selector_all(
            "form[action='/decide'] button[name=op]", "bs => bs.map(b => b.value)"
        )
        assert set(decisions) == {"acknowledge"}
        page.check(f"input[name='ids[]'][value='{shown[0]}']")
        page.click("button[name=op][value=acknowledge]")
        page.wait_for_load_state("load")
        assert "acknowledge × 1" in page.inner_text(".notice.ok")
        assert page.goto(f"{base}/trail").status == 403
        with Ledger(ws.ledger_path) as ledger:
            [event] = ledger.events("acknowledge")
            assert (event["actor"], event["finding_id"]) == ("lina", shown[0])
        assert seen["errors"] == [] or all("403" in e for e in seen["errors"])
    finally:
        context.close()


def test_hr_and_viewers_read_without_decision_forms(browser, served):
    _, base = served
    context, page, seen = open_console(browser, base)
    try:
        sign_in(page, base, "hr.chen")
        assert page.url == f"{base}/referrals"
        page.click("a[href='/people/zhangwei']")
        page.wait_for_load_state("load")
        assert "提交人事：解除劳动合同审查" in page.inner_text("main")
        # no decision forms; evidence of a referred person, masked only
        assert (
            page.locator("form[method=post]:not([action='/logout']):not([action$='/evidence'])").count() == 0
        )
        assert page.locator("form[action$='/evidence']").count() > 0
        assert page.locator("input[name=unmasked]").count() == 0
        assert page.goto(f"{base}/queue").status == 403
        page.click("form[action='/logout'] button")
        page.wait_for_load_state("load")
        sign_in(page, base, "viewer1")
        assert page.url == f"{base}/queue" and len(queue_ids(page)) > 0
        assert page.locator("fieldset.decide").count() == 0
        page.goto(f"{base}/trail")
        assert "termination_review" in page.inner_text("table.events")
        assert all(url.startswith(base) for url in seen["requests"])
    finally:
        context.close()


def test_the_person_concerned_appeals_and_an_officer_resolves(browser, served):
    ws, base = served
    context, page, seen = open_console(browser, base)
    try:
        sign_in(page, base, "zhangwei")
        page.goto(f"{base}/people/zhangwei")
        appeal = "form[action='/actions/ACT-000001/appeal']"
        page.fill(f"{appeal} input[name=reason]", "I was quoting the customer")
        page.click(f"{appeal} button[type=submit]")
        page.wait_for_load_state("load")
        assert re.search(r"APL-\d{6}", page.inner_text(".notice.ok"))
        [filed] = Ledger(ws.ledger_path).events("appeal_filed")
        assert filed["actor"] == "zhangwei"
        appeal_id = f"APL-{filed['event_id']:06d}"
        page.click("form[action='/logout'] button")
        page.wait_for_load_state("load")
        sign_in(page, base, "wangfang")
        page.goto(f"{base}/people/zhangwei")
        resolve = f"form[action='/appeals/{appeal_id}/resolve']"
        page.select_option(f"{resolve} select[name=outcome]", "overturned")
        page.fill(f"{resolve} input[name=reason]", "the quote is confirmed")
        page.click(f"{resolve} button[type=submit]")
        page.wait_for_load_state("load")
        assert f"{appeal_id} overturned" in page.inner_text(".notice.ok")
        assert Ledger(ws.ledger_path).actions()[1].voided
        assert seen["errors"] == []
        assert all(url.startswith(base) for url in seen["requests"]), seen["requests"]
    finally:
        context.close()
