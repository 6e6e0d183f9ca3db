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
from collections.abc import Iterator
from pathlib import Path

# mkstemp creates 0600 files; published files get the usual permissions under the umask.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path, mode: int = FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target`` (with ``mode``)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


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


def write_bytes(target: Path, data: bytes, mode: int = FILE_MODE) -> None:
    with atomic_path(target, mode) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_durable(path: Path, data: bytes) -> None:
    """Write and fsync a file inside a staging folder that is itself renamed into place later."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, FILE_MODE)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks: inbox tracking, file ledger and backups all use it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
