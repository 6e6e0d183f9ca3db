"""Audit engines: where the text analysis of a date runs.

An engine (``chunk.Results``) has ``submit(view, date, keys)`` (start analysing a date's message
keys; returns at once) and ``collect(submitted)`` (wait for them; returns text → the flooding
detector's repeat key for every text of the date), ``prepare`` (both at once), ``lookup(key)``
(one message's hits), ``distinct_texts`` and ``close()``. Both engines run the same per-chunk
analysis (``chunk.analyze_chunk``); ``audit.audit`` drives either, one date ahead.
"""

from __future__ import annotations

import os

from auditor.analyzer import Ruleset
from auditor.engines.local import LocalEngine


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def make_engine(ruleset: Ruleset, workers: int, engine: str = "local", scheduler: str | None = None):
    """The local process pool, or a Dask distributed cluster (``pip install .[dask]``)."""
    if engine == "dask":
        from auditor.engines.cluster import DaskEngine  # imports distributed only when asked for

        return DaskEngine(ruleset, scheduler)
    return LocalEngine(ruleset, workers)
