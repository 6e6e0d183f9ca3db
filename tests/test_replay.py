"""Replay: other rules over past days, into another folder, with an exact diff."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor import backup
from auditor.audit import audit
from auditor.cli import cli
from auditor.ingest import ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

TEXTS = ["北极星计划下周评审", "收到", "北极星计划的排期发一下", "傻逼", "好的"]


def replay(runner, ws: Workspace, *args: str):
    """``auditor replay`` of 2026-11-16 with extra arguments."""
    return runner.invoke(
        cli, ["-w", str(ws.root), "replay", "--since", "2026-11-16", "--until", "2026-11-16", *args]
    )


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    records = [
        message(f"m{i}", text={"content": t}, msgtime=BASE_MS + i * 60_000) for i, t in enumerate(TEXTS)
    ]
    ingest(workspace, [write_jsonl(tmp_path / "in.jsonl", records)])
    audit(workspace, ["2026-11-16"], workers=1)
    return workspace


@pytest.fixture
def rules(tmp_path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "confidential.txt").write_text("北极星计划\thigh\n", encoding="utf-8")
    return folder


def test_replay_with_an_extra_term_reports_exactly_the_new_findings(runner, ws, rules, tmp_path):
    before = tree(ws.root)
    out = tmp_path / "replay"
    result = replay(runner, ws, "--out", str(out), "--dictionaries", str(rules), "--workers", "1")
    assert result.exit_code == 0, result.output
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert sorted(f["msgid"] for f in diff["new"]) == ["m0", "m2"]
    assert {f["rule"] for f in diff["new"]} == {"confidential.company"}
    assert diff["gone"] == [] and diff["changed"] == []
    assert diff["per_group"] == {"wr001": {"confidential": {"new": 2, "gone": 0}}}
    assert (out / "reports" / "2026-11-16" / "index.html").exists()
    assert "北极星计划" in (out / "diff.html").read_text(encoding="utf-8")
    assert tree(ws.root) == before  # the workspace is only read


def test_replay_with_a_config_that_disables_a_detector(ws, tmp_path, runner):
    config = tmp_path / "other.toml"
    config.write_text('[detectors]\ndisabled = ["profanity"]\n', encoding="utf-8")
    out = tmp_path / "replay"
    result = replay(runner, ws, "--out", str(out), "--config", str(config), "--workers", "1")
    assert result.exit_code == 0, result.output
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert [f["msgid"] for f in diff["gone"]] == ["m3"] and diff["new"] == []


def test_replay_from_a_backup_snapshot(ws, rules, tmp_path, runner):
    snapshot = backup.create(ws, "2026-11-16")["id"]
    out = tmp_path / "replay"
    result = replay(
        runner,
        ws,
        "--out",
        str(out),
        "--dictionaries",
        str(rules),
        "--from-backup",
        snapshot,
        "--workers",
        "1",
    )
    assert result.exit_code == 0, result.output
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["source"] == f"backup {snapshot}" and len(diff["new"]) == 2


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--out", "{ws}/inside"], "outside the workspace"),
        (["--dictionaries", "{tmp}/missing"], "no such dictionaries folder"),
        (["--config", "{tmp}/missing.toml"], "no such config file"),
        (["--from-backup", "nope"], "no snapshot 'nope'"),
    ],
)
def test_replay_errors(ws, tmp_path, runner, extra, text):
    args = [a.format(ws=ws.root, tmp=tmp_path) for a in extra]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "replay")]
    result = replay(runner, ws, *args)
    assert result.exit_code == 2 and text in result.output, result.output
