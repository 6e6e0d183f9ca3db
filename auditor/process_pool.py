"""Process pools that are safe beside the workspace lock: one way to start them for the audit's
analysis workers and ingest's decoding workers."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import auditor

_planned: list[str] = []  # worker modules of pools this process will start after another one


def exit_with_parent() -> None:
    """Ends this worker as soon as the process that started the pool is gone, however it died.

    A pool worker otherwise waits on its task queue forever once the parent is SIGKILLed (it
    holds the queue's write end itself). The parent sentinel is a pipe only the parent writes to,
    so it reads as ready exactly when the parent has exited.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def plan_pool(modules: tuple[str, ...]) -> None:
    """Declares the worker modules of a pool this process will start later (``nightly``: the
    audit's, after ingest's). The fork server starts with the first pool, or with
    ``start_planned_fork_server``, and imports only the modules named by then; a later pool's
    workers would each import their modules themselves (half a CPU second per audit worker)."""
    _planned.extend(m for m in modules if m not in _planned)


def start_planned_fork_server() -> None:
    """Starts the fork server now, if a pool is planned: it imports the planned modules in its own
    process while this one goes on with its own imports and reads, so the pool's workers are
    forked as soon as the pool is asked for (``audit`` knows from its options that it will run
    one, before it imports the audit)."""
    if _planned:
        _ensure_fork_server([])


def _worker_modules(initializer: Callable[..., None], preload: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys([initializer.__module__, *preload]))


def fresh_pool(
    workers: int,
    initializer: Callable[..., None] = exit_with_parent,
    initargs: tuple[Any, ...] = (),
    preload: tuple[str, ...] = (),
) -> ProcessPoolExecutor:
    """A pool whose workers start from a fresh interpreter (forkserver, else spawn), never by
    forking this process: a forked worker would inherit every descriptor, the workspace lock's
    included, and keep the workspace locked after this process is killed. ``initializer`` must
    call ``exit_with_parent`` (the default is just that).

    The fork server, when this process starts it, imports the initializer's module, the modules
    in ``preload`` (what the initializer imports late) and those of the pools planned with
    ``plan_pool`` first, so each worker forked from it has the imports already (half a CPU second
    per audit worker)."""
    context = _ensure_fork_server(_worker_modules(initializer, preload))
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)


def _context(own: list[str]) -> multiprocessing.context.BaseContext:
    """The start method's context, with the fork server's preload named: a pool's ``own`` worker
    modules and the planned ones (see ``fresh_pool``)."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["__main__", *own, *(m for m in _planned if m not in own)])
    return context


def start_fork_server(initializer: Callable[..., None], preload: tuple[str, ...] = ()) -> None:
    """Starts the fork server a ``fresh_pool`` with these arguments would start (if none runs yet),
    and returns while it imports the workers' modules in its own process: the caller can prepare
    the pool's ``initargs`` meanwhile."""
    _ensure_fork_server(_worker_modules(initializer, preload))


def _ensure_fork_server(own: list[str]) -> multiprocessing.context.BaseContext:
    """Starts the fork server (if the platform has one and none runs yet) preloading ``own`` worker
    modules and the planned ones; returns the start method's context while it imports them."""
    context = _context(own)
    if context.get_start_method() == "forkserver":
        with _worker_environment():
            multiprocessing.forkserver.ensure_running()
    return context


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """While the fork server starts: its environment makes it import from where this process does,
    and gives its workers the Arrow allocator the operator chose, else mimalloc (whatever this
    process uses: the command line's own is glibc's, see auditor/cli/__init__.py).

    Python 3.11 starts it with ``python -c``, which puts the current directory first on its
    sys.path, and it ignores the sys_path it is handed (spawn applies it). Run from a folder that
    holds an ``auditor`` package (a checkout of another version, say), the workers would import
    that one beside this process's: a benchmark comparing two revisions timed this tree's decoders
    in both. So it starts with this process's sys.path as PYTHONPATH and PYTHONSAFEPATH set (no
    directory put in front); the workers it forks inherit both, which only Python reads."""
    saved = {
        name: os.environ.get(name) for name in ("PYTHONPATH", "PYTHONSAFEPATH", "ARROW_DEFAULT_MEMORY_POOL")
    }
    os.environ["PYTHONPATH"] = os.pathsep.join(entry or os.getcwd() for entry in sys.path)
    os.environ["PYTHONSAFEPATH"] = "1"
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = auditor.OPERATOR_ARROW_POOL or "mimalloc"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ready() -> None:
    """A task that makes a pool start a worker (a pool starts its workers as tasks arrive)."""


def with_workers(pool: ProcessPoolExecutor, workers: int) -> ProcessPoolExecutor:
    """``pool`` with its ``workers`` started now, not as tasks arrive."""
    for _ in range(workers):
        pool.submit(_ready)
    return pool


class PoolStart:
    """A pool started from a thread. Starting one waits on the fork server as it imports the
    workers' modules and forks each worker, about a second in which the caller goes on (the audit
    reads its first date, ingest hashes its first files)."""

    def __init__(self, make: Callable[[], ProcessPoolExecutor]) -> None:
        """``make``: the pool, its workers asked for (``with_workers``)."""
        self._starting: Future[ProcessPoolExecutor] | None = Future()
        self._pool: ProcessPoolExecutor | None = None
        starting = self._starting

        def run() -> None:
            try:
                starting.set_result(make())
            except BaseException as exc:  # handed to the caller, who raises it
                starting.set_exception(exc)

        threading.Thread(target=run, name="pool-start", daemon=True).start()

    def started(self) -> bool:
        """Whether starting is over (the pool is there, or its error is)."""
        return self._starting is None or self._starting.done()

    def pool(self) -> ProcessPoolExecutor:
        """The pool, once started; raises what starting it raised."""
        if self._starting is not None:
            starting, self._starting = self._starting, None
            self._pool = starting.result()
        assert self._pool is not None, "shut down"
        return self._pool

    def shutdown(self) -> None:
        """Stops the workers, dropping tasks not yet started; a start still going on is waited for
        first (its error, if any, was raised where the pool was needed)."""
        if self._starting is not None:
            starting, self._starting = self._starting, None
            if starting.exception() is None:
                self._pool = starting.result()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
