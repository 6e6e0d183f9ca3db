"""``auditor replay``: re-audit past days with other rules into another folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from auditor.cli.base import REPORT_POOL_MODULES, check_dates, workspace_of
from auditor.errors import AuditorError


@click.command()
@click.option("--since", required=True, metavar="YYYY-MM-DD", help="First date (inclusive).")
@click.option("--until", required=True, metavar="YYYY-MM-DD", help="Last date (inclusive).")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New folder for the replay's findings, reports and diff.",
)
@click.option(
    "--dictionaries",
    type=click.Path(file_okay=False, path_type=Path),
    help="Company dictionaries to use instead of W/dictionaries/.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="auditor.toml to use instead of the workspace's.",
)
@click.option("--from-backup", metavar="SNAPSHOT", help="Replay the archive as it is in this snapshot.")
@click.option("--workers", type=click.IntRange(min=1), help="Audit worker processes.")
@click.pass_context
def replay(
    ctx: click.Context,
    since: str,
    until: str,
    out: Path,
    dictionaries: Path | None,
    config_file: Path | None,
    from_backup: str | None,
    workers: int | None,
) -> None:
    """Re-audit past days with other rules into another folder, with a diff; the workspace is only read.

    Writes OUT/lake/findings/, OUT/reports/ and OUT/diff.json + OUT/diff.html: findings the
    new rules add and findings that disappear, per group and category.

    \b
    Example: a new project codename — what did we miss last month?
      mkdir -p /tmp/rules && cp W/dictionaries/*.txt /tmp/rules/
      printf '北极星计划\thigh\n' >> /tmp/rules/confidential.txt
      auditor replay --since 2026-10-01 --until 2026-10-31 --dictionaries /tmp/rules --out /tmp/replay-oct
    """
    from auditor.config import load_config
    from auditor.engines import plan_engine, worker_count
    from auditor.process_pool import plan_pool, start_planned_fork_server

    check_dates(since=since, until=until)
    ws = workspace_of(ctx)
    # The audit's workers and the report's fork from one server, started now (as `nightly` does): it
    # imports their modules while this process imports the replay and reads the first date, and
    # the report's workers do not each import theirs.
    with contextlib.suppress(AuditorError, OSError):  # a bad --config: the replay itself says what is wrong
        config = load_config(config_file) if config_file else ws.config
        plan_engine(config["audit"]["engine"], worker_count(config, workers))
        plan_pool(REPORT_POOL_MODULES)
        start_planned_fork_server()
    from auditor.replay import replay as run_replay

    diff = run_replay(
        ws,
        since=since,
        until=until,
        out=out,
        dictionaries=dictionaries,
        config_file=config_file,
        from_backup=from_backup,
        workers=workers,
    )
    click.echo(
        f"{len(diff['new'])} new findings, {len(diff['gone'])} gone, {len(diff['changed'])} changed "
        f"({diff['findings_before']} → {diff['findings_after']})"
    )
    click.echo(str(out / "diff.html"))
