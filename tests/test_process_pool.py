"""The fork server preloads the worker modules of every pool a command will start.

It starts with a process's first pool and imports only the modules named by then. ``nightly``
starts ingest's decoding pool first; without ``plan_engine`` the audit's workers forked later
would each import the analyzer's modules themselves. Each case runs in a fresh interpreter: the
fork server is one per process, and this test process may have started one already.

The audit starts its pool from a thread (``PoolStart``) while it reads the first date: the last
cases check that a pool, or the error of starting one, comes back from that thread.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parent.parent
AUDIT_WORKER_MODULE = "auditor.engines.local"

SCRIPT = """
import sys
from auditor.engines import plan_engine
from auditor.ingest_decode import decode_pool
from auditor.process_pool import fresh_pool
from tests.pool_probe import imported

engine, workers = sys.argv[1], int(sys.argv[2])
if engine == "preload":  # a pool of its own, naming a module its initializer imports late
    pool = fresh_pool(1, preload=("auditor.classifier",))
else:
    if engine != "none":
        plan_engine(engine, workers)
    pool = decode_pool(1)
print(pool.submit(imported, sys.argv[3]).result())
pool.shutdown()
"""


def worker_has(module: str, engine: str, workers: int = 2) -> bool:
    """Whether a worker of a fresh process's first pool finds ``module`` imported: what it has, the
    fork server imported before forking it."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, engine, str(workers), module],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize(
    ("engine", "workers", "preloaded"),
    [
        ("none", 2, False),  # ingest alone: its fork server does not import the analyzer
        ("local", 2, True),  # nightly: the audit's local pool is planned before ingest's starts
        ("local", 1, False),  # one worker: the audit analyses in its own process, no pool to prepare
        ("dask", 2, False),  # Dask's workers are not the fork server's
    ],
)
def test_the_fork_server_preloads_the_planned_audit_pool(engine, workers, preloaded):
    assert worker_has(AUDIT_WORKER_MODULE, engine, workers) is preloaded
    assert worker_has("auditor.ingest_decode", engine, workers)  # its own module, always


def test_a_pool_preloads_what_its_initializer_imports_late():
    assert worker_has("auditor.classifier", "preload")
    assert not worker_has("auditor.classifier", "none")  # ingest's decoders never load the model
    assert worker_has("auditor.classifier", "local")  # planned with the audit's WORKER_MODULES


@pytest.mark.parametrize(("workers", "planned"), [(2, [("local", 2)]), (1, [("local", 1)])])
def test_nightly_plans_the_audit_pool_before_ingest_starts_its_own(tmp_path, monkeypatch, workers, planned):
    from auditor import pipeline
    from auditor.sample import generate
    from auditor.workspace import Workspace

    generate(tmp_path / "archive", messages=200, groups=2, days=1, seed=3)
    ws = Workspace(tmp_path / "ws")
    ws.init()
    shutil.copytree(tmp_path / "archive" / "exports", ws.inbox_dir, dirs_exist_ok=True)
    calls: list[tuple[str, int] | str] = []
    ingest = pipeline.ingest
    monkeypatch.setattr(pipeline, "plan_engine", lambda engine, count: calls.append((engine, count)))
    monkeypatch.setattr(pipeline, "ingest", lambda *a, **k: calls.append("ingest") or ingest(*a, **k))
    assert pipeline.nightly(ws, workers=workers, interactive=False).exit_code == 0
    assert calls == [*planned, "ingest"]


def test_a_pool_started_in_a_thread_gives_the_pool_or_its_error():
    """``PoolStart``: the pool itself when starting it worked; what starting it raised otherwise,
    raised by ``pool()`` in the caller, and a shutdown after a failed start is quiet."""
    from auditor.process_pool import PoolStart, fresh_pool

    start = PoolStart(lambda: fresh_pool(1))
    try:
        assert start.pool().submit(sum, [1, 2]).result(timeout=120) == 3
        assert start.started()
    finally:
        start.shutdown()

    def broken():
        raise OSError("fork server gone")

    failed = PoolStart(broken)
    with pytest.raises(OSError, match="fork server gone"):
        failed.pool()
    PoolStart(broken).shutdown()


def test_the_audit_engine_raises_a_failed_start_where_it_needs_the_pool(tmp_path, monkeypatch):
    """The audit's pool starts in a thread while the first date is read; if that start fails, the
    first chunk sent raises its error, and closing the engine afterwards neither hangs nor raises."""
    from auditor.analyzer import Ruleset
    from auditor.engines import chunk, local
    from auditor.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    ws.init()
    engine = local.LocalEngine(Ruleset(ws.config, ws.dictionaries_dir), workers=2)

    def no_pool(*args, **kwargs):
        raise OSError("cannot start workers")

    monkeypatch.setattr(local, "fresh_pool", no_pool)
    engine.start(chunk.CHUNK + 1)
    with pytest.raises(OSError, match="cannot start workers"):
        engine._send(None, [])
    engine.close()
    engine.start(chunk.CHUNK + 1)  # failed again, and never needed: closing is quiet
    engine.close()


