"""Backups: content-addressed, verified, restorable byte for byte, pruned safely."""

from __future__ import annotations

import json
import sqlite3

import pytest

from auditor import backup
from auditor.audit import audit
from auditor.cli import cli
from auditor.ingest import ingest
from auditor.ledger import Ledger
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    records = [
        message(f"m{i}", text={"content": "收到" if i % 2 else "傻逼"}, msgtime=BASE_MS + i * 86_400_000 // 3)
        for i in range(6)
    ]
    ingest(workspace, [write_jsonl(tmp_path / "in.jsonl", records)])
    audit(workspace, ["2026-11-16", "2026-11-17"], workers=1)
    with Ledger(workspace.ledger_path) as ledger:
        ledger.append(
            [
                {
                    "kind": "review",
                    "effective": "2026-11-16",
                    "actor": "lina",
                    "finding_id": "f1",
                    "decision": "confirmed",
                }
            ]
        )
    return workspace


def invoke(runner, ws, *args):
    return runner.invoke(cli, ["-w", str(ws.root), "backup", *args])


def test_create_list_verify(runner, ws):
    created = invoke(runner, ws, "create")
    assert created.exit_code == 0, created.output
    [manifest] = backup.store_of(ws).manifests()
    assert "ledger.sqlite" in manifest["files"]
    assert any(k.startswith("lake/messages/date=2026-11-16/") for k in manifest["files"])
    assert any(k.startswith("lake/findings/date=2026-11-17/") for k in manifest["files"])
    assert manifest["id"] in invoke(runner, ws, "list").output
    verified = invoke(runner, ws, "verify", manifest["id"])
    assert verified.exit_code == 0 and "ok" in verified.output


def test_unchanged_files_are_stored_once(ws):
    first = backup.create(ws)
    second = backup.create(ws, "2026-11-16")
    objects = list(backup.store_of(ws).objects.rglob("*"))
    shared = {f["sha256"] for f in first["files"].values()} & {f["sha256"] for f in second["files"].values()}
    assert shared
    assert len([p for p in objects if p.is_file()]) == len({f["sha256"] for f in first["files"].values()})


def test_a_flipped_byte_and_a_deleted_file_are_both_named(runner, ws):
    manifest = backup.create(ws)
    store = backup.store_of(ws)
    files = sorted(manifest["files"].items())
    flipped_rel, flipped = files[0]
    deleted_rel, deleted = next((rel, f) for rel, f in files if f["sha256"] != flipped["sha256"])
    path = store.object_path(flipped["sha256"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    store.object_path(deleted["sha256"]).unlink()
    result = invoke(runner, ws, "verify", "--all")
    assert result.exit_code == 65
    assert f"{flipped_rel}: altered" in result.output
    assert f"{deleted_rel}: missing" in result.output


def test_restore_is_byte_identical_and_verified(runner, ws, tmp_path):
    manifest = backup.create(ws)
    target = tmp_path / "restored"
    result = invoke(runner, ws, "restore", manifest["id"], "--to", str(target))
    assert result.exit_code == 0, result.output
    for rel in manifest["files"]:
        if rel != "ledger.sqlite":
            assert (target / rel).read_bytes() == (ws.root / rel).read_bytes(), rel
    with sqlite3.connect(target / "ledger.sqlite") as db:
        assert db.execute("select actor, finding_id from events").fetchall() == [("lina", "f1")]
    again = invoke(runner, ws, "restore", manifest["id"], "--to", str(target))
    assert again.exit_code == 2 and "not empty" in again.output


def test_restore_refuses_a_damaged_snapshot(ws, tmp_path):
    manifest = backup.create(ws)
    store = backup.store_of(ws)
    store.object_path(next(iter(manifest["files"].values()))["sha256"]).unlink()
    with pytest.raises(Exception, match="damaged"):
        backup.restore(store, manifest["id"], tmp_path / "r")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_prune_keeps_newest_per_day_and_month_and_only_unreferenced_objects(ws):
    store = backup.store_of(ws)
    ids = []
    for created in (
        "2026-09-10T01:00:00+00:00",
        "2026-10-20T01:00:00+00:00",
        "2026-11-20T01:00:00+00:00",
        "2026-11-21T01:00:00+00:00",
        "2026-11-21T02:00:00+00:00",
    ):
        manifest = backup.create(ws)
        manifest["created"] = created
        (store.snapshots / f"{manifest['id']}.json").write_text(json.dumps(manifest), encoding="utf-8")
        ids.append(manifest["id"])
    orphan = store.object_path("0" * 64)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"unreferenced")
    removed, freed = backup.prune(store, keep_daily=2, keep_monthly=2)
    kept = {m["id"] for m in store.manifests()}
    assert kept == {ids[4], ids[2], ids[1]}  # newest of 11-21 and 11-20; newest of 2026-11 and 2026-10
    assert set(removed) == {ids[0], ids[3]}
    assert not orphan.exists() and freed >= len(b"unreferenced")
    assert backup.verify(store, sorted(kept)) == []


def test_backup_location_from_config(tmp_path, ws):
    other = tmp_path / "mounted-disk"
    ws.config_path.write_text(f'[backup]\ndir = "{other}"\n', encoding="utf-8")
    configured = Workspace(ws.root)
    manifest = backup.create(configured)
    assert (other / "snapshots" / f"{manifest['id']}.json").exists()


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["verify"], 2, "give a SNAPSHOT id or --all"),
        (["verify", "nope"], 2, "no snapshot 'nope'"),
        (["verify", "../../etc/passwd"], 2, "not a snapshot id"),
        (["create", "--date", "2030-01-01"], 2, "no messages in the lake"),
    ],
)
def test_backup_errors(runner, ws, args, code, text):
    result = invoke(runner, ws, *args)
    assert result.exit_code == code and text in result.output
