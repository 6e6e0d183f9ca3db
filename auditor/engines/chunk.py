"""The unit of work every audit engine schedules: a chunk of distinct (text, is_file) keys → hits.

Both engines key a message the same way and analyse a chunk through ``analyze_chunk`` (hits, and
the flooding detector's repeat key of each text, so the audit's main process never normalizes); they
differ only in where a chunk runs (this process, a local pool worker, a Dask worker). File
names are analysed as file names (``is_file``), so the key carries the flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor import lake
from auditor.analyzer import Analyzer
from auditor.detectors.base import Hit
from auditor.detectors.flooding import keys_of_normalized
from auditor.string_codes import NONE, string_codes

FILE_TYPES = ("file", "voip_doc_share", "qydiskfile")
CHUNK = 2000  # keys per task sent to a worker (a local pool's or a Dask cluster's)

Key = tuple[str, bool]


def message_keys(msgtypes: Iterable[str], texts: Iterable[str]) -> list[Key | None]:
    """Each message's key, in message order; None for a message without text."""
    return [
        (text, msgtype in FILE_TYPES) if text else None for msgtype, text in zip(msgtypes, texts, strict=True)
    ]


@dataclass
class DateKeys:
    """A date's analysis keys as arrays, computed in a few hashed passes without a Python object per
    message or per distinct text: the distinct keys in first-message order (what an engine's
    ``submit`` takes; computed while the engine is still busy with the date before) and each
    message's key among them. Only the few keys the engines keep become Python tuples (``keys``)."""

    texts: pa.Array  # string: each distinct key's text
    is_file: np.ndarray  # bool: each distinct key's flag
    counts: np.ndarray  # int64: how many messages have each distinct key
    rows: np.ndarray  # int64: each message's distinct key, -1 for a message without text

    @classmethod
    def of(cls, msgtypes: np.ndarray, text_codes: np.ndarray, texts: pa.Array) -> DateKeys:
        """The keys of messages given by their types (object array) and texts (each message's code
        into the distinct ``texts``, ``NONE`` for no text: ``string_codes``, as ``LakeView.read_day``
        gives them)."""
        with_text = text_codes != NONE
        flags = pd.Series(msgtypes, dtype=object, copy=False).isin(FILE_TYPES).to_numpy()
        rows = np.full(len(text_codes), -1, dtype=np.int64)
        key_codes, distinct = pd.factorize(text_codes[with_text].astype(np.int64) * 2 + flags[with_text])
        rows[with_text] = key_codes
        return cls(
            texts.take(distinct // 2),
            (distinct % 2).astype(bool),
            np.bincount(key_codes, minlength=len(distinct)).astype(np.int64),
            rows,
        )

    @classmethod
    def of_keys(cls, keys: Iterable[Key | None]) -> DateKeys:
        """The same from messages' keys (tests and ``LocalEngine.prepare``)."""
        keys = list(keys)
        text_codes, texts = string_codes([key[0] if key else "" for key in keys])
        types = np.array([FILE_TYPES[0] if key and key[1] else "text" for key in keys], dtype=object)
        return cls.of(types, text_codes, texts)

    def __len__(self) -> int:
        return len(self.texts)

    def keys(self, positions: np.ndarray) -> list[Key]:
        """The distinct keys at ``positions``, as Python tuples."""
        texts = self.texts.take(pa.array(positions, type=pa.int64())).to_pylist()
        return list(zip(texts, self.is_file[positions].tolist(), strict=True))

    def key(self, i: int) -> Key:
        return self.keys(np.array([i]))[0]

    def row_text(self, row: int) -> str:
        """The text of one message ("" for a message without text)."""
        i = int(self.rows[row])
        return self.texts[i].as_py() if i >= 0 else ""

    def matching(self, known: Iterable[Key]) -> np.ndarray:
        """Which distinct keys are in ``known`` (bool): texts matched in one hashed pass (Arrow's),
        then the few candidates' flags checked."""
        known = known if isinstance(known, (set, dict)) else set(known)
        found = np.zeros(len(self), dtype=bool)
        if not known:
            return found
        texts = pa.array(list({text for text, _ in known}), type=self.texts.type)
        candidates = np.flatnonzero(pc.is_in(self.texts, value_set=texts).to_numpy(zero_copy_only=False))
        found[candidates] = [key in known for key in self.keys(candidates)]
        return found


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


def chunks(positions: np.ndarray) -> list[np.ndarray]:
    """``positions`` (of a date's distinct keys) in slices of ``CHUNK``: a local pool worker's task."""
    return [positions[i : i + CHUNK] for i in range(0, len(positions), CHUNK)]


def chunk_payload(keys: DateKeys, positions: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """A chunk as it travels to a worker: its texts as one Arrow string array (a buffer and offsets,
    not a pickled string per text) and their flags."""
    return keys.texts.take(pa.array(positions, type=pa.int64())), keys.is_file[positions]


def payload_keys(texts: pa.Array, is_file: np.ndarray) -> list[Key]:
    """A chunk's keys back from ``chunk_payload``, in order."""
    return list(zip(texts.to_pylist(), is_file.tolist(), strict=True))


class Analysis(NamedTuple):
    """A chunk's results, in the keys' order."""

    hits: list[list[Hit]]
    repeat_keys: pa.Array  # each text's flooding repeat key, from the normalization the analysis did


def analyze_chunk(analyzer: Analyzer, keys: list[Key]) -> Analysis:
    """Hits and repeat key of each key: the one analysis every engine runs."""
    hits, norms = analyzer.analyze_batch(keys)
    return Analysis(hits, keys_of_normalized([norm.text for norm in norms]))
