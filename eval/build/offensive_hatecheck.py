"""Build the Mandarin HateCheck test set (a second cross-dataset offensive-language set).

Usage: python eval/build/offensive_hatecheck.py REPO [--out eval/data/offensive-hatecheck]

REPO is a fetched snapshot of github.com/rewire-online/multilingual-hatecheck (Multilingual
HateCheck, Röttger et al., WOAH 2022; CC BY 4.0).  ``MHC Final Cases/hatecheck_cases_final_mandarin.csv``
holds 3,378 functional test cases written and validated by native speakers: hateful statements
(derogation, dehumanisation, threats, slurs, profanity against a group, spelling variants such as
pinyin and split characters) and contrasting non-hateful ones (neutral and positive mentions of a
group, negated hate, counter-speech that quotes or references hate, profanity aimed at nobody,
abuse of an object).  Label 1 = ``hateful``.  Two functionalities are left out because their gold
label (not *hateful*) is not *not offensive*: abuse aimed at an individual (``target_indiv_nh``)
and at a non-protected group (``target_group_nh``) are offensive language in this project's sense
(and COLD's), so neither label would be right.  The whole set is a test split: nothing in this
project trains on it.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from common import assemble, clean, git_blob, write_splits

CASES = "MHC Final Cases/hatecheck_cases_final_mandarin.csv"
OFFENSIVE_BUT_NOT_HATEFUL = ("target_indiv_nh", "target_group_nh")


def rows(repo: Path) -> list[tuple[str, str, str, int]]:
    reader = csv.DictReader(io.StringIO(git_blob(repo, CASES).decode("utf-8-sig"), newline=""))
    labelled = [
        (case["test_case"], int(case["label_gold"] == "hateful"))
        for case in reader
        if case["functionality"] not in OFFENSIVE_BUT_NOT_HATEFUL
    ]
    labels_of: dict[str, set[int]] = {}
    for text, label in labelled:
        labels_of.setdefault(clean(text), set()).add(label)
    # A text labelled both ways says nothing about the detector; drop it.
    return [
        ("test", text, "hatecheck-zh", label) for text, label in labelled if len(labels_of[clean(text)]) == 1
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "data" / "offensive-hatecheck"
    )
    args = parser.parse_args()
    splits = assemble(rows(args.repo))
    write_splits(args.out, {"test": splits["test"]})


if __name__ == "__main__":
    main()
