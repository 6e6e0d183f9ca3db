"""The abuse classifier: deterministic training, thresholds, evidence, and eval's input handling."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from auditor.classifier import load_model
from auditor.cli import cli
from auditor.detectors.abuse_model import AbuseModel
from auditor.detectors.base import TextView
from auditor.errors import AuditorError
from auditor.lexicon import Lexicon
from auditor.resources import packaged_model
from auditor.text.segment import Segmenter
from auditor.training import train

OFFENSIVE = [
    "{}人都是骗子，素质太差",
    "{}人就是懒，天生的",
    "女人就不适合干{}",
    "那些{}佬滚出去",
    "{}的人脑子都有问题",
]
SAFE = [
    "{}的风景很美，值得一去",
    "我有很多{}朋友，人都很好",
    "{}菜真好吃",
    "她在{}工作，技术很强",
    "{}的同事很热情",
]
FILL = ["河南", "东北", "上海", "广东", "四川", "技术", "销售", "北京", "外地", "乡下"]


def write_csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "split", "topic", "label", "TEXT"])
        for i, (text, label) in enumerate(rows):
            writer.writerow([i, "train", "region", label, text])
    return path


def synthetic(seed: int, n: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [
        (rng.choice(OFFENSIVE if label else SAFE).format(rng.choice(FILL)), label)
        for label in (rng.randint(0, 1) for _ in range(n))
    ]


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    train(
        write_csv(folder / "train.csv", synthetic(1, 300)),
        write_csv(folder / "dev.csv", synthetic(2, 100)),
        folder / "a.zip",
        seed=3,
    )
    return folder


def test_same_data_and_seed_give_the_same_artifact(small_model):
    train(small_model / "train.csv", small_model / "dev.csv", small_model / "b.zip", seed=3)
    assert (small_model / "a.zip").read_bytes() == (small_model / "b.zip").read_bytes()
    card = (small_model / "a.md").read_text(encoding="utf-8")
    assert "Apache-2.0" in card and "accuracy" in card and "--seed 3" in card


def test_small_model_learns_the_pattern(small_model):
    model = load_model(small_model / "a.zip")
    offensive, safe = model.scores(["广东人都是骗子，素质太差", "广东的风景很美，值得一去"])
    assert offensive > 0.5 > safe


def test_packaged_model_is_small_and_loads():
    path = packaged_model()
    assert path.stat().st_size < 5 * 1024 * 1024
    model = load_model(path)
    assert model.meta["dev_metrics"]["accuracy"] >= 0.80 and model.meta["dev_metrics"]["f1"] >= 0.76


def test_a_broken_artifact_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(AuditorError, match="cannot load the abuse model"):
        load_model(bad)


def detector(**settings):
    cfg = {"path": "", "threshold": 0.7, "high_threshold": 0.9, "min_chars": 4, "top_ngrams": 5} | settings
    lexicon = Lexicon.load(None)
    return AbuseModel(cfg, lexicon), lexicon


def views(texts, lexicon):
    return [TextView(t, lexicon, Segmenter([])) for t in texts]


@pytest.mark.parametrize(
    ("settings", "text", "expected"),
    [
        ({}, "河南人都是骗子，全是小偷", "high"),
        ({"high_threshold": 1.0}, "河南人都是骗子，全是小偷", "medium"),
        ({"threshold": 0.999999, "high_threshold": 1.0}, "河南人都是骗子，全是小偷", None),
        ({}, "明天上午十点开会，请准时参加", None),
        ({}, "没问题", None),  # short acknowledgements are left to the lexicons
        ({"min_chars": 1, "threshold": 0.01}, "没问题", "medium"),
    ],
)
def test_threshold_behaviour(settings, text, expected):
    model, lexicon = detector(**settings)
    [hits] = model.scan_many(views([text], lexicon))
    assert (hits[0].severity if hits else None) == expected


def test_evidence_names_the_contributing_ngrams():
    model, lexicon = detector()
    [[hit]] = model.scan_many(views(["河南人都是骗子，全是小偷"], lexicon))
    assert hit.rule == "abuse.model" and hit.evidence["score"] >= 0.9
    grams = [g.rsplit(" ", 1)[0] for g in hit.evidence["ngrams"]]
    assert grams and all(g in "河南人都是骗子，全是小偷" for g in grams)
    assert any("骗" in g for g in grams)


def test_allowlisted_phrases_do_not_count_for_the_model():
    model, lexicon = detector(threshold=0.5)
    [hits] = model.scan_many(views(["垃圾桶在哪里"], lexicon))
    assert hits == []


def test_model_and_lexicon_merge_into_one_abuse_finding(analyzer):
    from auditor.policy import message_findings

    msg = {"msgid": "m", "roomid": "r", "sender": "a", "msgtime": 0, "text": "你这个废物，河南人都是骗子"}
    hits = analyzer.analyze(msg["text"])
    assert {h.rule for h in hits if h.category == "abuse"} >= {"abuse.model", "abuse.you_are"}
    policy = {"adjust": {}}
    [finding] = [
        f for f in message_findings(msg, hits, "internal", policy, "d", "v") if f["category"] == "abuse"
    ]
    rules = {h["rule"] for h in json.loads(finding["evidence"])["hits"]}
    assert rules >= {"abuse.model", "abuse.you_are"}
    assert finding["severity"] == "high"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "no rows"),
        ("\ufeffTEXT,lbl\n你好,0\n".encode(), "no column 'label'"),
        ("TEXT,label\n你好,2\n".encode(), "label must be 0 or 1"),
        ("TEXT,label\n你好,\n".encode(), "label must be 0 or 1"),
        ("TEXT,label\n你好,0\n".encode("utf-16"), "not UTF-8"),
        (b'TEXT,label\n"unterminated,0\n', "label must be 0 or 1"),
    ],
)
def test_eval_malformed_csv_exits_2(runner, ws, tmp_path, content, message):
    path = tmp_path / "labels.csv"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(cli, ["-w", str(ws.root), "eval", "--labels", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_eval_reports_metrics_and_confusion(runner, ws, tmp_path):
    rows = [
        ("河南人都是骗子，全是小偷", 1),
        ("你这个废物", 1),
        ("明天开会", 0),
        ("收到，谢谢", 0),
        ("傻逼", 1),
    ]
    path = write_csv(tmp_path / "l.csv", rows)
    result = runner.invoke(
        cli,
        [
            "-w",
            str(ws.root),
            "eval",
            "--labels",
            str(path),
            "--json",
            "--category",
            "abuse",
            "--category",
            "profanity",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    cm = report["confusion"]
    assert cm["tn"] + cm["fp"] + cm["fn"] + cm["tp"] == 5
    assert report["accuracy"] == 1.0 and report["categories"] == ["abuse", "profanity"]
    text = runner.invoke(cli, ["-w", str(ws.root), "eval", "--labels", str(path)])
    assert "accuracy" in text.output and "label 1" in text.output


def test_model_train_cli(runner, small_model, tmp_path):
    out = tmp_path / "m.zip"
    result = runner.invoke(
        cli,
        [
            "model",
            "train",
            "--train",
            str(small_model / "train.csv"),
            "--dev",
            str(small_model / "dev.csv"),
            "--out",
            str(out),
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (small_model / "a.zip").read_bytes()


COLD_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cold" / "dev.csv"


@pytest.mark.skipif(not COLD_DEV.exists(), reason="COLD dev split not beside the repository")
def test_cold_dev_meets_the_targets_through_the_real_pipeline(runner, ws):
    result = runner.invoke(
        cli, ["-w", str(ws.root), "eval", "--labels", str(COLD_DEV), "--category", "abuse", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["support"] == 6431
    assert report["accuracy"] >= 0.80 and report["f1"] >= 0.76
