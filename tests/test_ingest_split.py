"""A large date written as two files in two threads (``ingest.SPLIT_ROWS``): the same rows as one
file, whole under ``check``, and safe when the second thread's disk fills or the run is killed."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import ingest as ingest_module
from auditor import integrity, lake
from auditor.ingest import ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

DAY_MS = 86_400_000
# Two dates: one of 30 rows (split at SPLIT_ROWS = 20), one of 5 (not split); out of msgtime order.
RECORDS = [message(f"m{i:02d}", msgtime=BASE_MS + (i * 7919) % 30 * 1000) for i in range(30)] + [
    message(f"n{i}", msgtime=BASE_MS + DAY_MS + i) for i in range(5)
]


@pytest.fixture
def export(tmp_path) -> Path:
    return write_jsonl(tmp_path / "in" / "a.jsonl", RECORDS)


def workspace(root: Path) -> Workspace:
    ws = Workspace(root)
    ws.init()
    return ws


def stored(ws: Workspace) -> dict[str, list[tuple]]:
    """Each date's rows in the lake's order (msgtime, msgid), whatever files hold them."""
    out = {}
    for date in lake.dates(ws.messages_dir):
        table = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA)
        out[date] = sorted(
            zip(*(table.column(c).to_pylist() for c in ("msgtime", "msgid", "raw")), strict=True)
        )
    return out


def problems(ws: Workspace) -> list:
    return integrity.check_lake(ws, quick=False) + integrity.check_msgids(ws)


def test_a_split_date_holds_the_rows_of_one_file(tmp_path, export, monkeypatch):
    whole = workspace(tmp_path / "whole")
    ingest(whole, [export])
    monkeypatch.setattr(ingest_module, "SPLIT_ROWS", 20)
    split = workspace(tmp_path / "split")
    summary = ingest(split, [export]).summary()
    assert (summary["records"], summary["accepted"]) == (35, 35)
    assert stored(split) == stored(whole)
    files = {date: lake.partition_files(split.messages_dir, date) for date in lake.dates(split.messages_dir)}
    assert [len(files[date]) for date in sorted(files)] == [2, 1]
    first, second = (pq.read_table(p, columns=["msgtime", "msgid"]).to_pylist() for p in files["2026-11-16"])
    assert len(first) == len(second) == 15
    assert {row["msgid"] for row in first}.isdisjoint(row["msgid"] for row in second)
    assert problems(split) == []
    again = ingest(split, [export]).summary()
    assert (again["accepted"], again["duplicates"]) == (0, 35)  # both halves are in the msgid index
    assert stored(split) == stored(whole)


def test_a_disk_full_in_the_second_thread_loses_nothing(tmp_path, export, monkeypatch):
    """The second half fails: the error is raised; the next run stores every row exactly once."""
    monkeypatch.setattr(ingest_module, "SPLIT_ROWS", 20)
    real_append = lake.append_messages

    def append(*args, **kwargs):
        if threading.current_thread().name.startswith("lake-writer-2"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_append(*args, **kwargs)

    ws = workspace(tmp_path / "ws")
    monkeypatch.setattr(lake, "append_messages", append)
    with pytest.raises(OSError, match="No space left"):
        ingest(ws, [export])
    assert not [p for p in ws.root.rglob("*") if p.name.startswith(".tmp-")]
    monkeypatch.setattr(lake, "append_messages", real_append)
    summary = ingest(ws, [export]).summary()
    assert summary["records"] == summary["accepted"] + summary["duplicates"] == 35
    assert problems(ws) == []
    assert {date: len(rows) for date, rows in stored(ws).items()} == {"2026-11-16": 30, "2026-11-17": 5}


# The CLI with a small split, for the kill tests (a subprocess: SIGKILL ends it).
SMALL_SPLIT = "import auditor.ingest; auditor.ingest.SPLIT_ROWS = 20; from auditor.cli import main; main()"


@pytest.mark.parametrize("point", ["lake-entry-pending", "lake-file-renamed", "ingest-date-written"])
def test_killed_mid_split_then_rerun_equals_an_uninterrupted_run(tmp_path, export, point):
    def nightly(ws: Workspace, failpoint: str | None = None) -> int:
        env = {k: v for k, v in os.environ.items() if k != "AUDITOR_FAILPOINT"}
        if failpoint:
            env["AUDITOR_FAILPOINT"] = failpoint
        done = subprocess.run(
            [sys.executable, "-c", SMALL_SPLIT, "-w", str(ws.root), "nightly", "--workers", "1"],
            env=env,
            capture_output=True,
            timeout=300,
        )
        return done.returncode

    runs = {}
    for name in ("whole", "killed"):
        ws = runs[name] = workspace(tmp_path / name)
        (ws.inbox_dir / "a.jsonl").write_bytes(export.read_bytes())
    assert nightly(runs["whole"]) == 0
    assert nightly(runs["killed"], point) == -9
    assert nightly(runs["killed"]) == 0
    assert stored(runs["killed"]) == stored(runs["whole"])
    assert problems(runs["killed"]) == []
    lake_files = [
        {str(p.relative_to(ws.root)): p.read_bytes() for p in integrity.lake_files(ws.messages_dir)}
        for ws in runs.values()
    ]
    assert len(lake_files[1]) == 3  # the date of 30 rows in two files
    assert lake_files[0] == lake_files[1]  # the same files, cut at the same rows
