"""The local engine: chunks analysed in this process, or in a local process pool.

Each worker builds the analyzer once, started while the first date is read. A chunk travels as
one Arrow string array and comes back as the few keys with hits and a list of repeat keys.
Each distinct text is analysed once per date (收到 appears thousands of times a day); texts with
hits and the texts a date repeated are kept for the next dates, the rest is forgotten, so memory
follows a day's size, not the archive's.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor import failpoints
from auditor.analyzer import Analyzer, Ruleset, audit_analyzer
from auditor.detectors.base import Hit
from auditor.engines import WORKER_MODULES, chunk
from auditor.engines.chunk import Key
from auditor.process_pool import (
    PoolStart,
    exit_with_parent,
    fresh_pool,
    start_fork_server,
    with_workers,
)
from auditor.text import segment
from auditor.text.segment import Segmenter

REPEATED_LIMIT = 200_000  # clean keys carried from one date to the next, the most repeated first
_worker_analyzer: Analyzer | None = None


def init_worker(
    config: dict[str, Any],
    company_dictionaries: Path | None,
    dictionary: tuple[tuple[str, ...], segment.DictionaryEntries] | None = None,
) -> None:
    """Builds this worker's analyzer. ``dictionary``: the tokenizer's user words and what jieba's
    dictionary says of them, as the parent read them (used only if this worker's words are the same)."""
    global _worker_analyzer
    exit_with_parent()
    if dictionary is not None:
        segment.remember_entries(*dictionary)
    _worker_analyzer = audit_analyzer(Ruleset(config, company_dictionaries))
    _worker_analyzer.segmenter.tokenizer  # noqa: B018 - jieba loads now, while the first date is read


Found = tuple[dict[int, list[Hit]], pa.Array]  # a chunk's hits by place (only keys with hits), repeat keys


def _found(analysis: chunk.Analysis) -> Found:
    """A chunk's analysis as it travels back: only the few keys with hits, by their place in the
    chunk (most of 2,000 keys have none), so neither pickling nor merging walks the clean ones;
    the repeat keys as one Arrow array, which the audit codes without a Python string each."""
    hits = {i: hits for i, hits in enumerate(analysis.hits) if hits}
    return hits, analysis.repeat_keys


def analyze_payload(analyzer: Analyzer, texts: pa.Array, is_file: np.ndarray) -> Found:
    """A chunk as it travelled (``chunk.chunk_payload``) analysed, as it travels back (``_found``)."""
    return _found(chunk.analyze_chunk(analyzer, chunk.payload_keys(texts, is_file)))


def _analyze_in_worker(texts: pa.Array, is_file: np.ndarray) -> Found:
    assert _worker_analyzer is not None
    return analyze_payload(_worker_analyzer, texts, is_file)


@dataclass
class Submitted:
    """A date handed to the engine and not yet collected."""

    keys: chunk.DateKeys
    work: list[np.ndarray]  # the chunks sent for analysis (positions among the date's keys)
    results: list[Future[Found]] | None  # the pool's futures; None: analysed inline at collect
    known: np.ndarray  # keys not sent (they have hits, or the last date repeated them)
    # keys the date before (still being analysed) may make known: decided when it is collected
    waiting: np.ndarray


class LocalEngine:
    """Hits per distinct key, computed inline (one worker, or a single chunk) or in a local
    process pool (``cluster.DaskEngine``: on a Dask cluster).

    A date goes through ``submit`` (returns at once) and ``collect`` (waits, keeps the results,
    returns the date's repeat keys). The next date may be submitted while this one is still being
    analysed (one date ahead at most, collected in order), so the workers never wait for the audit
    at a date boundary; what a date finds still decides what the next one analyses, exactly as if
    the dates were analysed one after the other.

    What is kept between dates stays small whatever the archive's size: the keys with hits (a
    few in a hundred), and the clean keys the last date repeated (收到, 好的, a sticker: what
    recurs the next day) up to ``REPEATED_LIMIT``. A text written once is analysed and forgotten;
    if it comes back on another date it is analysed again, with the same result."""

    def __init__(self, ruleset: Ruleset, workers: int) -> None:
        self.ruleset = ruleset
        self.workers = workers
        self.hits: dict[Key, list[Hit]] = {}  # only the keys found with hits this run
        self.seen = 0  # distinct keys prepared, summed per date
        self._queue: list[Submitted] = []  # submitted dates not yet collected, oldest first
        self.clean: set[Key] = set()  # clean keys the last date repeated
        self._kept_keys: dict[str, str] = {}  # repeat keys of the texts of hits and clean
        self._analyzer: Analyzer | None = None
        self._pool: PoolStart | None = None

    def lookup(self, key: Key) -> list[Hit]:
        return self.hits.get(key, [])

    def rows_with_hits(self, keys: chunk.DateKeys) -> np.ndarray:
        """The rows of a date's messages whose key has hits: the few messages the audit looks at one
        by one."""
        with_hits = np.append(keys.matching(self.hits), False)  # a row without text (-1): none
        return np.flatnonzero(with_hits[keys.rows])

    def prepare(self, keys: Iterable[Key | None]) -> pa.Array:
        """A date's keys analysed before it returns: ``collect(submit(…))``."""
        return self.collect(self.submit(chunk.DateKeys.of_keys(keys)))

    @property
    def distinct_texts(self) -> int:
        return self.seen

    def _ahead(self) -> Submitted | None:
        """The date submitted and not yet collected, which a date being submitted follows (None if
        none is); refuses a third one: at most two dates are in the engine."""
        if len(self._queue) > 1:
            raise RuntimeError("a date was submitted before the one two before it was collected")
        return self._queue[-1] if self._queue else None

    def _collecting(self, submitted: Submitted) -> None:
        """Takes a date off the queue: dates are collected in the order they were submitted."""
        if not self._queue or self._queue[0] is not submitted:
            raise RuntimeError("dates are collected in the order they were submitted")
        self._queue.pop(0)

    def start(self, messages: int) -> None:
        """Starts the pool's workers (each builds its analyzer: about a CPU second) from a thread
        while the audit reads the first date, if that date can fill more than one chunk; a smaller
        one is analysed inline, and the pool starts when a later date needs it."""
        if self.workers > 1 and messages > chunk.CHUNK and self._pool is None:
            self._pool = PoolStart(self._new_pool)

    def _started_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = PoolStart(self._new_pool)
        return self._pool.pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        """The pool, its workers asked for. While the fork server imports their modules, this reads
        the tokenizer's dictionary entries once for all of them (half a CPU second each)."""
        start_fork_server(init_worker, WORKER_MODULES)
        words = Segmenter(self.ruleset.lexicon.words).words
        dictionary = (words, segment.dictionary_entries(words))
        ruleset = self.ruleset
        initargs = (ruleset.config, ruleset.company_dictionaries, dictionary)
        return with_workers(fresh_pool(self.workers, init_worker, initargs, WORKER_MODULES), self.workers)

    def submit(self, keys: chunk.DateKeys) -> Submitted:
        """Sends the date's keys not known yet (in message order) to the pool and returns at once.

        If the date before is still being analysed, its hits and the texts it repeats (which are
        then not analysed again) are not known yet: the keys it shares with this date wait until it
        is collected (``_decide``), the rest (most texts are written once) are sent now."""
        ahead: Submitted | None = self._ahead()
        self.seen += len(keys)
        nothing = np.empty(0, dtype=np.int64)
        if ahead is None:
            known = keys.matching(self.hits.keys() | self.clean)
            fresh, waiting = np.flatnonzero(~known), nothing
            known_now = np.flatnonzero(known)
        else:
            shared = pc.is_in(keys.texts, value_set=ahead.keys.texts).to_numpy(zero_copy_only=False)
            maybe = shared | keys.matching(self.hits)
            fresh, waiting, known_now = np.flatnonzero(~maybe), np.flatnonzero(maybe), nothing
        futures = None
        if self._sends(len(fresh) + len(waiting)):
            futures = self._send(keys, chunk.chunks(fresh))
        submitted = Submitted(keys, chunk.chunks(fresh), futures, known_now, waiting)
        self._queue.append(submitted)
        return submitted

    def _sends(self, keys: int) -> bool:
        """Whether a date of ``keys`` keys not known yet goes to the workers: more than one chunk of
        them (fewer are analysed here, at ``collect``)."""
        return self.workers > 1 and keys > chunk.CHUNK

    def _send(self, keys: chunk.DateKeys, work: list[np.ndarray]) -> list[Future[Found]]:
        """The chunks ``work`` of ``keys`` handed to the workers: a future of each one's ``Found``."""
        pool = self._started_pool()
        return [pool.submit(_analyze_in_worker, *chunk.chunk_payload(keys, w)) for w in work]

    def _decide(self, submitted: Submitted) -> None:
        """Once the date before is collected: which of a date's waiting keys are known now (kept
        from it), and the others sent."""
        waiting, keys = submitted.waiting, submitted.keys
        known = keys.matching(self.hits.keys() | self.clean)[waiting]
        submitted.known = waiting[known]
        work = chunk.chunks(waiting[~known])
        submitted.work += work
        if submitted.results is not None:
            submitted.results += self._send(keys, work)
        submitted.waiting = np.empty(0, dtype=np.int64)

    def collect(self, submitted: Submitted) -> pa.Array:
        """Waits for a submitted date's analysis, keeps what the next dates need, and returns the
        repeat key of each of the date's distinct keys."""
        self._collecting(submitted)
        keys = submitted.keys
        if submitted.results is None:
            results: Iterable[Found] = (
                analyze_payload(self._own_analyzer(), *chunk.chunk_payload(keys, positions))
                for positions in submitted.work
            )
        else:
            results = (future.result() for future in submitted.results)
        pieces: list[pa.Array] = []  # repeat keys, in the order of ``placed``
        placed: list[np.ndarray] = []  # positions among the date's keys
        for positions, (found, keys_of_texts) in zip(submitted.work, results, strict=True):
            if found:
                places = list(found)
                self.hits.update(zip(keys.keys(positions[places]), (found[i] for i in places), strict=True))
            pieces.append(keys_of_texts)
            placed.append(positions)
            failpoints.reached("mid-audit")
        with_hits = keys.matching(self.hits)
        repeated = np.flatnonzero((keys.counts > 1) & ~with_hits)
        if len(repeated) > REPEATED_LIMIT:
            counted = zip(keys.counts[repeated].tolist(), keys.keys(repeated), strict=True)
            self.clean = {key for _, key in heapq.nlargest(REPEATED_LIMIT, counted)}
        else:
            self.clean = set(keys.keys(repeated))
        if self._queue:  # the next date, submitted while this one was analysed
            self._decide(self._queue[0])
        # a text not analysed again (it has hits, or the last date repeated it) keeps its repeat key
        kept = self._kept_keys
        known_texts = [text for text, _ in keys.keys(submitted.known)]
        pieces.append(pa.array([kept[text] for text in known_texts], type=pa.string()))
        placed.append(submitted.known)
        order = np.empty(len(keys), dtype=np.int64)
        order[np.concatenate(placed)] = np.arange(len(keys))
        repeat_keys = pa.concat_arrays(pieces).take(order)
        kept_today = np.flatnonzero(with_hits | (keys.counts > 1))  # hits' and clean texts among them
        today_texts = [text for text, _ in keys.keys(kept_today)]
        today = dict(zip(today_texts, repeat_keys.take(kept_today).to_pylist(), strict=True))
        self._kept_keys = {
            text: today[text] if text in today else kept[text]
            for text, _ in itertools.chain(self.hits, self.clean)
        }
        return repeat_keys

    def _own_analyzer(self) -> Analyzer:
        """The analyzer of the chunks analysed here, built when the first one is."""
        if self._analyzer is None:
            self._analyzer = audit_analyzer(self.ruleset)
        return self._analyzer

    def close(self) -> None:
        """Stops the workers; on an error or SIGTERM, chunks not yet started are dropped."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
