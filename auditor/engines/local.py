"""The local engine: chunks analysed in this process, or in a local process pool.

Each worker builds the analyzer once. Each distinct text is analysed once per date (收到
appears thousands of times a day); texts with hits and the texts a date repeated are kept for
the next dates, the rest is forgotten, so memory follows a day's size, not the archive's.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import failpoints
from auditor.analyzer import Analyzer, Ruleset, audit_analyzer
from auditor.detectors.base import Hit
from auditor.engines import chunk
from auditor.engines.chunk import Key
from auditor.process_pool import exit_with_parent, fresh_pool

if TYPE_CHECKING:
    from auditor.lake_view import LakeView

REPEATED_LIMIT = 200_000  # clean keys carried from one date to the next, the most repeated first
_worker_analyzer: Analyzer | None = None


def _init_worker(config: dict[str, Any], company_dictionaries: Path | None) -> None:
    global _worker_analyzer
    exit_with_parent()
    _worker_analyzer = audit_analyzer(Ruleset(config, company_dictionaries))


Found = tuple[dict[int, list[Hit]], list[str]]  # a chunk's hits by place (only keys with hits), repeat keys


def _found(analysis: chunk.Analysis) -> Found:
    """A chunk's analysis as it travels back: only the few keys with hits, by their place in the
    chunk (most of 2,000 keys have none), so neither pickling nor merging walks the clean ones."""
    return {i: hits for i, hits in enumerate(analysis.hits) if hits}, analysis.repeat_keys


def _analyze_in_worker(keys: list[Key]) -> Found:
    assert _worker_analyzer is not None
    return _found(chunk.analyze_chunk(_worker_analyzer, keys))


@dataclass
class Submitted:
    """A date handed to the engine and not yet collected."""

    counts: Mapping[Key, int]  # each distinct key of the date → how many messages have it
    work: list[list[Key]]  # the chunks sent for analysis
    results: list[Future[Found]] | None  # the pool's futures; None: analysed inline at collect
    known: list[str]  # texts not sent (they have hits, or the last date repeated them)


class LocalEngine(chunk.Results):
    """Hits per distinct key, computed inline (one worker, or a single chunk) or in a local
    process pool started on first use.

    What is kept between dates stays small whatever the archive's size: the keys with hits (a
    few in a hundred), and the clean keys the last date repeated (收到, 好的, a sticker: what
    recurs the next day) up to ``REPEATED_LIMIT``. A text written once is analysed and forgotten;
    if it comes back on another date it is analysed again, with the same result."""

    def __init__(self, ruleset: Ruleset, workers: int) -> None:
        self.ruleset = ruleset
        self.workers = workers
        super().__init__()  # hits: only the keys found with hits this run
        self.clean: set[Key] = set()  # clean keys the last date repeated
        self._kept_keys: dict[str, str] = {}  # repeat keys of the texts of hits and clean
        self._analyzer: Analyzer | None = None
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, view: LakeView | None, date: str, counts: Mapping[Key, int]) -> Submitted:
        """Sends the date's keys not known yet (in message order) to the pool and returns at once."""
        self._check_collected()
        self.seen += len(counts)
        hits, clean = self.hits, self.clean
        todo, known = [], []
        for key in counts:
            if key in hits or key in clean:
                known.append(key[0])
            else:
                todo.append(key)
        work = chunk.chunks(todo)
        futures = None
        if self.workers > 1 and len(work) > 1:
            if self._pool is None:
                self._pool = fresh_pool(
                    self.workers,
                    _init_worker,
                    (self.ruleset.config, self.ruleset.company_dictionaries),
                )
            futures = [self._pool.submit(_analyze_in_worker, keys) for keys in work]
        self._pending = Submitted(counts, work, futures, known)
        return self._pending

    def collect(self, submitted: Submitted) -> dict[str, str]:
        """Waits for a submitted date's analysis, keeps what the next dates need, and returns the
        repeat key of every text of the date."""
        self._pending = None
        if submitted.results is None:
            if self._analyzer is None:
                self._analyzer = audit_analyzer(self.ruleset)
            results: Iterable[Found] = (
                _found(chunk.analyze_chunk(self._analyzer, keys)) for keys in submitted.work
            )
        else:
            results = (future.result() for future in submitted.results)
        repeat_keys: dict[str, str] = {}
        for keys, (found, keys_of_texts) in zip(submitted.work, results, strict=True):
            self.hits.update((keys[i], hits) for i, hits in found.items())
            repeat_keys.update(zip(map(itemgetter(0), keys), keys_of_texts, strict=True))
            failpoints.reached("mid-audit")
        counts = submitted.counts
        repeated = [(n, key) for key, n in counts.items() if n > 1 and key not in self.hits]
        if len(repeated) > REPEATED_LIMIT:
            repeated = heapq.nlargest(REPEATED_LIMIT, repeated)
        self.clean = {key for _, key in repeated}
        # a text not analysed again (it has hits, or the last date repeated it) keeps its repeat key
        kept = self._kept_keys
        repeat_keys.update((text, kept[text]) for text in submitted.known if text not in repeat_keys)
        self._kept_keys = {
            text: repeat_keys[text] if text in repeat_keys else kept[text]
            for text, _ in itertools.chain(self.hits, self.clean)
        }
        return repeat_keys

    def close(self) -> None:
        """Stops the workers; on an error or SIGTERM, chunks not yet started are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
