"""The secret and pii test tables as eval sets (eval/data/{secret,pii}/test.csv, columns text,label).

The tables in test_secret.py and test_pii.py are the source; each test module checks that its CSV
still equals its table. After editing a table: ``python -m tests.detectors.eval_tables``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from auditor.atomic import write_bytes

EVAL_DATA = Path(__file__).resolve().parents[2] / "eval" / "data"


def rows(positives: list[str], negatives: list[str]) -> list[tuple[str, int]]:
    return [(t, 1) for t in positives] + [(t, 0) for t in negatives]


def read(category: str) -> list[tuple[str, int]]:
    with (EVAL_DATA / category / "test.csv").open(encoding="utf-8", newline="") as handle:
        return [(r["text"], int(r["label"])) for r in csv.DictReader(handle)]


def write(category: str, table: list[tuple[str, int]]) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(table)
    path = EVAL_DATA / category / "test.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, out.getvalue().encode("utf-8"))


def main() -> None:
    from tests.detectors import test_pii, test_secret

    write("secret", test_secret.eval_rows())
    write("pii", test_pii.eval_rows())


if __name__ == "__main__":
    main()
