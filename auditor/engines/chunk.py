"""The unit of work every audit engine schedules: a chunk of distinct (text, is_file) keys → hits.

Both engines key a message the same way and analyse a chunk through ``analyze_chunk`` (hits, and
the flooding detector's repeat key of each text, so the audit's main process never normalizes); they
differ only in where a chunk runs (this process, a local pool worker, a Dask worker). File
names are analysed as file names (``is_file``), so the key carries the flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from auditor import lake
from auditor.analyzer import Analyzer
from auditor.detectors.base import Hit
from auditor.detectors.flooding import repeat_key

FILE_TYPES = ("file", "voip_doc_share", "qydiskfile")
CHUNK = 2000  # keys per task sent to a local pool worker

Key = tuple[str, bool]


def message_keys(msgtypes: Iterable[str], texts: Iterable[str]) -> list[Key | None]:
    """Each message's key, in message order; None for a message without text."""
    return [
        (text, msgtype in FILE_TYPES) if text else None for msgtype, text in zip(msgtypes, texts, strict=True)
    ]


def distinct_keys(keys: Iterable[Key | None]) -> list[Key]:
    """The distinct keys in a stable (sorted) order, so chunks do not depend on message order."""
    return sorted({key for key in keys if key is not None})


def lake_keys(messages_dir: Path) -> list[Key]:
    """Every distinct key of a lake's messages (benchmarks and parity tests analyse exactly these)."""
    keys: list[Key | None] = []
    for date in lake.dates(messages_dir):
        for batch in lake.iter_batches(messages_dir, date, ["text", "msgtype"]):
            keys += message_keys(batch.column("msgtype").to_pylist(), batch.column("text").to_pylist())
    return distinct_keys(keys)


def chunks(keys: list[Key]) -> list[list[Key]]:
    return [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]


class Analysis(NamedTuple):
    """A chunk's results, in the keys' order."""

    hits: list[list[Hit]]
    repeat_keys: list[str]  # each text's flooding repeat key, from the normalization the analysis did


def analyze_chunk(analyzer: Analyzer, keys: list[Key]) -> Analysis:
    """Hits and repeat key of each key: the one analysis every engine runs."""
    hits, norms = analyzer.analyze_batch(keys)
    return Analysis(hits, [repeat_key(norm) for norm in norms])


class Results:
    """What both engines keep and answer from: the hits of the keys analysed, the repeat keys of
    the date last prepared, and how many distinct keys were prepared (summed per date)."""

    def __init__(self) -> None:
        self.hits: dict[Key, list[Hit]] = {}
        self.repeat_keys: dict[str, str] = {}
        self.seen = 0

    def lookup(self, key: Key) -> list[Hit]:
        return self.hits.get(key, [])

    @property
    def distinct_texts(self) -> int:
        return self.seen
