"""``auditor nightly``: the scheduled job."""

from __future__ import annotations

import contextlib
import json

import click

from auditor.cli.base import (
    EXIT_CODES_HELP,
    INGEST_POOL_MODULES,
    REPORT_POOL_MODULES,
    engine_options,
    json_option,
    workspace_of,
)
from auditor.errors import AuditorError

# The modules of ingest's decoding workers and of the report's (named, not imported: importing them is
# what the fork server does for this process).
NIGHTLY_POOL_MODULES = (*INGEST_POOL_MODULES, *REPORT_POOL_MODULES)


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--workers", type=click.IntRange(min=1), help="Audit worker processes (default: all cores).")
@engine_options
@json_option
@click.pass_context
def nightly(
    ctx: click.Context, workers: int | None, engine: str | None, scheduler: str | None, as_json: bool
) -> None:
    """Run the nightly job: ingest new inbox files, audit and report the dates they touch, back up.

    New files are picked up from W/inbox/ and ingest.inbox_paths, tracked by content hash: a
    renamed or re-dropped file is not imported twice. Each run writes W/runs/<run-id>.json and
    logs to W/logs/auditor.log. A run with nothing new does nothing and exits 0; a run killed
    at any point is completed by the next one. Only one run per workspace at a time.

    \b
    Examples:
      auditor -w /srv/audit nightly
      auditor -w /srv/audit nightly --json > /var/log/auditor-last.json
    """
    from auditor.engines import plan_engine, worker_count
    from auditor.process_pool import plan_pool, start_planned_fork_server

    ws = workspace_of(ctx)
    # Every pool of the night (ingest's decoders, the audit's workers, the report's) forks from one
    # server. Started now, it imports their modules while this process imports the pipeline and
    # scans the inbox: on the 1M archive, 1.3 s in which the other core did nothing.
    with contextlib.suppress(AuditorError):  # a bad setting: the run reports it, in its manifest too
        plan_engine(engine or ws.config["audit"]["engine"], worker_count(ws.config, workers))
        plan_pool(NIGHTLY_POOL_MODULES)
        start_planned_fork_server()
    from auditor.pipeline import nightly as run_nightly

    result = run_nightly(ws, workers=workers, engine=engine, scheduler=scheduler)
    manifest = result.manifest
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=2))
    elif "counts" not in manifest:  # refused over damage, or nothing new (attention may follow)
        if not manifest.get("problems"):
            click.echo("nothing new in the inbox")
    else:
        counts = manifest["counts"]
        click.echo(
            f"ingested {counts['records']} records ({counts['accepted']} accepted, {counts['duplicates']} "
            f"duplicates, {counts['rejected']} rejected); {counts['findings']} findings"
        )
        for index in manifest["outputs"]["reports"]:
            click.echo(index)
        click.echo(f"run manifest: {result.manifest_path}")
    for problem in manifest.get("problems", []):
        click.echo(f"Error: {problem}", err=True)
    for alarm in manifest.get("alarms", []):
        click.echo(f"ALARM: {alarm}", err=True)
    if manifest.get("pull", {}).get("error"):
        click.echo(f"Error: pull from WeCom failed: {manifest['pull']['error']}", err=True)
    elif manifest.get("problems"):
        click.echo("Error: lake or ledger damaged, nothing backed up (`auditor check` for details)", err=True)
    for skipped in manifest.get("skipped", []):
        click.echo(f"Error: {skipped['path']}: {skipped['reason']}", err=True)
    for problem in manifest.get("attention", []):
        click.echo(
            f"Error: {problem['path']}: {problem['reason']} (since {problem['raised'][:10]})", err=True
        )
    if manifest.get("attention"):
        rejects = manifest.get("outputs", {}).get("rejects")
        click.echo(
            "Error: input files need attention"
            + (f"; rejected records are in {rejects}" if rejects else "")
            + "; once handled: auditor inbox ack FILE (or --all)",
            err=True,
        )
    ctx.exit(result.exit_code)
