"""Audit engines: where the text analysis of a date runs.

An engine (``chunk.Results``) has ``start(messages)`` (called before the first date is read: a local pool's
workers start meanwhile), ``submit(view, date, keys)`` (start analysing a date's ``chunk.DateKeys``;
returns at once) and ``collect(submitted)`` (wait for them; returns the flooding detector's repeat
key of each of the date's distinct keys, as one Arrow string array), ``prepare`` (both at once),
``rows_with_hits(keys)``, ``lookup(key)`` (one message's hits), ``distinct_texts`` and ``close()``.
Both engines run the same per-chunk analysis (``chunk.analyze_chunk``); ``audit.audit`` drives
either, submitting a date while the one before is still analysed.
"""

from __future__ import annotations

import os

from auditor.analyzer import Ruleset
from auditor.engines.local import WORKER_PRELOAD, LocalEngine, init_worker
from auditor.process_pool import plan_pool


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def plan_engine(engine: str, workers: int) -> None:
    """Called before a command starts another process pool ahead of the audit's (``nightly``'s
    ingest): the fork server that pool starts then preloads the audit workers' module as well, if
    the audit will run a local pool."""
    if engine == "local" and workers > 1:
        plan_pool(init_worker, WORKER_PRELOAD)


def make_engine(ruleset: Ruleset, workers: int, engine: str = "local", scheduler: str | None = None):
    """The local process pool, or a Dask distributed cluster (``pip install .[dask]``)."""
    if engine == "dask":
        from auditor.engines.cluster import DaskEngine  # imports distributed only when asked for

        return DaskEngine(ruleset, scheduler)
    return LocalEngine(ruleset, workers)
