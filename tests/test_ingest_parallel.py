"""Ingest with its decoding in a process pool (and large JSONL files in line spans) against ingest
decoding in its own process: the same lake bytes, file ledgers, rejects and reconciliation, on the
sample and on tricky inputs; line spans read exactly the lines of the whole file."""

from __future__ import annotations

import gzip
import itertools
import json
import pickle
import tempfile
import time
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from auditor import ingest as ingest_module
from auditor.ingest import _Decoder, ingest, limits_of
from auditor.ingest_decode import decode_file, open_and_decode
from auditor.sample import generate
from auditor.wecom import files as files_module
from auditor.wecom.files import GZIP_MAGIC, Limits, line_spans, read_records
from auditor.wecom.messages import RecordError
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl


def _serial(monkeypatch) -> None:
    monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 1 << 62)


def _parallel(monkeypatch) -> None:
    """The pool for any input, spans of a few hundred bytes, few files ahead."""
    monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(ingest_module, "SPAN_BYTES", 300)
    monkeypatch.setattr(ingest_module, "DECODE_AHEAD", 2)
    monkeypatch.setattr(ingest_module.os, "cpu_count", lambda: 2)


def _state(ws: Workspace) -> dict[str, bytes]:
    """Every lake file, file ledger and reject file, by path."""
    found = sorted([*ws.lake.rglob("*"), *ws.rejects_dir.glob("*")])
    return {str(p.relative_to(ws.root)): p.read_bytes() for p in found if p.is_file()}


@pytest.fixture
def fresh_ws_factory(tmp_path, runner):
    from auditor.cli import cli

    def make(name: str) -> Path:
        root = tmp_path / name
        assert runner.invoke(cli, ["-w", str(root), "init"]).exit_code == 0
        return root

    return make


def _both(fresh_ws_factory, inputs: list[Path], monkeypatch, *, spans: bool, tune=lambda patch: None) -> list:
    serial = _run_in(fresh_ws_factory("serial"), inputs, monkeypatch, _serial)
    pools, split = [], []
    with monkeypatch.context() as patch:  # the parallel run really uses a pool (and spans)
        real_pool, real_spans = ingest_module.decode_pool, ingest_module.line_spans
        patch.setattr(ingest_module, "decode_pool", lambda n: pools.append(n) or real_pool(n))
        patch.setattr(ingest_module, "line_spans", lambda *a: split.append(a) or real_spans(*a))
        parallel = _run_in(
            fresh_ws_factory("parallel"), inputs, monkeypatch, lambda p: _parallel(p) or tune(p)
        )
    assert pools == [2, 2] and bool(split) == spans
    assert parallel == serial
    return serial


def _run_in(root: Path, inputs: list[Path], monkeypatch, mode) -> list:
    ws = Workspace(root)
    out = []
    with monkeypatch.context() as patch:
        mode(patch)
        for _ in range(2):
            summary = ingest(ws, inputs).summary()
            summary.pop("rejects_file")
            out.append((summary, _state(ws)))
    assert not list(ws.state_dir.rglob(".tmp-*")), "spilled tables are removed"
    return out


def test_the_sample_ingests_the_same_with_the_pool(fresh_ws_factory, tmp_path, monkeypatch):
    generate(tmp_path / "s", messages=3000, groups=4, days=3, seed=7, realism="real")
    (first, _), (again, _) = _both(fresh_ws_factory, [tmp_path / "s" / "exports"], monkeypatch, spans=True)
    assert first["records"] == first["accepted"] + first["duplicates"] + first["rejected"] > 3000
    assert again["duplicates"] == again["records"] - again["rejected"]


