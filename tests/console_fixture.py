"""A workspace for the console tests: the report fixture's hostile day, a customer group with a
template-injection attempt and a hostile sender, one account per role, and an action for HR."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from auditor.audit import audit
from auditor.console.users import UserStore
from auditor.ingest import ingest
from auditor.violations import load_findings, record_action
from auditor.workspace import Workspace
from tests import report_fixture
from tests.factories import BASE_MS, message, write_jsonl

DAY = "2026-11-16"
TODAY = dt.date(2026, 11, 18)
PASSWORD = "correct horse battery"
TEMPLATE_ATTACK = "{{7*7}}{% raw %}"
HOSTILE_SENDER = "wo<svg onload=alert(1)>"
ACCOUNTS = {"officer": "wangfang", "owner": "lina", "hr": "hr.chen", "viewer": "viewer1"}


def build(root: Path) -> Workspace:
    ws = report_fixture.build(root)
    records = [
        message(
            "h1",
            roomid="wrC",
            sender="zhaolei",
            text={"content": f"{TEMPLATE_ATTACK} 你他妈的 javascript:alert(1)"},
            msgtime=BASE_MS + 600_000,
            **{"from": "zhaolei"},
        ),
        message(
            "h2",
            roomid="wrC",
            text={"content": "<iframe src=javascript:alert(1)> 傻逼"},
            msgtime=BASE_MS + 660_000,
            **{"from": HOSTILE_SENDER},
        ),
    ]
    write_jsonl(root / "in2" / "more.jsonl", records)
    ingest(ws, [root / "in2"])
    audit(ws, [DAY], workers=1)
    with UserStore(ws.root) as users:
        for role, name in ACCOUNTS.items():
            users.add(name, role, PASSWORD)
        users.add("zhangwei", "viewer", PASSWORD)  # the person actions concern, to appeal them
    record_action(
        ws,
        "zhangwei",
        "termination_review",
        by="wangfang",
        reason="fixture",
        finding_ids=[finding_in(ws, "wrA", "malicious_link")],
        on=dt.date.fromisoformat(DAY),
    )
    return ws


def finding_in(ws: Workspace, roomid: str, category: str | None = None, sender: str | None = None) -> str:
    return next(
        fid
        for fid, f in sorted(load_findings(ws).items())
        if f["roomid"] == roomid
        and (category is None or f["category"] == category)
        and (sender is None or f["sender"] == sender)
    )


def copy(ws: Workspace, target: Path) -> Workspace:
    shutil.copytree(ws.root, target)
    return Workspace(target)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(client, path: str = "/login") -> str:
    return CSRF.search(client.get(path).text).group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token(client), "next": "/"},
        follow_redirects=False,
    )
