"""The Dask engine: the audit's text analysis on a Dask distributed cluster.

Tasks are slices of the row groups of a date's message partition in the same lake, a few per
worker so every worker has work. Workers read the Parquet files themselves, so the lake must be
on storage every worker can reach: the same machine, NFS, a mounted object store. A
``WorkerPlugin`` builds the analyzer — normalizer, automaton, jieba tokenizer and model — once
per worker. A task keys its rows and analyses them with ``chunk.analyze_chunk``, as a local
worker does; day detectors, the policy and the findings writer stay on the client, so findings
are byte-identical to the local engine's.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from auditor.analyzer import Analyzer, Ruleset
from auditor.detectors.base import Hit
from auditor.engines import chunk
from auditor.engines.chunk import Key
from auditor.errors import AuditorError

if TYPE_CHECKING:
    from auditor.lake_view import LakeView

PLUGIN = "wecom-auditor-analyzer"

try:
    from distributed import Client, WorkerPlugin, get_worker
except ImportError:  # the engine is an extra: pip install "wecom-auditor[dask]"
    Client = WorkerPlugin = get_worker = None  # type: ignore[assignment,misc]


class AnalyzerPlugin(WorkerPlugin if WorkerPlugin else object):  # type: ignore[misc]
    """Builds the analyzer once per worker process, when the worker joins."""

    name = PLUGIN

    def __init__(self, config: dict[str, Any], company_dictionaries: str | None) -> None:
        self.config = config
        self.company_dictionaries = company_dictionaries
        self.analyzer: Analyzer | None = None
        self.arrays_in_heap = False

    def setup(self, worker: Any) -> None:
        self.arrays_in_heap = keep_arrays_in_heap()
        dictionaries = Path(self.company_dictionaries) if self.company_dictionaries else None
        self.analyzer = Analyzer(Ruleset(self.config, dictionaries))


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
HEAP_ARRAYS_UP_TO = 32 << 20  # glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2)


def keep_arrays_in_heap() -> bool:
    """Lets glibc serve the analyzer's arrays from its heap again in a worker that Dask's nanny
    started with ``MALLOC_TRIM_THRESHOLD_`` set (its default: freed memory goes back to the OS
    at once, for the worker's memory manager). Setting that also pins glibc's mmap threshold at
    128 KiB, which otherwise rises to the size of the blocks a process frees and reuses; so every
    array over 128 KiB that a batch makes (code points, n-grams, buckets: hundreds a batch) became
    a fresh mmap whose pages fault in zeroed, and unmapped when freed. Auditing the 1M realistic
    archive on a LocalCluster of 2 workers: 63–71 worker CPU seconds and 38–44 s before (4 runs),
    41–50 CPU seconds and 25–32 s with the threshold raised (3 runs; the workers' peak is in
    ``chunk.analyze_chunk``). Trimming still follows the nanny's setting. An operator's own
    ``MALLOC_MMAP_THRESHOLD_`` wins; returns whether the threshold was raised."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False  # glibc's threshold still adapts, or the operator chose one
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing pinned it
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO))


TASKS_PER_WORKER = 4  # slices per worker and date, so a slow slice does not leave the others idle


def analyze_row_group(
    path: str, row_group: int, offset: int, length: int
) -> tuple[dict[Key, list[Hit]], dict[str, str]]:
    """Hits of the distinct texts in a slice of one row group (only texts with hits come back), and
    the repeat key of every one of them.

    Every text's key comes back, not only those of people busy enough to repeat themselves: a slice
    cannot tell who is busy over the day, and in real chat the busy people write most texts anyway
    (92 % of the distinct texts of the realistic 100k sample), so a filter would save little transfer.
    """
    analyzer = get_worker().plugins[PLUGIN].analyzer
    table = pq.ParquetFile(path).read_row_group(row_group, columns=["msgtype", "text"]).slice(offset, length)
    keys = chunk.distinct_keys(
        chunk.message_keys(table.column("msgtype").to_pylist(), table.column("text").to_pylist())
    )
    analysis = chunk.analyze_chunk(analyzer, keys)
    hits = {key: hits for key, hits in zip(keys, analysis.hits, strict=True) if hits}
    return hits, {text: key for (text, _), key in zip(keys, analysis.repeat_keys.to_pylist(), strict=True)}


class DaskEngine(chunk.Results):
    def __init__(self, ruleset: Ruleset, scheduler: str | None) -> None:
        if Client is None:
            raise AuditorError('the Dask engine needs the dask extra: pip install "wecom-auditor[dask]"')
        if not scheduler:
            raise AuditorError("--engine dask needs --scheduler tcp://HOST:PORT (or audit.scheduler)")
        try:
            self.client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise AuditorError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        dictionaries = str(ruleset.company_dictionaries) if ruleset.company_dictionaries else None
        self.client.register_plugin(AnalyzerPlugin(ruleset.config, dictionaries), name=PLUGIN)
        super().__init__()

    def tasks(self, view: LakeView, date: str) -> list[tuple[str, int, int, int]]:
        """(file, row group, offset, length) slices of a date, about ``TASKS_PER_WORKER`` per worker
        (a row group is 65,536 rows: a day of 100,000 messages is two) and never under a chunk."""
        groups = []
        for path in view.partition_files(date):
            metadata = pq.ParquetFile(path).metadata
            groups += [
                (str(path.resolve()), g, metadata.row_group(g).num_rows)
                for g in range(metadata.num_row_groups)
            ]
        workers = max(1, len(self.client.scheduler_info()["workers"]))
        size = max(chunk.CHUNK, -(-sum(rows for _, _, rows in groups) // (TASKS_PER_WORKER * workers)))
        return [
            (path, group, offset, min(size, rows - offset))
            for path, group, rows in groups
            for offset in range(0, rows, size)
        ]

    def start(self, messages: int) -> None:
        """Nothing to start: the cluster's workers built their analyzers when the plugin was registered."""

    def submit(
        self, view: LakeView | None, date: str, keys: chunk.DateKeys
    ) -> tuple[chunk.DateKeys, list[Any]]:
        """Hands the date's row-group slices to the cluster and returns their futures at once."""
        self._ahead()  # what the date before finds does not change what this one sends
        assert view is not None  # the workers read the date's files themselves
        self.seen += len(keys)
        tasks = self.tasks(view, date)
        futures = [self.client.submit(analyze_row_group, *task, pure=False) for task in tasks]
        self._queue.append((keys, futures))
        return self._queue[-1]

    def collect(self, submitted: tuple[chunk.DateKeys, list[Any]]) -> pa.Array:
        self._collecting(submitted)
        keys, futures = submitted
        repeat_keys: dict[str, str] = {}  # every text of the date comes back with its key
        for hits, keys_of_texts in self.client.gather(futures):
            self.hits.update(hits)
            repeat_keys.update(keys_of_texts)
        return pa.array([repeat_keys[text] for text in keys.texts.to_pylist()], type=pa.string())

    def close(self) -> None:
        self.client.close()
