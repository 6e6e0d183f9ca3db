"""Shared steps of the evaluation-set builders: read a fetched repository, clean lines, split, write.

Every builder is deterministic: the same repository snapshot gives the same bytes, so the committed
CSVs can be rebuilt and compared.  Splits are by *dialogue* (or post), never by line, so two lines of
one conversation never land on both sides of a train/test boundary.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import subprocess
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

SPLITS = ("train", "dev", "test")
MAX_CHARS = 300  # longer "messages" are documents, not chat lines


def git_blob(repo: Path, path: str, rev: str = "HEAD") -> bytes:
    """A file of a fetched snapshot (a git directory without a work tree)."""
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"{rev}:{path}"], check=True, capture_output=True
    ).stdout


def git_head(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def zip_member(blob: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return archive.read(name)


def clean(text: str) -> str:
    """Whitespace runs (including ideographic spaces and newlines) become one space."""
    return " ".join(text.split())


def split_of(key: str, test_share: int, dev_share: int) -> str:
    """Deterministic split from a stable key: a hash bucket 0-99, the first ``test_share`` go to test."""
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 100
    if bucket < test_share:
        return "test"
    if bucket < test_share + dev_share:
        return "dev"
    return "train"


def assemble(rows: Iterable[tuple[str, str, str, int]]) -> dict[str, list[tuple[str, int, str]]]:
    """(split, text, source, label) rows → per-split lists, cleaned and deduplicated.

    A text that occurs in test is dropped from train and dev (and one in dev from train), so a model
    trained on train never sees a test line verbatim.
    """
    seen: dict[str, dict[str, tuple[int, str]]] = {split: {} for split in SPLITS}
    for split, text, source, label in rows:
        text = clean(text)
        if not text or len(text) > MAX_CHARS:
            continue
        seen[split].setdefault(text, (label, source))
    taken: set[str] = set()
    out: dict[str, list[tuple[str, int, str]]] = {}
    for split in ("test", "dev", "train"):
        kept = [(t, lab, src) for t, (lab, src) in seen[split].items() if t not in taken]
        taken.update(t for t, _, _ in kept)
        out[split] = sorted(kept, key=lambda r: (r[2], r[0]))
    return out


def write_splits(out_dir: Path, splits: dict[str, list[tuple[str, int, str]]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["text", "label", "source"])
        writer.writerows(rows)
        target = out_dir / f"{split}.csv"
        tmp = target.with_suffix(".csv.tmp")
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
        tmp.replace(target)
        print(f"{target}: {len(rows)} rows")


def unambiguous_test_rows(labelled: list[tuple[str, int]], source: str) -> list[tuple[str, str, str, int]]:
    """Test rows of a labelled set; a text labelled both ways says nothing about the detector and is
    dropped."""
    labels_of: dict[str, set[int]] = {}
    for text, label in labelled:
        labels_of.setdefault(clean(text), set()).add(label)
    return [("test", text, source, label) for text, label in labelled if len(labels_of[clean(text)]) == 1]


def build_test_set(
    description: str, rows: Callable[[Path], list[tuple[str, str, str, int]]], name: str
) -> None:
    """The command line of a test-only set: ``python eval/build/<set>.py <snapshot> [--out DIR]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("repo", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "data" / name)
    args = parser.parse_args()
    write_splits(args.out, {"test": assemble(rows(args.repo))["test"]})
