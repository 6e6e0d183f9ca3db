"""The abuse data builders (eval/build): labels, splits and determinism on tiny snapshots."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[1] / "eval" / "build"
sys.path.insert(0, str(BUILD))

import abuse_augment  # noqa: E402
import offensive_hatecheck  # noqa: E402


def snapshot(root: Path, files: dict[str, str]) -> Path:
    """A git repository holding ``files`` in one commit, like a fetched snapshot."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    run = ["git", "-C", str(root)]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*run, "add", "-A"], check=True)
    subprocess.run(
        [*run, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "snapshot"], check=True
    )
    return root


def rtp_line(prompt: str, toxicity: float, filename: str, index: int) -> str:
    entry = {
        "Prompt": prompt,
        "Index": index,
        "OriginalEntry": {
            "Prompt": prompt,
            "Index": index,
            "OriginalMetadata": {"Filename": filename, "Begin": "1", "End": "9"},
            "Annotations": {"Toxicity": toxicity},
        },
    }
    return json.dumps(entry, ensure_ascii=False)


@pytest.fixture
def sources(tmp_path) -> tuple[Path, Path]:
    xsafety = snapshot(tmp_path / "xsafety", {"zh/Insult.csv": "\ufeff你这个废物\n\n你算老几\n"})
    hans = [rtp_line(f"简体句子{i}", tox, f"f{i}.txt", i) for i, tox in enumerate((1.0, 2.0, 3.0, 4.67))]
    hant = [rtp_line(f"繁體句子{i}", tox, f"f{i}.txt", i) for i, tox in enumerate((1.33, 2.0, 2.67, 5.0))]
    rtplx = snapshot(
        tmp_path / "rtplx",
        {
            "scoring/gpt4_results/gpt4_results_ZH-Hans.json": "\n".join(hans) + "\n",
            "scoring/gpt4_results/gpt4_results_ZH-Hant.json": "\n".join(hant) + "\n",
        },
    )
    return xsafety, rtplx


def test_augmentation_labels_follow_the_human_toxicity_scores(sources):
    rows = abuse_augment.xsafety_rows(sources[0]) + abuse_augment.rtplx_rows(sources[1])
    labels = {text: label for _, text, _, label in rows}
    assert labels == {
        "你这个废物": 1,
        "你算老几": 1,
        "简体句子0": 0,
        "简体句子2": 1,
        "简体句子3": 1,
        "繁體句子0": 0,
        "繁體句子2": 1,
        "繁體句子3": 1,
    }  # 2.0 (undecided) is left out in both scripts


def test_both_chinese_versions_of_a_passage_share_a_split(sources):
    rows = abuse_augment.rtplx_rows(sources[1])
    split = {text: s for s, text, _, _ in rows}
    for i in (0, 2, 3):
        assert split[f"简体句子{i}"] == split[f"繁體句子{i}"]


def test_the_hatecheck_builder_drops_offensive_but_not_hateful_cases(tmp_path):
    header = "functionality,test_case,label_gold\n"
    cases = [
        ("derog_neg_emote_h", "我恨某群体。", "hateful"),
        ("ident_neutral_nh", "我是某群体。", "non-hateful"),
        ("target_indiv_nh", "你是个混蛋。", "non-hateful"),
        ("target_group_nh", "律师都是混蛋。", "non-hateful"),
        ("counter_quote_nh", "说“我恨某群体”是错的。", "non-hateful"),
    ]
    body = "".join(f"{f},{t},{g}\n" for f, t, g in cases)
    repo = snapshot(tmp_path / "mhc", {offensive_hatecheck.CASES: header + body})
    out = tmp_path / "out"
    built = offensive_hatecheck.rows(repo)
    assert {text: label for _, text, _, label in built} == {
        "我恨某群体。": 1,
        "我是某群体。": 0,
        "说“我恨某群体”是错的。": 0,
    }
    from common import assemble, write_splits

    write_splits(out, {"test": assemble(built)["test"]})
    first = (out / "test.csv").read_bytes()
    write_splits(out, {"test": assemble(offensive_hatecheck.rows(repo))["test"]})
    assert (out / "test.csv").read_bytes() == first
    with open(out / "test.csv", encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["text", "label", "source"]
