"""The nightly job: idempotency, the lock, exit codes, and crash safety under SIGKILL."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from auditor import lake
from auditor.cli import cli
from auditor.lock import workspace_lock
from auditor.pipeline import nightly
from auditor.sample import generate
from auditor.workspace import Workspace

KILL_POINTS = [
    "ingest-date-written",
    "lake-entry-pending",
    "lake-file-renamed",
    "msgindex-runs-written",
    "after-ingest",
    "mid-audit",
    "after-audit",
    "mid-report",
    "backup-object",
    "backup-manifest",
    "after-backup",
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("archive")
    generate(out, messages=700, groups=3, days=2, seed=11)
    return out / "exports"


def fresh(root: Path, archive: Path) -> Workspace:
    ws = Workspace(root)
    ws.init()
    shutil.copytree(archive, ws.inbox_dir, dirs_exist_ok=True)
    return ws


def state(ws: Workspace) -> dict[str, bytes]:
    """Lake, findings and reports, with the report generation time blanked out."""
    out = {}
    for path in sorted(ws.lake.rglob("*")) + sorted(ws.reports_dir.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        if path.suffix in (".html", ".json"):
            text = data.decode("utf-8")
            text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} CST", "TIME", text)
            text = re.sub(r'"generated_at": "[^"]*"', '"generated_at": "TIME"', text)
            data = text.encode("utf-8")
        out[str(path.relative_to(ws.root))] = data
    return out


# The CLI with small audit chunks, so a 700-message archive keeps a pool of 2 workers busy.
SMALL_CHUNKS = "import auditor.audit; auditor.audit.CHUNK = 40; from auditor.cli import main; main()"


def run_cli(
    ws: Workspace, *args: str, failpoint: str | None = None, env: dict[str, str] | None = None, entry=None
) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in os.environ.items() if k != "AUDITOR_FAILPOINT"} | (env or {})
    if failpoint:
        run_env["AUDITOR_FAILPOINT"] = failpoint
    # Output through files, not pipes: a surviving worker holding a pipe would hang the test.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        done = subprocess.run(
            [sys.executable, *(entry or ["-m", "auditor"]), "-w", str(ws.root), *args],
            env=run_env,
            stdout=out,
            stderr=err,
            timeout=300,
        )
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            done.args, done.returncode, out.read().decode("utf-8"), err.read().decode("utf-8")
        )


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (the run and every process it started)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def survivors(marker: str, patience: float = 60.0) -> list[int]:
    """Processes still alive after ``patience`` seconds (a bound for a loaded machine, not a timing test)."""
    deadline = time.monotonic() + patience
    while (alive := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def last_log_line(ws: Workspace) -> str:
    """The run's final log line, without the manifest path at its end."""
    line = (ws.logs_dir / "auditor.log").read_text(encoding="utf-8").splitlines()[-1]
    return line.split(" manifest=")[0]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, archive) -> Workspace:
    ws = fresh(tmp_path_factory.mktemp("baseline") / "ws", archive)
    result = run_cli(ws, "nightly", "--workers", "1")
    assert result.returncode == 0, result.stderr
    return ws


def test_nightly_processes_inbox_and_writes_a_manifest(baseline):
    [manifest_path] = baseline.runs_dir.glob("nightly-*.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["exit_code"] == 0
    assert manifest["counts"]["accepted"] == manifest["counts"]["records"]
    assert manifest["dates"] == ["2026-11-16", "2026-11-17"]
    stages = {"scan", "check", "refresh", "ingest", "audit", "report", "notify", "recheck", "backup"}
    assert (
        set(manifest["durations"])
        == set(manifest["main_cpu_seconds"])
        == set(manifest["peak_rss_mb"])
        == stages
    )
    assert all(seconds >= 0 for seconds in manifest["main_cpu_seconds"].values())
    peaks = [manifest["peak_rss_mb"][stage] for stage in manifest["durations"]]  # in stage order
    assert peaks == sorted(peaks) and peaks[0] > 0
    assert manifest["notify"] == {"status": "disabled"}  # notify.enabled is false by default
    assert all(Path(p).exists() for p in manifest["outputs"]["reports"])
    assert len(manifest["outputs"]["snapshots"]) == 2
    assert (baseline.logs_dir / "auditor.log").read_text(encoding="utf-8").count("stage audit: done") == 1


def test_the_backup_interleaved_with_the_report_keeps_its_own_figures():
    """Each date is backed up inside the report stage: the backup's seconds are its pieces' sum,
    taken off the report's, it follows the report in the stage order, and an error in a piece is
    the backup's."""
    import logging

    from auditor import pipeline

    durations = pipeline._Durations()
    finish = pipeline._stage(logging.getLogger("test"), "report", durations)
    backing_up = pipeline._Interleaved("backup", within="report", durations=durations)
    started = time.perf_counter()
    for _ in range(2):
        with backing_up.piece():
            time.sleep(0.05)
        assert durations.current == "report"
    finish()
    elapsed = time.perf_counter() - started
    backing_up.finish()
    assert list(durations) == ["report", "backup"] and list(durations.rss) == ["report", "backup"]
    assert durations["backup"] >= 0.1 and durations["report"] + durations["backup"] <= elapsed + 0.01
    with pytest.raises(OSError), backing_up.piece():
        raise OSError(28, "No space left on device")
    assert durations.current == "backup"


def test_second_run_with_nothing_new_does_nothing(baseline, tmp_path):
    ws = Workspace(tmp_path / "copy")
    shutil.copytree(baseline.root, ws.root)
    before = state(ws)
    result = run_cli(ws, "nightly")
    assert result.returncode == 0 and "nothing new" in result.stdout
    assert state(ws) == before
    manifests = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(ws.runs_dir.glob("nightly-*.json"))
    ]
    assert [m["status"] for m in manifests] == ["ok", "nothing-new"]  # monitoring sees that it ran
    assert last_log_line(ws).endswith(
        f"nightly finished: status=nothing-new exit=0 run={manifests[1]['run_id']}"
    )