def test_tricky_inputs_ingest_the_same_with_the_pool(fresh_ws_factory, tmp_path, monkeypatch):
    inbox = tmp_path / "in"
    lines = [message(f"a{i}", msgtime=BASE_MS + i * 997_000, seq=i) for i in range(40)]
    lines[5] = message("a4", msgtime=BASE_MS + 5)  # same msgid, other content: a conflict
    lines[6] = dict(lines[3])  # a duplicate within the file
    lines.insert(20, message("r1", msgtype="revoke", payload={"pre_msgid": "a1"}))  # not the common shape
    lines.insert(30, message("f1", msgtype="file", payload={"filename": "合同.xlsx"}))
    big = write_jsonl(inbox / "a.jsonl", lines)
    with big.open("ab") as handle:  # rejects among the spans: bad JSON, bad UTF-8, an over-long line
        handle.write(b'{"msgid": "x"\n\xff\xfe\n' + b'{"pad": "' + b"x" * 3000 + b'"}\n\n')
        handle.write(json.dumps(message("a39", msgtime=BASE_MS + 39 * 997_000, seq=39)).encode() + b"\n")
    bom = inbox / "b.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(message("b1")).encode() + b"\r\n")
    with gzip.open(inbox / "c.jsonl.gz", "wt", encoding="utf-8") as handle:  # duplicates across files
        for record in [message("a1", msgtime=BASE_MS + 997_000, seq=1), message("c1"), message("b1")]:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    batch = {"errcode": 0, "errmsg": "ok", "chatdata": [message("d1", seq=7), message("a2", msgtime=1.5)]}
    (inbox / "d.json").write_text(json.dumps(batch), encoding="utf-8")
    (inbox / "e.jsonl").write_text("")  # empty
    (inbox / "groups.json").write_text(json.dumps([{"roomid": "wr001", "name": "群"}]), encoding="utf-8")
    (first, state), _ = _both(fresh_ws_factory, [inbox], monkeypatch, spans=True)
    by_file = {Path(f["path"]).name: f for f in first["by_file"]}
    assert by_file["a.jsonl"]["rejected"] == 4 and by_file["a.jsonl"]["duplicates"] == 2
    assert by_file["c.jsonl.gz"]["duplicates"] == 2 and by_file["e.jsonl"]["note"] == "empty file: no records"
    for report in first["by_file"]:
        assert report["records"] == report["accepted"] + report["duplicates"] + report["rejected"]
    rejects = [
        json.loads(line)
        for name, data in state.items()
        if name.startswith("rejects/")
        for line in data.splitlines()
    ]
    assert [(Path(r["file"]).name, r["line"]) for r in rejects] == [
        ("a.jsonl", 6),
        ("a.jsonl", 43),
        ("a.jsonl", 44),
        ("a.jsonl", 45),
        ("d.json", 2),
    ]


def test_a_small_input_is_decoded_without_a_pool(ws, tmp_path):
    small = write_jsonl(tmp_path / "x.jsonl", [message("m1")])
    decoder = _Decoder(ws, [small], limits_of(ws), BASE_MS)
    try:
        assert not decoder.parallel and decoder.pool_start is None  # no workers started
        opened, parts = decoder.next()
        parts = list(parts)
        assert opened.status == "ingested" and parts[0].records == 1
    finally:
        decoder.close()


_line = st.one_of(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), st.just(b""), st.just(b"\r"))


@settings(max_examples=200, deadline=None)
@example(lines=[b"", b"", b"\0" * 19], newline_at_end=False, piece=1, chunk=3)  # an over-long line's preview
@given(
    lines=st.lists(_line, max_size=40),
    newline_at_end=st.booleans(),
    piece=st.integers(1, 200),
    chunk=st.integers(1, 64),
)
def test_line_spans_read_exactly_the_lines_of_the_whole_file(lines, newline_at_end, piece, chunk):
    data = b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    assume(not data.startswith(GZIP_MAGIC))  # spans are for plain files only
    limits = Limits(16, 1 << 20, 1 << 20, 1000)  # some lines over the record cap
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "f.jsonl")
        path.write_bytes(data)
        original = files_module.CHUNK
        files_module.CHUNK = chunk
        try:
            spans = line_spans(path, piece)
            whole = list(read_records(path, limits, "f", decode=False))
            parts = [r for span in spans for r in read_records(path, limits, "f", decode=False, span=span)]
        finally:
            files_module.CHUNK = original
    assert parts == whole
    assert [s.start for s in spans[:1]] in ([], [0])
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))
    assert (spans[-1].end if spans else 0) == len(data)


