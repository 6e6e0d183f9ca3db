"""Allowlisting from dismissals: the phrase in its context, optionally one group, previewed, and
serialised so parallel dismissals keep every phrase."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from pathlib import Path

import pytest

from auditor.allowlist import phrase_in_context
from auditor.audit import audit
from auditor.cli import cli
from auditor.ingest import ingest
from auditor.ledger import Ledger
from auditor.violations import load_findings, review
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

DAY = "2026-11-16"
TEXTS = {
    "own": ("wrA", "zhangwei", "tmd 又要通宵加班"),  # the false alarm to dismiss
    "same-other-group": ("wrB", "wangfang", "tmd 又要通宵加班"),
    "insult": ("wrA", "lina", "tmd 你给我滚出去"),
    "bare": ("wrA", "lina", "tmd"),
    **{f"p{i:02d}": ("wrC", "lina", f"tmd 第{i}次通宵") for i in range(20)},
}


def build(root) -> Workspace:
    ws = Workspace(root / "ws")
    ws.init()
    records = [
        message(msgid, roomid=room, text={"content": text}, msgtime=BASE_MS + i * 600_000, **{"from": sender})
        for i, (msgid, (room, sender, text)) in enumerate(TEXTS.items())
    ]
    write_jsonl(root / "in" / "day.jsonl", records)
    ingest(ws, [root / "in"])
    audit(ws, [DAY], workers=1)
    return ws


@pytest.fixture
def ws(tmp_path):
    return build(tmp_path)


def profanity(ws, msgid: str) -> str | None:
    found = [f for f in load_findings(ws).values() if f["msgid"] == msgid and f["category"] == "profanity"]
    return found[0]["finding_id"] if found else None


def run(runner, ws, *args):
    return runner.invoke(cli, ["-w", str(ws.root), *args])


def allowlist_lines(ws) -> list[str]:
    path = ws.dictionaries_dir / "allowlist.txt"
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]


@pytest.mark.parametrize(
    ("text", "start", "end", "phrase"),
    [
        ("tmd 又要通宵加班", 0, 3, "tmd 又要通宵加"),
        ("今天真是tmd累", 4, 7, "今天真是tmd累"),
        ("说了一百遍了你这个傻逼东西怎么还不懂", 9, 11, "百遍了你这个傻逼东西怎么还不"),
        ("第一行\n傻逼\n第三行", 4, 6, None),  # alone on its line: no context
        ("tmd", 0, 3, None),
        ("  tmd  ", 2, 5, None),
        ("注意 #tmd 又", 4, 7, "tmd 又"),  # never across a comment mark
    ],
)
def test_the_phrase_is_the_term_in_its_context(text, start, end, phrase):
    assert phrase_in_context(text, start, end) == phrase


@pytest.mark.parametrize(
    ("scope", "silenced", "kept"),
    [
        ([], {"own", "same-other-group"}, {"insult", "bare"}),
        (["--group"], {"own"}, {"same-other-group", "insult", "bare"}),
    ],
    ids=["every group", "one group"],
)
def test_a_dismissal_allowlists_the_phrase_not_the_term(runner, ws, scope, silenced, kept):
    own = profanity(ws, "own")
    result = run(
        runner, ws, "review", "dismiss", own, "--by", "lina", "--reason", "banter", "--allowlist", *scope
    )
    assert result.exit_code == 0, result.output
    assert (
        f"would silence {len(silenced)} past finding{'s' if len(silenced) > 1 else ''} "
        f"({len(silenced) - 1} besides the dismissed)" in result.output
    )
    line = "tmd 又要通宵加" + ("\tlow\troom:wrA" if scope else "")
    assert allowlist_lines(ws) == [line]
    assert run(runner, ws, "audit", "--date", DAY, "--workers", "1").exit_code == 0
    assert {m for m in TEXTS if m in silenced | kept and profanity(ws, m)} == kept
    listed = json.loads(run(runner, ws, "review", "list", "--status", "dismissed", "--json").output)
    assert [(r["finding_id"], r["gone"], r["excerpt"] != "") for r in listed] == [(own, True, True)]
    assert "no longer found" in run(runner, ws, "review", "list").output
    assert run(runner, ws, "report", "--date", DAY).exit_code == 0
    group_pages = "".join(
        p.read_text(encoding="utf-8") for p in (ws.reports_dir / DAY / "groups").glob("*.html")
    )
    assert group_pages.count("已驳回且检测不再命中") == 1  # the dismissed finding stays visible
    section = group_pages.split("已驳回且检测不再命中")[1]
    assert "tmd 又要通宵加班" in section and "banter" in section


def test_dry_run_previews_and_writes_nothing(runner, ws):
    own = profanity(ws, "own")
    result = run(
        runner, ws, "review", "dismiss", own, "--by", "lina", "--reason", "x", "--allowlist", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert (
        "would silence 2 past findings" in result.output and "dry run: nothing was recorded" in result.output
    )
    assert allowlist_lines(ws) == []
    assert not ws.ledger_path.exists() or Ledger(ws.ledger_path).events() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{bare}", "--allowlist"], "bare term 'tmd'"),
        (["{own}", "--group"], "use it with --allowlist"),
    ],
)
def test_refusals_write_nothing(runner, ws, args, message):
    ids = {"bare": profanity(ws, "bare"), "own": profanity(ws, "own")}
    result = run(
        runner, ws, "review", "dismiss", *[a.format(**ids) for a in args], "--by", "l", "--reason", "x"
    )
    assert result.exit_code == 2 and message in result.output
    assert allowlist_lines(ws) == []
    assert not ws.ledger_path.exists() or Ledger(ws.ledger_path).events() == []


def _dismiss(root: str, finding_id: str) -> None:
    """One reviewer process; the ledger and the allowlist are created by whichever comes first."""
    review(
        Workspace(Path(root)),
        [finding_id],
        "dismissed",
        by="lina",
        reason="parallel",
        on=dt.date(2026, 11, 16),
        allowlist_phrases=True,
        preview=False,
    )


def test_twenty_parallel_dismissals_keep_twenty_phrases(ws):
    ids = [profanity(ws, f"p{i:02d}") for i in range(20)]
    assert all(ids)
    with multiprocessing.get_context("fork").Pool(20) as pool:
        pool.starmap(_dismiss, [(str(ws.root), i) for i in ids])
    expected = sorted(phrase_in_context(f"tmd 第{i}次通宵", 0, 3) for i in range(20))
    assert len(set(expected)) == 20 and sorted(allowlist_lines(ws)) == expected
    with Ledger(ws.ledger_path) as ledger:
        assert len(ledger.reviews()) == 20