def test_renamed_or_redropped_file_is_not_imported_twice(baseline, tmp_path):
    ws = Workspace(tmp_path / "copy")
    shutil.copytree(baseline.root, ws.root)
    first = next(ws.inbox_dir.glob("*.jsonl"))
    shutil.copy(first, ws.inbox_dir / "renamed-copy.jsonl")
    result = nightly(ws, workers=1, interactive=False)
    assert result.manifest["status"] == "nothing-new"


def test_a_concurrent_run_exits_75_touching_nothing(tmp_path, archive, runner):
    ws = fresh(tmp_path / "ws", archive)
    with workspace_lock(ws.lock_path):
        result = runner.invoke(cli, ["-w", str(ws.root), "nightly"])
        ingest = runner.invoke(cli, ["-w", str(ws.root), "ingest", str(ws.inbox_dir)])
    assert result.exit_code == 75 and "locked" in result.output
    assert ingest.exit_code == 75
    assert not ws.messages_dir.exists() or not list(ws.messages_dir.iterdir())
    assert not ws.runs_dir.exists()


def test_rejects_above_threshold_exit_65_with_the_work_done(tmp_path, archive, runner):
    ws = fresh(tmp_path / "ws", archive)
    bad = "\n".join(["{not json"] * 50) + "\n"
    (ws.inbox_dir / "broken.jsonl").write_text(bad, encoding="utf-8")
    result = runner.invoke(cli, ["-w", str(ws.root), "nightly", "--workers", "1"])
    assert result.exit_code == 65, result.output
    assert list(ws.reports_dir.glob("*/index.html"))
    manifest = json.loads(next(ws.runs_dir.glob("nightly-*.json")).read_text(encoding="utf-8"))
    assert manifest["exit_code"] == 65 and manifest["counts"]["rejected"] == 50


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_run_then_rerun_equals_an_uninterrupted_run(tmp_path, archive, baseline, point):
    ws = fresh(tmp_path / "ws", archive)
    killed = run_cli(ws, "nightly", "--workers", "1", failpoint=point)
    assert killed.returncode == -9, killed.stderr  # SIGKILL: no cleanup ran
    again = run_cli(ws, "nightly", "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert state(ws) == state(baseline)
    for date in lake.dates(ws.messages_dir):
        ids = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid"]).column("msgid")
        assert len(ids) == len(set(ids.to_pylist()))
        findings = pq.read_table(lake.findings_path(ws.findings_dir, date)).column("finding_id").to_pylist()
        assert len(findings) == len(set(findings))
    assert not [p for p in ws.root.rglob("*") if p.name.startswith((".tmp-", ".old-"))]
    third = run_cli(ws, "nightly")
    assert "nothing new" in third.stdout


def test_progress_bars_on_a_terminal_and_log_lines_otherwise(tmp_path, archive, capsys):
    ws = fresh(tmp_path / "ws", archive)
    result = nightly(ws, workers=1, interactive=True)
    assert result.exit_code == 0
    err = capsys.readouterr().err
    assert "ingest" in err and "audit" in err and "stage" not in err  # bars, not log lines
    assert "stage report: done" in (ws.logs_dir / "auditor.log").read_text(encoding="utf-8")
    quiet = fresh(tmp_path / "quiet", archive)
    nightly(quiet, workers=1, interactive=False)
    assert "stage audit: done" in capsys.readouterr().err


POOL_STOPS = [
    ("nightly", "SIGKILL", -9),
    ("nightly", "SIGTERM", 143),
    ("audit", "SIGKILL", -9),
    ("audit", "SIGTERM", 143),
]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the run's processes in /proc")
@pytest.mark.parametrize(("command", "signal_name", "exit_code"), POOL_STOPS)
def test_a_run_stopped_mid_audit_with_two_workers_leaves_no_worker_and_no_lock(
    tmp_path, archive, baseline, command, signal_name, exit_code
):
    ws = fresh(tmp_path / "ws", archive)
    if command == "audit":
        assert run_cli(ws, "ingest", str(ws.inbox_dir)).returncode == 0
    marker = f"AUDITOR_TEST_RUN={uuid.uuid4().hex}"
    key, value = marker.split("=")
    stopped = run_cli(
        ws,
        command,
        "--workers",
        "2",
        failpoint=f"mid-audit:{signal_name}",
        env={key: value},
        entry=["-c", SMALL_CHUNKS],
    )
    assert stopped.returncode == exit_code, stopped.stderr
    assert survivors(marker) == []  # pool workers, forkserver and resource tracker all gone
    assert "Traceback" not in stopped.stderr

    if command == "nightly":
        [manifest_path] = ws.runs_dir.glob("nightly-*.json") if signal_name == "SIGTERM" else [None]
        if manifest_path is not None:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            assert (manifest["status"], manifest["stage"], manifest["exit_code"]) == ("failed", "audit", 143)
        again = run_cli(ws, "nightly", "--workers", "2", entry=["-c", SMALL_CHUNKS])
        assert again.returncode == 0, again.stderr  # the lock is free
        assert state(ws) == state(baseline)
    else:
        again = run_cli(ws, "audit", "--workers", "2", entry=["-c", SMALL_CHUNKS])
        assert again.returncode == 0, again.stderr
        for date in lake.dates(baseline.findings_dir):
            path = lake.findings_path(ws.findings_dir, date)
            assert path.read_bytes() == lake.findings_path(baseline.findings_dir, date).read_bytes()


def _fail(*_args, **_kwargs):
    raise OSError(28, "No space left on device")


# (what breaks, how: a setting, or the stage function that raises) → stage, exit code, error text
FAILURES = [
    ("bad setting", {"toml": "[ingest]\ninbox_paths = [3]\n"}, "setup", 2, "ingest.inbox_paths"),
    ("disk full in report", {"patch": "report.render_day"}, "report", 1, "No space left on device"),
    ("disk full in backup", {"patch": "backup._lake_and_reports"}, "backup", 1, "No space left on device"),
]


@pytest.mark.parametrize(
    ("case", "fault", "stage", "exit_code", "error"), FAILURES, ids=[f[0] for f in FAILURES]
)
def test_a_failed_run_leaves_a_manifest_and_a_final_log_line(
    tmp_path, archive, runner, monkeypatch, case, fault, stage, exit_code, error
):
    from auditor import pipeline
    from auditor.report import render

    ws = fresh(tmp_path / "ws", archive)
    if "toml" in fault:
        ws.config_path.write_text(fault["toml"], encoding="utf-8")
    else:
        owner, _, name = fault["patch"].rpartition(".")
        monkeypatch.setattr({"report": render, "backup": pipeline.backup}[owner], name, _fail)
    result = runner.invoke(cli, ["-w", str(ws.root), "nightly", "--workers", "1"])
    assert result.exit_code == exit_code and error in result.output
    [path] = ws.runs_dir.glob("nightly-*.json")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert (manifest["status"], manifest["stage"], manifest["exit_code"]) == ("failed", stage, exit_code)
    assert error in manifest["error"] and manifest["finished"]
    assert last_log_line(ws).endswith(
        f"nightly finished: status=failed exit={exit_code} run={manifest['run_id']}"
    )
    assert not list((ws.state_dir / "done").glob("*"))  # nothing marked done: the next run redoes it all


# What a killed writer leaves behind (names as atomic.py and the report renderer make them),
# and whether the next locked run removes it: only in folders that lock holders alone write to.
LEFTOVERS = [
    ("reports/.tmp-2026-11-16-k1ll3d/groups/wrA.html", True),  # render_day's staging folder
    ("reports/.old-2026-11-16-k1ll3d/index.html", True),  # a swapped-out day folder
    ("reports/.tmp-index.html-k1ll3d", True),  # atomic write of the overview
    ("lake/messages/date=2026-11-16/.tmp-part.parquet-k1ll3d", True),
    ("runs/.tmp-nightly-x.json-k1ll3d", True),
    ("state/done/.tmp-abc-k1ll3d", True),
    ("dictionaries/.tmp-allowlist.txt-k1ll3d", False),  # written without the lock: may be live
    ("inbox/.tmp-export.jsonl-k1ll3d", False),  # not ours: an exporter may be writing it
]


@pytest.mark.parametrize("command", [["nightly"], ["report"]], ids=" ".join)
def test_the_next_locked_run_clears_what_a_killed_one_left(tmp_path, baseline, runner, command):
    ws = Workspace(tmp_path / "copy")
    shutil.copytree(baseline.root, ws.root)
    for relative, _ in LEFTOVERS:
        (ws.root / relative).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / relative).write_text("half", encoding="utf-8")
    result = runner.invoke(cli, ["-w", str(ws.root), *command])
    assert result.exit_code == 0, result.output
    for relative, removed in LEFTOVERS:
        top = ws.root / relative.split("/.")[0] / ("." + relative.split("/.")[1].split("/")[0])
        assert top.exists() != removed, relative
    assert state(ws) == state(baseline)  # nothing else touched
