"""The nightly job: new inbox files → ingest → audit the dates they touch → report → backup.

Crash safety comes from ordering, not from cleanup code: every write is atomic and named by
content, and an inbox file is marked done (``W/state/done/<sha256>``) only after its dates
were audited, reported and backed up. A run killed anywhere leaves files not marked done; the
next run re-ingests them (their records resume as accepted, nothing is added twice) and
redoes the later stages, ending where an uninterrupted run would have.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from auditor import __version__, atomic, attention, backup, failpoints, integrity, lake_manifest, logs, runs
from auditor.analyzer import Ruleset
from auditor.audit import audit
from auditor.engines import plan_engine, worker_count
from auditor.errors import EXIT_DATA, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK
from auditor.inbox_digests import InboxDigests
from auditor.ingest import IngestReport, ingest, source_name
from auditor.notify.dispatch import nightly_stage as notify_stage
from auditor.process_pool import plan_pool
from auditor.report import follow
from auditor.report.render import REPORT_WORKER_MODULES, render_overview
from auditor.report.render import report as render_report
from auditor.wecom import pull as wecom_pull
from auditor.wecom.files import discover
from auditor.workspace import Workspace


@dataclass
class NightlyResult:
    run_id: str
    exit_code: int = EXIT_OK
    manifest: dict[str, Any] = field(default_factory=dict)
    manifest_path: Path | None = None


def inbox_folders(ws: Workspace) -> list[Path]:
    extra = [Path(p) if Path(p).is_absolute() else ws.root / p for p in ws.config["ingest"]["inbox_paths"]]
    return [ws.inbox_dir, *extra]


@dataclass
class InboxScan:
    files: list[tuple[Path, str]]  # (path, sha256) of new content, first occurrence only
    skipped: list[dict[str, str]]  # path and reason: unreadable files, symlinks out of the inbox


def new_inbox_files(ws: Workspace) -> InboxScan:
    """Inbox files whose content has not been fully processed, and those that cannot be read.

    A skipped file is not marked done, so it is picked up once it can be read.
    """
    done = ws.state_dir / "done"
    found: dict[str, Path] = {}
    skipped: list[dict[str, str]] = []
    known = InboxDigests(ws.inbox_digests_path)  # files hashed by an earlier scan are not again
    for folder in inbox_folders(ws):
        if not folder.is_dir():
            continue
        inbox = discover([folder])
        skipped += [{"path": source_name(ws, s.path), "reason": s.reason} for s in inbox.skipped]
        digests = known.digests(inbox.files)  # taken in the inbox's order
        for path, digest in zip(inbox.files, digests, strict=True):
            if isinstance(digest, OSError):
                skipped.append(
                    {"path": source_name(ws, path), "reason": f"unreadable: {digest.strerror}: skipped"}
                )
                continue
            if digest not in found and not (done / digest).exists():
                found[digest] = path
    known.save()
    return InboxScan(sorted(((p, d) for d, p in found.items()), key=lambda item: str(item[0])), skipped)


def _needs_attention(ws: Workspace, run_id: str, report: IngestReport | None) -> list[dict[str, Any]]:
    """Raise a lasting attention record for each quarantined file, and for each file with rejects
    when the run is over ``ingest.max_reject_ratio``; returns every unacknowledged record."""
    if report is not None:
        over = report.reject_ratio > ws.config["ingest"]["max_reject_ratio"]
        for f in report.files:
            if f.status == "quarantined" or (over and f.rejected):
                reason = (
                    f.note if f.status == "quarantined" else f"{f.rejected} of {f.records} records rejected"
                )
                attention.raise_for(
                    ws, path=f.path, sha256=f.sha256, status=f.status, reason=reason, run_id=run_id
                )
    return attention.pending(ws)


class _Durations(dict):
    """Seconds per finished stage, and the stage last started (named in a failed run's manifest).

    Beside the wall-clock seconds: ``cpu``, each stage's CPU seconds in this process (on a shared
    machine a slow stage is told apart from a starved one; the audit's pool workers are processes
    of their own), and ``rss``, this process's peak resident memory when the stage ended (the
    first stage whose figure jumps is the one that needed the memory)."""

    current = "setup"

    def __init__(self) -> None:
        super().__init__()
        self.cpu: dict[str, float] = {}
        self.rss: dict[str, float] = {}


def _pull_stage(
    ws: Workspace, log, manifest: dict[str, Any], durations: _Durations, wecom: wecom_pull.Clients | None
) -> int:
    """Pull from WeCom when configured; a failed pull never stops the inbox from being ingested."""
    if not wecom_pull.configured(ws):
        return EXIT_OK
    finish = _stage(log, "pull", durations)
    outcome = wecom_pull.run_pull(ws, wecom)
    finish()
    manifest["pull"] = outcome.summary()
    manifest["alarms"] = outcome.report.alarms
    return outcome.exit_code


def _stage(log, name: str, durations: _Durations) -> Callable[[], None]:
    started, cpu = time.perf_counter(), time.process_time()
    durations.current = name
    log.info("stage %s: started", name)

    def finish() -> None:
        durations[name] = round(time.perf_counter() - started, 3)
        durations.cpu[name] = round(time.process_time() - cpu, 3)
        durations.rss[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        log.info("stage %s: done in %.1fs (%.1f CPU s)", name, durations[name], durations.cpu[name])

    return finish


class _Interleaved:
    """A stage run in pieces inside another (``within``): the backup of each date as its pages are
    in place, in the report stage. Its seconds and CPU seconds are its pieces' sum, taken off the
    other stage's, so each stage's figures stay its own; an error in a piece is this stage's."""

    def __init__(self, name: str, *, within: str, durations: _Durations) -> None:
        self.name, self.within, self.durations = name, within, durations
        self.seconds = self.cpu = 0.0

    @contextlib.contextmanager
    def piece(self) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        self.durations.current = self.name
        yield  # an error leaves ``current`` naming this stage: the run failed in it
        self.durations.current = self.within
        self.seconds += time.perf_counter() - started
        self.cpu += time.process_time() - cpu

    def finish(self) -> None:
        """Record the stage (after the other one finished, so it follows it in the stage order)."""
        durations = self.durations
        durations[self.within] = round(max(durations[self.within] - self.seconds, 0.0), 3)
        durations.cpu[self.within] = round(max(durations.cpu[self.within] - self.cpu, 0.0), 3)
        durations[self.name] = round(self.seconds, 3)
        durations.cpu[self.name] = round(self.cpu, 3)
        durations.rss[self.name] = durations.rss[self.within]