def test_a_failure_while_deciding_a_span_leaves_no_spilled_tables(ws, tmp_path, monkeypatch):
    """Spans are decided as they come: one failing leaves the file's other spans decoded, not decided;
    their spilled tables are removed all the same, and nothing reaches the lake."""
    lines = [message(f"a{i}", msgtime=BASE_MS + i * 997_000, seq=i) for i in range(40)]
    big = write_jsonl(tmp_path / "in" / "a.jsonl", lines)
    _parallel(monkeypatch)
    real_offer = ingest_module._MessageSink.offer_file

    def offer_then_fail(self, part, tally, rejects):
        real_offer(self, part, tally, rejects)
        raise OSError("disk gone")

    monkeypatch.setattr(ingest_module._MessageSink, "offer_file", offer_then_fail)
    with pytest.raises(OSError, match="disk gone"):
        ingest(ws, [big])
    assert not list(ws.state_dir.rglob(".tmp-*")), "spilled tables are removed"
    assert not list(ws.messages_dir.rglob("*.parquet"))


def test_a_file_unreadable_once_its_spans_decode_is_skipped_and_leaves_nothing(ws, tmp_path, monkeypatch):
    """A large file's spans are sent to the workers before it is hashed; when hashing finds it
    unreadable (removed, or its permissions changed, in between), it is skipped like any unreadable
    file: what its spans decoded is removed, and the next file is read as usual."""
    big = write_jsonl(tmp_path / "in" / "a.jsonl", [message(f"a{i}", seq=i) for i in range(40)])
    other = write_jsonl(tmp_path / "in" / "b.jsonl", [message("b1")])
    _parallel(monkeypatch)
    real_open = ingest_module.open_file

    def unreadable_a(path, limits):
        if path.name == "a.jsonl":
            return ingest_module.OpenedFile(status="skipped", note="unreadable: gone: skipped")
        return real_open(path, limits)

    monkeypatch.setattr(ingest_module, "open_file", unreadable_a)
    summary = ingest(ws, [big, other]).summary()
    by_file = {Path(f["path"]).name: f for f in summary["by_file"]}
    assert by_file["a.jsonl"]["status"] == "skipped" and by_file["a.jsonl"]["records"] == 0
    assert by_file["b.jsonl"]["accepted"] == 1 and summary["accepted"] == 1
    assert not list(ws.state_dir.rglob(".tmp-*")), "the spans' spilled tables are removed"


