"""Build the sentence source of `auditor sample --realism real` from the conversation set's train and dev
splits (never its test split, which is the false-alarm test set).

Usage:

    python eval/build/sample_chat.py [--out auditor/corpus/conversation.txt]

Sources: eval/data/conversation/{train,dev}.csv — utterances of CrossWOZ and KdConv (thu-coai, both
Apache-2.0; eval/README.md has the snapshots). Lines holding a run of seven or more digits are
dropped: they quote attractions' telephone numbers, which would make the generated "clean" chat
disclose phone numbers. The output is deterministic: the same splits give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
PHONE_LIKE = re.compile(r"\d{7}")
HEADER = (
    "# Real conversational Chinese for `auditor sample --realism real`: one utterance a line.\n"
    "# Source: eval/data/conversation/{train,dev}.csv, utterances of CrossWOZ (thu-coai/CrossWOZ@df82c9f)\n"
    "# and KdConv (thu-coai/KdConv@653db76), both Apache-2.0. Built by eval/build/sample_chat.py.\n"
)


def utterances(folder: Path) -> list[str]:
    lines: dict[str, None] = {}
    for split in ("train", "dev"):
        with open(folder / f"{split}.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = " ".join(row["text"].split())
                if text and not PHONE_LIKE.search(text):
                    lines.setdefault(text, None)
    return list(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversation", type=Path, default=REPO / "eval" / "data" / "conversation")
    parser.add_argument("--out", type=Path, default=REPO / "auditor" / "corpus" / "conversation.txt")
    args = parser.parse_args()
    lines = utterances(args.conversation)
    args.out.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(f"{len(lines)} utterances → {args.out}")


if __name__ == "__main__":
    main()
