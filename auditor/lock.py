"""One run at a time per workspace: an OS file lock (flock), released by the kernel if the holder dies."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from auditor.errors import EXIT_LOCKED, AuditorError


@contextlib.contextmanager
def workspace_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` or fail at once with exit code 75, touching nothing else."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Close-on-exec (Python's default, stated here because it matters): no program this run starts
    # may hold the lock. Forked children would still inherit it, so the audit pool never forks.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise AuditorError(
                f"workspace {path.parent} is locked by {who}: another run is in progress", EXIT_LOCKED
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
