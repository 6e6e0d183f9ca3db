"""Verified backup snapshots in a content-addressed store.

``objects/ab/abcdef…`` holds each distinct file once, named by its SHA-256, so an unchanged
partition costs nothing in the next snapshot. ``snapshots/<id>.json`` lists every file of a
snapshot with its hash and size and is written last: a snapshot interrupted half-way simply
does not exist, and its already-stored objects are reused by the next one. Verify re-hashes;
restore re-hashes what it wrote.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import atomic, failpoints, lake, lake_manifest
from auditor.atomic import file_sha256
from auditor.errors import EXIT_DATA, AuditorError
from auditor.ledger import Ledger
from auditor.workspace import Workspace

MANIFEST_VERSION = 2  # 2: "dates" (the data dates a snapshot holds) and the lake manifest entries


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.snapshots = root / "snapshots"

    def object_path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest

    def put(self, source: Path) -> tuple[str, int]:
        """Store a file's bytes once; returns (sha256, size)."""
        with self.batch() as objects:
            return objects.put(source)

    @contextlib.contextmanager
    def batch(self) -> Iterator[Batch]:
        """Objects stored together: published (fsynced, renamed into place, their folders fsynced)
        when the block ends without an error, dropped when it raises."""
        objects = Batch(self)
        try:
            yield objects
            objects.publish()
        finally:
            objects.discard()

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


STAGING = ".staging"  # store.root/.staging/<batch>/: objects of snapshots being taken
ABANDONED_NEW_SECONDS = 3600  # a batch folder never locked (killed at birth) is removed after this