def test_a_large_file_that_cannot_be_cut_is_started_first(ws, tmp_path, monkeypatch):
    """One worker alone decodes it: started behind the others, it would end last while the rest wait."""
    _parallel(monkeypatch)
    monkeypatch.setattr(ingest_module, "DECODE_AHEAD", 8)
    lines = [message(f"m{i}", msgtime=BASE_MS + i) for i in range(30)]
    plain = write_jsonl(tmp_path / "in" / "a.jsonl", lines)  # cut into spans
    with gzip.open(tmp_path / "in" / "b.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(m) + "\n" for m in lines) + " " * 3000)  # large, not cut
    small = write_jsonl(tmp_path / "in" / "c.jsonl", lines[:1])
    big_gzip = tmp_path / "in" / "b.jsonl.gz"
    assert big_gzip.stat().st_size >= ingest_module.SPAN_BYTES

    class Recorder:
        def __init__(self) -> None:
            self.started: list[str] = []

        def submit(self, function, path, *args):  # a whole file's task has a list of (path, name)
            self.started += [Path(p).name for p, _ in path] if isinstance(path, list) else [Path(path).name]
            return Future()

    class Started:  # a PoolStart whose pool is the recorder
        def __init__(self, done: bool) -> None:
            self.done = done

        def started(self) -> bool:
            return self.done

        def pool(self):
            return recorder

    recorder = Recorder()
    decoder = _Decoder(ws, [plain, big_gzip, small], limits_of(ws), BASE_MS)
    decoder.pool_start.shutdown()
    decoder.pool_start = Started(True)
    decoder._fill()
    assert recorder.started[0] == "b.jsonl.gz" and recorder.started[-1] == "c.jsonl"
    assert recorder.started[1:-1] == ["a.jsonl"] * (len(recorder.started) - 2) and len(recorder.started) > 3
    # decided in input order all the same
    assert [size for _, _, size in decoder.ahead] == [p.stat().st_size for p in (plain, big_gzip, small)]
    decoder.ahead.clear()

    # While the workers are still starting, the file cut into spans is hashed first, then sent.
    events: list[tuple[str, str]] = []
    real_open_file = ingest_module.open_file

    def hashing(path, limits):
        events.append(("hash", Path(path).name))
        return real_open_file(path, limits)

    monkeypatch.setattr(ingest_module, "open_file", hashing)
    recorder.started.clear()
    starting = _Decoder(ws, [plain, big_gzip, small], limits_of(ws), BASE_MS)
    starting.pool_start.shutdown()
    starting.pool_start = Started(False)
    recorder.submit = lambda function, path, *args: (
        events.append(("send", Path(path[0][0] if isinstance(path, list) else path).name)) or Future()
    )
    starting._fill()
    assert events[0] == ("hash", "a.jsonl") and events.count(("hash", "a.jsonl")) == 1
    assert events[1] == ("send", "b.jsonl.gz") and ("send", "a.jsonl") in events
    assert starting.pool is recorder
    starting.ahead.clear()


FUTURE_MS = 4_102_444_800_000  # 2100-01-01: rejected as dated after the run


def test_the_not_decoded_sentinel_survives_pickling():
    """A decoding worker's records cross to the main process pickled: still ``is NOT_DECODED``."""
    record = files_module.RawRecord("f.jsonl", 3, b"{}", files_module.NOT_DECODED)
    for value in (files_module.NOT_DECODED, record):
        again = pickle.loads(pickle.dumps(value))
        assert again == value
    assert pickle.loads(pickle.dumps(record)).value is files_module.NOT_DECODED
    assert repr(files_module.NOT_DECODED) == "NOT_DECODED"


def _mostly_future(path: Path, records: int) -> Path:
    """Future-dated records (all rejected) with a few good ones, a revoke (not the common shape),
    a conflict and bad JSON among them: every way a record can be decided, in one file."""
    lines: list = [message(f"x{i}", msgtime=FUTURE_MS, seq=i) for i in range(records)]
    for at in (0, 7, records // 2, records - 1):
        lines[at] = message(f"ok{at}", msgtime=BASE_MS + at, seq=at)
    lines[3] = message("r1", msgtype="revoke", payload={"pre_msgid": "ok0"})
    lines[records // 2 + 1] = message("ok0", msgtime=BASE_MS + 5)  # other content under ok0: a conflict
    write_jsonl(path, lines)
    with path.open("ab") as handle:
        handle.write(b'{"msgid": "bad"\n' + json.dumps(message("last", seq=records)).encode() + b"\n")
    return path


@pytest.mark.parametrize("stored", [1, 4, 1000])
def test_a_decoder_keeps_only_the_rejects_the_log_stores(tmp_path, stored):
    """Past ``stored_rejects`` a decoder only counts rejects; the records it keeps (rows and the
    stored rejects) come back in input order, NOT_DECODED (no decoded JSON held)."""
    path = _mostly_future(tmp_path / "f.jsonl", 60)
    limits = Limits(1 << 20, 1 << 24, 1 << 24, stored)
    whole = decode_file(path, "f", limits, BASE_MS + 10**9, "Asia/Shanghai")
    everything = decode_file(path, "f", Limits(1 << 20, 1 << 24, 1 << 24, 10**9), BASE_MS + 10**9, "UTC")
    rejected = [(r.line, str(e)) for r, e in everything.in_order(range(0)) if isinstance(e, RecordError)]
    assert len(rejected) == 55 and everything.omitted_rejects == 0  # 54 future-dated, bad JSON
    kept = list(whole.in_order(list(range(whole.table.num_rows))))
    assert whole.records == 62 and whole.omitted_rejects == 55 - min(stored, 55)
    assert [(r.line, str(e)) for r, e in kept if isinstance(e, RecordError)] == rejected[:stored]
    lines = [r.line for r, _ in kept]
    assert lines == sorted(lines) and {1, 4, 8, 31, 32, 60, 62} <= set(lines)  # rows, revoke, conflict, last
    assert all(r.value is files_module.NOT_DECODED for r, _ in kept)


def test_a_file_of_rejects_keeps_its_reject_log_through_the_pool(fresh_ws_factory, tmp_path, monkeypatch):
    """A file nearly all rejects, decoded in spans by the pool: the stored rejects, the omitted
    count and the reconciliation equal the serial run's, and a run whose decoders keep every
    reject (the old way) stores the very same reject log."""
    inputs = [_mostly_future(tmp_path / "in" / "f.jsonl", 300)]

    def capped(root: Path) -> Path:
        (root / "auditor.toml").write_text(
            (root / "auditor.toml")
            .read_text(encoding="utf-8")
            .replace("max_stored_rejects = 1000", "max_stored_rejects = 7"),
            encoding="utf-8",
        )
        assert Workspace(root).config["ingest"]["max_stored_rejects"] == 7
        return root

    (first, state), _ = _both(lambda name: capped(fresh_ws_factory(name)), inputs, monkeypatch, spans=True)
    assert (first["records"], first["accepted"], first["rejected"]) == (302, 6, 296)
    stored = [d for n, d in state.items() if n.startswith("rejects/")]
    rejects = [json.loads(line) for data in stored for line in data.splitlines()]
    assert [r["line"] for r in rejects if "line" in r] == [2, 3, 5, 6, 7, 9, 10]
    assert [r["omitted"] for r in rejects if "omitted" in r] == [289]

    keep_all = capped(fresh_ws_factory("keep-all"))
    with monkeypatch.context() as patch:
        real_limits = ingest_module.limits_of
        patch.setattr(ingest_module, "limits_of", lambda ws: replace(real_limits(ws), stored_rejects=10**9))
        old_way = _run_in(keep_all, inputs, monkeypatch, _parallel)
    assert old_way[0] == (first, state)


def test_a_large_file_waits_for_the_write_in_flight_and_the_lake_is_the_same(tmp_path, monkeypatch):
    """With the writes flushed every few records, a file whose rows and the write in flight exceed
    OVERLAP_RECORDS is decided only once that write is done, and the lake is the same either way."""
    generate(tmp_path / "s", messages=1500, groups=3, days=3, seed=3, realism="real")
    monkeypatch.setattr(ingest_module, "FLUSH_RECORDS", 50)
    states, overlapped = {}, {}
    offer = ingest_module._MessageSink.offer_file
    for limit in (0, 10**9):
        monkeypatch.setattr(ingest_module, "OVERLAP_RECORDS", limit)
        seen: list[bool] = []

        def watched(self, part, tally, rejects, seen=seen):
            seen.append(self.writing is not None)
            offer(self, part, tally, rejects)

        monkeypatch.setattr(ingest_module._MessageSink, "offer_file", watched)
        ws = Workspace(tmp_path / f"ws-{limit}")
        ws.init()
        summary = ingest(ws, [tmp_path / "s" / "exports"]).summary()
        summary.pop("rejects_file")
        states[limit] = (summary, _state(ws))
        overlapped[limit] = seen
    assert states[0] == states[10**9]
    assert not any(overlapped[0]) and any(overlapped[10**9])


def _small_files(inbox: Path) -> list[Path]:
    """Small message files of every kind a run of them can hold: batches and JSONL with rows,
    rejects (more than a file's stored rejects), records of other shapes and bad bytes; an empty
    file, a document that is not UTF-8, and one over the document cap (quarantined)."""
    inbox.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(4):
        items = [message(f"d{n}-{i}", msgtime=BASE_MS + i, seq=i) for i in range(7)]
        items[2] = message(f"x{n}", msgtime=FUTURE_MS)  # rejected: dated after the run
        items[4] = message(f"r{n}", msgtype="revoke", payload={"pre_msgid": f"d{n}-1"})
        items[5] = message(f"y{n}", msgtime=FUTURE_MS)
        items[6] = {"msgid": f"z{n}"}  # rejected: fields missing
        path = inbox / f"batch-{n}.json"
        path.write_text(json.dumps({"errcode": 0, "chatdata": items}, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    jsonl = write_jsonl(inbox / "lines.jsonl", [message(f"j{i}", seq=i) for i in range(3)])
    with jsonl.open("ab") as handle:
        handle.write(b'{"msgid": "bad"\n\xff\n')
    (inbox / "empty.jsonl").write_text("")
    (inbox / "latin.json").write_bytes(b'{"errcode": 0, "chatdata": [{"msgid": "\xe9"}]}')
    (inbox / "huge.json").write_text(json.dumps([message(f"h{i}") for i in range(40)]), encoding="utf-8")
    return [*paths[:2], jsonl, inbox / "empty.jsonl", *paths[2:], inbox / "latin.json", inbox / "huge.json"]


def _comparable(result):
    opened, decoded = result
    if decoded is None:
        return opened, None
    decoded.unspill()
    others = [
        (position, record, str(row) if isinstance(row, RecordError) else row)
        for position, record, row in decoded.others
    ]
    return opened, (decoded.name, decoded.records, decoded.table.to_pylist(), others, decoded.omitted_rejects)


@pytest.mark.parametrize("stored", [1, 2, 1000])
def test_files_decoded_together_are_decoded_as_each_alone(tmp_path, stored):
    """A run of small files decoded in one task gives every file what decoding it alone gives:
    its records, rows, rejects (kept up to the stored number, per file) and opening; their tables
    travel in one spill, mapped once and removed."""
    paths = _small_files(tmp_path / "in")
    limits = Limits(1 << 20, 1 << 24, (tmp_path / "in" / "huge.json").stat().st_size - 1, stored)
    files = [(path, path.name) for path in paths]
    spill = tmp_path / "spill"
    together = open_and_decode(files, limits, BASE_MS + 10**9, "Asia/Shanghai", spill)
    assert len(list(spill.iterdir())) == 1  # one spill for the run
    alone = [open_and_decode([file], limits, BASE_MS + 10**9, "Asia/Shanghai")[0] for file in files]
    assert [_comparable(r) for r in together] == [_comparable(r) for r in alone]
    assert not list(spill.iterdir())
    statuses = [opened.status for opened, _ in together]
    assert statuses == ["ingested"] * 7 + ["quarantined"]
    batch = _comparable(together[0])[1]  # three rows of the common shape and the revoke's, in input order
    assert batch[1] == 7 and [row["msgid"] for row in batch[2]] == ["d0-0", "d0-1", "d0-3", "r0"]
    assert batch[4] == 3 - min(stored, 3)


def test_runs_of_small_files_ingest_the_same_through_one_task(fresh_ws_factory, tmp_path, monkeypatch):
    """The pool decodes a run of small files in one task; what reaches the lake, the ledgers and the
    reject log is what decoding them one by one stores."""
    _small_files(tmp_path / "in")
    runs: list[list[int]] = []
    real_runs = ingest_module._Decoder._runs

    def recorded(taken, whole):
        found = real_runs(taken, whole)
        runs.extend(found)
        return found

    monkeypatch.setattr(ingest_module._Decoder, "_runs", staticmethod(recorded))

    def whole_files_far_ahead(patch) -> None:
        patch.setattr(ingest_module, "SPAN_BYTES", 1 << 20)
        patch.setattr(ingest_module, "DECODE_AHEAD", 256)

    _both(fresh_ws_factory, [tmp_path / "in"], monkeypatch, spans=False, tune=whole_files_far_ahead)
    assert [len(run) for run in runs] == [8, 8]  # every file in one task, in each of the two ingests


def test_a_failure_before_a_run_is_decided_leaves_no_spilled_tables(ws, tmp_path, monkeypatch):
    """The files of a run share one spilled table: a failure while the file before them is decided
    (the run decoded, none of it decided yet) leaves none of it behind, and nothing reaches the lake."""
    inbox = tmp_path / "in"
    _small_files(inbox)
    with gzip.open(inbox / "a-first.jsonl.gz", "wt", encoding="utf-8") as handle:  # decoded alone, first
        handle.write(json.dumps(message("g1")) + "\n")
    _parallel(monkeypatch)
    monkeypatch.setattr(ingest_module, "SPAN_BYTES", 1 << 20)
    monkeypatch.setattr(ingest_module, "DECODE_AHEAD", 256)
    runs: list[list[int]] = []
    real_runs = ingest_module._Decoder._runs
    monkeypatch.setattr(
        ingest_module._Decoder, "_runs", staticmethod(lambda *a: runs.extend(found := real_runs(*a)) or found)
    )

    def fail_on_the_first(self, part, tally, rejects):
        time.sleep(0.5)  # the run's task ends meanwhile
        raise OSError("disk gone")

    monkeypatch.setattr(ingest_module._MessageSink, "offer_file", fail_on_the_first)
    with pytest.raises(OSError, match="disk gone"):
        ingest(ws, [inbox])
    assert [len(run) for run in runs] == [1, 8]  # the gzip file alone, then the run
    assert not list(ws.state_dir.rglob(".tmp-*")), "the run's spilled table is removed"
    assert not list(ws.messages_dir.rglob("*.parquet"))
