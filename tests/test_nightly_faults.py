"""One bad input file never stops the night: the rest is ingested, audited, reported, backed up
and marked done; the run exits 65 naming the file, and keeps doing so until it is acknowledged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli import cli
from auditor.pipeline import nightly
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl
from tests.test_ingest_faults import CAPS, gz_bomb, unreadable


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    workspace.config_path.write_text(CAPS.replace("max_reject_ratio = 1.0", "max_reject_ratio = 0.01"))
    write_jsonl(workspace.inbox_dir / "good.jsonl", [message("g1"), message("g2", msgtime=BASE_MS + 60_000)])
    return workspace


def done(ws: Workspace) -> int:
    return len(list((ws.state_dir / "done").iterdir()))


def cli_nightly(runner, ws: Workspace):
    result = runner.invoke(cli, ["-w", str(ws.root), "nightly", "--workers", "1", "--json"])
    return result, json.loads(result.stdout)


def test_a_gzip_bomb_is_quarantined_and_stays_visible_until_acknowledged(ws, runner):
    gz_bomb(ws.inbox_dir / "bomb.jsonl.gz", b"A", 3 << 20)
    result, manifest = cli_nightly(runner, ws)
    assert result.exit_code == 65, result.output
    [problem] = manifest["attention"]
    assert (problem["path"], problem["status"]) == ("inbox/bomb.jsonl.gz", "quarantined")
    assert "ingest.max_decompressed_bytes" in result.stderr and "inbox ack" in result.stderr
    # the good file went all the way: audited, reported, backed up, marked done (and the bomb too)
    assert manifest["dates"] == ["2026-11-16"] and manifest["outputs"]["snapshots"]
    assert (ws.reports_dir / "2026-11-16" / "index.html").exists()
    assert done(ws) == 2
    again, manifest = cli_nightly(runner, ws)  # nothing new, but not forgotten
    assert again.exit_code == 65 and manifest["status"] == "needs-attention"
    assert [p["path"] for p in manifest["attention"]] == ["inbox/bomb.jsonl.gz"]
    listed = runner.invoke(cli, ["-w", str(ws.root), "inbox", "list"])
    assert "inbox/bomb.jsonl.gz" in listed.output and "quarantined" in listed.output
    ack = runner.invoke(cli, ["-w", str(ws.root), "inbox", "ack", "bomb.jsonl.gz", "--by", "ops"])
    assert ack.exit_code == 0 and "acknowledged inbox/bomb.jsonl.gz" in ack.output
    acked = json.loads(next((ws.attention_dir / "acknowledged").glob("*.json")).read_text())
    assert acked["acknowledged_by"] == "ops"
    third, manifest = cli_nightly(runner, ws)
    assert third.exit_code == 0 and manifest["attention"] == []


def test_rejects_above_threshold_stay_visible_the_next_night(ws, runner):
    (ws.inbox_dir / "broken.jsonl").write_text("{not json\n" * 20, encoding="utf-8")
    first, _ = cli_nightly(runner, ws)
    second, manifest = cli_nightly(runner, ws)
    assert (first.exit_code, second.exit_code) == (65, 65)
    assert manifest["attention"][0]["reason"] == "20 of 20 records rejected"
    assert runner.invoke(cli, ["-w", str(ws.root), "inbox", "ack", "--all"]).exit_code == 0
    assert cli_nightly(runner, ws)[0].exit_code == 0


def test_an_unreadable_inbox_file_is_skipped_and_retried(ws, monkeypatch):
    locked = unreadable(write_jsonl(ws.inbox_dir / "locked.jsonl", [message("l1")]), monkeypatch)
    result = nightly(ws, workers=1, interactive=False)
    assert result.exit_code == 65
    assert [s["path"] for s in result.manifest["skipped"]] == ["inbox/locked.jsonl"]
    assert "Permission denied" in result.manifest["skipped"][0]["reason"]
    assert result.manifest["counts"]["accepted"] == 2 and done(ws) == 1  # the rest is done
    monkeypatch.undo()
    locked.chmod(0o644)
    retried = nightly(ws, workers=1, interactive=False)
    assert retried.exit_code == 0 and retried.manifest["counts"]["accepted"] == 1 and done(ws) == 2


def test_a_symlink_out_of_the_inbox_is_not_followed(ws, tmp_path):
    secret = write_jsonl(tmp_path / "etc" / "shadow.jsonl", [message("root-secret")])
    (ws.inbox_dir / "shadow.jsonl").symlink_to(secret)
    result = nightly(ws, workers=1, interactive=False)
    assert result.exit_code == 65
    [skipped] = result.manifest["skipped"]
    assert skipped["path"] == "inbox/shadow.jsonl" and "outside" in skipped["reason"]
    assert not list(ws.rejects_dir.glob("*"))  # nothing of it was read
    assert result.manifest["counts"]["accepted"] == 2


def test_ack_of_an_unknown_file_is_a_usage_error(ws, runner):
    result = runner.invoke(cli, ["-w", str(ws.root), "inbox", "ack", "nope.jsonl"])
    assert result.exit_code == 2 and "nothing to acknowledge named 'nope.jsonl'" in result.output
    both = runner.invoke(cli, ["-w", str(ws.root), "inbox", "ack", "x", "--all"])
    assert both.exit_code == 2


def test_ingest_command_exits_65_naming_a_quarantined_file(ws, runner, tmp_path):
    bomb = gz_bomb(tmp_path / "bomb.jsonl.gz", b"\n", 3 << 20)
    result = runner.invoke(cli, ["-w", str(ws.root), "ingest", str(ws.inbox_dir / "good.jsonl"), str(bomb)])
    assert result.exit_code == 65
    assert f"{bomb}: decompresses to more than" in result.stderr
    assert Path(ws.quarantine_dir).is_dir()
