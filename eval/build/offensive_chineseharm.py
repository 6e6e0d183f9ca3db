"""Build the cross-dataset offensive-language test set from ChineseHarm-Bench.

Usage: python eval/build/offensive_chineseharm.py REPO [--out eval/data/offensive-chineseharm]

REPO is a fetched snapshot of github.com/zjunlp/ChineseHarm-bench (benchmark data CC BY-NC 4.0,
code MIT).  Its ``benchmark/bench.json`` holds 1,000 texts per class from real content-moderation
queues.  Positives are the class 谩骂引战 (abuse and flame-baiting), negatives the class 不违规
(no violation); the other classes (gambling, porn, fraud, black-market ads) are left out because
they are not offensive language.  The whole set is a test split: nothing in this project trains on it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import assemble, clean, git_blob, write_splits

ABUSE, CLEAN = "谩骂引战", "不违规"


def rows(repo: Path) -> list[tuple[str, str, str, int]]:
    examples = json.loads(git_blob(repo, "benchmark/bench.json"))
    labelled = [(ex["文本"], int(ex["标签"] == ABUSE)) for ex in examples if ex["标签"] in (ABUSE, CLEAN)]
    labels_of: dict[str, set[int]] = {}
    for text, label in labelled:
        labels_of.setdefault(clean(text), set()).add(label)
    # A text labelled both ways says nothing about the detector; drop it.
    return [
        ("test", text, "chineseharm", label) for text, label in labelled if len(labels_of[clean(text)]) == 1
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "data" / "offensive-chineseharm"
    )
    args = parser.parse_args()
    splits = assemble(rows(args.repo))
    write_splits(args.out, {"test": splits["test"]})


if __name__ == "__main__":
    main()
