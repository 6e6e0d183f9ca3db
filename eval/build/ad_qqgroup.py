"""Add the group-chat ads of ADDetector4J to the ad set (eval/data/ad).

Usage: python eval/build/ad_qqgroup.py REPO [--out eval/data/ad]

REPO is a fetched snapshot of github.com/siuank/ADDetector4J (MIT, the repository's only licence;
its README credits the GitHub user hsn8086 for compiling the lines).  ``mc_qq_group.txt`` holds
messages from game QQ groups, one a line as ``text==1`` (an ad: cheat clients, game accounts,
proxies, shop links, often with a QQ number or a link) or ``text==0`` (ordinary chat in the same
groups): real group-chat messages, the one labelled chat-ad source with a licence that allows
redistribution found (eval/README.md lists the others checked).

The file keeps no message ids, so the split is by a SHA-256 bucket of the cleaned text: 20 % test,
10 % dev, 70 % train, the ad set's shares; a text labelled both ways is dropped.  The rows of the
other sources already in OUT (the ``sms80w`` spam-SMS sample, see eval/data/ad/README.md) are kept
in their splits as they are, so running this twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from common import SPLITS, assemble, clean, git_blob, split_of, write_splits

SOURCE = "mc-qq-group"
FILE = "mc_qq_group.txt"


def qq_rows(repo: Path) -> list[tuple[str, str, str, int]]:
    labelled: list[tuple[str, int]] = []
    for line in git_blob(repo, FILE).decode("utf-8").splitlines():
        text, sep, label = line.strip().rpartition("==")
        if sep and label in ("0", "1"):
            labelled.append((clean(text), int(label)))
    labels_of: dict[str, set[int]] = {}
    for text, label in labelled:
        labels_of.setdefault(text, set()).add(label)
    return [
        (split_of(text, test_share=20, dev_share=10), text, SOURCE, label)
        for text, label in labelled
        if len(labels_of[text]) == 1
    ]


def kept_rows(out: Path) -> list[tuple[str, str, str, int]]:
    """The rows of the other sources, each in the split it is in now."""
    rows = []
    for split in SPLITS:
        path = out / f"{split}.csv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            rows += [
                (split, row["text"], row["source"], int(row["label"]))
                for row in csv.DictReader(handle)
                if row["source"] != SOURCE
            ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "data" / "ad")
    args = parser.parse_args()
    write_splits(args.out, assemble(kept_rows(args.out) + qq_rows(args.repo)))


if __name__ == "__main__":
    main()
