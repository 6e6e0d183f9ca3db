"""The sample generator is deterministic, realistic enough, and ingests cleanly and idempotently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor import lake
from auditor.categories import FINDING_CATEGORIES
from auditor.cli import cli
from auditor.ingest import ingest
from auditor.sample import generate, id_card, luhn_card
from auditor.wecom.messages import EXTRACTORS

REPO = Path(__file__).resolve().parent.parent


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a", messages=600, groups=4, days=2, seed=3)
    generate(tmp_path / "b", messages=600, groups=4, days=2, seed=3)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    generate(tmp_path / "c", messages=600, groups=4, days=2, seed=4)
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "c")


def test_sample_covers_every_type_and_category_and_ingests_twice_identically(tmp_path, ws):
    manifest = generate(tmp_path / "s", messages=3000, groups=6, days=3, seed=7)
    report = ingest(ws, [tmp_path / "s" / "exports"]).summary()
    assert report["rejected"] == 0 and report["accepted"] == report["records"]
    rows = []
    for date in lake.dates(ws.messages_dir):
        rows += lake.read_partition(
            ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgtype", "action"]
        ).to_pylist()
    assert {r["msgtype"] for r in rows} >= set(EXTRACTORS)
    assert {r["action"] for r in rows} == {"send", "recall", "switch"}
    categories = {c for cats in manifest["planted"].values() for c in cats}
    assert categories == set(FINDING_CATEGORIES)
    assert {g["category"] for g in manifest["groups"]} == {"internal", "project", "customer"}
    assert any(g["clean"] for g in manifest["groups"])
    assert len(manifest["planted"]) / manifest["messages"] < 0.05
    before = tree_digest(ws.lake)
    assert ingest(ws, [tmp_path / "s" / "exports"]).summary()["accepted"] == 0
    assert tree_digest(ws.lake) == before


def test_committed_sample_data_matches_the_generator(tmp_path):
    """sample_data/ is the generator's output for the defaults: regenerate it if this fails."""
    generate(tmp_path / "s", messages=4000, groups=6, days=3, seed=7)
    assert tree_digest(tmp_path / "s") == tree_digest(REPO / "sample_data")


@pytest.mark.parametrize("seed", range(20))
def test_generated_ids_are_valid(seed):
    import random

    number = id_card(random.Random(seed))
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert number[-1] == "10X98765432"[sum(int(d) * w for d, w in zip(number, weights, strict=False)) % 11]
    card = luhn_card(random.Random(seed))
    digits = [int(c) for c in reversed(card)]
    assert (sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])) % 10 == 0


def test_sample_command(runner, tmp_path):
    result = runner.invoke(
        cli, ["sample", "--out", str(tmp_path / "x"), "--messages", "300", "--groups", "3", "--days", "1"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["messages"] >= 300
    bad = runner.invoke(cli, ["sample", "--out", str(tmp_path / "y"), "--start", "16/11/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


@pytest.fixture(scope="module")
def real_sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "s"
    manifest = generate(out, messages=20000, groups=9, days=2, seed=11, realism="real")
    return out, manifest


def sample_records(exports: Path) -> list[dict]:
    import gzip

    records: list[dict] = []
    for path in sorted(exports.iterdir()):
        if path.name.endswith(".jsonl"):
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        elif path.name.endswith(".jsonl.gz"):
            records += [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
        elif path.name.startswith("getchatdata-"):
            records += json.loads(path.read_text(encoding="utf-8"))["chatdata"]
    return records


def test_real_sample_reads_like_real_chat(real_sample):
    """Most texts distinct, 1 to several hundred characters, acknowledgements at a realistic share."""
    out, manifest = real_sample
    texts = [r["text"]["content"] for r in sample_records(out / "exports") if r.get("msgtype") == "text"]
    assert len(set(texts)) / len(texts) > 0.5
    lengths = sorted(map(len, texts))
    assert lengths[0] <= 2 and lengths[-1] >= 300 and 8 <= lengths[len(lengths) // 2] <= 40
    from auditor.sample_chat import ACKNOWLEDGEMENTS, corpus

    acks = sum(t in ACKNOWLEDGEMENTS for t in texts) / len(texts)
    assert 0.15 < acks < 0.4
    lines, _ = corpus()
    assert sum(t in lines for t in texts) / len(texts) > 0.05  # real sentences, used as they are
    assert manifest["realism"] == "real"


def test_real_sample_keeps_every_type_and_planted_category(real_sample, ws):
    out, manifest = real_sample
    report = ingest(ws, [out / "exports"]).summary()
    assert report["rejected"] == 0 and report["accepted"] == report["records"]
    types = {r.get("msgtype") for r in sample_records(out / "exports")}
    assert types >= set(EXTRACTORS)
    assert {c for cats in manifest["planted"].values() for c in cats} == set(FINDING_CATEGORIES)


def test_real_sample_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a", messages=800, groups=3, days=1, seed=5, realism="real")
    generate(tmp_path / "b", messages=800, groups=3, days=1, seed=5, realism="real")
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    generate(tmp_path / "c", messages=800, groups=3, days=1, seed=5)
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "c")


def test_chat_corpus_comes_from_train_and_dev_only(tmp_path):
    """The sentence source is rebuilt byte for byte from the conversation set's train and dev splits;
    no line of it comes only from the test split (the false-alarm test set)."""
    import csv
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(REPO / "eval" / "build" / "sample_chat.py"), "--out", str(tmp_path / "c.txt")],
        check=True,
        capture_output=True,
    )
    committed = REPO / "auditor" / "corpus" / "conversation.txt"
    assert (tmp_path / "c.txt").read_bytes() == committed.read_bytes()
    allowed = set()
    for split in ("train", "dev"):
        with open(REPO / "eval" / "data" / "conversation" / f"{split}.csv", encoding="utf-8") as handle:
            allowed |= {" ".join(row["text"].split()) for row in csv.DictReader(handle)}
    from auditor.sample_chat import corpus

    lines, clauses = corpus()
    assert len(lines) > 8000 and len(clauses) > len(lines)
    assert set(lines) <= allowed


def test_sample_command_realism(runner, tmp_path):
    result = runner.invoke(
        cli,
        ["sample", "--out", str(tmp_path / "x"), "--messages", "300", "--days", "1", "--realism", "real"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "x" / "manifest.json").read_text(encoding="utf-8"))["realism"] == "real"
    bad = runner.invoke(cli, ["sample", "--out", str(tmp_path / "y"), "--realism", "imaginary"])
    assert bad.exit_code == 2 and "imaginary" in bad.output
