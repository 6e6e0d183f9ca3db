"""Backups: content-addressed, verified, restorable byte for byte, pruned safely."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from auditor import backup
from auditor.audit import audit
from auditor.cli import cli
from auditor.errors import AuditorError
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


def test_console_accounts_and_pulled_media_are_backed_up_and_restored(ws, tmp_path):
    from auditor.console.users import UserStore
    from auditor.wecom.pull import store_media

    with UserStore(ws.root) as users:
        users.add("lina", "officer", "correct horse battery")
    media = store_media(ws, b"\x89PNG a pulled image")
    manifest = backup.create(ws)
    assert {"users.sqlite", str(media.relative_to(ws.root))} <= set(manifest["files"])
    target = tmp_path / "restored"
    backup.restore(backup.store_of(ws), manifest["id"], target)
    assert (target / media.relative_to(ws.root)).read_bytes() == media.read_bytes()
    with sqlite3.connect(target / "users.sqlite") as db:
        assert db.execute("select name, role from users").fetchall() == [("lina", "officer")]


def test_a_media_file_whose_bytes_no_longer_match_its_name_is_refused(ws):
    from auditor.wecom.pull import store_media

    media = store_media(ws, b"a pulled file")
    media.write_bytes(b"rotted")
    with pytest.raises(Exception, match="media files do not match") as refused:
        backup.create(ws)
    assert refused.value.exit_code == 65
    assert not list(backup.store_of(ws).snapshots.glob("*.json"))


def fake_snapshots(store: backup.Store, specs: list[tuple[str, list[str]]]) -> list[str]:
    """Snapshot manifests with given creation times and data dates (no objects needed to plan)."""
    store.snapshots.mkdir(parents=True, exist_ok=True)
    ids = []
    for n, (created, dates) in enumerate(specs):
        snapshot_id = f"s{n}-{'+'.join(dates)}"
        manifest = {
            "id": snapshot_id,
            "created": created,
            "date": None,
            "dates": dates,
            "files": {},
            "bytes": 0,
        }
        (store.snapshots / f"{snapshot_id}.json").write_text(json.dumps(manifest), encoding="utf-8")
        ids.append(snapshot_id)
    return ids


# One nightly over three dates writes three snapshots in the same second; a re-run adds newer ones.
NIGHTLY_THREE_DATES = [
    ("2026-11-21T02:30:00+00:00", ["2026-11-16"]),
    ("2026-11-21T02:30:00+00:01", ["2026-11-17"]),
    ("2026-11-21T02:30:00+00:02", ["2026-11-18"]),
    ("2026-11-22T02:30:00+00:00", ["2026-11-18"]),  # 11-18 again the next night (late messages)
]
ACROSS_MONTHS = [
    ("2026-09-02T02:30:00+00:00", ["2026-09-01"]),
    ("2026-09-03T02:30:00+00:00", ["2026-09-02"]),
    ("2026-10-06T02:30:00+00:00", ["2026-10-05"]),
    ("2026-11-11T02:30:00+00:00", ["2026-11-10"]),
    ("2026-11-12T02:30:00+00:00", ["2026-11-11"]),
]


@pytest.mark.parametrize(
    ("specs", "daily", "monthly", "allow_drop", "kept", "dropped"),
    [
        # the README's example after one nightly: every date keeps its newest snapshot
        (NIGHTLY_THREE_DATES, 14, 12, False, [0, 1, 3], []),
        # a tight policy still keeps every date unless told otherwise
        (NIGHTLY_THREE_DATES, 1, 0, False, [0, 1, 3], []),
        # told: only the newest data date stays (and it is the newest snapshot)
        (NIGHTLY_THREE_DATES, 1, 0, True, [3], ["2026-11-16", "2026-11-17"]),
        # two newest dates, plus the month-end of the two newest months
        (ACROSS_MONTHS, 2, 2, True, [2, 3, 4], ["2026-09-01", "2026-09-02"]),
        (ACROSS_MONTHS, 1, 3, True, [1, 2, 4], ["2026-09-01", "2026-11-10"]),
        (ACROSS_MONTHS, 1, 3, False, [0, 1, 2, 3, 4], []),
    ],
)
def test_prune_keeps_by_data_date(ws, specs, daily, monthly, allow_drop, kept, dropped):
    store = backup.Store(ws.root / "fake-store")
    ids = fake_snapshots(store, specs)
    plan = backup.plan_prune(store, daily, monthly, allow_dropping_dates=allow_drop)
    assert plan.keep == [ids[i] for i in kept]
    assert plan.remove == [i for i in ids if i not in plan.keep]
    assert plan.dropped_dates == dropped


def test_an_all_snapshot_holds_every_date_and_old_manifests_are_read_from_their_paths(ws):
    manifest = backup.create(ws)
    assert manifest["dates"] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    del manifest["dates"]  # a manifest from before "dates" was recorded
    assert backup.snapshot_dates(manifest) == ["2026-11-16", "2026-11-17", "2026-11-18"]


def test_prune_removes_only_unreferenced_objects_and_kept_snapshots_verify(ws):
    store = backup.store_of(ws)
    first = backup.create(ws, "2026-11-16")
    second = backup.create(ws, "2026-11-16")  # same date again: the older one may go
    third = backup.create(ws, "2026-11-17")
    orphan = store.object_path("0" * 64)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"unreferenced")
    plan = backup.prune(store, keep_daily=1, keep_monthly=1)
    assert plan.remove == [first["id"]] and plan.keep == [second["id"], third["id"]]
    assert not orphan.exists() and plan.freed >= len(b"unreferenced")
    assert backup.verify(store, plan.keep) == []


def test_prune_cli_dry_run_refusal_and_explicit_dropping(runner, ws):
    for date in ("2026-11-16", "2026-11-17"):
        assert invoke(runner, ws, "create", "--date", date).exit_code == 0
    store = backup.store_of(ws)
    before = [m["id"] for m in store.manifests()]
    nothing = invoke(runner, ws, "prune", "--keep-daily", "0", "--keep-monthly", "0")
    assert nothing.exit_code == 2 and "keep nothing" in nothing.output
    kept_all = invoke(runner, ws, "prune", "--keep-daily", "1", "--keep-monthly", "0")
    assert kept_all.exit_code == 0 and "removed 0 snapshots" in kept_all.output
    dry = invoke(
        runner, ws, "prune", "--keep-daily", "1", "--keep-monthly", "0", "--allow-dropping-dates", "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    assert f"would remove {before[0]}" in dry.output and "without any snapshot: 2026-11-16" in dry.output
    assert [m["id"] for m in store.manifests()] == before
    real = invoke(runner, ws, "prune", "--keep-daily", "1", "--keep-monthly", "0", "--allow-dropping-dates")
    assert real.exit_code == 0 and f"removed {before[0]}" in real.output
    assert [m["id"] for m in store.manifests()] == before[1:]


def test_relative_workspace_from_another_cwd_keeps_one_backup_folder(runner, ws, tmp_path, monkeypatch):
    """`make demo` runs `auditor -w demo-workspace`: snapshots must land in W/backups, not W/W/backups,
    where `backup list` with the absolute path and `replay --from-backup` find them."""
    monkeypatch.chdir(ws.root.parent)
    created = runner.invoke(cli, ["-w", ws.root.name, "backup", "create"])
    assert created.exit_code == 0, created.output
    assert list((ws.root / "backups" / "snapshots").glob("*.json"))
    assert not (ws.root / ws.root.name).exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    listed = runner.invoke(cli, ["-w", str(ws.root), "backup", "list", "--json"])
    [row] = json.loads(listed.output)
    replayed = runner.invoke(
        cli,
        [
            *("-w", str(ws.root), "replay", "--since", "2026-11-16", "--until", "2026-11-17"),
            *("--out", str(tmp_path / "replay"), "--from-backup", row["id"], "--workers", "1"),
        ],
    )
    assert replayed.exit_code == 0, replayed.output
    assert (tmp_path / "replay" / "diff.html").exists()


def test_relative_backup_dir_is_taken_from_the_workspace(ws, tmp_path, monkeypatch):
    ws.config_path.write_text('[backup]\ndir = "store"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    store = backup.store_of(Workspace(Path(ws.root.name).parent / ws.root.relative_to(tmp_path)))
    assert store.root == ws.root / "store"


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


def test_one_snapshot_per_date_shares_the_run_copies(ws, monkeypatch):
    """The nightly job's snapshots: one per date, each complete and verified, while the ledger's
    consistent copy and the small shared files are taken once for the run."""
    copies = []
    put_sqlite = backup._put_sqlite
    monkeypatch.setattr(backup, "_put_sqlite", lambda store, db: copies.append(db) or put_sqlite(store, db))
    steps = []
    taken = backup.create_each(ws, ["2026-11-16", "2026-11-17"], on_date=lambda: steps.append(1))
    assert [m["dates"] for m in taken] == [["2026-11-16"], ["2026-11-17"]] and len(steps) == 2
    assert copies == [ws.ledger_path]
    for manifest in taken:
        assert "ledger.sqlite" in manifest["files"] and "auditor.toml" in manifest["files"]
        own = [k for k in manifest["files"] if k.startswith("lake/messages/")]
        assert own and all(manifest["dates"][0] in k for k in own)
    assert backup.verify(backup.store_of(ws), [m["id"] for m in taken]) == []


def test_a_snapshot_failing_half_way_publishes_no_object(ws, monkeypatch):
    """Objects are published together at the end of a snapshot: an error half-way leaves the
    store as it was (no object under its final name, no temporary), and the next backup works."""
    store = backup.store_of(ws)
    calls = []

    def fail_on_third(name):
        calls.append(name)
        if name == "backup-object" and len(calls) == 3:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup.failpoints, "reached", fail_on_third)
    with pytest.raises(OSError):
        backup.create(ws, "2026-11-16")
    assert not [p for p in store.root.rglob("*") if p.is_file()]
    monkeypatch.undo()
    manifest = backup.create(ws, "2026-11-16")
    assert backup.verify(store, [manifest["id"]]) == []


def test_a_file_changing_while_it_is_stored_is_refused(ws, monkeypatch):
    store = backup.store_of(ws)
    source = ws.config_path
    real = backup.file_sha256

    def changing(path, copy_to=None):
        if copy_to is not None:  # the copy sees other bytes than the first read hashed
            source.write_text(source.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
        return real(path, copy_to=copy_to)

    monkeypatch.setattr(backup, "file_sha256", changing)
    with pytest.raises(AuditorError, match="changed while it was backed up"):
        store.put(source)
    assert not [p for p in store.root.rglob("*") if p.is_file()]


def test_a_new_lake_file_is_read_once_and_a_stored_one_is_only_hashed(ws, monkeypatch):
    """A lake file is recorded under its hash: one the store lacks is copied as it is hashed (one
    read, not a hash and then a copy); one it holds is hashed (checked) and not copied again."""
    reads: list[tuple[str, bool]] = []
    real = backup.file_sha256

    def counting(path, copy_to=None):
        if Path(path).suffix == ".parquet":
            reads.append((Path(path).name, copy_to is not None))
        return real(path, copy_to=copy_to)

    monkeypatch.setattr(backup, "file_sha256", counting)
    backup.create(ws, "2026-11-16")
    lake_files = sorted(p.name for p in (ws.lake / "messages" / "date=2026-11-16").glob("*.parquet"))
    assert lake_files
    assert sorted(name for name, copied in reads if name in lake_files) == lake_files
    assert all(copied for name, copied in reads if name in lake_files)
    reads.clear()
    backup.create(ws, "2026-11-16")
    assert sorted(name for name, copied in reads if name in lake_files) == lake_files
    assert not any(copied for _, copied in reads)


def test_a_killed_batch_is_cleared_and_a_live_one_kept(ws):
    """Staged objects of a killed backup (its batch lock released by the kernel) are removed by
    the next one; a batch still running (another workspace sharing the store) is left alone."""
    store = backup.store_of(ws)
    with store.batch() as live:
        live.put(ws.config_path)
        killed = store.root / backup.STAGING / "killed"
        killed.mkdir()
        (killed / "lock").touch()
        (killed / ("0" * 64)).write_bytes(b"half an object")
        with store.batch() as other:
            other.put(ws.config_path)
        assert not killed.exists()
        assert live.folder.exists() and [p.name for p in live.folder.iterdir()] != ["lock"]
    assert not list((store.root / backup.STAGING).iterdir())
    assert store.object_path(backup.file_sha256(ws.config_path)).exists()
