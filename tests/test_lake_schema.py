"""Dates are date32 in every table, so the lake's tables join without casts (README "Lake schema")."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from auditor import lake
from auditor.audit import audit
from auditor.ingest import ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

README = Path(__file__).resolve().parent.parent / "README.md"
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("schema") / "ws")
    ws.init()
    records = [
        message("a1", text={"content": "你这个傻逼"}),
        message("a2", text={"content": "我的手机号 13812345678"}, msgtime=BASE_MS + 60_000),
        message("b1", text={"content": "傻逼又来了"}, msgtime=BASE_MS + DAY_MS),
        message("b2", text={"content": "收到"}, msgtime=BASE_MS + DAY_MS + 1),
    ]
    ingest(ws, [write_jsonl(ws.root.parent / "in.jsonl", records)])
    audit(ws, lake.dates(ws.messages_dir), workers=1)
    return ws


def test_findings_store_their_date_as_date32(audited):
    for date in lake.dates(audited.findings_dir):
        schema = pq.read_schema(lake.findings_path(audited.findings_dir, date))
        assert schema.field("date").type == pa.date32()
    assert lake.FINDING_SCHEMA.field("date").type == lake.ROSTER_SCHEMA.field("left_date").type == pa.date32()


def test_pyarrow_joins_messages_and_findings_on_date32(audited):
    hive = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
    messages = ds.dataset(audited.messages_dir, format="parquet", partitioning=hive).to_table(
        columns=["msgid", "date", "sender"]
    )
    findings = ds.dataset(audited.findings_dir, format="parquet").to_table(
        columns=["msgid", "date", "category"]
    )
    joined = findings.join(messages, keys=["msgid", "date"], join_type="inner")
    assert joined.num_rows == findings.filter(ds.field("msgid").is_valid()).num_rows > 0
    assert set(joined.column("msgid").to_pylist()) >= {"a1", "b1"}


def test_the_readme_lake_query_runs_as_written(audited):
    duckdb = pytest.importorskip("duckdb")
    query = re.search(
        r"<!-- lake-query -->\n```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S
    ).group(1)
    cwd = os.getcwd()
    os.chdir(audited.root)
    try:
        connection = duckdb.connect()
        rows = connection.execute(query).fetchall()
        [types] = connection.execute(
            "SELECT DISTINCT typeof(f.date), typeof(m.date)"
            " FROM read_parquet('lake/findings/*/*.parquet', hive_partitioning = false) AS f,"
            " read_parquet('lake/messages/*/*.parquet', hive_partitioning = true) AS m"
        ).fetchall()
    finally:
        os.chdir(cwd)
    assert types == ("DATE", "DATE")
    assert [str(r[0]) for r in rows if r[1] == "profanity"] == ["2026-11-16", "2026-11-17"]
    assert {r[3] for r in rows} == {"zhangwei"}
