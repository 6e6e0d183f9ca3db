"""The Dask engine: the audit's text analysis on a Dask distributed cluster.

It is the local engine (``local.LocalEngine``) with the cluster in place of the process pool: the
same date keys, the same keys kept from one date to the next and not sent again, the same chunks of
``chunk.CHUNK`` distinct texts, each sent as an Arrow string array to whichever worker is free.
So the workers read nothing themselves (they need this package, not the lake), and the findings
are byte-identical to the local engine's. A ``WorkerPlugin`` builds the analyzer — normalizer,
term index, jieba tokenizer and models — once per worker.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from auditor.analyzer import Analyzer, Ruleset
from auditor.engines import chunk
from auditor.engines.local import Found, LocalEngine, analyze_payload
from auditor.errors import AuditorError

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
    archive on a LocalCluster of 2 workers (when its tasks were row-group slices): 63–71 worker CPU
    seconds and 38–44 s before (4 runs), 41–50 CPU seconds and 25–32 s with the threshold raised
    (3 runs). Trimming still follows the nanny's setting. An operator's own
    ``MALLOC_MMAP_THRESHOLD_`` wins; returns whether the threshold was raised."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False  # glibc's threshold still adapts, or the operator chose one
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing pinned it
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_ARRAYS_UP_TO))


def _analyze_on_cluster(texts: pa.Array, is_file: np.ndarray) -> Found:
    """A chunk analysed by the worker's own analyzer (built by the plugin)."""
    return analyze_payload(get_worker().plugins[PLUGIN].analyzer, texts, is_file)


class DaskEngine(LocalEngine):
    """``LocalEngine`` whose chunks go to a Dask cluster (``--scheduler``) instead of a local pool."""

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
        super().__init__(ruleset, len(self.client.scheduler_info()["workers"]))

    def start(self, messages: int) -> None:
        """Nothing to start: the cluster's workers built their analyzers when the plugin was registered."""

    def _sends(self, keys: int) -> bool:
        return bool(keys)  # the cluster analyses every chunk, a small date's too

    def _send(self, keys: chunk.DateKeys, work: list[np.ndarray]) -> list[Any]:
        submit = self.client.submit
        return [submit(_analyze_on_cluster, *chunk.chunk_payload(keys, w), pure=False) for w in work]

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.client.close()
