"""Audit engines: where the text analysis of a date runs.

An engine (``local.LocalEngine``) has ``start(messages)`` (called before the first date is read: a
local pool's workers start meanwhile), ``submit(keys)`` (start analysing a date's ``chunk.DateKeys``;
returns at once) and ``collect(submitted)`` (wait for them; returns the flooding detector's repeat
key of each of the date's distinct keys, as one Arrow string array), ``prepare`` (both at once),
``rows_with_hits(keys)``, ``lookup(key)`` (one message's hits), ``distinct_texts`` and ``close()``.
The local engine sends chunks of a date's distinct texts to a process pool, the Dask engine (the
same engine) to a cluster; both run the same per-chunk analysis (``chunk.analyze_chunk``).
``audit.audit`` drives either, submitting a date while the one before is still analysed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from auditor.process_pool import plan_pool

if TYPE_CHECKING:  # the engines load the analyzer: imported when one is made, so that a command can
    from auditor.analyzer import Ruleset  # plan (and start) the local pool's fork server first

# What a local pool worker imports: ``local.init_worker``'s module, then what its analyzer imports
# only as it is built (the abuse model's scipy.sparse, a fifth of a CPU second; jieba and rjieba, a
# third). The fork server imports them once for every worker.
WORKER_MODULES = ("auditor.engines.local", "auditor.classifier", "jieba", "rjieba")


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(config: dict[str, Any], workers: int | None = None) -> int:
    """How many workers an audit runs: the option, else the ``[audit] workers`` setting, else every core."""
    return workers or config["audit"]["workers"] or available_cores()


def plan_engine(engine: str, workers: int) -> None:
    """Called before a command starts another process pool ahead of the audit's (``nightly``'s
    ingest), or before it starts the fork server itself (``audit``): the fork server then preloads
    the audit workers' modules as well, if the audit will run a local pool."""
    if engine == "local" and workers > 1:
        plan_pool(WORKER_MODULES)


def make_engine(ruleset: Ruleset, workers: int, engine: str = "local", scheduler: str | None = None):
    """The local process pool, or a Dask distributed cluster (``pip install .[dask]``)."""
    if engine == "dask":
        from auditor.engines.cluster import DaskEngine  # imports distributed only when asked for

        return DaskEngine(ruleset, scheduler)
    from auditor.engines.local import LocalEngine

    return LocalEngine(ruleset, workers)
