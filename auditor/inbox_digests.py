"""SHA-256 of inbox files, remembered by what ``stat`` says of each so a file is hashed once.

The nightly job decides what is new in the inbox by content (``W/state/done/<sha256>``), and files
stay in the inbox once done: a month of a large company's exports is 2.4 GB, hashed again every
night (1.6 s from the page cache, 8.8 s from disk, on two cores), and more with every night. A file
whose size, modification time (ns), inode and device are those recorded when it was hashed keeps
its recorded hash, as git's index and rsync judge a file unchanged. A file modified within
``RACY_SECONDS`` of its hashing is not remembered: a write in the same tick of the file system's
clock could leave its time as it was.

The record (``W/state/inbox-digests.json``) is derived data: unreadable, of another layout or
removed, it is simply rebuilt by hashing every file again.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from auditor import atomic
from auditor.atomic import file_sha256

LAYOUT = 1
RACY_SECONDS = 2
_SHA256 = re.compile(r"[0-9a-f]{64}")  # a record's hash names a file under W/state/done/
HASH_THREADS = 4  # files hashed at once (reads and SHA-256 run outside the GIL): 2.4 GB took 10 s from one


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


class InboxDigests:
    """``digests(paths)`` for a scan; ``save()`` keeps what was learnt for the next one."""

    def __init__(self, record: Path) -> None:
        self.record = record
        self.known: dict[str, list] = {}  # path → [size, mtime_ns, ino, dev, sha256]
        self.seen: dict[str, list] = {}
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            if data.get("layout") == LAYOUT and isinstance(data.get("files"), dict):
                self.known = data["files"]
        except (OSError, ValueError, AttributeError):
            pass

    def digests(self, paths: list[Path]) -> list[str | OSError]:
        """Each path's SHA-256, or the OSError reading it raised (the caller skips that file)."""
        out: dict[int, str | OSError] = {}
        todo: list[tuple[int, list[int]]] = []
        for i, path in enumerate(paths):
            try:
                key = _stat_key(path)
            except OSError as exc:
                out[i] = exc
                continue
            entry = self.known.get(str(path))
            if (
                isinstance(entry, list)
                and len(entry) == 5
                and entry[:4] == key
                and isinstance(entry[4], str)
                and _SHA256.fullmatch(entry[4])
            ):
                out[i] = entry[4]
                self.seen[str(path)] = entry
            else:
                todo.append((i, key))

        def hashed(item: tuple[int, list[int]]) -> str | OSError:
            try:
                return file_sha256(paths[item[0]])
            except OSError as exc:
                return exc

        started_ns = time.time_ns()
        with ThreadPoolExecutor(HASH_THREADS) as pool:
            results = list(pool.map(hashed, todo))
        for (i, key), digest in zip(todo, results, strict=True):
            out[i] = digest
            if isinstance(digest, OSError) or started_ns - key[1] < RACY_SECONDS * 1_000_000_000:
                continue
            try:
                unchanged = _stat_key(paths[i]) == key  # not written to while it was hashed
            except OSError:
                unchanged = False
            if unchanged:
                self.seen[str(paths[i])] = [*key, digest]
        return [out[i] for i in range(len(paths))]

    def save(self) -> None:
        """Keep the files seen by this scan's ``digests`` calls (those gone from the inbox are dropped)."""
        if self.seen != self.known:
            atomic.write_text(self.record, json.dumps({"layout": LAYOUT, "files": self.seen}, sort_keys=True))
        self.known = dict(self.seen)
