"""Fault injection for ingest: gzip bombs, huge lines, unreadable files, symlinks, impossible
times and reused msgids. Every case must leave the good files ingested, the bad input named with
its reason, and nothing stored twice or lost silently."""

from __future__ import annotations

import base64
import builtins
import errno
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor import ingest as ingest_module
from auditor import lake, msgindex
from auditor.ingest import ingest
from auditor.msgindex import MsgidIndex
from auditor.wecom.files import OverlongLine, iter_lines
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

DAY_MS = 86_400_000
CAPS = """[ingest]
max_record_bytes = 65536
max_decompressed_bytes = 1048576
max_document_bytes = 262144
max_stored_rejects = 5
max_reject_ratio = 1.0
"""


@pytest.fixture
def small(tmp_path) -> Workspace:
    """A workspace with caps small enough that the faults stay fast."""
    ws = Workspace(tmp_path / "ws")
    ws.init()
    ws.config_path.write_text(CAPS, encoding="utf-8")
    return ws


def lake_msgids(ws: Workspace) -> list[str]:
    out = []
    for date in lake.dates(ws.messages_dir):
        out += (
            lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid"])
            .column("msgid")
            .to_pylist()
        )
    return sorted(out)


def rejects(ws: Workspace) -> list[dict]:
    out = []
    for path in sorted(ws.rejects_dir.glob("*.jsonl")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # raw chat content: owner only
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return out


def gz_bomb(path: Path, unit: bytes, size: int) -> Path:
    """``size`` bytes of ``unit`` repeated, gzip-compressed (a few KB on disk)."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        block = unit * (65536 // len(unit))
        for _ in range(size // len(block)):
            out.write(block)
    return path


def unreadable(path: Path, monkeypatch) -> Path:
    """Make ``path`` unreadable: chmod 000, and for root (who reads it anyway) a failing open."""
    path.chmod(0)
    if os.geteuid() == 0:
        real_open = builtins.open

        def refusing_open(file, *args, **kwargs):
            if isinstance(file, str | os.PathLike) and Path(file).resolve() == path.resolve():
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    return path


def gz_records(path: Path, count: int, batch: bool = False) -> Path:
    """``count`` valid messages of about 1 KB each, gzip-compressed: a JSONL file, or a GetChatData batch."""
    records = [message(f"x{i}", text={"content": f"{i} " + "内容" * 300}) for i in range(count)]
    if batch:
        data = json.dumps({"errcode": 0, "chatdata": records}, ensure_ascii=False).encode()
    else:
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(data))
    return path


def test_a_gzip_file_is_inflated_once_to_check_its_cap_and_decode_it(small, tmp_path, monkeypatch):
    """The cap is checked while the file is decoded, not by a pass of its own before."""
    from auditor.wecom import files

    inflated: list[str] = []
    real = files._decompressed

    def counting(path):
        inflated.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(files, "_decompressed", counting)
    path = tmp_path / "day.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(json.dumps(message(f"m{i}")).encode() + b"\n" for i in range(3))))
    report = ingest(small, [path])
    assert report.summary()["accepted"] == 3
    assert inflated == ["day.jsonl.gz"]


def good_file(folder: Path) -> Path:
    return write_jsonl(folder / "good.jsonl", [message("g1"), message("g2", msgtime=BASE_MS + 1000)])


# (case, build the bad input in a folder → path, expected status, words of the reason)
FILE_FAULTS = [
    (
        "gzip-bomb-one-line",
        lambda d: gz_bomb(d / "bomb.jsonl.gz", b"A", 3 << 20),
        "quarantined",
        "ingest.max_decompressed_bytes",
    ),
    (
        "gzip-bomb-newlines",
        lambda d: gz_bomb(d / "lines.jsonl.gz", b"\n", 3 << 20),
        "quarantined",
        "ingest.max_decompressed_bytes",
    ),
    (
        # good records past the cap: decoded up to it, then all dropped (read whole or not at all)
        "gzip-records-over-cap",
        lambda d: gz_records(d / "many.jsonl.gz", 1200),
        "quarantined",
        "ingest.max_decompressed_bytes",
    ),
    (
        "gzip-batch-records-over-cap",
        lambda d: gz_records(d / "many.json.gz", 400, batch=True),
        "quarantined",
        "ingest.max_document_bytes",
    ),
    (
        "plain-file-over-cap",
        lambda d: (d / "big.jsonl").write_bytes(b"\n" * (2 << 20)) and d / "big.jsonl",
        "quarantined",
        "more than 1,048,576 bytes",
    ),
    (
        "json-document-over-cap",
        lambda d: gz_bomb(d / "batch.json.gz", b" ", 1 << 20),
        "quarantined",
        "ingest.max_document_bytes",
    ),
    (
        "roster-over-cap",
        lambda d: gz_bomb(d / "roster.csv.gz", b"x,", 1 << 20),
        "quarantined",
        "ingest.max_document_bytes",
    ),
]


@pytest.mark.parametrize(("case", "build", "status", "reason"), FILE_FAULTS, ids=[f[0] for f in FILE_FAULTS])
def test_a_file_over_the_caps_is_quarantined_and_the_rest_ingested(
    small, tmp_path, case, build, status, reason
):
    inbox = tmp_path / "in"
    inbox.mkdir()
    good_file(inbox)
    bad = build(inbox)
    report = ingest(small, [inbox])
    [problem] = report.problems()
    assert (problem["status"], Path(problem["path"]).name) == (status, bad.name)
    assert reason in problem["reason"]
    assert lake_msgids(small) == ["g1", "g2"]  # the good file is in, nothing of the bad one
    record = small.quarantine_dir / f"{problem['sha256']}.json"
    assert json.loads(record.read_text(encoding="utf-8"))["reason"] == problem["reason"]
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert not (small.files_dir / f"{problem['sha256']}.json").exists()  # not "ingested"


def test_a_huge_line_is_rejected_truncated_with_length_and_hash(small, tmp_path):
    huge = json.dumps(message("big", text={"content": "啊" * 200_000}), ensure_ascii=False).encode()
    data = (
        json.dumps(message("a")).encode() + b"\n" + huge + b"\r\n" + json.dumps(message("b")).encode() + b"\n"
    )
    path = tmp_path / "huge.jsonl"
    path.write_bytes(data)
    summary = ingest(small, [path]).summary()
    assert (summary["records"], summary["accepted"], summary["rejected"]) == (3, 2, 1)
    [entry] = rejects(small)
    assert entry["line"] == 2 and "over the limit of 65,536 (ingest.max_record_bytes)" in entry["reason"]
    assert entry["raw_length"] == len(huge) + 1  # with its \r
    assert entry["raw_sha256"] == hashlib.sha256(huge + b"\r").hexdigest()
    assert base64.b64decode(entry["raw_base64"]) == huge[: 16 * 1024]


def test_rejects_stay_proportionate_to_the_junk(small, tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"".join(b"junk %d\n" % i for i in range(1000)) + b"x" * 100_000 + b"\n")
    summary = ingest(small, [path]).summary()
    assert (summary["records"], summary["rejected"]) == (1001, 1001)
    entries = rejects(small)
    assert len(entries) == 6 and entries[-1]["omitted"] == 996
    assert "996 more rejected records" in entries[-1]["reason"]
    assert sum(p.stat().st_size for p in small.rejects_dir.iterdir()) < 10_000


def test_an_unreadable_file_is_skipped_and_the_rest_ingested(small, tmp_path, monkeypatch):
    inbox = tmp_path / "in"
    good_file(inbox)
    locked = unreadable(write_jsonl(inbox / "locked.jsonl", [message("l1")]), monkeypatch)
    report = ingest(small, [inbox])
    [problem] = report.problems()
    assert (problem["status"], Path(problem["path"]).name) == ("skipped", locked.name)
    assert "Permission denied" in problem["reason"]
    assert lake_msgids(small) == ["g1", "g2"]


def test_symlinks_are_followed_only_inside_the_folder(small, tmp_path):
    secret = tmp_path / "outside" / "shadow.jsonl"
    write_jsonl(secret, [message("secret")])
    (tmp_path / "outside" / "sub").mkdir()
    write_jsonl(tmp_path / "outside" / "sub" / "more.jsonl", [message("secret2")])
    inbox = tmp_path / "in"
    good_file(inbox)
    write_jsonl(inbox / "real" / "inner.jsonl", [message("inner")])
    (inbox / "evil.jsonl").symlink_to(secret)
    (inbox / "evil-dir").symlink_to(tmp_path / "outside" / "sub")
    (inbox / "dangling.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (inbox / "alias.jsonl").symlink_to(inbox / "real" / "inner.jsonl")  # inside: followed (once)
    report = ingest(small, [inbox])
    problems = {Path(p["path"]).name: p["reason"] for p in report.problems()}
    assert set(problems) == {"evil.jsonl", "evil-dir", "dangling.jsonl"}
    assert "outside" in problems["evil.jsonl"] and "not followed" in problems["evil-dir"]
    assert lake_msgids(small) == ["g1", "g2", "inner"]
    assert not list(small.rejects_dir.glob("*.jsonl"))


BAD_TIMES = [
    ("seconds", BASE_MS // 1000, "looks like seconds"),
    ("zero", 0, "before 2010-01-01"),
    ("year-5138", 99_999_999_999_999, "more than a day after this run"),
]


@pytest.mark.parametrize(("case", "msgtime", "reason"), BAD_TIMES, ids=[c[0] for c in BAD_TIMES])
def test_impossible_times_are_rejected_not_partitioned(small, tmp_path, case, msgtime, reason):
    path = write_jsonl(tmp_path / "t.jsonl", [message("ok"), message("bad", msgtime=msgtime)])
    summary = ingest(small, [path]).summary()
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    assert reason in rejects(small)[0]["reason"]
    assert lake.dates(small.messages_dir) == ["2026-11-16"]


# Reused msgids across runs: (case, second run's record, outcome, stored text)
REUSED = [
    ("identical-same-date", message("m1"), "duplicate", "你好"),
    ("identical-other-key-order", dict(reversed(list(message("m1").items()))), "duplicate", "你好"),
    ("served-again-under-a-new-seq", message("m1") | {"seq": 99}, "duplicate", "你好"),
    ("other-content-same-date", message("m1", text={"content": "改过的"}), "rejected", "你好"),
    ("other-content-other-date", message("m1", msgtime=BASE_MS + 3 * DAY_MS), "rejected", "你好"),
]


@pytest.mark.parametrize(("case", "record", "outcome", "text"), REUSED, ids=[c[0] for c in REUSED])
def test_a_reused_msgid_across_runs_is_a_duplicate_or_a_conflict(ws, tmp_path, case, record, outcome, text):
    ingest(ws, [write_jsonl(tmp_path / "run1.jsonl", [message("m1"), message("m2")])])
    summary = ingest(ws, [write_jsonl(tmp_path / "run2.jsonl", [record])]).summary()
    assert summary[{"duplicate": "duplicates", "rejected": "rejected"}[outcome]] == 1
    assert lake_msgids(ws) == ["m1", "m2"]  # never a second row
    rows = lake.read_partition(ws.messages_dir, "2026-11-16", lake.MESSAGE_SCHEMA).to_pylist()
    assert {r["msgid"]: r["text"] for r in rows}["m1"] == text
    if outcome == "rejected":
        [entry] = [
            json.loads(line) for p in ws.rejects_dir.glob("*.jsonl") for line in p.read_text().splitlines()
        ]
        assert "conflicting record reuses msgid 'm1'" in entry["reason"]
        assert "run1.jsonl:1" in entry["reason"]
        assert json.loads(base64.b64decode(entry["raw_base64"])) == record  # the new content is kept


def _lake_sources(ws: Workspace) -> dict[str, str]:
    """msgid → source of every message in the lake."""
    out = {}
    for date in lake.dates(ws.messages_dir):
        table = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid", "source"])
        out.update(zip(table.column("msgid").to_pylist(), table.column("source").to_pylist(), strict=True))
    return out


def _assert_index_matches_the_lake(ws: Workspace) -> None:
    """Opened, the index finds every msgid of the lake where it is and nothing else, and its folder
    holds exactly what index.json names."""
    expected = _lake_sources(ws)
    index = MsgidIndex(ws.msgid_index_path, ws.messages_dir)
    try:
        found = index.get_many([*expected, "absent"])
        assert {msgid: entry.source for msgid, entry in found.items()} == expected
    finally:
        index.close()
    manifest = json.loads((ws.msgid_index_path / msgindex.MANIFEST).read_text())
    named = {msgindex.MANIFEST, *(name for name, _ in manifest["runs"])}
    assert {p.name for p in ws.msgid_index_path.iterdir()} == named
    assert sorted(name for name, _ in manifest["files"]) == sorted(
        f"{p.parent.name}/{p.name}" for p in ws.messages_dir.rglob("*.parquet")
    )


def _runs(ws: Workspace) -> list[Path]:
    return sorted(ws.msgid_index_path.glob("run-*.bin"))


def _damage_manifest(ws: Workspace, change) -> None:
    path = ws.msgid_index_path / msgindex.MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _unsort(ws: Workspace) -> None:
    run = max(_runs(ws), key=lambda p: p.stat().st_size)
    data = bytearray(run.read_bytes())
    data[0:8], data[8:16] = data[8:16], data[0:8]  # two hashes swapped: still whole, no longer sorted
    run.write_bytes(bytes(data))


def _owner_out_of_range(ws: Workspace) -> None:
    run = max(_runs(ws), key=lambda p: p.stat().st_size)
    run.write_bytes(run.read_bytes()[:-4] + (999).to_bytes(4, "little"))  # the last entry's file number


def _old_layout(ws: Workspace) -> None:
    """The layout before runs: one .npy of hashes per lake file, no index.json."""
    shutil.rmtree(ws.msgid_index_path)
    ws.msgid_index_path.mkdir()
    for path in ws.messages_dir.rglob("*.parquet"):
        np.save(ws.msgid_index_path / f"{path.parent.name}__{path.stem}.npy", np.arange(3, dtype="<u8"))


INDEX_DAMAGE = {
    "folder deleted": lambda ws: shutil.rmtree(ws.msgid_index_path),
    "index.json missing (killed before its first write)": lambda ws: (
        ws.msgid_index_path / msgindex.MANIFEST
    ).unlink(),
    "index.json not JSON": lambda ws: (ws.msgid_index_path / msgindex.MANIFEST).write_bytes(b"\x00{" * 50),
    "index.json of another layout": lambda ws: _damage_manifest(ws, lambda m: m.update(layout=1)),
    "index.json lacks the last lake file (killed before naming it)": lambda ws: _damage_manifest(
        ws, lambda m: m.update(files=m["files"][:-1])
    ),
    "a run missing": lambda ws: _runs(ws)[0].unlink(),
    "a run truncated": lambda ws: _runs(ws)[0].write_bytes(_runs(ws)[0].read_bytes()[:-4]),
    "a run unsorted": _unsort,
    "a run naming a file not indexed": _owner_out_of_range,
    "a lake file gone": lambda ws: next(ws.messages_dir.rglob("*.parquet")).unlink(),
    "a lake file of another row count": lambda ws: _damage_manifest(
        ws, lambda m: m["files"][0].__setitem__(1, m["files"][0][1] + 1)
    ),
    "an unnamed run and a temporary left by a killed write": lambda ws: [
        (ws.msgid_index_path / "run-99999999.bin").write_bytes(b"\x01" * 12),
        (ws.msgid_index_path / ".tmp-run-00000009.bin-x").write_bytes(b"partial"),
    ],
    "the layout before runs (one .npy per lake file)": _old_layout,
}


@pytest.mark.parametrize("damage", INDEX_DAMAGE.values(), ids=INDEX_DAMAGE.keys())
def test_a_damaged_or_stale_msgid_index_is_detected_and_rebuilt_from_the_lake(ws, tmp_path, damage):
    ingest(ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1"), message("m2", msgtime=BASE_MS + DAY_MS)])])
    ingest(ws, [write_jsonl(tmp_path / "b.jsonl", [message(f"n{i}", msgtime=BASE_MS + i) for i in range(5)])])
    damage(ws)
    _assert_index_matches_the_lake(ws)
    # And ingest decides by it: m2 again on another date is a conflict with the lake, not a new row.
    summary = ingest(ws, [write_jsonl(tmp_path / "c.jsonl", [message("m2", msgtime=BASE_MS + 2 * DAY_MS)])])
    assert summary.summary()["rejected"] == int("m2" in _lake_sources(ws))
    _assert_index_matches_the_lake(ws)


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=12),
    step=st.integers(1, 16),
    window=st.integers(1, 16),
    resident=st.sampled_from([0, 1 << 20]),
)
@example(sizes=[15, 7, 3, 1], step=1, window=1, resident=0)  # each file under half the run before: none merge
def test_runs_merged_a_step_at_a_time_find_what_a_dict_finds(tmp_path_factory, sizes, step, window, resident):
    """Lake files of any sizes, added one by one (merging runs a few hashes per step, searching
    them a few hashes per window, giving pages back or not): the index finds each msgid in its
    file, then the same after reopening."""
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    ws.init()
    expected: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(msgindex, "STEP", step)
        patch.setattr(msgindex, "WINDOW", window)
        patch.setattr(msgindex, "RESIDENT_BYTES", resident)
        index = MsgidIndex(ws.msgid_index_path, ws.messages_dir)
        for number, size in enumerate(sizes):
            msgids = [f"f{number}-m{i}" for i in range(size)]
            path = ws.messages_dir / "date=2026-11-16" / f"part-{number:03d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(
                pa.table(
                    {
                        "msgid": msgids,
                        "raw": ["{}"] * size,
                        "source": [f"{path.name}:{i}" for i in range(size)],
                    }
                ),
                path,
            )
            index.add(path, msgindex.msgid_hashes(msgids))
            expected.update(dict.fromkeys(msgids, path.name))
            # merged as they come: each run less than half the one before it, so at most
            # log2(entries) + 1 runs (sizes halving as they come, 15 7 3 1, stay four runs)
            assert len(index.runs) <= len(expected).bit_length()
        for reopened in (False, True):
            if reopened:
                index.close()
                index = MsgidIndex(ws.msgid_index_path, ws.messages_dir)
            found = index.get_many([*expected, "absent"])
            assert {msgid: entry.file for msgid, entry in found.items()} == expected
        index.close()


def _reference_lines(data: bytes, cap: int) -> list[tuple[int, bytes | tuple[int, str]]]:
    out = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line:
            continue
        if len(line) > cap:
            out.append((number, (len(line), hashlib.sha256(line).hexdigest())))
        else:
            out.append((number, line.removesuffix(b"\r")))
    return out


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"\n", b"\r\n", b"a", b"bc", b"{}", b"x" * 9, b"\n\n\n"]), max_size=60
    ).map(b"".join),
    chunk=st.integers(1, 12),
    cap=st.integers(1, 20),
)
def test_iter_lines_agrees_with_split_whatever_the_chunking(data, chunk, cap):
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    got = [
        (n, (line.length, line.sha256) if isinstance(line, OverlongLine) else line)
        for n, line in iter_lines(chunks, cap)
    ]
    assert got == _reference_lines(data, cap)


def test_a_reused_msgid_within_one_file_is_judged_by_content(ws, tmp_path):
    reordered = dict(reversed(list(message("m1").items())))
    path = write_jsonl(
        tmp_path / "one.jsonl",
        [message("m1"), reordered, message("m1", text={"content": "别的"}), message("m2")],
    )
    summary = ingest(ws, [path]).summary()
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (2, 1, 1)
    [entry] = [
        json.loads(line) for p in ws.rejects_dir.glob("*.jsonl") for line in p.read_text().splitlines()
    ]
    assert entry["line"] == 3 and f"{path}:1" in entry["reason"]


@settings(max_examples=200, deadline=None)
@given(
    members=st.lists(st.binary(max_size=300).map(lambda b: b * 3), min_size=1, max_size=4),
    chunk=st.integers(1, 64),
    cut=st.one_of(st.none(), st.integers(1, 40)),
)
def test_gunzip_in_small_steps_yields_the_exact_bytes(tmp_path_factory, members, chunk, cut):
    """Whatever the step size (a bomb is inflated CHUNK bytes at a time), multi-member streams
    come out whole, and a cut stream yields a prefix of them, then says it is truncated."""
    from auditor.wecom import files

    compressed = [gzip.compress(m) for m in members]
    data = b"".join(compressed)
    kept = data[:-cut] if cut and cut < len(data) - 1 else data  # keep the 2-byte magic
    path = tmp_path_factory.mktemp("gz") / "x.jsonl.gz"
    path.write_bytes(kept)
    # a cut exactly between members leaves a shorter complete stream
    whole = {sum(map(len, compressed[:k])): b"".join(members[:k]) for k in range(len(members) + 1)}.get(
        len(kept)
    )
    out = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "CHUNK", chunk)
        try:
            for piece in files.iter_chunks(path):
                assert len(piece) <= chunk
                out.append(piece)
            truncated = False
        except files.TruncatedInput:
            truncated = True
    if whole is None:
        assert truncated and b"".join(members).startswith(b"".join(out))
    else:
        assert not truncated and b"".join(out) == whole


def test_an_index_in_the_old_sqlite_layout_is_removed_and_rebuilt_from_the_lake(ws, tmp_path):
    ingest(ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1")])])
    shutil.rmtree(ws.msgid_index_path)
    old = sqlite3.connect(ws.state_dir / "msgids.sqlite")
    old.executescript(
        "CREATE TABLE msgids (msgid TEXT PRIMARY KEY, digest BLOB NOT NULL, date TEXT NOT NULL,"
        " source TEXT NOT NULL) WITHOUT ROWID; CREATE TABLE files (name TEXT PRIMARY KEY) WITHOUT ROWID;"
        "INSERT INTO msgids VALUES ('stale', x'00', '2026-01-01', 'gone.jsonl:1');"
    )
    old.commit()
    old.close()
    index = MsgidIndex(ws.msgid_index_path, ws.messages_dir)
    found = index.get_many(["m1", "stale"])
    index.close()
    assert list(found) == ["m1"]
    assert found["m1"].source == f"{tmp_path / 'a.jsonl'}:1"
    assert not (ws.state_dir / "msgids.sqlite").exists()


def _blake2b_hashes(msgids) -> np.ndarray:
    """Layout 2's msgid hash, for an index made by another hash than this version's."""
    msgids = msgids if isinstance(msgids, list) else msgids.to_pylist()
    digests = b"".join(hashlib.blake2b(m.encode(), digest_size=8).digest() for m in msgids)
    return np.frombuffer(digests, dtype="<u8")


def test_an_index_of_another_msgid_hash_is_rebuilt_not_trusted(ws, tmp_path, monkeypatch):
    """Runs hold hashes, and a hash from another function finds nothing: an index that says it is
    of this layout but was hashed otherwise (another pandas one day, another key) would let every
    record of the lake in again as new. Its probe tells it apart, and it is rebuilt."""
    first = [message(f"m{i}", msgtime=BASE_MS + i) for i in range(5)]
    with monkeypatch.context() as patch:
        patch.setattr(msgindex, "msgid_hashes", _blake2b_hashes)
        ingest(ws, [write_jsonl(tmp_path / "a.jsonl", first)])
    summary = ingest(ws, [write_jsonl(tmp_path / "b.jsonl", first)]).summary()
    assert (summary["accepted"], summary["duplicates"]) == (0, 5)
    assert len(pq.read_table(ws.messages_dir).column("msgid")) == 5
    _assert_index_matches_the_lake(ws)


@pytest.mark.parametrize(
    "msgids",
    [["a"], ["CAQQluDa4QUY0On2rYSAgAMgip/yzgs=", "10958372969718811103_1603875609_external", "消息", ""]],
)
def test_msgid_hashes_are_pinned_and_the_same_from_a_list_or_an_arrow_column(msgids):
    """The hashes are persisted: this version's must not drift (index.json's probe rebuilds an index
    if they ever do, at the cost of a rebuild), and decoding hashes Arrow columns where the other
    paths hash lists."""
    hashes = msgindex.msgid_hashes(msgids)
    assert hashes.dtype == np.dtype("<u8")
    assert hashes.tolist() == msgindex.msgid_hashes(pa.array(msgids)).tolist()
    assert hashes.tolist() == msgindex.msgid_hashes(pa.chunked_array([msgids[:1], msgids[1:]])).tolist()
    assert len(set(hashes.tolist())) == len(msgids)
    if msgids == ["a"]:
        assert hashes.tolist() == [10222969926465078819]


def test_a_full_disk_fails_the_lake_write_and_the_rerun_stores_everything(ws, tmp_path, monkeypatch):
    """The write runs in the writer thread; its error still ends the run, nothing half-written stays,
    the index holds nothing of it, and the file has no ledger."""
    path = write_jsonl(tmp_path / "a.jsonl", [message(f"m{i}", msgtime=BASE_MS + i) for i in range(5)])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lake.pq, "write_table", full)
    monkeypatch.setattr(lake.pq, "ParquetWriter", full)  # messages are written a row group at a time
    with pytest.raises(OSError, match="No space left"):
        ingest(ws, [path])
    assert not [p for p in ws.lake.rglob("*") if p.is_file() and "messages" in p.parts]
    assert not list(ws.files_dir.glob("*"))  # no ledger, no temporary
    monkeypatch.undo()
    summary = ingest(ws, [path]).summary()
    assert (summary["records"], summary["accepted"], summary["duplicates"]) == (5, 5, 0)
    assert [p.name for p in ws.files_dir.iterdir()] == [f"{summary['by_file'][0]['sha256']}.json"]
    stored = lake.read_partition(ws.messages_dir, "2026-11-16", lake.MESSAGE_SCHEMA, ["msgid"])
    assert sorted(stored.column("msgid").to_pylist()) == [f"m{i}" for i in range(5)]


FUTURE_MS = 4_102_444_800_000  # 2100-01-01: every record rejected as dated after the run


def many_rejects(folder: Path, files: int, per_file: int) -> list[Path]:
    """Files of future-dated records (each rejected, each stored up to ingest.max_stored_rejects),
    one message accepted per file so the run also writes the lake."""
    return [
        write_jsonl(
            folder / f"f{f}.jsonl",
            [message(f"ok{f}")]
            + [
                message(f"x{f}-{i}", msgtime=FUTURE_MS, text={"content": f"明天 {i}"})
                for i in range(per_file)
            ],
        )
        for f in range(files)
    ]


def test_rejects_stream_through_a_bounded_buffer_into_the_same_file(tmp_path, monkeypatch):
    """Memory holds at most REJECT_BUFFER_LINES stored rejects, whatever the run rejects; the file
    (name and bytes, input order, count lines) does not depend on the buffer."""
    inputs = many_rejects(tmp_path / "in", files=3, per_file=1200)  # past the 1,000 stored per file
    held: list[int] = []
    add = ingest_module._Rejects.add

    def watched_add(self, record, reason):
        add(self, record, reason)
        held.append(len(self.buffer))

    monkeypatch.setattr(ingest_module._Rejects, "add", watched_add)
    results = {}
    for buffer_lines in (7, 10**9):
        monkeypatch.setattr(ingest_module, "REJECT_BUFFER_LINES", buffer_lines)
        held.clear()
        ws = Workspace(tmp_path / f"ws-{buffer_lines}")
        ws.init()
        summary = ingest(ws, inputs).summary()
        assert (summary["records"], summary["accepted"], summary["rejected"]) == (3603, 3, 3600)
        path = Path(summary["rejects_file"])
        results[buffer_lines] = (path.name, path.read_bytes(), max(held))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in ws.rejects_dir.iterdir()] == [path.name]  # no temporary left
    (name, data, most_held), (old_name, old_data, _) = results[7], results[10**9]
    assert most_held < 7 and (name, data) == (old_name, old_data)
    assert name == f"rejects-{hashlib.sha256(data).hexdigest()[:16]}.jsonl"
    entries = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    stored = [(e["file"], e["line"]) for e in entries if "line" in e]
    assert stored == [(str(p), line) for p in inputs for line in range(2, 1002)]  # input order
    assert [e["omitted"] for e in entries if "omitted" in e] == [200, 200, 200]


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_a_killed_ingest_leaves_no_final_named_rejects_file(ws, tmp_path, signal_name):
    """Killed while rejects stream out: no rejects-<hash>.jsonl holds a part (SIGKILL leaves a hidden
    temporary, SIGTERM not even that); the next run clears the temporary and stores the whole file."""
    inputs = many_rejects(tmp_path / "in", files=2, per_file=700)
    env = {k: v for k, v in os.environ.items() if k != "AUDITOR_FAILPOINT"}
    command = [sys.executable, "-m", "auditor", "-w", str(ws.root), "ingest", *map(str, inputs)]
    killed = subprocess.run(
        command, env=env | {"AUDITOR_FAILPOINT": f"ingest-rejects-flushed:{signal_name}"}, capture_output=True
    )
    assert killed.returncode == (-9 if signal_name == "SIGKILL" else 143), killed.stderr
    left = [p.name for p in ws.rejects_dir.iterdir()]
    assert not [name for name in left if name.startswith("rejects-")]
    assert all(name.startswith(".tmp-rejects-") for name in left) and len(left) == (signal_name == "SIGKILL")

    rerun = subprocess.run(command, env=env, capture_output=True)
    assert rerun.returncode == 65, rerun.stderr  # rejected records: input needs attention
    clean = Workspace(tmp_path / "clean")
    clean.init()
    expected = Path(ingest(clean, inputs).rejects_file)
    assert [p.name for p in ws.rejects_dir.iterdir()] == [expected.name]
    assert (ws.rejects_dir / expected.name).read_bytes() == expected.read_bytes()


def test_a_full_disk_while_rejects_stream_leaves_no_rejects_and_the_rerun_stores_them(
    ws, tmp_path, monkeypatch
):
    inputs = many_rejects(tmp_path / "in", files=1, per_file=600)
    fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

    monkeypatch.setattr(ingest_module.os, "fdopen", lambda *args, **kwargs: FullDisk(fdopen(*args, **kwargs)))
    with pytest.raises(OSError, match="No space left"):
        ingest(ws, inputs)
    assert list(ws.rejects_dir.iterdir()) == []
    monkeypatch.undo()
    summary = ingest(ws, inputs).summary()
    assert (summary["records"], summary["rejected"]) == (601, 600)
    assert len(rejects(ws)) == 600


def test_a_file_mixing_repeats_of_stored_records_with_new_and_conflicting_ones(ws, tmp_path):
    """Byte-identical repeats of stored records are decided in bulk, the rest one by one: the counts,
    the rejects (in input order) and the lake are what deciding each record in turn gives."""
    ingest(ws, [write_jsonl(tmp_path / "run1.jsonl", [message(f"m{i}") for i in range(6)])])
    second = [
        message("m0"),  # the same bytes: a duplicate
        message("m1", text={"content": "改过的"}),  # other content: a conflict
        message("new"),  # accepted
        dict(reversed(list(message("m2").items()))),  # other bytes, the same record: a duplicate
        message("m3"),
        message("m3"),  # twice in the file, both repeats of the stored one
        message("m4", msgtime=BASE_MS + 3 * DAY_MS),  # other content, another date: a conflict
        message("new"),  # repeats the new record of this file
    ]
    summary = ingest(ws, [write_jsonl(tmp_path / "run2.jsonl", second)]).summary()
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (1, 5, 2)
    assert lake_msgids(ws) == sorted(["new", *(f"m{i}" for i in range(6))])
    reasons = [
        json.loads(line)["reason"]
        for p in ws.rejects_dir.glob("*.jsonl")
        for line in p.read_text().splitlines()
    ]
    assert [r.split("'")[1] for r in reasons] == ["m1", "m4"]  # in input order
