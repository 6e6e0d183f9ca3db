"""The audit stage end to end on the committed sample, plus determinism and the policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import lake
from auditor.audit import audit
from auditor.cli import cli
from auditor.detectors import CATEGORIES
from auditor.detectors.base import Hit
from auditor.engines import chunk
from auditor.ingest import ingest
from auditor.masking import excerpt
from auditor.policy import message_findings
from auditor.workspace import Workspace
from tests.factories import message, write_jsonl

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("audited") / "ws")
    ws.init()
    ingest(ws, [SAMPLE / "exports"])
    audit(ws, lake.dates(ws.messages_dir), workers=1)
    return ws


def all_findings(ws: Workspace) -> list[dict]:
    rows = []
    for date in lake.dates(ws.findings_dir):
        rows += pq.read_table(lake.findings_path(ws.findings_dir, date)).to_pylist()
    return rows


def findings_bytes(ws: Workspace) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(ws.findings_dir.rglob("*.parquet"))}


def test_sample_shows_every_category(audited):
    assert {f["category"] for f in all_findings(audited)} == set(CATEGORIES)


def test_every_planted_violation_is_found(audited):
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    found = set()
    for f in all_findings(audited):
        ids = [f["msgid"]] if f["msgid"] else json.loads(f["evidence"]).get("msgids", [])
        found |= {(m, f["category"]) for m in ids}
    missed = [(m, c) for m, cats in manifest["planted"].items() for c in cats if (m, c) not in found]
    assert missed == []


def test_clean_groups_have_no_finding_of_high_severity_or_above(audited):
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    clean = {g["roomid"] for g in manifest["groups"] if g["clean"]}
    assert clean
    bad = [f for f in all_findings(audited) if f["roomid"] in clean and f["severity"] in ("high", "critical")]
    assert bad == []


def test_findings_follow_the_contract(audited):
    findings = all_findings(audited)
    assert len({f["finding_id"] for f in findings}) == len(findings)
    for f in findings:
        assert f["severity"] in ("low", "medium", "high", "critical")
        assert f["rule"].startswith(f["category"] + ".")
        json.loads(f["evidence"])
    schema = pq.read_schema(next(audited.findings_dir.rglob("*.parquet"))).remove_metadata()
    assert schema == lake.FINDING_SCHEMA


def test_secrets_and_personal_data_never_appear_in_findings(audited):
    import re

    for f in all_findings(audited):
        blob = f["excerpt"] + f["evidence"]
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", blob), blob
        assert "Xy#82jd!q9" not in blob
        assert not re.search(r"AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}", blob)


def test_same_input_same_rules_byte_identical_findings(audited, tmp_path):
    before = findings_bytes(audited)
    audit(audited, lake.dates(audited.messages_dir), workers=1)
    assert findings_bytes(audited) == before


def test_worker_pool_gives_the_same_findings(audited, tmp_path, monkeypatch):
    before = findings_bytes(audited)
    monkeypatch.setattr(chunk, "CHUNK", 16)  # many chunks, so the pool really is used
    report = audit(audited, lake.dates(audited.messages_dir), workers=2)
    assert report.distinct_texts > 32
    assert findings_bytes(audited) == before


def test_company_codename_then_reaudit_replaces_the_date(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.init()
    ingest(ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1", text={"content": "北极星计划下周发布"})])])
    audit(ws, ["2026-11-16"], workers=1)
    assert all_findings(ws) == []
    (ws.dictionaries_dir / "confidential.txt").write_text("北极星计划\thigh\n", encoding="utf-8")
    audit(ws, ["2026-11-16"], workers=1)
    [finding] = all_findings(ws)
    assert (finding["category"], finding["rule"], finding["msgid"]) == (
        "confidential",
        "confidential.company",
        "m1",
    )
    assert not list(ws.root.rglob(".tmp-*"))


def test_customer_groups_raise_severity_and_one_finding_per_category():
    msg = {"msgid": "m1", "roomid": "r", "sender": "a", "msgtime": 0, "text": "你是猪，白痴"}
    hits = [Hit("abuse", "abuse.you_are", "medium", 0, 3), Hit("abuse", "abuse.lexicon", "medium", 4, 6)]
    policy = {"adjust": {"abuse": {"internal": 0, "project": 0, "customer": 1}}}
    [internal] = message_findings(msg, hits, "internal", policy, "d", "v")
    [customer] = message_findings(msg, hits, "customer", policy, "d", "v")
    assert (internal["severity"], customer["severity"]) == ("medium", "high")
    assert len(json.loads(internal["evidence"])["hits"]) == 2
    assert internal["finding_id"] == customer["finding_id"]  # same message, same category


def test_excerpt_masks_personal_data_near_the_match():
    text = "傻逼，打我电话 13812345678"
    pii = Hit("pii", "pii.mobile", "medium", 8, 19, masked="138****5678")
    shown = excerpt(text, 0, 2, [(pii.start, pii.end, pii.masked)], context=12)
    assert "13812345678" not in shown and "138****5678" in shown


AUDIT_ERRORS = [
    (["audit", "--date", "2026-11-30"], "no messages in the lake for 2026-11-30"),
    (["audit", "--date", "2026-11-16", "--since", "2026-11-01"], "either --date or --since"),
    (["audit", "--since", "16/11/2026"], "--since must be YYYY-MM-DD"),
    (["audit", "--since", "2027-01-01"], "no messages in the lake between"),
]


@pytest.mark.parametrize(("args", "text"), AUDIT_ERRORS)
def test_audit_cli_errors_exit_2(runner, audited, tmp_path, args, text):
    result = runner.invoke(cli, ["-w", str(audited.root), *args])
    assert result.exit_code == 2 and text in result.output


def test_audit_cli_on_an_empty_workspace(runner, ws):
    result = runner.invoke(cli, ["-w", str(ws.root), "audit"])
    assert result.exit_code == 2 and "run `auditor ingest` first" in result.output


def test_audit_cli_json(runner, audited, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(audited.root, copy)
    result = runner.invoke(
        cli, ["-w", str(copy), "audit", "--date", "2026-11-17", "--workers", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["dates"]) == ["2026-11-17"] and summary["findings"] > 0


def test_the_run_keeps_hits_and_repeated_texts_not_every_text(tmp_path, monkeypatch):
    """Memory follows a day: texts with hits and the texts a date repeated are kept for the next
    date; a text written once is forgotten and, should it come back, analysed again alike."""
    from auditor.analyzer import Ruleset
    from auditor.engines import local

    ws = Workspace(tmp_path / "ws")
    ws.init()
    engine = local.LocalEngine(Ruleset(ws.config, ws.dictionaries_dir), workers=1)
    analysed: list[chunk.Key] = []
    real = chunk.analyze_chunk
    monkeypatch.setattr(chunk, "analyze_chunk", lambda a, keys: analysed.extend(keys) or real(a, keys))
    ack, once, abuse = ("收到", False), ("周五下午三点在二楼会议室评审", False), ("你就是个傻逼", False)
    engine.prepare([ack, ack, once, abuse, None])
    first = {key: engine.lookup(key) for key in (ack, once, abuse)}
    assert sorted(analysed) == sorted([ack, once, abuse]) and first[abuse] and not first[ack]
    assert engine.clean == {ack} and set(engine.hits) == {abuse}
    analysed.clear()
    engine.prepare([ack, once, abuse])
    assert analysed == [once]  # the acknowledgement and the hit were kept, the one-off was not
    assert {key: engine.lookup(key) for key in (ack, once, abuse)} == first
    assert engine.distinct_texts == 6
    engine.close()
