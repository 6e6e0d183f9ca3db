"""``atomic.write_files``: many small files written together (ingest's file ledgers), each whole or
absent, never a temporary left behind, whatever fails."""

from __future__ import annotations

import errno
import os

import pytest

from auditor import atomic


def _files(folder):
    return [(folder / "a" / f"{n}.json", f'{{"n": {n}}}\n'.encode()) for n in range(12)] + [
        (folder / "b" / "x.json", b"{}\n")
    ]


def _leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.startswith(".tmp-")]


def test_every_file_is_written_whole_with_the_usual_mode(tmp_path):
    files = _files(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "3.json").write_bytes(b"old")  # replaced
    atomic.write_files(files)
    assert [path.read_bytes() for path, _ in files] == [data for _, data in files]
    assert all(path.stat().st_mode & 0o777 == atomic.FILE_MODE for path, _ in files)
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("failing", ["write", "sync", "rename"])
def test_a_failure_leaves_no_temporary_and_no_partial_file(tmp_path, monkeypatch, failing):
    """A disk full while writing or syncing publishes nothing; a failure while renaming leaves the
    files renamed before it whole, and the rest as they were."""
    files = _files(tmp_path)
    disk_full = OSError(errno.ENOSPC, "No space left on device")
    if failing == "write":
        real_fdopen = os.fdopen
        calls = []

        def fdopen(fd, *args, **kwargs):
            calls.append(fd)
            if len(calls) == 5:
                os.close(fd)
                raise disk_full
            return real_fdopen(fd, *args, **kwargs)

        monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    elif failing == "sync":
        monkeypatch.setattr(atomic, "fsync_dir", lambda path: (_ for _ in ()).throw(disk_full))
    else:
        real_replace = os.replace
        done = []

        def replace(src, dst):
            if len(done) == 7:
                raise disk_full
            done.append(dst)
            real_replace(src, dst)

        monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_files(files)
    assert not _leftovers(tmp_path)
    written = [path for path, _ in files if path.exists()]
    assert written == ([] if failing != "rename" else [path for path, _ in files[:7]])
    assert all(path.read_bytes() == data for path, data in files if path.exists())
