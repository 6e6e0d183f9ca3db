"""`auditor eval --suite`: labelled sets per category, the conversation false-alarm set, targets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from auditor.cli import cli
from auditor.errors import AuditorError
from auditor.evaluate import category_of, printable
from auditor.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def write_set(path: Path, rows: list[tuple[str, int]], source: str = "fixture") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        writer.writerows((text, label, source) for text, label in rows)
    return path


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_set(root / "profanity" / "test.csv", [("你真是个傻逼", 1), ("明天开会", 0), ("收到，谢谢", 0)])
    write_set(root / "profanity" / "train.csv", [("这条不评估", 1)])  # only test.csv is measured
    write_set(
        root / "conversation" / "test.csv",
        [("好的，明天见", 0), ("电话是13912345678", 0), ("这家餐馆人均多少钱？", 0), ("谢谢你", 0)],
        source="fixture-chat",
    )
    (root / "notes").mkdir()  # a folder without test.csv is not a set
    return root


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path) -> None:
    """The workspace every eval call names (only `auditor init` creates one)."""
    Workspace(tmp_path / "w").init()


def targets(tmp_path: Path) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(
        "\n".join(
            [
                '[[target]]\nset = "conversation"\nmetric = "flagged_rate"\nat_most = 0.002',
                '[[target]]\nset = "profanity"\nmetric = "recall"\nat_least = 0.95\nlabel = "evasion recall"',
                '[[target]]\nset = "rumor"\nmetric = "f1"\nat_least = 0.8',
            ]
        ),
        encoding="utf-8",
    )
    return path


def test_suite_scores_each_set_and_the_conversation_set(runner, tmp_path, suite):
    out = tmp_path / "results.json"
    args = ["-w", str(tmp_path / "w"), "eval", "--suite", str(suite), "--targets", str(targets(tmp_path))]
    result = runner.invoke(cli, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert json.loads(out.read_text(encoding="utf-8")) == report

    profanity = report["sets"]["profanity"]
    assert profanity["category"] == "profanity"
    assert (profanity["support"], profanity["precision"], profanity["recall"]) == (3, 1.0, 1.0)

    conversation = report["conversation"]
    assert (conversation["texts"], conversation["flagged"]) == (4, 1)
    assert conversation["flagged_rate"] == 0.25
    assert conversation["per_category"] == {"pii": {"flagged": 1, "rate": 0.25}}
    assert conversation["per_source"] == {"fixture-chat": {"texts": 4, "flagged": 1, "rate": 0.25}}
    [worst] = conversation["worst"]
    assert (worst["text"], worst["category"], worst["rule"]) == ("电话是13912345678", "pii", "pii.mobile")

    status = {t["set"]: t["status"] for t in report["targets"]}
    assert status == {"conversation": "not met", "profanity": "met", "rumor": "no data"}


def test_suite_table_prints_sets_false_alarms_and_targets(runner, tmp_path, suite):
    args = ["-w", str(tmp_path / "w"), "eval", "--suite", str(suite), "--targets", str(targets(tmp_path))]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    for expected in (
        "profanity",
        "1 of 4 lines flagged",
        "pii.mobile",
        "电话是13912345678",
        "evasion recall",
    ):
        assert expected in result.output
    assert "not met" in result.output and "no data" in result.output


def test_category_filter_and_extra_set(runner, tmp_path, suite):
    extra = write_set(tmp_path / "cold.csv", [("你这个废物", 1), ("收到", 0)])
    args = ["-w", str(tmp_path / "w"), "eval", "--suite", str(suite), "--category", "abuse", "--json"]
    result = runner.invoke(cli, [*args, "--set", f"abuse-extra={extra}"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert list(report["sets"]) == ["abuse-extra"]  # profanity is filtered out
    assert report["conversation"]["flagged"] == 0  # the phone number is pii, not abuse


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--set", "nonsense-x=a.csv"], "must start with a finding category"),
        (["--set", "abuse-x"], "is not NAME=CSV"),
        (["--set", "abuse-x=missing.csv"], "cannot read"),
        (["--labels", "x.csv"], "--labels measures one CSV"),
    ],
)
def test_suite_bad_input_exits_2(runner, tmp_path, suite, extra_args, message):
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "eval", "--suite", str(suite), *extra_args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_eval_needs_labels_or_a_suite(runner, tmp_path):
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "eval"])
    assert result.exit_code == 2 and "--suite" in result.output


def test_conversation_set_with_a_positive_label_is_rejected(runner, tmp_path, suite):
    write_set(suite / "conversation" / "test.csv", [("你好", 1)])
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "eval", "--suite", str(suite)])
    assert result.exit_code == 2 and "must be all label 0" in result.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[target]\n", "not valid TOML"),
        ('[[target]]\nset = "conversation"\n', "needs 'set' and 'metric'"),
        ('[[target]]\nset = "a"\nmetric = "f1"\n', "exactly one of"),
        ('[[target]]\nset = "a"\nmetric = "f1"\nat_least = 1\nat_most = 1\n', "exactly one of"),
    ],
)
def test_malformed_targets_exit_2(runner, tmp_path, suite, toml, message):
    path = tmp_path / "t.toml"
    path.write_text(toml, encoding="utf-8")
    result = runner.invoke(
        cli, ["-w", str(tmp_path / "w"), "eval", "--suite", str(suite), "--targets", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("abuse", "abuse"),
        ("abuse-cold-dev", "abuse"),
        ("offensive-chineseharm", "abuse"),
        ("ad", "ad"),
        ("malicious_link-x", "malicious_link"),
    ],
)
def test_set_names_map_to_categories(name, category):
    assert category_of(name) == category


def test_set_name_without_category_is_an_error():
    with pytest.raises(AuditorError):
        category_of("chat")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("普通一句话", "普通一句话"),
        ("a\x1b[31mb", "a·[31mb"),
        ("x\u202ey", "x·y"),
        ("长" * 70, "长" * 59 + "…"),
    ],
)
def test_printable_keeps_control_characters_off_the_terminal(text, shown):
    assert printable(text) == shown


def test_committed_conversation_set_layout():
    """The committed false-alarm set: ≥ 20,000 test lines, all label 0, no test line in train or dev."""
    folder = REPO / "eval" / "data" / "conversation"
    splits = {}
    for split in ("train", "dev", "test"):
        with (folder / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and {r["label"] for r in rows} == {"0"}
        assert all(r["text"] == " ".join(r["text"].split()) and r["source"] for r in rows)
        splits[split] = [r["text"] for r in rows]
        assert len(set(splits[split])) == len(splits[split])
    assert len(splits["test"]) >= 20_000
    assert not set(splits["test"]) & (set(splits["train"]) | set(splits["dev"]))
