"""Atomic file writes: a killed run never leaves a half-written file visible.

Write to a hidden temporary name in the target directory, fsync it, rename it over the
target and fsync the directory. Readers skip names starting with "." so they never see
the temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

# mkstemp creates 0600 files; published files get the usual permissions under the umask.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
SYNC_THREADS = 8  # concurrent fsyncs in sync_staged


def fsync_dir(directory: Path) -> None:
    """fsync a folder (its entries), or a file given by path: both open read-only."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path, mode: int = FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    ``mode`` 0o600 keeps a file holding raw chat content (rejects, quarantine) to its owner."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        publish(tmp, target, mode)
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: Path, target: Path, mode: int = FILE_MODE) -> None:
    """Make a finished temporary (in ``target``'s folder) durable and rename it over ``target``."""
    os.chmod(tmp, mode)
    fsync_dir(tmp)  # a path fsyncs a file as well as a folder
    os.replace(tmp, target)
    fsync_dir(target.parent)


STALE_PREFIXES = (".tmp-", ".old-")  # atomic_path temporaries, report staging and swapped-out folders


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporaries a killed writer left anywhere under ``folder``; returns them.

    Only safe while no live writer can be using them: call it holding the workspace lock, on
    folders that only lock holders write to.
    """
    removed: list[Path] = []
    for root, dirs, files in os.walk(folder):
        for name in [d for d in dirs if d.startswith(STALE_PREFIXES)]:
            shutil.rmtree(Path(root) / name, ignore_errors=True)
            removed.append(Path(root) / name)
            dirs.remove(name)
        for name in files:
            if name.startswith(STALE_PREFIXES):
                (Path(root) / name).unlink(missing_ok=True)
                removed.append(Path(root) / name)
    return removed


PRIVATE_MODE = 0o600


def write_bytes(target: Path, data: bytes, mode: int = FILE_MODE) -> None:
    with atomic_path(target, mode) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str, mode: int = FILE_MODE) -> None:
    write_bytes(target, text.encode("utf-8"), mode)


def write_files(files: Iterable[tuple[Path, bytes]], mode: int = FILE_MODE) -> None:
    """Write many small files, each atomically as ``write_bytes`` does, with fewer waits on the disk:
    every temporary is written first, they are fsynced a few at once (``sync_staged``), renamed over
    their targets, and each folder is fsynced once, not once a file. A failure leaves no temporary;
    the files renamed before it are whole, as after a failure between separate writes."""
    temps: list[tuple[Path, Path]] = []
    try:
        for target, data in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".tmp-{target.name}-", dir=target.parent)
            temps.append((Path(name), target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(name, mode)
        sync_staged([tmp for tmp, _ in temps], ())
        for tmp, target in temps:
            os.replace(tmp, target)
        for folder in dict.fromkeys(target.parent for _, target in temps):
            fsync_dir(folder)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def write_staged(path: Path, data: bytes) -> None:
    """Write a file inside a staging folder that is renamed into place later; ``sync_staged``
    makes the staged files durable before that rename."""
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, FILE_MODE)


def sync_staged(files: Iterable[Path], folders: Iterable[Path]) -> None:
    """fsync freshly written files, then the folders holding them, before they are published.

    The files are synced from a few threads at once: the filesystem then commits them in shared
    journal transactions instead of one commit per file (a night's reports are hundreds of pages)."""
    with ThreadPoolExecutor(SYNC_THREADS) as pool:
        list(pool.map(fsync_dir, files))  # a path fsyncs a file as well as a folder
    for folder in folders:
        fsync_dir(folder)


def file_sha256(path: Path, copy_to: BinaryIO | None = None) -> str:
    """SHA-256 of a file's bytes, read in chunks: inbox tracking, file ledger and backups all use it.

    With ``copy_to``, the bytes are also written there as they are read (a backup object is then
    exactly the bytes hashed, read once)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            if copy_to is not None:
                copy_to.write(chunk)
    return digest.hexdigest()
