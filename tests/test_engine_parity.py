"""Findings are byte-identical whatever runs the analysis: one process (``--workers 1``), the local
process pool (2 workers) or Dask (a LocalCluster started here), on a realistic archive — mostly
distinct texts of every length, the kind that fills many chunks and row groups."""

from __future__ import annotations

import json
import shutil

import pytest

from auditor import lake
from auditor.cli import cli
from auditor.engines import chunk
from auditor.ingest import ingest
from auditor.sample import generate
from auditor.workspace import Workspace

ENGINES = {
    "one process": ["--workers", "1"],
    "pool of 2": ["--workers", "2"],
    "dask": ["--engine", "dask"],  # the scheduler is added when a cluster is running
}


@pytest.fixture(scope="module")
def audited_once(tmp_path_factory):
    """A realistic archive ingested once; each engine audits its own copy of the workspace."""
    root = tmp_path_factory.mktemp("parity")
    generate(root / "archive", messages=2400, groups=4, days=2, seed=11, realism="real")
    ws = Workspace(root / "base")
    ws.init()
    shutil.copytree(root / "archive" / "company-dictionaries", ws.dictionaries_dir, dirs_exist_ok=True)
    ingest(ws, [root / "archive" / "exports"])
    return root, ws


@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed")  # the [dask] extra, part of [test]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        yield cluster.scheduler_address


def audit_with(engine: str, audited_once, runner, request) -> tuple[dict[str, bytes], dict]:
    root, base = audited_once
    ws = Workspace(root / engine.replace(" ", "-"))
    if not ws.root.exists():
        shutil.copytree(base.root, ws.root)
    args = list(ENGINES[engine])
    if engine == "dask":
        args += ["--scheduler", request.getfixturevalue("dask_scheduler")]
    result = runner.invoke(cli, ["-w", str(ws.root), "audit", "--json", *args])
    assert result.exit_code == 0, result.output
    files = {d: lake.findings_path(ws.findings_dir, d).read_bytes() for d in lake.dates(ws.findings_dir)}
    return files, json.loads(result.output)


@pytest.mark.parametrize("engine", ["pool of 2", "dask"])
def test_findings_are_identical_to_one_process(engine, audited_once, runner, request, monkeypatch):
    monkeypatch.setattr(chunk, "CHUNK", 100)  # many chunks, so the pool really spreads the work
    expected, one = audit_with("one process", audited_once, runner, request)
    got, summary = audit_with(engine, audited_once, runner, request)
    assert one["distinct_texts"] > 10 * chunk.CHUNK  # realistic: most texts distinct
    assert sorted(expected) == ["2026-11-16", "2026-11-17"] and one["findings"] > 20
    assert got == expected
    assert (summary["messages"], summary["findings"], summary["dates"]) == (
        one["messages"],
        one["findings"],
        one["dates"],
    )


def test_a_run_over_every_date_equals_one_run_per_date(audited_once, runner, monkeypatch):
    """What the engine keeps between dates (texts with hits, the clean texts the last date repeated,
    their flooding repeat keys) never changes a later date's findings. Repeats are made to fire
    (2 near-identical messages in 10 minutes), so the kept repeat keys are exercised too."""
    monkeypatch.setattr(chunk, "CHUNK", 100)
    root, base = audited_once

    def findings(name: str, *dates: str) -> dict[str, bytes]:
        ws = Workspace(root / name)
        shutil.copytree(base.root, ws.root)
        config = ws.config_path.read_text(encoding="utf-8")
        ws.config_path.write_text(
            config.replace("repeat_messages = 5", "repeat_messages = 2").replace(
                "repeat_seconds = 300", "repeat_seconds = 600"
            ),
            encoding="utf-8",
        )
        for date in dates or [None]:
            args = ["--date", date] if date else []
            result = runner.invoke(cli, ["-w", str(ws.root), "audit", "--workers", "1", *args])
            assert result.exit_code == 0, result.output
        return {d: lake.findings_path(ws.findings_dir, d).read_bytes() for d in lake.dates(ws.findings_dir)}

    together = findings("together")
    apart = findings("apart", "2026-11-16", "2026-11-17")
    assert together == apart and len(together) == 2
    repeats = lake.read_partition(
        root / "together" / "lake" / "findings", "2026-11-17", lake.FINDING_SCHEMA, ["rule"]
    )
    assert "flooding.repeat" in repeats.column("rule").to_pylist()
