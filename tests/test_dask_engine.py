"""The Dask engine on a distributed.LocalCluster gives exactly the local engine's findings."""

from __future__ import annotations

import shutil

import pytest

from auditor import lake
from auditor.audit import audit
from auditor.cli import cli
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
