"""Build the real-conversation false-alarm set (label 0) from public Chinese dialogue corpora.

Usage (each argument is a fetched snapshot, a git directory):

    python eval/build/conversation.py --crosswoz DIR --kdconv DIR [--out eval/data/conversation]

Sources (both Apache-2.0, thu-coai):
  * CrossWOZ: task-oriented travel dialogues (user and wizard/agent turns), files
    data/crosswoz/{val,test}.json.zip (the train archive is not in the snapshot).
  * KdConv: knowledge-grounded chit-chat on films, music and travel, files data/<domain>/{dev,test}.json
    (the train files are not in the snapshot).
Every utterance is one line; the split is decided per dialogue by a hash of its id (70 % test,
10 % dev, 20 % train), so train/dev can serve as hard negatives and test stays unseen.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

from common import assemble, git_blob, split_of, write_splits, zip_member

TEST_SHARE, DEV_SHARE = 70, 10


def crosswoz(repo: Path) -> Iterator[tuple[str, str, str, int]]:
    for part in ("val", "test"):
        blob = git_blob(repo, f"data/crosswoz/{part}.json.zip")
        dialogues = json.loads(zip_member(blob, f"{part}.json"))
        for dialogue_id in sorted(dialogues, key=str):
            split = split_of(f"crosswoz:{dialogue_id}", TEST_SHARE, DEV_SHARE)
            for message in dialogues[dialogue_id]["messages"]:
                yield split, message["content"], "crosswoz", 0


def kdconv(repo: Path) -> Iterator[tuple[str, str, str, int]]:
    for domain in ("film", "music", "travel"):
        for part in ("dev", "test"):
            dialogues = json.loads(git_blob(repo, f"data/{domain}/{part}.json"))
            for index, dialogue in enumerate(dialogues):
                split = split_of(f"kdconv:{domain}:{part}:{index}", TEST_SHARE, DEV_SHARE)
                for message in dialogue["messages"]:
                    yield split, message["message"], f"kdconv-{domain}", 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crosswoz", type=Path, required=True)
    parser.add_argument("--kdconv", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "data" / "conversation")
    args = parser.parse_args()

    def rows() -> Iterator[tuple[str, str, str, int]]:
        yield from crosswoz(args.crosswoz)
        yield from kdconv(args.kdconv)

    write_splits(args.out, assemble(rows()))


if __name__ == "__main__":
    main()