EARLY_SCRIPT = """
import sys
from auditor import process_pool
from auditor.cli import cli

seen = []
start = process_pool.start_planned_fork_server
def probe():
    seen.append(("auditor.audit" in sys.modules, list(process_pool._planned)))
    start()
process_pool.start_planned_fork_server = probe
try:
    cli(["-w", sys.argv[1], "audit", *sys.argv[2:]], standalone_mode=False)
except Exception as exc:
    print(exc, file=sys.stderr)
print(seen)
"""


@pytest.mark.parametrize(
    ("options", "planned"),
    [
        (["--workers", "2"], True),
        (["--workers", "1"], False),  # analysed in the audit's own process: no fork server to start
        (["--workers", "2", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], False),
    ],
)
def test_the_audit_command_starts_its_fork_server_before_importing_the_audit(tmp_path, options, planned):
    """``auditor audit`` knows from its options that it will run a local pool: the fork server
    starts importing the workers' modules before the command imports the audit (most of its own
    start-up) and reads the first date."""
    from auditor.engines import WORKER_MODULES
    from auditor.workspace import Workspace

    Workspace(tmp_path / "ws").init()
    done = subprocess.run(
        [sys.executable, "-c", EARLY_SCRIPT, str(tmp_path / "ws"), *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    # the empty lake ends the command with its error, after the fork server was started
    assert "no messages yet" in done.stderr
    assert done.stdout.strip().splitlines()[-1] == repr([(False, list(WORKER_MODULES) if planned else [])])


def test_the_local_workers_module_is_the_first_of_the_modules_preloaded_for_them():
    from auditor.engines import WORKER_MODULES, local

    assert WORKER_MODULES[0] == local.init_worker.__module__


def test_nightly_starts_its_fork_server_with_the_modules_its_pools_import():
    """``auditor nightly`` names its pools' modules before importing them (the fork server imports
    them meanwhile): the names must be those of ingest's decoders and the report's workers."""
    from auditor import ingest_decode
    from auditor.cli.base import REPORT_POOL_MODULES
    from auditor.cli.nightly import NIGHTLY_POOL_MODULES
    from auditor.report import render

    assert set(NIGHTLY_POOL_MODULES) == {
        ingest_decode._init_decoder.__module__,
        *render.REPORT_WORKER_MODULES,
    }
    assert set(REPORT_POOL_MODULES) == set(render.REPORT_WORKER_MODULES)  # `replay` plans them too


ELSEWHERE_SCRIPT = """
from auditor.ingest_decode import decode_pool
from tests.pool_probe import module_file

if __name__ == "__main__":
    pool = decode_pool(1)
    print(pool.submit(module_file, "auditor").result())
    pool.shutdown()
"""


def test_workers_import_what_their_process_imports_whatever_folder_it_runs_in(tmp_path):
    """Run from a folder that holds another ``auditor`` package (a checkout of another version),
    a pool's workers still import the process's own: the fork server would put that folder first
    on its path and import the other one."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "auditor").mkdir(parents=True)
    (elsewhere / "auditor" / "__init__.py").write_text("", encoding="utf-8")
    script = tmp_path / "probe.py"
    script.write_text(ELSEWHERE_SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert Path(done.stdout.strip().splitlines()[-1]) == ROOT / "auditor" / "__init__.py"


ALLOCATOR_SCRIPT = """
import auditor.cli  # the command line's process, as the ``auditor`` command starts it
import pyarrow as pa
from auditor.ingest_decode import decode_pool
from auditor.process_pool import fresh_pool
from tests.pool_probe import arrow_allocator

if __name__ == "__main__":
    print(pa.default_memory_pool().backend_name)
    for pool in (fresh_pool(1), decode_pool(1)):
        print(pool.submit(arrow_allocator).result())
        pool.shutdown()
"""


@pytest.mark.parametrize(
    ("operator_choice", "expected"),
    [
        (None, ["system", "mimalloc", "system"]),
        pytest.param(
            "jemalloc",
            ["jemalloc", "jemalloc", "system"],
            marks=pytest.mark.skipif(
                "jemalloc" not in pa.supported_memory_backends(), reason="this pyarrow has no jemalloc"
            ),
        ),
    ],
)
def test_each_process_allocates_with_the_arrow_pool_made_for_its_work(tmp_path, operator_choice, expected):
    """The command's own process uses glibc's allocator (it frees and reuses buffers flush after
    flush), the audit's workers mimalloc (their peak stays flat over a long run), the decoding
    workers glibc's again; a choice the operator made holds wherever the process does not pick."""
    script = tmp_path / "probe.py"
    script.write_text(ALLOCATOR_SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    env["PYTHONPATH"] = str(ROOT)
    if operator_choice:
        env["ARROW_DEFAULT_MEMORY_POOL"] = operator_choice
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == expected
