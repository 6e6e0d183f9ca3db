"""The unit of work every audit engine schedules: a chunk of distinct (text, is_file) keys → hits.

Both engines key a message the same way and analyse a chunk through ``analyze_chunk``; they
differ only in where a chunk runs (this process, a local pool worker, a Dask worker). File
names are analysed as file names (``is_file``), so the key carries the flag.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.analyzer import Analyzer
from auditor.detectors.base import Hit

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


def chunks(keys: list[Key]) -> list[list[Key]]:
    return [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]


def analyze_chunk(analyzer: Analyzer, keys: list[Key]) -> list[list[Hit]]:
    """Hits of each key, in the keys' order: the one analysis every engine runs."""
    return analyzer.analyze_many(keys)
