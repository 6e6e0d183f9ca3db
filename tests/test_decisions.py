"""Decisions and what follows them: pages re-rendered, actions validated and voided, the working-day
calendar past the package's years, private reports kept out of the shared folder."""

from __future__ import annotations

import hashlib
import json

import pytest

from auditor.cli import cli
from auditor.ledger import Ledger
from auditor.lock import workspace_lock
from auditor.report.render import report
from tests import report_fixture
from tests.test_violations import findings_of

DAY = "2026-11-16"


@pytest.fixture
def ws(tmp_path):
    workspace = report_fixture.build(tmp_path)
    report(workspace, [DAY])
    return workspace


def run(runner, ws, *args):
    return runner.invoke(cli, ["-w", str(ws.root), *args])


def page_texts(ws) -> str:
    folder = ws.reports_dir / DAY
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.html")))


def summary(ws) -> dict:
    return json.loads((ws.reports_dir / DAY / "summary.json").read_text(encoding="utf-8"))


def tree_digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- pages follow decisions ------------------------------------------------------------------


def test_a_review_re_renders_the_pages_it_touches(runner, ws):
    [finding] = findings_of(ws, category="pii")
    assert "已确认" not in page_texts(ws) and summary(ws)["ledger_event_id"] == 0
    result = run(runner, ws, "review", "confirm", finding, "--by", "lina", "--on", DAY)
    assert result.exit_code == 0, result.output
    assert "pages refreshed: 1 date" in result.output
    assert "已确认" in page_texts(ws)
    assert summary(ws)["ledger_event_id"] == 1


@pytest.mark.parametrize(
    "decision",
    ["action", "appeal", "void"],
)
def test_actions_and_appeals_re_render_the_pages(runner, ws, decision):
    [finding] = findings_of(ws, category="pii")
    run(runner, ws, "review", "confirm", finding, "--by", "lina", "--on", DAY)
    recorded = run(
        runner, ws, "action", "record", "zhangwei", "warning", "--by", "lina", "--finding", finding
    )
    action_id = recorded.stdout.strip()
    assert recorded.exit_code == 0 and action_id.startswith("ACT-")
    expected = {"action": action_id, "appeal": "进行中的申诉", "void": "已作废"}[decision]
    if decision == "appeal":
        result = run(runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "quoting")
    elif decision == "void":
        result = run(runner, ws, "action", "void", action_id, "--by", "lina", "--reason", "wrong person")
    else:
        result = recorded
    assert result.exit_code == 0, result.output
    assert expected in page_texts(ws)
    with Ledger(ws.ledger_path) as ledger:
        assert summary(ws)["ledger_event_id"] == ledger.last_event_id()


def test_a_decision_while_locked_is_recorded_and_the_nightly_refreshes_the_pages(runner, ws):
    from auditor.pipeline import nightly

    [finding] = findings_of(ws, category="pii")
    with workspace_lock(ws.lock_path):
        result = run(runner, ws, "review", "confirm", finding, "--by", "lina", "--on", DAY)
    assert result.exit_code == 0, result.output
    assert "next nightly run refreshes them" in result.output
    assert "已确认" not in page_texts(ws)  # stale until the nightly job
    outcome = nightly(ws, workers=1, interactive=False)
    assert outcome.manifest["status"] == "nothing-new"
    assert outcome.manifest["pages_refreshed"] == [DAY]
    assert "已确认" in page_texts(ws)
    again = nightly(ws, workers=1, interactive=False)
    assert again.manifest["pages_refreshed"] == []  # nothing changed since: nothing re-rendered


# --- actions: validation and void ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "warning", "--by", "lina"], "unknown person 'nobody'"),
        (
            ["zhangwei", "warning", "--by", "lina", "--on", "2026-11-15", "--finding", "{pii}"],
            "before the finding",
        ),
        (["zhangwei", "warning", "--by", " "], "--by must name"),
    ],
)
def test_action_record_refuses_what_cannot_be_true(runner, ws, args, message):
    [pii] = findings_of(ws, category="pii")
    result = run(runner, ws, "action", "record", *[a.format(pii=pii) for a in args])
    assert result.exit_code == 2 and message in result.output
    assert not ws.ledger_path.exists() or Ledger(ws.ledger_path).events() == []


def test_a_voided_action_leaves_the_ladder_and_its_history_stays(runner, ws):
    ids = findings_of(ws, category="profanity")
    run(runner, ws, "review", "confirm", *ids, "--by", "lina", "--on", DAY)
    steps = [a for i in ids for a in ("--finding", i)]
    action_id = run(
        runner, ws, "action", "record", "zhangwei", "public_criticism", "--by", "lina", *steps
    ).stdout
    action_id = action_id.strip()
    voided = run(runner, ws, "action", "void", action_id, "--by", "hr", "--reason", "recorded twice")
    assert voided.exit_code == 0, voided.output
    listed = run(runner, ws, "action", "list").output
    assert "VOID (" in listed and "hr: recorded twice" in listed
    with Ledger(ws.ledger_path) as ledger:
        assert [e["kind"] for e in ledger.events()][-2:] == ["action", "action_voided"]
        assert ledger.actions()[int(action_id[4:])].voided
    pages = page_texts(ws)
    assert "hr: recorded twice" in pages
    # the step no longer counts as taken; the confirmed findings still count: recommended again
    assert "<td>群内通报批评</td>" in pages
    twice = run(runner, ws, "action", "void", action_id, "--by", "hr", "--reason", "again")
    assert twice.exit_code == 2 and "already void" in twice.output
    unknown = run(runner, ws, "action", "void", "ACT-000999", "--by", "hr", "--reason", "x")
    assert unknown.exit_code == 2 and "no action ACT-000999" in unknown.output
    appeal = run(runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "x")
    assert appeal.exit_code == 2 and "already void" in appeal.output


