"""The unit of work every audit engine schedules: a chunk of distinct (text, is_file) keys → hits.

Both engines key a message the same way and analyse a chunk through ``analyze_chunk`` (hits, and
the flooding detector's repeat key of each text, so the audit's main process never normalizes); they
differ only in where a chunk runs (this process, a local pool worker, a Dask worker). File
names are analysed as file names (``is_file``), so the key carries the flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

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