class _Progress:
    """A progress bar on a terminal (advanced by the stage's own callbacks); nothing otherwise,
    where the log lines say what happens."""

    def __init__(self, label: str, total: int, interactive: bool) -> None:
        self.bar = (
            click.progressbar(length=total, label=label, file=sys.stderr) if interactive and total else None
        )

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def step(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def nightly(
    ws: Workspace,
    *,
    workers: int | None = None,
    interactive: bool | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    wecom: wecom_pull.Clients | None = None,
) -> NightlyResult:
    """Run the nightly job under the workspace lock; returns the exit code and the run manifest.

    ``wecom`` says how to reach WeCom when [wecom] is configured (default: the installed SDK and
    the real API; tests pass fakes)."""
    ws.require()
    interactive = sys.stderr.isatty() if interactive is None else interactive
    with ws.locked():
        return _nightly_recorded(ws, workers, interactive, engine, scheduler, wecom)


def _nightly_recorded(
    ws: Workspace,
    workers: int | None,
    interactive: bool,
    engine: str | None,
    scheduler: str | None,
    wecom: wecom_pull.Clients | None = None,
) -> NightlyResult:
    """Every run that got the lock leaves a manifest and a final log line, whatever its end:
    monitoring tells "ok", "nothing-new" and "failed" (with the error and the stage) apart."""
    log = logs.setup(ws.logs_dir, to_stderr=not interactive)
    run_id = runs.new_run_id("nightly")
    result = NightlyResult(run_id)
    durations = _Durations()
    result.manifest = {
        "run_id": run_id,
        "kind": "nightly",
        "auditor_version": __version__,
        "started": dt.datetime.now(dt.UTC).isoformat(),
    }
    log.info("nightly %s: started (auditor %s, pid %d)", run_id, __version__, os.getpid())
    try:
        _nightly_locked(ws, workers, interactive, engine, scheduler, log, result, durations, wecom)
    except BaseException as exc:  # Terminated and KeyboardInterrupt too: the record matters most then
        interrupted = isinstance(exc, KeyboardInterrupt)
        result.exit_code = getattr(exc, "exit_code", EXIT_INTERRUPTED if interrupted else EXIT_FAILURE)
        result.manifest.update(
            status="failed",
            exit_code=result.exit_code,
            stage=durations.current,
            error=str(exc) or type(exc).__name__,
            error_type=type(exc).__name__,
            durations=dict(durations),
            main_cpu_seconds=durations.cpu,
            peak_rss_mb=durations.rss,
        )
        _finish(ws, log, result)
        raise
    _finish(ws, log, result)
    return result


def _damage(ws: Workspace, log) -> list[str]:
    """The quick check of lake and ledger, after finishing a killed run's half-recorded writes."""
    lake_manifest.settle(ws.lake)
    damage = [str(p) for p in integrity.check(ws, quick=True)]
    for line in damage:
        log.error("check: %s", line)
    return damage


def _finish(ws: Workspace, log, result: NightlyResult) -> None:
    result.manifest["finished"] = dt.datetime.now(dt.UTC).isoformat()
    result.manifest_path = runs.write_run(ws.runs_dir, result.run_id, result.manifest)
    log.info(
        "nightly finished: status=%s exit=%d run=%s manifest=%s",
        result.manifest["status"],
        result.exit_code,
        result.run_id,
        result.manifest_path,
    )


def _nightly_locked(
    ws: Workspace,
    workers: int | None,
    interactive: bool,
    engine: str | None,
    scheduler: str | None,
    log,
    result: NightlyResult,
    durations: _Durations,
    wecom: wecom_pull.Clients | None = None,
) -> None:
    run_id = result.run_id
    engine = engine or ws.config["audit"]["engine"]  # a bad auditor.toml fails here, in the record
    scheduler = scheduler or ws.config["audit"]["scheduler"] or None
    pull_exit = _pull_stage(ws, log, result.manifest, durations, wecom)
    finish = _stage(log, "scan", durations)
    scan = new_inbox_files(ws)
    finish()
    files = scan.files
    ruleset = Ruleset(ws.config, ws.dictionaries_dir)
    manifest = result.manifest
    manifest.update(
        ruleset_version=ruleset.version,
        inputs=[{"path": str(p), "sha256": d} for p, d in files],
    )
    # pages follow decisions: dates whose pages are older than the ledger's newest event, new input or not
    # Never build on damage: ingest, audit and pages read the lake, so a damaged lake or ledger is
    # named and the night waits (its files stay not done) until it is repaired or restored.
    finish = _stage(log, "check", durations)
    damage = _damage(ws, log)
    finish()
    if damage:
        result.exit_code = EXIT_DATA
        manifest.update(status="damaged", problems=damage, exit_code=EXIT_DATA)
        return
    finish = _stage(log, "refresh", durations)
    manifest["pages_refreshed"] = follow.render_stale(ws)
    finish()
    if manifest["pages_refreshed"]:
        log.info("pages refreshed after ledger decisions: %s", ", ".join(manifest["pages_refreshed"]))
    if not files:
        log.info("nightly %s: nothing new in the inbox", run_id)
        problems = _needs_attention(ws, run_id, None)
        result.exit_code = pull_exit or (EXIT_DATA if problems or scan.skipped else EXIT_OK)
        nothing = "needs-attention" if result.exit_code == EXIT_DATA else "nothing-new"
        manifest.update(
            status="pull-failed" if pull_exit else nothing,
            exit_code=result.exit_code,
            skipped=scan.skipped,
            attention=problems,
        )
        if "pull" in manifest:  # the index shows the pull's alarms (or that they are over)
            render_overview(ws.reports_dir, ws.config["report"]["lang"], ws.tz, wecom_pull.pull_alarms(ws))
        return

    finish = _stage(log, "ingest", durations)
    plan_engine(engine, worker_count(ws.config, workers))  # ingest's pool starts the fork server
    plan_pool(REPORT_WORKER_MODULES)  # and the report's, when it renders several dates
    with _Progress("ingest", len(files), interactive) as progress:
        report = ingest(ws, [p for p, _ in files], on_file=progress.step, resume=True)
    finish()
    summary = report.summary()
    dates = sorted(set().union(*(f.dates for f in report.files)))
    log.info(
        "ingest: %(files)d files, %(records)d records, %(accepted)d accepted, %(duplicates)d duplicates, "
        "%(rejected)d rejected",
        summary,
    )
    failpoints.reached("after-ingest")

    finish = _stage(log, "audit", durations)
    with _Progress("audit", len(dates), interactive) as progress:
        audit_report = audit(
            ws, dates, workers, progress.step, engine=engine, scheduler=scheduler, ruleset=ruleset
        )
    finish()
    failpoints.reached("after-audit")

    # Never back up over damage: a snapshot of a broken lake or ledger would pass as a good one.
    # The files stay not done, so the night is redone once the damage is repaired. (The report
    # that follows writes pages only: the lake and the ledger are checked as the backup takes them.)
    finish = _stage(log, "recheck", durations)
    damage = _damage(ws, log)
    finish()

    # Each date is backed up as soon as its pages are in place, here, while the report's workers
    # render the next dates: the snapshot's file copies and fsyncs overlap their rendering.
    snapshots = backup.Snapshots(ws)
    taken: list[dict[str, Any]] = []
    backing_up = _Interleaved("backup", within="report", durations=durations)
    finish = _stage(log, "report", durations)
    with _Progress("report and backup", len(dates), interactive) as progress:

        def rendered(date: str) -> None:
            progress.step()
            if not damage:
                with backing_up.piece():
                    taken.append(snapshots.take(date))

        reports = [str(index) for index in render_report(ws, dates, on_date=rendered, workers=workers)]
    finish()
    backing_up.finish()
    failpoints.reached("after-backup")

    finish = _stage(log, "notify", durations)
    manifest["notify"] = notify_stage(ws, dates, log)  # never fails the run; failures retried next run
    finish()

    problems = _needs_attention(ws, run_id, report)
    unread = [
        {"path": p["path"], "reason": p["reason"]} for p in report.problems() if p["status"] == "skipped"
    ]
    skipped = scan.skipped + unread
    for path, digest in [] if damage else files:  # done last: anything before is redone by the next run
        if source_name(ws, path) not in {u["path"] for u in unread}:  # unreadable: tried again next run
            atomic.write_text(ws.state_dir / "done" / digest, f"{run_id}\n")

    result.exit_code = EXIT_DATA if damage or problems or skipped else EXIT_OK
    status = "needs-attention" if result.exit_code == EXIT_DATA else "ok"
    if pull_exit:  # the inbox was still ingested, but the exit code says the pull failed
        result.exit_code, status = pull_exit, "pull-failed"
    manifest.update(
        status="damaged" if damage else status,
        problems=damage,
        exit_code=result.exit_code,
        skipped=skipped,
        attention=problems,
        durations=durations,
        main_cpu_seconds=durations.cpu,
        peak_rss_mb=durations.rss,
        counts={k: summary[k] for k in ("files", "records", "accepted", "duplicates", "rejected")}
        | {"findings": sum(audit_report.dates.values()), "reject_ratio": round(report.reject_ratio, 6)}
        | {"generic_types": summary["generic_types"]},
        dates=dates,
        findings_by_date=audit_report.dates,
        outputs={
            "reports": reports,
            "snapshots": [m["id"] for m in taken],
            "rejects": summary["rejects_file"],
        },
    )
