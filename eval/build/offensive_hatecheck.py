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

import csv
import io
from pathlib import Path

from common import build_test_set, git_blob, unambiguous_test_rows

CASES = "MHC Final Cases/hatecheck_cases_final_mandarin.csv"
OFFENSIVE_BUT_NOT_HATEFUL = ("target_indiv_nh", "target_group_nh")


def rows(repo: Path) -> list[tuple[str, str, str, int]]:
    reader = csv.DictReader(io.StringIO(git_blob(repo, CASES).decode("utf-8-sig"), newline=""))
    labelled = [
        (case["test_case"], int(case["label_gold"] == "hateful"))
        for case in reader
        if case["functionality"] not in OFFENSIVE_BUT_NOT_HATEFUL
    ]
    return unambiguous_test_rows(labelled, "hatecheck-zh")


def main() -> None:
    build_test_set(__doc__.splitlines()[0], rows, "offensive-hatecheck")


if __name__ == "__main__":
    main()
