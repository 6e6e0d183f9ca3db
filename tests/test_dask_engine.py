"""The Dask engine on a distributed.LocalCluster gives exactly the local engine's findings."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys

import pytest

from auditor import lake
from auditor.audit import audit
from auditor.cli import cli
from auditor.engines.cluster import PLUGIN
from auditor.ingest import ingest
from auditor.sample import generate
from auditor.workspace import Workspace

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as local:
        yield local


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    generate(root / "archive", messages=1500, groups=4, days=2, seed=5)
    local = Workspace(root / "local")
    local.init()
    ingest(local, [root / "archive" / "exports"])
    remote = Workspace(root / "remote")
    shutil.copytree(local.root, remote.root)
    return local, remote


def findings_bytes(ws: Workspace) -> dict[str, bytes]:
    return {d: lake.findings_path(ws.findings_dir, d).read_bytes() for d in lake.dates(ws.findings_dir)}


def test_dask_findings_are_identical_to_the_local_engine(cluster, workspaces):
    local, remote = workspaces
    dates = lake.dates(local.messages_dir)
    audit(local, dates, workers=1)
    report = audit(remote, dates, engine="dask", scheduler=cluster.scheduler_address)
    assert report.messages > 1500 // 2
    assert findings_bytes(remote) == findings_bytes(local)
    assert sum(report.dates.values()) > 0


def test_dask_through_the_cli(cluster, workspaces, runner):
    _, remote = workspaces
    result = runner.invoke(
        cli,
        [
            "-w",
            str(remote.root),
            "audit",
            "--engine",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--date",
            "2026-11-16",
        ],
    )
    assert result.exit_code == 0, result.output


def test_dask_without_a_scheduler_is_a_usage_error(workspaces, runner):
    _, remote = workspaces
    result = runner.invoke(cli, ["-w", str(remote.root), "audit", "--engine", "dask"])
    assert result.exit_code == 2 and "--scheduler" in result.output


def test_the_workers_keep_the_analyzers_arrays_in_the_heap(cluster, workspaces):
    """The nanny starts workers with MALLOC_TRIM_THRESHOLD_ set, which pins glibc's mmap threshold
    at 128 KiB; the analyzer plugin raises it again in every worker."""
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    _, remote = workspaces
    audit(remote, lake.dates(remote.messages_dir)[:1], engine="dask", scheduler=cluster.scheduler_address)
    with distributed.Client(cluster.scheduler_address) as client:
        raised = client.run(lambda dask_worker: dask_worker.plugins[PLUGIN].arrays_in_heap)
    assert list(raised.values()) == [True, True]


@pytest.mark.parametrize(
    ("environment", "raised"),
    [
        ({"MALLOC_TRIM_THRESHOLD_": "65536"}, True),  # as Dask's nanny starts a worker
        ({}, False),  # glibc's threshold still adapts by itself
        ({"MALLOC_TRIM_THRESHOLD_": "65536", "MALLOC_MMAP_THRESHOLD_": "1048576"}, False),  # the operator's
    ],
)
def test_the_mmap_threshold_is_raised_only_where_the_environment_pinned_it(environment, raised):
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | environment
    code = "from auditor.engines.cluster import keep_arrays_in_heap; print(keep_arrays_in_heap())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(raised)
