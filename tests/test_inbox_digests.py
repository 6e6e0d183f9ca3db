"""The inbox's SHA-256 remembered by stat: a file is hashed once, and any change hashes it again."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from auditor import inbox_digests, pipeline
from auditor.inbox_digests import InboxDigests
from auditor.workspace import Workspace


@pytest.fixture
def hashed(monkeypatch):
    """The paths hashed, in order."""
    calls: list[Path] = []
    real = inbox_digests.file_sha256

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(inbox_digests, "file_sha256", counting)
    return calls


def _file(folder: Path, name: str, data: bytes, age: float = 100.0) -> Path:
    path = folder / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_second_scan_hashes_nothing_unchanged(tmp_path, hashed):
    files = [_file(tmp_path, f"f{i}.jsonl", f"line {i}\n".encode()) for i in range(3)]
    record = tmp_path / "state" / "inbox-digests.json"
    first = InboxDigests(record)
    assert first.digests(files) == [_sha(f"line {i}\n".encode()) for i in range(3)]
    first.save()
    assert len(hashed) == 3
    again = InboxDigests(record)
    assert again.digests(files) == [_sha(f"line {i}\n".encode()) for i in range(3)]
    assert len(hashed) == 3  # none hashed again


@pytest.mark.parametrize("change", ["longer", "same size, other time", "replaced by another file"])
def test_a_changed_file_is_hashed_again(tmp_path, hashed, change):
    path = _file(tmp_path, "a.jsonl", b"original\n")
    record = tmp_path / "inbox-digests.json"
    scan = InboxDigests(record)
    scan.digests([path])
    scan.save()
    if change == "longer":
        new = b"original\nmore\n"
        _file(tmp_path, "a.jsonl", new)
    elif change == "same size, other time":
        new = b"changed!\n"
        _file(tmp_path, "a.jsonl", new, age=50.0)
    else:
        new = b"another file\n"
        other = _file(tmp_path, "b.jsonl", new)
        os.replace(other, path)  # another inode under the same name
    assert InboxDigests(record).digests([path]) == [_sha(new)]
    assert len(hashed) == 2


def test_a_file_written_just_now_is_not_remembered(tmp_path, hashed):
    """Within RACY_SECONDS of its change a file may change again in the same tick of the clock."""
    path = _file(tmp_path, "new.jsonl", b"being written\n", age=0.0)
    record = tmp_path / "inbox-digests.json"
    scan = InboxDigests(record)
    scan.digests([path])
    scan.save()
    InboxDigests(record).digests([path])
    assert len(hashed) == 2


def test_files_gone_from_the_inbox_are_dropped_from_the_record(tmp_path):
    kept, gone = _file(tmp_path, "kept.jsonl", b"k\n"), _file(tmp_path, "gone.jsonl", b"g\n")
    record = tmp_path / "inbox-digests.json"
    scan = InboxDigests(record)
    scan.digests([kept, gone])
    scan.save()
    gone.unlink()
    scan = InboxDigests(record)
    scan.digests([kept])
    scan.save()
    assert list(json.loads(record.read_text())["files"]) == [str(kept)]


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff not json",
        b"[]",
        b'{"layout": 1, "files": []}',
        b'{"layout": 99, "files": {}}',
        b'{"layout": 1, "files": {"PATH": "not a list"}}',
        b'{"layout": 1, "files": {"PATH": [1, 2, 3, 4, 5]}}',
        b'{"layout": 1, "files": {"PATH": ["STAT", "../../../etc/passwd"]}}',
    ],
)
def test_a_damaged_or_hostile_record_is_rebuilt(tmp_path, hashed, content):
    """Derived data: whatever the record holds, the hash given is the file's, and a record's value
    never becomes a path under W/state/done/ unless it is a SHA-256."""
    path = _file(tmp_path, "a.jsonl", b"data\n")
    st = path.stat()
    stat = json.dumps([st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev])[1:-1]
    record = tmp_path / "inbox-digests.json"
    record.write_bytes(content.replace(b"PATH", str(path).encode()).replace(b'"STAT"', stat.encode()))
    scan = InboxDigests(record)
    assert scan.digests([path]) == [_sha(b"data\n")]
    assert hashed == [path]
    scan.save()
    assert InboxDigests(record).digests([path]) == [_sha(b"data\n")]


def test_a_file_that_cannot_be_read_gives_its_error(tmp_path):
    missing = tmp_path / "removed.jsonl"
    [result] = InboxDigests(tmp_path / "inbox-digests.json").digests([missing])
    assert isinstance(result, FileNotFoundError)


def test_the_nightly_scan_hashes_an_unchanged_inbox_once(runner_ws, hashed):
    """``new_inbox_files`` on a second night with nothing new reads no file again, and still knows
    which files are done."""
    ws: Workspace = runner_ws
    exports = [_file(ws.inbox_dir, f"archive-{i}.jsonl", f'{{"msgid": "{i}"}}\n'.encode()) for i in range(4)]
    first = pipeline.new_inbox_files(ws)
    assert sorted(p for p, _ in first.files) == sorted(exports)
    for _, digest in first.files[:2]:  # two of them done by that night
        (ws.state_dir / "done").mkdir(parents=True, exist_ok=True)
        (ws.state_dir / "done" / digest).write_text("run\n")
    second = pipeline.new_inbox_files(ws)
    assert len(hashed) == 4
    assert second.files == first.files[2:]


@pytest.fixture
def runner_ws(tmp_path):
    from click.testing import CliRunner

    from auditor.cli import cli

    root = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["-w", str(root), "init"])
    assert result.exit_code == 0, result.output
    return Workspace(root)