@pytest.mark.parametrize(
    "args",
    [["review", "list"], ["action", "list"], ["action", "void", "ACT-000001", "--by", "a", "--reason", "b"]],
)
def test_a_malformed_auditor_toml_is_exit_2_everywhere(runner, ws, args):
    ws.config_path.write_text("[report\nlang = ", encoding="utf-8")
    result = run(runner, ws, *args)
    assert result.exit_code == 2 and "auditor.toml" in result.output


# --- the working-day calendar past the package's years ---------------------------------------


def warn_for_pii(runner, ws, *, on: str) -> str:
    """Record a warning for zhangwei answering the fixture's pii finding; returns the action id."""
    [pii] = findings_of(ws, category="pii")
    recorded = run(
        runner, ws, "action", "record", "zhangwei", "warning", "--by", "lina", "--finding", pii, "--on", on
    )
    assert recorded.exit_code == 0, recorded.output
    return recorded.stdout.strip()


def test_an_appeal_into_2027_is_estimated_and_says_so(runner, ws):
    action_id = warn_for_pii(runner, ws, on="2026-12-24")
    filed = run(
        runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "x", "--on", "2026-12-30"
    )
    assert filed.exit_code == 0, filed.output
    # 12-31, (1-1 New Year's Day), 1-4 … 1-8, 1-11 … 1-14 → the 10th working day is 2027-01-14
    assert "answer by 2027-01-14" in filed.stdout
    assert "working days for 2027 estimated by rule" in filed.stderr
    assert "answer by 2027-01-14 (estimated): open" in run(runner, ws, "action", "list").output
    index = (ws.reports_dir / DAY / "index.html").read_text(encoding="utf-8")
    assert "2027 年的工作日按法定节假日规则与周末估算" in index and "W/calendar.toml" in index


def test_calendar_toml_corrections_and_errors_through_the_cli(runner, ws):
    action_id = warn_for_pii(runner, ws, on="2026-12-24")
    (ws.root / "calendar.toml").write_text("holidays = 2027-01-04\n", encoding="utf-8")
    bad = run(
        runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "x", "--on", "2026-12-30"
    )
    assert bad.exit_code == 2 and "calendar.toml" in bad.output and "holidays must be a list" in bad.output
    (ws.root / "calendar.toml").write_text(
        "holidays = [2027-01-04]\nworkdays = [2027-01-09]\nofficial_years = [2027]\n", encoding="utf-8"
    )
    filed = run(
        runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "x", "--on", "2026-12-30"
    )
    assert filed.exit_code == 0, filed.output
    # 12-31, 1-5 … 1-8, Sat 1-9 (make-up), 1-11 … 1-14 → 2027-01-14 again, now by the operator's schedule
    assert "answer by 2027-01-14" in filed.stdout and "estimated" not in filed.output


# --- private reports never over the shared pages ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unmasked"], "--unmasked needs --out"),
        (["--lang", "en"], "--lang en needs --out"),
        (["--unmasked", "--out", "{reports}"], "inside the shared reports"),
        (["--lang", "en", "--out", "{reports}/en"], "inside the shared reports"),
    ],
)
def test_private_reports_are_refused_over_the_shared_pages(runner, ws, args, message):
    before = tree_digest(ws.reports_dir)
    result = run(runner, ws, "report", "--date", DAY, *[a.format(reports=ws.reports_dir) for a in args])
    assert result.exit_code == 2 and message in result.output
    assert tree_digest(ws.reports_dir) == before


def test_unmasked_and_english_reports_go_to_their_own_folder(runner, ws, tmp_path):
    before = tree_digest(ws.reports_dir)
    out = tmp_path / "case-42"
    result = run(runner, ws, "report", "--date", DAY, "--unmasked", "--lang", "en", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = (out / DAY / "index.html").read_text(encoding="utf-8")
    assert "RESTRICTED" in html and 'lang="en"' in html
    assert any(report_fixture.PHONE in p.read_text(encoding="utf-8") for p in out.rglob("*.html"))
    assert tree_digest(ws.reports_dir) == before
    same_lang = run(runner, ws, "report", "--date", DAY, "--lang", "zh")
    assert same_lang.exit_code == 0  # the configured language needs no --out


def test_a_report_run_opens_the_ledger_once_for_all_its_dates(runner, ws, tmp_path, monkeypatch):
    """Opening the ledger runs SQLite's integrity check: a night of many dates pays it once."""
    from auditor.audit import audit
    from auditor.ingest import ingest
    from tests.factories import BASE_MS, message, write_jsonl

    day2 = "2026-11-17"
    later = message("d2", roomid="wrA", text={"content": "好的"}, msgtime=BASE_MS + 86_400_000)
    ingest(ws, [write_jsonl(tmp_path / "day2.jsonl", [later])])
    audit(ws, [DAY, day2], workers=1)
    [finding] = findings_of(ws, category="pii")
    assert run(runner, ws, "review", "confirm", finding, "--by", "lina", "--on", DAY).exit_code == 0
    opened = []
    init = Ledger.__init__
    monkeypatch.setattr(Ledger, "__init__", lambda self, path: opened.append(path) or init(self, path))
    report(ws, [DAY, day2])
    assert opened == [ws.ledger_path]
    for day in (DAY, day2):
        shown = json.loads((ws.reports_dir / day / "summary.json").read_text(encoding="utf-8"))
        assert shown["ledger_event_id"] == 1
    assert "已确认" in page_texts(ws)
