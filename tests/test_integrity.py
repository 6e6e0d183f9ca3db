"""`auditor check`, the lake manifest and the backup gate: every fault is found and named by path."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import backup, integrity, lake, lake_manifest
from auditor.audit import audit
from auditor.cli import cli
from auditor.errors import AuditorError
from auditor.ingest import ingest
from auditor.ledger import Ledger
from auditor.workspace import Workspace
from tests import test_nightly
from tests.factories import BASE_MS, message, write_jsonl
from tests.test_nightly import fresh, run_cli, state

# The nightly tests' archive and uninterrupted baseline run, shared rather than rebuilt.
archive = test_nightly.archive
baseline = test_nightly.baseline

DAY1, DAY2 = "2026-11-16", "2026-11-17"


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    records = [
        message(f"m{i}", text={"content": "收到" if i % 2 else "傻逼"}, msgtime=BASE_MS + i * 86_400_000 // 3)
        for i in range(6)
    ]
    ingest(workspace, [write_jsonl(tmp_path / "in.jsonl", records)])
    audit(workspace, [DAY1, DAY2], workers=1)
    Ledger(workspace.ledger_path).close()
    return workspace


def part(ws: Workspace, date: str = DAY1) -> Path:
    return lake.partition_files(ws.messages_dir, date)[0]


def rel(ws: Workspace, path: Path) -> str:
    return str(path.relative_to(ws.root))


def truncate(ws: Workspace) -> str:
    path = part(ws)
    path.write_bytes(path.read_bytes()[:-100])
    return rel(ws, path)


def flip_byte(ws: Workspace) -> str:
    path = part(ws)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x40
    path.write_bytes(bytes(data))
    return rel(ws, path)


def delete_partition(ws: Workspace) -> str:
    path = part(ws, DAY2)
    shutil.rmtree(path.parent)
    return rel(ws, path)


def delete_manifest_entry(ws: Workspace) -> str:
    path = part(ws)
    lake_manifest.entry_path(ws.lake, path).unlink()
    return rel(ws, path)


def unrecorded_copy(ws: Workspace) -> str:
    copy = part(ws).with_name("part-smuggled.parquet")
    shutil.copyfile(part(ws), copy)
    return rel(ws, copy)


def corrupt_ledger(ws: Workspace) -> str:
    data = bytearray(ws.ledger_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    ws.ledger_path.write_bytes(bytes(data))
    return rel(ws, ws.ledger_path)


def drop_trigger(ws: Workspace) -> str:
    with sqlite3.connect(ws.ledger_path) as db:
        db.execute("DROP TRIGGER events_append_only_delete")
    return rel(ws, ws.ledger_path)


def empty_ledger(ws: Workspace) -> str:
    ws.ledger_path.write_bytes(b"")
    return rel(ws, ws.ledger_path)


def duplicate_msgid(ws: Workspace) -> str:
    """The same msgid written on another date through the lake writer: recorded, but not unique."""
    table = pq.read_table(part(ws)).slice(0, 1)
    lake.append_messages(ws.messages_dir, "2026-11-20", table)
    return rel(ws, part(ws))


def bad_reconciliation(ws: Workspace) -> str:
    path = next(ws.files_dir.glob("*.json"))
    entry = json.loads(path.read_text(encoding="utf-8"))
    entry["accepted"] -= 1
    path.write_text(json.dumps(entry), encoding="utf-8")
    return rel(ws, path)


def damaged_backup_object(ws: Workspace) -> str:
    manifest = backup.create(ws)
    store = backup.store_of(ws)
    name = next(r for r in manifest["files"] if r.endswith(".parquet"))
    path = store.object_path(manifest["files"][name]["sha256"])
    path.write_bytes(path.read_bytes()[:-1])
    return name


FAULTS: list[tuple[Callable[[Workspace], str], str, str, bool]] = [
    # (fault, area, words in the issue, found by --quick too)
    (truncate, "lake", "unreadable Parquet footer", True),
    (flip_byte, "lake", "does not match the manifest", False),
    (delete_partition, "lake", "missing", True),
    (delete_manifest_entry, "lake", "unrecorded", True),
    (unrecorded_copy, "lake", "unrecorded", True),
    (corrupt_ledger, "ledger", "malformed", True),
    (drop_trigger, "ledger", "events_append_only_delete is missing", True),
    (empty_ledger, "ledger", "events_append_only_update is missing", True),
    (duplicate_msgid, "messages", "stored 2 times", False),
    (bad_reconciliation, "ingest", "≠ 6 records read", True),
    (damaged_backup_object, "backup", "altered", False),
]


def test_a_clean_workspace_checks_ok(runner, ws):
    backup.create(ws)
    assert integrity.check(ws) == []
    result = runner.invoke(cli, ["-w", str(ws.root), "check"])
    assert result.exit_code == 0 and "ok" in result.output, result.output


@pytest.mark.parametrize(("fault", "area", "words", "quick"), FAULTS, ids=[f[0].__name__ for f in FAULTS])
def test_every_fault_is_named_with_its_path(runner, ws, fault, area, words, quick):
    path = fault(ws)
    result = runner.invoke(cli, ["-w", str(ws.root), "check", "--json"])
    assert result.exit_code == 65, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p["area"] == area and path in p["path"] and words in p["issue"] for p in problems), problems
    quick_problems = [p for p in integrity.check(ws, quick=True) if p.area == area and path in p.path]
    assert bool(quick_problems) == quick


def test_check_output_names_path_and_exit_65(runner, ws):
    path = truncate(ws)
    result = runner.invoke(cli, ["-w", str(ws.root), "check"])
    assert result.exit_code == 65
    assert f"lake: {path}: unreadable Parquet footer" in result.output


def test_backup_create_refuses_a_bit_flipped_lake_file(runner, ws):
    path = flip_byte(ws)
    result = runner.invoke(cli, ["-w", str(ws.root), "backup", "create"])
    assert result.exit_code == 65 and path in result.output and "nothing backed up" in result.output
    assert backup.store_of(ws).manifests() == []
    with pytest.raises(AuditorError, match="does not match"):
        backup.create(ws, DAY1)


def test_backup_verify_reports_a_snapshot_holding_a_damaged_lake_file(runner, ws):
    """A snapshot whose object is self-consistent but is not the file the lake writer recorded
    (how a bit-flipped file entered snapshots before the lake manifest) is reported."""
    manifest = backup.create(ws)
    store = backup.store_of(ws)
    name = rel(ws, part(ws))
    flipped = flip_byte(ws)
    assert flipped == name
    digest, size = store.put(ws.root / name)
    manifest["files"][name] = {"sha256": digest, "size": size}
    (store.snapshots / f"{manifest['id']}.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = runner.invoke(cli, ["-w", str(ws.root), "backup", "verify", "--all"])
    assert result.exit_code == 65
    assert f"{name}: does not match the lake manifest" in result.output


def test_backup_verify_reports_a_truncated_parquet_in_an_old_snapshot(ws):
    manifest = backup.create(ws)
    store = backup.store_of(ws)
    name = rel(ws, part(ws))
    entry_rel = rel(ws, lake_manifest.entry_path(ws.lake, part(ws)))
    truncate(ws)
    digest, size = store.put(ws.root / name)
    manifest["files"][name] = {"sha256": digest, "size": size}
    del manifest["files"][entry_rel]  # as snapshots made before the lake manifest
    (store.snapshots / f"{manifest['id']}.json").write_text(json.dumps(manifest), encoding="utf-8")
    [problem] = backup.verify(store, [manifest["id"]])
    assert problem.path == name and "not a readable Parquet file" in problem.issue


def test_restored_snapshot_is_a_checkable_workspace(ws, tmp_path):
    manifest = backup.create(ws)
    backup.restore(backup.store_of(ws), manifest["id"], tmp_path / "restored")
    restored = Workspace(tmp_path / "restored")
    assert integrity.check_lake(restored, quick=False) == []


@pytest.mark.parametrize("where", ["begin", "commit"])
def test_an_interrupted_write_is_accepted_and_settled(ws, monkeypatch, where):
    """Killed after the pending entry (file not yet renamed) or after the rename (entry not yet
    committed): check accepts both states, and settle leaves a plain committed entry."""
    path = lake.findings_path(ws.findings_dir, DAY1)
    table = pq.read_table(path).slice(0, 1)
    real = getattr(lake_manifest, where)

    def crash(*args):
        if where == "begin":
            real(*args)
        raise KeyboardInterrupt  # stands in for the kill: nothing after this point runs

    monkeypatch.setattr(lake_manifest, where, crash)
    with pytest.raises(KeyboardInterrupt):
        lake.write_table(path, table)
    monkeypatch.undo()
    entry = lake_manifest.read_entry(ws.lake, path)
    assert "pending" in entry and "committed" in entry
    assert integrity.check_lake(ws, quick=False) == []
    assert lake_manifest.settle(ws.lake) == [path]
    entry = lake_manifest.read_entry(ws.lake, path)
    assert "pending" not in entry
    assert (
        lake_manifest.match(
            entry, sha256=lake_manifest.FileRecord.of(path, 0).sha256, size=path.stat().st_size, rows=None
        )
        is None
    )


@pytest.mark.parametrize("point", ["lake-entry-pending", "lake-file-renamed"])
def test_nightly_killed_between_file_and_manifest_is_repaired_by_the_rerun(
    tmp_path, archive, baseline, point
):
    ws = fresh(tmp_path / "ws", archive)
    killed = run_cli(ws, "nightly", "--workers", "1", failpoint=point)
    assert killed.returncode == -9, killed.stderr
    again = run_cli(ws, "nightly", "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert state(ws) == state(baseline)  # the manifest entries included, byte for byte
    assert run_cli(ws, "check").returncode == 0


def test_nightly_refuses_to_back_up_over_a_damaged_lake(tmp_path, archive, baseline, runner):
    ws = Workspace(tmp_path / "copy")
    shutil.copytree(baseline.root, ws.root)
    snapshots_before = len(backup.store_of(ws).manifests())
    damaged = lake.partition_files(ws.messages_dir, DAY2)[0]  # a date tonight's input does not touch
    damaged.write_bytes(damaged.read_bytes()[:-50])
    extra = write_jsonl(ws.inbox_dir / "late.jsonl", [message("late-1", msgtime=BASE_MS + 3_600_000)])
    result = runner.invoke(cli, ["-w", str(ws.root), "nightly", "--workers", "1"])
    assert result.exit_code == 65
    assert rel(ws, damaged) in result.output and "nothing backed up" in result.output
    assert len(backup.store_of(ws).manifests()) == snapshots_before
    manifest = json.loads(max(ws.runs_dir.glob("nightly-*.json")).read_text(encoding="utf-8"))
    assert manifest["status"] == "damaged" and manifest["exit_code"] == 65
    assert any(rel(ws, damaged) in p for p in manifest["problems"])
    done = ws.state_dir / "done"
    assert not (done / lake_manifest.FileRecord.of(extra, 0).sha256).exists()  # redone after the repair
    prune = runner.invoke(
        cli, ["-w", str(ws.root), "backup", "prune", "--keep-daily", "1", "--keep-monthly", "1"]
    )
    assert prune.exit_code == 65 and "not pruning" in prune.output


def test_nightly_builds_nothing_on_a_damaged_partition_of_tonights_date(tmp_path, archive, baseline, runner):
    ws = Workspace(tmp_path / "copy")
    shutil.copytree(baseline.root, ws.root)
    damaged = lake.partition_files(ws.messages_dir, DAY1)[0]  # the date tonight's input lands in
    damaged.write_bytes(damaged.read_bytes()[:-50])
    before = damaged.read_bytes()
    extra = write_jsonl(ws.inbox_dir / "late.jsonl", [message("late-1", msgtime=BASE_MS + 3_600_000)])
    result = runner.invoke(cli, ["-w", str(ws.root), "nightly", "--workers", "1"])
    assert result.exit_code == 65, result.output
    assert rel(ws, damaged) in result.output and "nothing new" not in result.output
    manifest = json.loads(max(ws.runs_dir.glob("nightly-*.json")).read_text(encoding="utf-8"))
    assert manifest["status"] == "damaged" and "counts" not in manifest
    assert damaged.read_bytes() == before  # nothing written over it
    assert not (ws.state_dir / "done" / lake_manifest.FileRecord.of(extra, 0).sha256).exists()


def test_adopt_records_a_pre_manifest_workspace_but_not_a_damaged_file(runner, ws):
    shutil.rmtree(ws.lake / lake_manifest.MANIFEST_DIR)  # as written before the manifest existed
    damaged = truncate(ws)
    assert any("unrecorded" in p.issue for p in integrity.check(ws, quick=True))
    result = runner.invoke(cli, ["-w", str(ws.root), "check", "--adopt", "--json"])
    assert result.exit_code == 65, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["path"] for p in problems if p["area"] == "lake"] == [damaged], problems
    assert "not adopted" in result.stderr and "rows recorded" in result.stderr
    Path(ws.root / damaged).unlink()
    lake_manifest.entry_path(ws.lake, ws.root / damaged).unlink(missing_ok=True)
    assert runner.invoke(cli, ["-w", str(ws.root), "check", "--adopt"]).exit_code == 0
