"""Build the cross-dataset offensive-language test set from ChineseHarm-Bench.

Usage: python eval/build/offensive_chineseharm.py REPO [--out eval/data/offensive-chineseharm]

REPO is a fetched snapshot of github.com/zjunlp/ChineseHarm-bench (benchmark data CC BY-NC 4.0,
code MIT).  Its ``benchmark/bench.json`` holds 1,000 texts per class from real content-moderation
queues.  Positives are the class 谩骂引战 (abuse and flame-baiting), negatives the class 不违规
(no violation); the other classes (gambling, porn, fraud, black-market ads) are left out because
they are not offensive language.  The whole set is a test split: nothing in this project trains on it.
"""

from __future__ import annotations

import json
from pathlib import Path

from common import build_test_set, git_blob, unambiguous_test_rows

ABUSE, CLEAN = "谩骂引战", "不违规"


def rows(repo: Path) -> list[tuple[str, str, str, int]]:
    examples = json.loads(git_blob(repo, "benchmark/bench.json"))
    labelled = [(ex["文本"], int(ex["标签"] == ABUSE)) for ex in examples if ex["标签"] in (ABUSE, CLEAN)]
    return unambiguous_test_rows(labelled, "chineseharm")


def main() -> None:
    build_test_set(__doc__.splitlines()[0], rows, "offensive-chineseharm")


if __name__ == "__main__":
    main()