class Batch:
    """New objects of one snapshot, staged in the batch's own folder and published together.

    An object is only ever visible under its final name once its bytes are on disk, as with
    ``atomic.atomic_path``; doing that for the whole snapshot at once turns two fsyncs per file
    (hundreds of report pages and lake manifest entries a night) into one concurrent wave of file
    fsyncs and one fsync per object folder.

    The batch folder holds a lock for the batch's life (the kernel drops it when the process dies,
    SIGKILL included), so the next batch removes the folders of killed ones and never a live one,
    even when several workspaces share one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.staged: dict[str, Path] = {}  # digest → its staged copy
        root = store.root / STAGING
        root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(root)
        born = Path(tempfile.mkdtemp(prefix="new-", dir=root))  # skipped by _remove_abandoned while new
        self._lock = os.open(born / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.folder = root / born.name.removeprefix("new-")
        born.rename(self.folder)

    def has(self, digest: str) -> bool:
        return digest in self.staged or self.store.object_path(digest).exists()

    def put(self, source: Path, expected: str | None = None) -> tuple[str, int]:
        """Store a file's bytes once; returns (sha256, size).

        ``expected``: the hash the file is recorded under (a lake file's manifest entry, a media
        file's name). When the store lacks that object the file is copied as it is hashed, read
        once instead of hashed first and read again (a night's lake files are new, and large);
        the caller compares the hash returned with the one it expected."""
        if expected is not None and not self.has(expected):
            return self._copy(source)
        digest = file_sha256(source)
        if not self.has(digest):
            copied, _ = self._copy(source)
            if copied != digest:  # the file changed while it was read
                raise AuditorError(f"{source} changed while it was backed up; run the backup again", 1)
        return digest, source.stat().st_size

    def _copy(self, source: Path) -> tuple[str, int]:
        """Stage a copy of ``source`` under the hash of the bytes copied; (that hash, their size)."""
        fd, name = tempfile.mkstemp(prefix=".copy-", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as out:
                digest = file_sha256(source, copy_to=out)
                size = out.tell()
            if self.has(digest):  # bytes other than expected, that the store holds already
                os.unlink(name)
            else:
                self.staged[digest] = self.folder / digest
                os.replace(name, self.staged[digest])
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return digest, size

    def publish(self) -> None:
        atomic.sync_staged(self.staged.values(), [])
        folders = set()
        for digest, staged in self.staged.items():
            target = self.store.object_path(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged, atomic.FILE_MODE)
            os.replace(staged, target)
            folders.add(target.parent)
        if folders:  # the renames, and any new objects/ab/ folder
            atomic.sync_staged([], [*sorted(folders), self.store.objects])
        self.staged.clear()

    def discard(self) -> None:
        """Remove what was not published and the batch folder; drops the lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        os.close(self._lock)
        self.staged.clear()


def _remove_abandoned(root: Path) -> None:
    """Remove the batch folders of killed batches: those whose lock nobody holds."""
    for folder in root.iterdir():
        if folder.name.startswith("new-"):
            if time.time() - folder.stat().st_mtime > ABANDONED_NEW_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            fd = os.open(folder / "lock", os.O_RDWR)
        except FileNotFoundError:  # a batch folder is renamed into place only once locked
            shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live batch
        finally:
            os.close(fd)  # closing drops the lock we may have taken
        shutil.rmtree(folder, ignore_errors=True)


def store_of(ws: Workspace) -> Store:
    """``backup.dir`` taken from the workspace root when relative (an absolute one stays as it is)."""
    configured = ws.config["backup"]["dir"]
    return Store(ws.root / Path(configured).expanduser() if configured else ws.backups_dir)


def _date_files(ws: Workspace, date: str | None) -> Iterator[Path]:
    """The files of a date (or of all dates): its lake partitions and its reports."""
    dates = [date] if date else lake.dates(ws.messages_dir)
    for d in dates:
        for base in (ws.messages_dir, ws.findings_dir):
            folder = lake.partition_dir(base, d)
            if folder.is_dir():
                yield from sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        report = ws.reports_dir / d
        if report.is_dir():
            yield from sorted(p for p in report.rglob("*") if p.is_file())


def _shared_files(ws: Workspace) -> Iterator[Path]:
    """What every snapshot holds besides its dates: small lake tables, settings, and the pulled
    records waiting in quarantine (WeCom deletes its copy within days)."""
    for folder in (
        ws.groups_dir,
        ws.members_dir,
        ws.roster_dir,
        ws.files_dir,
        ws.dictionaries_dir,
        ws.quarantine_dir,
    ):
        if folder.is_dir():
            yield from sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if ws.config_path.exists():
        yield ws.config_path


def _put_sqlite(store: Batch, database: Path) -> dict[str, Any]:
    """A consistent copy through SQLite's backup API (never a file torn by a concurrent writer)."""
    with tempfile.TemporaryDirectory(dir=store.store.root if store.store.root.exists() else None) as tmp:
        copy = Path(tmp) / database.name
        source = sqlite3.connect(database)
        target = sqlite3.connect(copy)
        try:
            with target:
                source.backup(target)
        finally:
            source.close()
            target.close()
        digest, size = store.put(copy)
    return {"sha256": digest, "size": size}


def _put_media(store: Batch, ws: Workspace) -> dict[str, dict[str, Any]]:
    """Pulled media files (``media/ab/<sha256>``, WeCom keeps its copy only days) and their index.

    A media file is named by its SHA-256, as store objects are: one already in the store is
    recorded without reading it again (``backup verify`` re-hashes the store), so a year of media
    costs a nightly snapshot one ``stat`` per file. A new one is hashed as it is stored, and a file
    whose bytes no longer match its name is refused (exit 65) rather than backed up as good."""
    files: dict[str, dict[str, Any]] = {}
    if not ws.media_dir.is_dir():
        return files
    damaged = []
    for path in sorted(p for p in ws.media_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = str(path.relative_to(ws.root))
        named = path.parent.name != "index" and len(path.name) == 64
        if named and store.has(path.name):
            files[rel] = {"sha256": path.name, "size": path.stat().st_size}
            continue
        digest, size = store.put(path, path.name if named else None)
        if named and digest != path.name:
            damaged.append(rel)
        files[rel] = {"sha256": digest, "size": size}
    if damaged:
        raise AuditorError(
            "media files do not match their SHA-256 names, nothing backed up:\n" + "\n".join(damaged),
            EXIT_DATA,
        )
    return files


@dataclass
class Problem:
    snapshot: str
    path: str
    issue: str  # missing / altered

    def __str__(self) -> str:
        return f"{self.snapshot}: {self.path}: {self.issue}"


def create(ws: Workspace, date: str | None = None) -> dict[str, Any]:
    """Take a snapshot of ``date`` (or of everything); returns its manifest.

    Every lake Parquet file must match its lake manifest entry (hash and size): a damaged or
    unrecorded file is refused with exit 65 and no snapshot is written, so a bit-flipped file
    never enters the store as "ok". The entries go into the snapshot with their files, so a
    restored workspace can be checked too."""
    return create_each(ws, [date])[0]


def create_each(
    ws: Workspace, dates: list[str | None], on_date: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    """One snapshot per date, as ``create`` takes them (``Snapshots``)."""
    snapshots = Snapshots(ws)
    manifests = []
    for date in dates:
        manifests.append(snapshots.take(date))
        if on_date:
            on_date()
    return manifests


class Snapshots:
    """A run's snapshots, one per date, taken one at a time: the nightly job takes a date's as soon
    as its pages are in place, while the report's workers render the next dates.

    What every snapshot holds besides its dates — the small lake tables, settings, the consistent
    copies of the ledger and the console's accounts, media — is read, checked and stored once for
    the run (with its first snapshot), under the workspace lock that keeps it unchanged, not once
    per date."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.store = store_of(ws)
        self._shared: dict[str, dict[str, Any]] | None = None

    def take(self, date: str | None) -> dict[str, Any]:
        """The snapshot of ``date`` (None: of everything); returns its manifest."""
        with self.store.batch() as objects:
            files = _lake_and_reports(self.ws, date, objects)
            if self._shared is None:
                self._shared = _shared(self.ws, objects)
        files.update(self._shared)
        return _write_manifest(self.ws, self.store, date, files)


def _lake_and_reports(ws: Workspace, date: str | None, objects: Batch) -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {}
    refused: list[str] = []
    for path in _date_files(ws, date):
        in_lake = path.suffix == ".parquet" and path.is_relative_to(ws.lake)
        entry = lake_manifest.read_entry(ws.lake, path) if in_lake else None
        recorded = lake_manifest.descriptions(entry)
        digest, size = objects.put(path, recorded[0].sha256 if recorded else None)
        rel = str(path.relative_to(ws.root))
        files[rel] = {"sha256": digest, "size": size}
        if in_lake:
            wrong = lake_manifest.match(entry, sha256=digest, size=size, rows=None)
            if wrong:
                refused.append(f"{rel}: {wrong}")
            else:
                entry_file = lake_manifest.entry_path(ws.lake, path)
                entry_digest, entry_size = objects.put(entry_file)
                files[str(entry_file.relative_to(ws.root))] = {"sha256": entry_digest, "size": entry_size}
        failpoints.reached("backup-object")
    if refused:
        raise AuditorError(
            "lake files do not match the lake manifest, nothing backed up (`auditor check` says more):\n"
            + "\n".join(refused),
            EXIT_DATA,
        )
    return files


def _shared(ws: Workspace, objects: Batch) -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {}
    for path in _shared_files(ws):
        digest, size = objects.put(path)
        files[str(path.relative_to(ws.root))] = {"sha256": digest, "size": size}
        failpoints.reached("backup-object")
    if ws.ledger_path.exists():
        Ledger(ws.ledger_path).close()  # a damaged ledger is refused (exit 65), never snapshotted
        files[ws.ledger_path.name] = _put_sqlite(objects, ws.ledger_path)
    if ws.users_path.exists():  # the console's accounts and saved filters
        files[ws.users_path.name] = _put_sqlite(objects, ws.users_path)
    files.update(_put_media(objects, ws))
    return files


def _write_manifest(
    ws: Workspace, store: Store, date: str | None, files: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The snapshot's manifest, written last (its objects are published): only now does it exist."""
    created = dt.datetime.now(dt.UTC)
    snapshot_id = f"{created:%Y%m%dT%H%M%SZ}-{date or 'all'}-{secrets.token_hex(3)}"
    manifest = {
        "version": MANIFEST_VERSION,
        "id": snapshot_id,
        "created": created.isoformat(),
        "date": date,
        "dates": [date] if date else lake.dates(ws.messages_dir),
        "workspace": str(ws.root.resolve()),
        "files": dict(sorted(files.items())),
        "bytes": sum(f["size"] for f in files.values()),
    }
    failpoints.reached("backup-manifest")
    atomic.write_text(store.snapshots / f"{snapshot_id}.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def verify(store: Store, snapshot_ids: list[str]) -> list[Problem]:
    """Re-hash every file of the snapshots; every missing or altered object is a problem, and so
    is a lake Parquet file that does not match the lake manifest entry stored beside it (or, in a
    snapshot from before the lake manifest, that is not a readable Parquet file)."""
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
            elif rel.startswith("lake/") and rel.endswith(".parquet"):
                issue = _lake_file_issue(store, manifest["files"], rel, info)
                if issue:
                    problems.append(Problem(snapshot_id, rel, issue))
    return problems


def _lake_file_issue(
    store: Store, files: dict[str, dict[str, Any]], rel: str, info: dict[str, Any]
) -> str | None:
    entry_rel = f"lake/{lake_manifest.MANIFEST_DIR}/{rel.removeprefix('lake/')}.json"
    entry_info = files.get(entry_rel)
    if entry_info is None:
        try:
            lake_manifest.footer_rows(store.object_path(info["sha256"]))
        except lake_manifest.PARQUET_ERRORS as exc:
            return f"not a readable Parquet file ({type(exc).__name__})"
        return None
    try:
        entry = json.loads(store.object_path(entry_info["sha256"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its lake manifest entry is unreadable"
    wrong = lake_manifest.match(entry, sha256=info["sha256"], size=info["size"], rows=None)
    return f"does not match the lake manifest: {wrong}" if wrong else None


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


def snapshot_dates(manifest: dict[str, Any]) -> list[str]:
    """The data dates a snapshot holds (older manifests: read from its message partition paths)."""
    if "dates" in manifest:
        return list(manifest["dates"])
    found = set()
    for rel in manifest["files"]:
        parts = rel.split("/")
        if len(parts) > 3 and parts[:2] == ["lake", "messages"] and (m := lake.DATE_DIR.match(parts[2])):
            found.add(m.group(1))
    return sorted(found)


@dataclass
class PrunePlan:
    keep: list[str]
    remove: list[str]
    dropped_dates: list[str]  # dates no kept snapshot holds any more
    freed: int  # bytes of the objects only removed snapshots reference


def plan_prune(
    store: Store, keep_daily: int, keep_monthly: int, *, allow_dropping_dates: bool = False
) -> PrunePlan:
    """What ``prune`` keeps, by *data* date (the dates a snapshot holds, not the day it was made):

    - the newest snapshot holding each of the ``keep_daily`` newest data dates;
    - for each of the ``keep_monthly`` newest months, the newest snapshot holding that month's
      newest data date;
    - unless ``allow_dropping_dates``, the newest snapshot holding each data date, whatever its age,
      so no date ever loses its last backup by accident;
    - the newest snapshot overall (it has the newest ledger and settings).
    """
    if keep_daily == 0 and keep_monthly == 0:
        raise AuditorError("--keep-daily 0 --keep-monthly 0 would keep nothing: refused")
    manifests = store.manifests()  # oldest first
    newest_of: dict[str, str] = {}  # data date → id of the newest snapshot holding it
    for m in manifests:
        for date in snapshot_dates(m):
            newest_of[date] = m["id"]
    dates = sorted(newest_of, reverse=True)
    keep = {newest_of[d] for d in dates[:keep_daily]}
    month_last: dict[str, str] = {}
    for date in dates:  # newest first: the first date seen of a month is its newest
        month_last.setdefault(date[:7], date)
    keep |= {newest_of[month_last[month]] for month in sorted(month_last, reverse=True)[:keep_monthly]}
    if not allow_dropping_dates:
        keep |= set(newest_of.values())
    if manifests:
        keep.add(manifests[-1]["id"])
    remove = [m["id"] for m in manifests if m["id"] not in keep]
    held = {d for m in manifests if m["id"] in keep for d in snapshot_dates(m)}
    referenced = {f["sha256"] for m in manifests if m["id"] in keep for f in m["files"].values()}
    sizes = {f["sha256"]: f["size"] for m in manifests for f in m["files"].values()}
    freed = sum(size for digest, size in sizes.items() if digest not in referenced)
    return PrunePlan(
        keep=[m["id"] for m in manifests if m["id"] in keep],
        remove=remove,
        dropped_dates=sorted(set(newest_of) - held),
        freed=freed,
    )


def prune(
    store: Store, keep_daily: int, keep_monthly: int, *, allow_dropping_dates: bool = False
) -> PrunePlan:
    """Carry out ``plan_prune``: delete the removed manifests, then every object no kept snapshot
    references (orphans of interrupted snapshots included); ``freed`` counts what was deleted."""
    plan = plan_prune(store, keep_daily, keep_monthly, allow_dropping_dates=allow_dropping_dates)
    kept = set(plan.keep)
    referenced = {f["sha256"] for m in store.manifests() if m["id"] in kept for f in m["files"].values()}
    for snapshot_id in plan.remove:
        (store.snapshots / f"{snapshot_id}.json").unlink()
    freed = 0
    for path in sorted(store.objects.glob("*/*")) if store.objects.is_dir() else []:
        if path.name not in referenced and not path.name.startswith("."):
            freed += path.stat().st_size
            path.unlink()
    plan.freed = freed
    return plan
