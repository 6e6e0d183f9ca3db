"""The unit of work every audit engine schedules: a chunk of distinct (text, is_file) keys → hits.

Both engines key a message the same way and analyse a chunk through ``analyze_chunk`` (hits, and
the flooding detector's repeat key of each text, so the audit's main process never normalizes); they
differ only in where a chunk runs (this process, a local pool worker, a Dask worker). File
names are analysed as file names (``is_file``), so the key carries the flag.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from auditor import lake
from auditor.analyzer import Analyzer
from auditor.detectors.base import Hit
from auditor.detectors.flooding import repeat_key

FILE_TYPES = ("file", "voip_doc_share", "qydiskfile")
CHUNK = 2000  # keys per task sent to a local pool worker

if TYPE_CHECKING:
    from auditor.lake_view import LakeView

Key = tuple[str, bool]


def message_keys(msgtypes: Iterable[str], texts: Iterable[str]) -> list[Key | None]:
    """Each message's key, in message order; None for a message without text."""
    return [
        (text, msgtype in FILE_TYPES) if text else None for msgtype, text in zip(msgtypes, texts, strict=True)
    ]


def key_counts(keys: Iterable[Key | None]) -> Counter[Key]:
    """Each distinct key with how many messages have it, in first-message order (what an engine's
    ``submit`` takes; counted while the engine is still busy with the date before)."""
    counts = Counter(keys)
    counts.pop(None, None)
    return counts


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


class Results(ABC):
    """What both engines keep and answer from: the hits of the keys analysed, and how many distinct
    keys were prepared (summed per date).

    A date goes through ``submit`` (returns at once: its analysis runs while the audit finishes the
    date before) and ``collect`` (waits, keeps the results, returns the date's repeat keys). A date
    is collected before the next is submitted, so what a date found decides what the next one
    sends, exactly as if the dates were analysed one after the other."""

    def __init__(self) -> None:
        self.hits: dict[Key, list[Hit]] = {}
        self.seen = 0
        self._pending: object | None = None

    def lookup(self, key: Key) -> list[Hit]:
        return self.hits.get(key, [])

    def rows_with_hits(self, texts: list[str], keys: list[Key | None]) -> list[int]:
        """The rows of a date's messages (their ``texts`` and ``keys``) whose key has hits: the few
        messages the audit looks at one by one. Texts are matched first, in one hashed pass."""
        hits = self.hits
        candidates = pd.Series(texts, dtype=object).isin({text for text, _ in hits}).to_numpy()
        return [i for i in np.flatnonzero(candidates).tolist() if keys[i] in hits]

    def prepare(self, view: LakeView | None, date: str, keys: Iterable[Key | None]) -> dict[str, str]:
        """A date analysed before it returns: ``collect(submit(…))``."""
        return self.collect(self.submit(view, date, key_counts(keys)))

    @abstractmethod
    def submit(self, view: LakeView | None, date: str, counts: Mapping[Key, int]) -> Any:
        """Starts the analysis of a date's keys (``key_counts``) and returns what ``collect`` takes."""

    @abstractmethod
    def collect(self, submitted: Any) -> dict[str, str]:
        """Waits for a submitted date; returns the repeat key of each of its texts."""

    def _check_collected(self) -> None:
        if self._pending is not None:
            raise RuntimeError("a date was submitted before the one before it was collected")

    @property
    def distinct_texts(self) -> int:
        return self.seen
