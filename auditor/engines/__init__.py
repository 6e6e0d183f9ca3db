"""Audit engines: where the text analysis of a date runs.

An engine has ``prepare(view, date, keys)`` (analyse a date's message keys before it is
audited), ``lookup(key)`` (one message's hits), ``repeat_keys`` (text → the flooding detector's
repeat key, for every text prepared), ``distinct_texts`` and ``close()``. Both engines
run the same per-chunk analysis (``chunk.analyze_chunk``); ``audit.audit_date`` drives either.
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
