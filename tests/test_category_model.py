"""Learned rumor and ad detectors: deterministic training, the CLI, the shipped artifacts, the model view."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.category_training import Sources, train_category
from auditor.classifier import load_model
from auditor.cli import cli
from auditor.config import load_config
from auditor.detectors.learned import LearnedScorer
from auditor.errors import AuditorError
from auditor.resources import packaged_model
from auditor.text.model_view import view

RUMOR = [
    "据说{}明天要全部关门，赶紧转发给家人",
    "紧急扩散：{}的水被污染了，千万别喝",
    "网传{}出现怪病，已经死了好几个人",
]
CHAT = ["{}的方案我看过了，下午讨论", "明天去{}出差，谁一起", "{}那边的接口文档更新了吗"]
FILL = ["北京", "上海", "公司", "小区", "医院", "超市", "学校", "项目组", "客户", "工厂"]


def write_csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        writer.writerows((text, label, "synthetic") for text, label in rows)
    return path


def synthetic(seed: int, n: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [
        (rng.choice(RUMOR if label else CHAT).format(rng.choice(FILL)), label)
        for label in (rng.randint(0, 1) for _ in range(n))
    ]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    write_csv(folder / "train.csv", synthetic(1, 200))
    write_csv(folder / "dev.csv", synthetic(2, 80))
    write_csv(folder / "test.csv", synthetic(3, 80))
    write_csv(folder / "chat.csv", [(t.format(f), 0) for t in CHAT for f in FILL])
    return folder


def sources(folder: Path) -> Sources:
    return Sources(
        folder / "train.csv",
        folder / "dev.csv",
        negatives=(folder / "chat.csv",),
        dev_negatives=(folder / "chat.csv",),
        test=folder / "test.csv",
        test_negatives=(folder / "chat.csv",),
    )


def test_same_data_and_seed_give_the_same_artifact(tiny):
    first = train_category("rumor", sources(tiny), tiny / "a.zip", seed=5)
    second = train_category("rumor", sources(tiny), tiny / "b.zip", seed=5)
    assert (tiny / "a.zip").read_bytes() == (tiny / "b.zip").read_bytes()
    assert first == second and first["category"] == "rumor" and first["meets_targets_on_dev"]
    assert first["test_metrics"]["f1"] == 1.0 and first["test_false_alarm"]["fired"] == 0
    card = (tiny / "a.md").read_text(encoding="utf-8")
    assert "Held-out test" in card and "--category rumor" in card and "--seed 5" in card


def test_cli_trains_a_category_model(tiny, runner):
    out = tiny / "cli" / "ad.zip"
    result = runner.invoke(
        cli,
        [
            *("-w", str(tiny / "w"), "model", "train", "--category", "ad"),
            *("--train", str(tiny / "train.csv"), "--dev", str(tiny / "dev.csv")),
            *("--negatives", str(tiny / "chat.csv"), "--dev-negatives", str(tiny / "chat.csv")),
            *("--test", str(tiny / "test.csv"), "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dev negatives: 0 of 30 flagged" in result.output and "test: precision 1.0" in result.output
    model = load_model(out)
    assert model.meta["category"] == "ad" and out.with_suffix(".md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "abuse", "--test", "{chat}"], "are for rumor and ad"),
        (["--category", "rumor", "--held-out", "chat={chat}"], "--held-out is for abuse"),
        (["--category", "rumor", "--text-column", "TEXT"], "no column 'TEXT'"),
        (["--category", "spam"], "Invalid value for '--category'"),
    ],
)
def test_cli_rejects_bad_input_clearly(tiny, runner, args, message):
    args = [a.format(chat=tiny / "chat.csv") for a in args]
    result = runner.invoke(
        cli,
        [
            *("-w", str(tiny / "w"), "model", "train", *args),
            *(
                "--train",
                str(tiny / "train.csv"),
                "--dev",
                str(tiny / "dev.csv"),
                "--out",
                str(tiny / "x.zip"),
            ),
        ],
    )
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("category", ["rumor", "ad"])
def test_packaged_models_are_small_and_met_their_targets(category):
    path = packaged_model(category)
    assert path.stat().st_size < 5 * 1024 * 1024
    meta = load_model(path).meta
    assert meta["category"] == category and meta["meets_targets_on_dev"]
    assert meta["test_metrics"]["f1"] >= 0.80 and meta["test_metrics"]["precision"] >= 0.90


def test_a_model_of_another_category_is_a_clear_error():
    settings = load_config(None)["detectors"]["rumor"] | {"model": str(packaged_model("ad"))}
    with pytest.raises(AuditorError, match="is not a rumor model"):
        LearnedScorer("rumor", settings)


@pytest.mark.parametrize("bad", ["threshold = 1.5", "cue_threshold = 0"])
def test_thresholds_are_validated(tmp_path, bad):
    path = tmp_path / "auditor.toml"
    path.write_text(f"[detectors.ad]\n{bad}\n", encoding="utf-8")
    with pytest.raises(AuditorError, match=r"detectors\.ad needs"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ("限时特价 4999 元，点击 http://t.cn/abc 抢购！！", "限时特价 0 元点击 抢购"),
        # marks leave no blank behind (a list of titles, all commas and brackets, was mostly blanks)
        ("对，有《Holiday》、《21 Guns》吧", "对有Holiday0 Guns吧"),
        ("哈哈，这是真的[呲牙]", "哈哈这是真的"),  # a sticker code is no wording
        ("会议改到 14:00-15:30，报价 3,999 元", "会议改到 0报价 0 元"),  # a time, a range, a sum: one number
        ("电话18671781336", "电话0"),
        ("请大家转发一下", "转发"),
    ],
)
def test_the_models_read_wording_only(text, seen):
    assert view(text) == seen


@given(st.text())
def test_the_model_view_keeps_no_digit_but_zero_and_no_link(text):
    seen = view(text)
    assert not any(ch.isdecimal() and ch != "0" and ch.isascii() for ch in seen)
    assert "http://" not in seen and "https://" not in seen


def test_a_model_trained_on_another_view_is_refused_with_what_to_do(tmp_path):
    """A rumor or ad model trained before the view changed (view 6 and earlier read punctuation as blanks)
    would score texts it never saw the like of: it is refused, and the message says to retrain."""
    import json
    import zipfile

    old = tmp_path / "ad-old.zip"
    with zipfile.ZipFile(packaged_model("ad")) as source, zipfile.ZipFile(old, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "meta.json":
                data = json.dumps(json.loads(data) | {"text_view": "wording/6"}).encode()
            target.writestr(name, data)
    settings = load_config(None)["detectors"]["ad"] | {"model": str(old)}
    with pytest.raises(AuditorError, match=r"wording/6 does, this version as wording/7: retrain it with"):
        LearnedScorer("ad", settings)
