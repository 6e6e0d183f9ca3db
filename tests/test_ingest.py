"""Ingest: reconciliation, deduplication, idempotency and every kind of bad input."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import lake
from auditor.errors import AuditorError
from auditor.ingest import ingest
from tests.factories import BASE_MS, message, write_jsonl


def lake_rows(ws) -> list[dict]:
    rows = []
    for date in lake.dates(ws.messages_dir):
        rows += lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA).to_pylist()
    return sorted(rows, key=lambda r: r["msgid"])


def lake_bytes(ws) -> dict[str, bytes]:
    return {str(p.relative_to(ws.lake)): p.read_bytes() for p in sorted(ws.lake.rglob("*.parquet"))}


def rejects(ws) -> list[dict]:
    out = []
    for path in sorted(ws.rejects_dir.glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return out


def assert_reconciles(summary: dict) -> None:
    assert summary["accepted"] + summary["duplicates"] + summary["rejected"] == summary["records"]


def test_jsonl_records_land_in_date_partitions(ws, tmp_path):
    late = BASE_MS + 86_400_000
    path = write_jsonl(tmp_path / "a.jsonl", [message("m1"), message("m2", msgtime=late)])
    summary = ingest(ws, [path]).summary()
    assert (summary["records"], summary["accepted"], summary["dates"]) == (2, 2, ["2026-11-16", "2026-11-17"])
    rows = lake_rows(ws)
    assert [r["msgid"] for r in rows] == ["m1", "m2"]
    assert rows[0]["text"] == "你好" and rows[0]["source"] == f"{path}:1"
    assert json.loads(rows[0]["raw"]) == message("m1")  # raw JSON is kept verbatim
    assert rows[0]["msgtime"].tzinfo is not None


def test_partition_date_is_local_time_not_utc(ws, tmp_path):
    # 2026-11-16 23:30 UTC is already 2026-11-17 in Shanghai
    utc_late = 1_794_872_000_000 + 1_800_000 - 34_200_000
    path = write_jsonl(tmp_path / "a.jsonl", [message("m1", msgtime=utc_late)])
    assert ingest(ws, [path]).dates == [lake.local_date(utc_late, ws.tz)]
    assert lake.local_date(1_794_875_400_000, ws.tz) == "2026-11-17"  # 2026-11-16T16:30Z


def test_getchatdata_batch_and_gzip(ws, tmp_path):
    batch = {
        "errcode": 0,
        "errmsg": "ok",
        "chatdata": [{**message("b1"), "seq": 1}, {**message("b2"), "seq": 2}],
    }
    (tmp_path / "batch.json").write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    gz = tmp_path / "day.jsonl.gz"
    gz.write_bytes(gzip.compress(json.dumps(message("g1")).encode() + b"\n"))
    batch_gz = tmp_path / "batch2.json.gz"
    batch_gz.write_bytes(gzip.compress(json.dumps({"errcode": 0, "chatdata": [message("g2")]}).encode()))
    summary = ingest(ws, [tmp_path]).summary()
    assert (summary["files"], summary["accepted"]) == (3, 4)
    assert {r["msgid"]: r["seq"] for r in lake_rows(ws)} == {"b1": 1, "b2": 2, "g1": None, "g2": None}


def test_reingest_changes_nothing(ws, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [message(f"m{i}") for i in range(20)])
    ingest(ws, [path])
    before = lake_bytes(ws)
    summary = ingest(ws, [path]).summary()
    assert (summary["accepted"], summary["duplicates"]) == (0, 20)
    assert lake_bytes(ws) == before


def test_renamed_file_with_overlap_only_adds_new_records(ws, tmp_path):
    ingest(ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1"), message("m2")])])
    summary = ingest(ws, [write_jsonl(tmp_path / "b.jsonl", [message("m2"), message("m3")])]).summary()
    assert (summary["accepted"], summary["duplicates"]) == (1, 1)
    assert [r["msgid"] for r in lake_rows(ws)] == ["m1", "m2", "m3"]


def test_duplicate_msgids_in_one_file(ws, tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl", [message("m1"), message("m1"), message("m1", text={"content": "改过"})]
    )
    summary = ingest(ws, [path]).summary()
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (1, 1, 1)
    assert "other content" in rejects(ws)[0]["reason"]
    assert len(lake_rows(ws)) == 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


GOOD = json.dumps(message("ok1"), ensure_ascii=False).encode()
BAD_INPUT_CASES = [
    ("malformed-json", "a.jsonl", GOOD + b'\n{"msgid": "x", \n', "malformed JSON"),
    ("non-object-line", "a.jsonl", GOOD + b"\n[1, 2, 3]\n", "must be a JSON object"),
    ("scalar-line", "a.jsonl", GOOD + b"\n42\n", "must be a JSON object"),
    (
        "missing-msgid",
        "a.jsonl",
        GOOD + b"\n" + json.dumps({k: v for k, v in message().items() if k != "msgid"}).encode() + b"\n",
        "missing field 'msgid'",
    ),
    (
        "wrong-field-type",
        "a.jsonl",
        GOOD + b"\n" + json.dumps(message("x", msgtime="yesterday")).encode() + b"\n",
        "'msgtime' must be an integer",
    ),
    ("invalid-utf8", "a.jsonl", GOOD + b'\n{"msgid": "x\xff\xfe"}\n', "not valid UTF-8"),
    (
        "gbk-encoded",
        "a.jsonl",
        GOOD
        + b"\n"
        + json.dumps(message("x", text={"content": "你好世界"}), ensure_ascii=False).encode("gbk")
        + b"\n",
        "GBK",
    ),
    (
        "huge-line",
        "a.jsonl",
        GOOD
        + b"\n"
        + json.dumps(message("x", text={"content": "啊" * 3_500_000}), ensure_ascii=False).encode()
        + b"\n",
        "over the limit",
    ),
    (
        "batch-errcode",
        "b.json",
        json.dumps({"errcode": 301, "errmsg": "bad", "chatdata": []}).encode(),
        "errcode 301",
    ),
    (
        "encrypted-batch",
        "b.json",
        json.dumps(
            {
                "errcode": 0,
                "chatdata": [
                    {
                        "seq": 1,
                        "msgid": "e1",
                        "publickey_ver": 1,
                        "encrypt_random_key": "k",
                        "encrypt_chat_msg": "c",
                    }
                ],
            }
        ).encode(),
        "still encrypted",
    ),
]


@pytest.mark.parametrize(
    ("name", "filename", "data", "reason"), BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES]
)
def test_bad_records_are_rejected_with_reason_and_raw_bytes(ws, tmp_path, name, filename, data, reason):
    ingest(ws, [write_jsonl(tmp_path / "first.jsonl", [message("keep")])])
    before = lake_bytes(ws)
    summary = ingest(ws, [_write(tmp_path / filename, data)]).summary()
    assert_reconciles(summary)
    assert summary["rejected"] == 1
    [entry] = rejects(ws)
    assert reason in entry["reason"]
    assert entry["file"].endswith(filename) and entry["line"] >= 1
    if name not in ("batch-errcode", "encrypted-batch"):
        assert base64.b64decode(entry["raw_base64"]) in data  # the exact bytes are kept
    for rel, content in before.items():  # nothing already stored is harmed
        assert (ws.lake / rel).read_bytes() == content


def test_truncated_gzip_keeps_complete_lines_and_rejects_the_rest(ws, tmp_path):
    lines = b"".join(
        json.dumps(message(f"m{i}", text={"content": "x" * 200})).encode() + b"\n" for i in range(500)
    )
    compressed = gzip.compress(lines)
    path = _write(tmp_path / "cut.jsonl.gz", compressed[: len(compressed) // 2])
    report = ingest(ws, [path])
    summary = report.summary()
    assert_reconciles(summary)
    assert summary["rejected"] == 1 and 0 < summary["accepted"] < 500
    assert "truncated" in rejects(ws)[0]["reason"]


def test_empty_file_is_noted_not_an_error(ws, tmp_path):
    report = ingest(ws, [_write(tmp_path / "empty.jsonl", b"")])
    assert report.summary()["records"] == 0
    assert "empty" in report.files[0].note


def test_blank_lines_and_bom_and_crlf_are_fine(ws, tmp_path):
    data = b"\xef\xbb\xbf" + GOOD + b"\r\n\r\n" + json.dumps(message("ok2")).encode() + b"\r\n"
    summary = ingest(ws, [_write(tmp_path / "a.jsonl", data)]).summary()
    assert (summary["records"], summary["accepted"]) == (2, 2)


def test_missing_path_is_a_usage_error(ws, tmp_path):
    with pytest.raises(AuditorError, match="no such file") as info:
        ingest(ws, [tmp_path / "nope.jsonl"])
    assert info.value.exit_code == 2


def test_lake_files_have_the_explicit_schema(ws, tmp_path):
    ingest(ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1")])])
    [path] = list(ws.messages_dir.rglob("*.parquet"))
    assert pq.read_schema(path).remove_metadata() == lake.MESSAGE_SCHEMA


def test_no_temporary_files_are_left_behind(ws, tmp_path):
    ingest(ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1")])])
    assert not [p for p in ws.root.rglob(".tmp-*")]


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York", "UTC"])
def test_local_dates_cache_agrees_with_local_date(tz):
    import zoneinfo

    zone = zoneinfo.ZoneInfo(tz)
    dates = lake.LocalDates(zone)
    # every 37 minutes across a DST change in New York (2026-11-01) and back and forth in time
    times = [1_793_400_000_000 + k * 2_220_000 for k in range(400)]
    for ms in times + times[::-7]:
        assert dates(ms) == lake.local_date(ms, zone)


def test_a_folder_holding_the_workspace_never_ingests_the_workspace_itself(tmp_path):
    from auditor.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    ws.init()
    write_jsonl(tmp_path / "day.jsonl", [message("m1")])
    ingest(ws, [tmp_path])
    (ws.runs_dir).mkdir(exist_ok=True)
    (ws.runs_dir / "nightly-x.json").write_text("{}", encoding="utf-8")
    write_jsonl(ws.inbox_dir / "new.jsonl", [message("m2")])
    report = ingest(ws, [tmp_path])
    assert sorted(f.path for f in report.files) == [str(tmp_path / "day.jsonl"), "inbox/new.jsonl"]
    assert report.summary()["rejected"] == 0
