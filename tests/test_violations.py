"""Review, action and appeal commands end to end, and what the reports show of them."""

from __future__ import annotations

import json

import pytest

from auditor.cli import cli
from auditor.ledger import Ledger
from auditor.report.render import report
from auditor.violations import load_findings
from tests import report_fixture


@pytest.fixture
def ws(tmp_path):
    return report_fixture.build(tmp_path)


def run(runner, ws, *args):
    result = runner.invoke(cli, ["-w", str(ws.root), *args])
    return result


def record_and_appeal(runner, ws, acted_on: str, appealed_on: str):
    """A warning for zhangwei on ``acted_on`` and his appeal on ``appealed_on``; returns the filing result.

    The warning names no finding: the fixture's findings are of 2026-11-16, and an action cannot
    predate the findings it answers."""
    action_id = run(
        runner,
        ws,
        "action",
        "record",
        "zhangwei",
        "warning",
        "--by",
        "lina",
        "--on",
        acted_on,
    ).output.strip()
    return run(
        runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "not me", "--on", appealed_on
    )


def findings_of(ws, sender="zhangwei", category=None):
    return sorted(
        f["finding_id"]
        for f in load_findings(ws).values()
        if f["sender"] == sender and (category is None or f["category"] == category)
    )


def summary_person(ws, userid="zhangwei"):
    report(ws, ["2026-11-16"])
    html = (ws.reports_dir / "2026-11-16" / "groups").glob("*.html")
    return "\n".join(p.read_text(encoding="utf-8") for p in html)


def test_confirming_findings_moves_the_recommendation_up_the_ladder(runner, ws):
    ids = findings_of(ws, category="profanity")
    assert run(runner, ws, "review", "confirm", ids[0], "--by", "lina", "--on", "2026-11-16").exit_code == 0
    assert "<td>警告</td>" in summary_person(ws)
    assert run(runner, ws, "review", "confirm", ids[1], "--by", "lina", "--on", "2026-11-16").exit_code == 0
    assert "<td>群内通报批评</td>" in summary_person(ws)


def test_unknown_ids_write_nothing(runner, ws):
    good = findings_of(ws)[0]
    result = run(runner, ws, "review", "confirm", good, "ffffffffffffffffffffffff", "--by", "lina")
    assert result.exit_code == 2 and "unknown finding id: ffffffffffffffffffffffff" in result.output
    with Ledger(ws.ledger_path) as ledger:
        assert ledger.events() == []


def test_review_list_filters(runner, ws):
    ids = findings_of(ws, category="profanity")
    run(runner, ws, "review", "confirm", ids[0], "--by", "lina")
    listed = json.loads(run(runner, ws, "review", "list", "--status", "confirmed", "--json").output)
    assert [r["finding_id"] for r in listed] == [ids[0]]
    pending = json.loads(
        run(runner, ws, "review", "list", "--status", "pending", "--category", "profanity", "--json").output
    )
    assert sorted(r["finding_id"] for r in pending) == ids[1:]
    by_group = json.loads(run(runner, ws, "review", "list", "--group", "客户服务", "--json").output)
    assert all(r["group"] == "客户服务群" for r in by_group)


def test_action_appeal_window_and_overturn(runner, ws):
    ids = findings_of(ws, category="profanity")
    run(runner, ws, "review", "confirm", *ids, "--by", "lina", "--on", "2026-11-16")
    recorded = run(
        runner,
        ws,
        "action",
        "record",
        "zhangwei",
        "public_criticism",
        "--by",
        "lina",
        *[a for i in ids for a in ("--finding", i)],
        "--on",
        "2026-11-16",
    )
    assert recorded.exit_code == 0, recorded.output
    action_id = recorded.output.strip()
    # Monday 2026-11-16 + 5 working days = Monday 2026-11-23; day 6 (Tuesday) is refused
    late = run(
        runner,
        ws,
        "appeal",
        "file",
        action_id,
        "--by",
        "zhangwei",
        "--reason",
        "quoting",
        "--on",
        "2026-11-24",
    )
    assert late.exit_code == 2 and "closed on 2026-11-23" in late.output
    other = run(
        runner, ws, "appeal", "file", action_id, "--by", "lina", "--reason", "x", "--on", "2026-11-17"
    )
    assert other.exit_code == 2 and "only zhangwei" in other.output
    filed = run(
        runner,
        ws,
        "appeal",
        "file",
        action_id,
        "--by",
        "zhangwei",
        "--reason",
        "quoting a customer",
        "--on",
        "2026-11-23",
    )
    assert filed.exit_code == 0 and "answer by 2026-12-07" in filed.output
    appeal_id = filed.output.split(":")[0]
    twice = run(
        runner, ws, "appeal", "file", action_id, "--by", "zhangwei", "--reason", "again", "--on", "2026-11-23"
    )
    assert twice.exit_code == 2 and "already has an open appeal" in twice.output
    resolved = run(
        runner,
        ws,
        "appeal",
        "resolve",
        appeal_id,
        "--outcome",
        "overturned",
        "--by",
        "wangfang",
        "--reason",
        "the quote is confirmed",
        "--on",
        "2026-11-25",
    )
    assert resolved.exit_code == 0
    listed = run(runner, ws, "action", "list").output
    assert "VOID" in listed and "overturned" in listed
    assert "<td>无需处理</td>" in summary_person(ws)  # the overturned action's findings left the ladder


def test_open_and_overdue_appeals_show_on_the_index(runner, ws):
    ids = findings_of(ws, category="profanity")
    run(runner, ws, "review", "confirm", ids[0], "--by", "lina", "--on", "2026-11-02")
    record_and_appeal(runner, ws, "2026-11-02", "2026-11-03")
    report(ws, ["2026-11-16"])  # answer was due 2026-11-17 … not yet overdue on the 16th
    index = (ws.reports_dir / "2026-11-16" / "index.html").read_text(encoding="utf-8")
    assert "进行中的申诉" in index and "2026-11-17" in index and "已逾期" not in index
    assert "待复核" in index


def test_action_for_someone_elses_finding_is_refused(runner, ws):
    [other] = findings_of(ws, sender="zhangwei", category="pii")
    result = run(runner, ws, "action", "record", "lina", "warning", "--by", "hr", "--finding", other)
    assert result.exit_code == 2 and "not lina's" in result.output


def test_overdue_appeals_are_highlighted_on_the_index(runner, ws):
    filed = record_and_appeal(runner, ws, "2026-10-19", "2026-10-20")
    assert "answer by 2026-11-03" in filed.output
    report(ws, ["2026-11-16"])
    index = (ws.reports_dir / "2026-11-16" / "index.html").read_text(encoding="utf-8")
    assert 'class="overdue">2026-11-03 · 已逾期' in index
    assert 'class="card overdue"' in index
