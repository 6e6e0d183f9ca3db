"""``auditor ingest``: archive exports into the lake."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.base import EXIT_CODES_HELP, INGEST_POOL_MODULES, json_option, workspace_of
from auditor.errors import EXIT_DATA


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Import archive exports, groups.json and roster.csv into the workspace lake.

    PATHS are files or folders (read recursively): JSONL message files, GetChatData
    batch JSON, either gzip-compressed, groups*.json and roster *.csv. Every record
    ends as accepted, duplicate or rejected; rejects go to W/rejects/ with the reason.
    Re-ingesting the same files changes nothing.

    \b
    Examples:
      auditor ingest exports/
      auditor ingest --json day1.jsonl day2.jsonl.gz batch-0001.json groups.json roster.csv
    """
    from auditor.process_pool import plan_pool, start_planned_fork_server

    ws = workspace_of(ctx)
    # Large inputs are decoded by a pool whose fork server imports the decoders' modules (about half a
    # second). Started now, it does so while this process imports ingest, and the first file is
    # decoded that much sooner; for small inputs it is a process that starts and is never asked.
    plan_pool(INGEST_POOL_MODULES)
    start_planned_fork_server()
    from auditor.ingest import ingest as run_ingest

    with ws.locked():
        report = run_ingest(ws, paths)
    summary = report.summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        for f in report.files:
            line = (
                f"{f.path}: {f.records} records, {f.accepted} accepted, {f.duplicates} duplicates, "
                f"{f.rejected} rejected"
            )
            click.echo(line + (f" ({f.note})" if f.note else ""))
        click.echo(
            f"total: {summary['files']} files, {summary['records']} records, {summary['accepted']} accepted, "
            f"{summary['duplicates']} duplicates, {summary['rejected']} rejected"
        )
        if report.generic_types:
            kinds = ", ".join(f"{k} {n}" for k, n in report.generic_types.items())
            click.echo(f"{sum(report.generic_types.values())} messages of types read generically: {kinds}")
        if report.rejects_file:
            click.echo(f"rejected records and reasons: {report.rejects_file}")
    for problem in report.problems():
        click.echo(f"Error: {problem['path']}: {problem['reason']}", err=True)
    threshold = ws.config["ingest"]["max_reject_ratio"]
    if report.problems():
        ctx.exit(EXIT_DATA)
    if report.reject_ratio > threshold:
        click.echo(
            f"Error: {report.reject_ratio:.1%} of records rejected, above ingest.max_reject_ratio "
            f"({threshold:.1%}); see {report.rejects_file}",
            err=True,
        )
        ctx.exit(EXIT_DATA)
