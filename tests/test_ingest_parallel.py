"""Ingest with its decoding in a process pool (and large JSONL files in line spans) against ingest
decoding in its own process: the same lake bytes, file ledgers, rejects and reconciliation, on the
sample and on tricky inputs; line spans read exactly the lines of the whole file."""

from __future__ import annotations

import gzip
import itertools
import json
import tempfile
from concurrent.futures import Future
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from auditor import ingest as ingest_module
from auditor.ingest import _Decoder, ingest, limits_of
from auditor.sample import generate
from auditor.wecom import files as files_module
from auditor.wecom.files import GZIP_MAGIC, Limits, line_spans, read_records
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


def _both(fresh_ws_factory, inputs: list[Path], monkeypatch, *, spans: bool) -> list:
    serial = _run_in(fresh_ws_factory("serial"), inputs, monkeypatch, _serial)
    pools, split = [], []
    with monkeypatch.context() as patch:  # the parallel run really uses a pool (and spans)
        real_pool, real_spans = ingest_module.decode_pool, ingest_module.line_spans
        patch.setattr(ingest_module, "decode_pool", lambda n: pools.append(n) or real_pool(n))
        patch.setattr(ingest_module, "line_spans", lambda *a: split.append(a) or real_spans(*a))
        parallel = _run_in(fresh_ws_factory("parallel"), inputs, monkeypatch, _parallel)
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
        assert decoder.pool is None
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
    limits = Limits(16, 1 << 20, 1 << 20)  # some lines over the record cap
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

        def submit(self, function, path, *args):
            self.started.append(Path(path).name)
            return Future()

    decoder = _Decoder(ws, [plain, big_gzip, small], limits_of(ws), BASE_MS)
    decoder.pool.shutdown()
    decoder.pool = recorder = Recorder()
    decoder._fill()
    assert recorder.started[0] == "b.jsonl.gz" and recorder.started[-1] == "c.jsonl"
    assert recorder.started[1:-1] == ["a.jsonl"] * (len(recorder.started) - 2) and len(recorder.started) > 3
    # decided in input order all the same
    assert [size for _, _, size in decoder.ahead] == [p.stat().st_size for p in (plain, big_gzip, small)]
    decoder.ahead.clear()
