"""Verified backup snapshots in a content-addressed store.

``objects/ab/abcdef…`` holds each distinct file once, named by its SHA-256, so an unchanged
partition costs nothing in the next snapshot. ``snapshots/<id>.json`` lists every file of a
snapshot with its hash and size and is written last: a snapshot interrupted half-way simply
does not exist, and its already-stored objects are reused by the next one. Verify re-hashes;
restore re-hashes what it wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import atomic, failpoints, lake
from auditor.atomic import file_sha256
from auditor.errors import EXIT_DATA, AuditorError
from auditor.ledger import Ledger
from auditor.workspace import Workspace

MANIFEST_VERSION = 1


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.snapshots = root / "snapshots"

    def object_path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest

    def put(self, source: Path) -> tuple[str, int]:
        """Store a file's bytes once; returns (sha256, size)."""
        digest = file_sha256(source)
        target = self.object_path(digest)
        if not target.exists():
            with atomic.atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
            if file_sha256(target) != digest:  # the file changed while we copied it
                target.unlink()
                raise AuditorError(f"{source} changed while it was backed up; run the backup again", 1)
        return digest, source.stat().st_size

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.snapshots.glob("*.json")):
            try:
                out.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError) as exc:
                raise AuditorError(f"snapshot manifest {path} is unreadable: {exc}", EXIT_DATA) from None
        return sorted(out, key=lambda m: m["created"])

    def manifest(self, snapshot_id: str) -> dict[str, Any]:
        if "/" in snapshot_id or snapshot_id.startswith("."):
            raise AuditorError(f"not a snapshot id: {snapshot_id!r}")
        path = self.snapshots / f"{snapshot_id}.json"
        if not path.exists():
            raise AuditorError(
                f"no snapshot {snapshot_id!r} in {self.root}; `auditor backup list` shows them"
            )
        return json.loads(path.read_text(encoding="utf-8"))


def store_of(ws: Workspace) -> Store:
    configured = ws.config["backup"]["dir"]
    root = Path(configured) if configured else ws.backups_dir
    return Store(root if root.is_absolute() else ws.root / root)


def _workspace_files(ws: Workspace, date: str | None) -> Iterator[Path]:
    """What a snapshot holds: lake partitions of the date (or all), small lake tables, reports, settings."""
    dates = [date] if date else lake.dates(ws.messages_dir)
    for d in dates:
        for base in (ws.messages_dir, ws.findings_dir):
            folder = lake.partition_dir(base, d)
            if folder.is_dir():
                yield from sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        report = ws.reports_dir / d
        if report.is_dir():
            yield from sorted(p for p in report.rglob("*") if p.is_file())
    for folder in (ws.groups_dir, ws.members_dir, ws.roster_dir, ws.files_dir, ws.dictionaries_dir):
        if folder.is_dir():
            yield from sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if ws.config_path.exists():
        yield ws.config_path


@dataclass
class Problem:
    snapshot: str
    path: str
    issue: str  # missing / altered

    def __str__(self) -> str:
        return f"{self.snapshot}: {self.path}: {self.issue}"


def create(ws: Workspace, date: str | None = None) -> dict[str, Any]:
    """Take a snapshot of ``date`` (or of everything); returns its manifest."""
    store = store_of(ws)
    files: dict[str, dict[str, Any]] = {}
    for path in _workspace_files(ws, date):
        digest, size = store.put(path)
        files[str(path.relative_to(ws.root))] = {"sha256": digest, "size": size}
        failpoints.reached("backup-object")
    if ws.ledger_path.exists():  # a consistent copy through SQLite's backup API, never a torn file
        Ledger(ws.ledger_path).close()  # a damaged ledger is refused (exit 65), never snapshotted
        with tempfile.TemporaryDirectory(dir=store.root if store.root.exists() else None) as tmp:
            copy = Path(tmp) / "ledger.sqlite"
            source = sqlite3.connect(ws.ledger_path)
            target = sqlite3.connect(copy)
            with target:
                source.backup(target)
            source.close()
            target.close()
            digest, size = store.put(copy)
            files["ledger.sqlite"] = {"sha256": digest, "size": size}
    created = dt.datetime.now(dt.UTC)
    snapshot_id = f"{created:%Y%m%dT%H%M%SZ}-{date or 'all'}-{secrets.token_hex(3)}"
    manifest = {
        "version": MANIFEST_VERSION,
        "id": snapshot_id,
        "created": created.isoformat(),
        "date": date,
        "workspace": str(ws.root.resolve()),
        "files": dict(sorted(files.items())),
        "bytes": sum(f["size"] for f in files.values()),
    }
    failpoints.reached("backup-manifest")
    atomic.write_text(store.snapshots / f"{snapshot_id}.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def verify(store: Store, snapshot_ids: list[str]) -> list[Problem]:
    """Re-hash every file of the snapshots; every missing or altered object is a problem."""
    problems = []
    hashed: dict[str, bool] = {}
    for snapshot_id in snapshot_ids:
        manifest = store.manifest(snapshot_id)
        for rel, info in manifest["files"].items():
            digest = info["sha256"]
            if digest not in hashed:
                path = store.object_path(digest)
                hashed[digest] = path.exists() and file_sha256(path) == digest
            if not hashed[digest]:
                issue = "altered" if store.object_path(digest).exists() else "missing"
                problems.append(Problem(snapshot_id, rel, issue))
    return problems


def restore(store: Store, snapshot_id: str, target: Path) -> int:
    """Write a snapshot's files under ``target`` (new or empty), each re-hashed; returns the count."""
    manifest = store.manifest(snapshot_id)
    if target.exists() and any(target.iterdir()):
        raise AuditorError(f"{target} is not empty: restore into a new or empty folder")
    problems = verify(store, [snapshot_id])
    if problems:
        raise AuditorError("snapshot damaged, nothing restored:\n" + "\n".join(map(str, problems)), EXIT_DATA)
    for rel, info in manifest["files"].items():
        destination = (target / rel).resolve()
        if not destination.is_relative_to(target.resolve()):
            raise AuditorError(f"snapshot {snapshot_id} names a path outside the target: {rel!r}", EXIT_DATA)
        with atomic.atomic_path(destination) as tmp:
            shutil.copyfile(store.object_path(info["sha256"]), tmp)
        if file_sha256(destination) != info["sha256"]:
            raise AuditorError(f"restored {rel} does not match its hash", EXIT_DATA)
    return len(manifest["files"])


def prune(store: Store, keep_daily: int, keep_monthly: int) -> tuple[list[str], int]:
    """Keep the newest snapshot of each of the last ``keep_daily`` days and ``keep_monthly`` months;
    delete the other manifests, then the objects no remaining manifest references."""
    manifests = store.manifests()
    keep: set[str] = set()
    for width, count in ((10, keep_daily), (7, keep_monthly)):  # "YYYY-MM-DD" / "YYYY-MM" of created
        newest: dict[str, str] = {}
        for m in manifests:
            newest[m["created"][:width]] = m["id"]  # ascending order: the last one wins
        keep |= {newest[k] for k in sorted(newest, reverse=True)[:count]}
    removed = [m["id"] for m in manifests if m["id"] not in keep]
    for snapshot_id in removed:
        (store.snapshots / f"{snapshot_id}.json").unlink()
    referenced = {f["sha256"] for m in manifests if m["id"] in keep for f in m["files"].values()}
    freed = 0
    for path in sorted(store.objects.glob("*/*")) if store.objects.is_dir() else []:
        if path.name not in referenced and not path.name.startswith("."):
            freed += path.stat().st_size
            path.unlink()
    return removed, freed
