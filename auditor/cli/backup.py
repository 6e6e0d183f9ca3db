"""``auditor backup create|list|verify|restore|prune``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.base import check_dates, json_option, workspace_of
from auditor.errors import EXIT_DATA, AuditorError


@click.group()
def backup() -> None:
    """Verified, content-addressed backup snapshots of the workspace.

    \b
    Examples:
      auditor backup create --date 2026-11-16
      auditor backup list
      auditor backup verify --all
      auditor backup restore 20261117T020000Z-2026-11-16-a1b2c3 --to /tmp/restored
      auditor backup prune --keep-daily 14 --keep-monthly 12
    """


@backup.command(name="create")
@click.option("--date", metavar="YYYY-MM-DD", help="Snapshot one date (default: everything).")
@click.pass_context
def backup_create(ctx: click.Context, date: str | None) -> None:
    """Snapshot lake partitions, findings, reports, the ledger and settings.

    Files already in the store are not stored again.

    \b
    Examples:
      auditor backup create
      auditor backup create --date 2026-11-16
    """
    from auditor import backup as backups
    from auditor import lake

    check_dates(date=date)
    ws = workspace_of(ctx)
    if date and date not in lake.dates(ws.messages_dir):
        raise AuditorError(f"no messages in the lake for {date}")
    with ws.locked():
        manifest = backups.create(ws, date)
    click.echo(f"snapshot {manifest['id']}: {len(manifest['files'])} files, {manifest['bytes']:,} bytes")


@backup.command(name="list")
@json_option
@click.pass_context
def backup_list(ctx: click.Context, as_json: bool) -> None:
    """List snapshots, oldest first.

    \b
    Example:
      auditor backup list
    """
    from auditor import backup as backups

    manifests = backups.store_of(workspace_of(ctx)).manifests()
    rows = [
        {
            "id": m["id"],
            "created": m["created"],
            "date": m["date"],
            "files": len(m["files"]),
            "bytes": m["bytes"],
        }
        for m in manifests
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['id']}  {row['created'][:19]}  {row['date'] or 'all':10}  {row['files']:6} files  "
            f"{row['bytes']:>14,} bytes"
        )
    if not rows:
        click.echo("no snapshots yet")


@backup.command(name="verify")
@click.argument("snapshot", required=False)
@click.option("--all", "all_", is_flag=True, help="Verify every snapshot.")
@click.pass_context
def backup_verify(ctx: click.Context, snapshot: str | None, all_: bool) -> None:
    """Re-hash every file of a snapshot (or all); exit 65 naming each missing or altered file.

    \b
    Examples:
      auditor backup verify 20261117T020000Z-2026-11-16-a1b2c3
      auditor backup verify --all
    """
    from auditor import backup as backups

    if bool(snapshot) == all_:
        raise AuditorError("give a SNAPSHOT id or --all")
    store = backups.store_of(workspace_of(ctx))
    ids = [m["id"] for m in store.manifests()] if all_ else [snapshot]
    problems = backups.verify(store, ids)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"Error: {len(problems)} damaged files in {len(ids)} snapshots", err=True)
        ctx.exit(EXIT_DATA)
    click.echo(f"ok: {len(ids)} snapshots verified")


@backup.command(name="restore")
@click.argument("snapshot")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New or empty folder to restore into.",
)
@click.pass_context
def backup_restore(ctx: click.Context, snapshot: str, target: Path) -> None:
    """Restore a snapshot's files, byte-identical and verified, into a new folder.

    \b
    Example:
      auditor backup restore 20261117T020000Z-2026-11-16-a1b2c3 --to /tmp/restored
    """
    from auditor import backup as backups

    count = backups.restore(backups.store_of(workspace_of(ctx)), snapshot, target)
    click.echo(f"restored {count} files into {target}, all verified")


@backup.command(name="prune")
@click.option(
    "--keep-daily",
    type=click.IntRange(min=0),
    required=True,
    help="Newest snapshot of each of the N newest data dates.",
)
@click.option(
    "--keep-monthly",
    type=click.IntRange(min=0),
    required=True,
    help="Newest snapshot of the newest data date of each of the M newest months.",
)
@click.option(
    "--allow-dropping-dates",
    is_flag=True,
    help="Let dates outside N and M lose their last snapshot (by default every date keeps one).",
)
@click.option(
    "--dry-run", is_flag=True, help="Only list what would be removed and which dates it would drop."
)
@click.pass_context
def backup_prune(
    ctx: click.Context, keep_daily: int, keep_monthly: int, allow_dropping_dates: bool, dry_run: bool
) -> None:
    """Remove old snapshots, by data date, and the objects no remaining snapshot needs.

    Every data date keeps its newest snapshot unless --allow-dropping-dates; keeping nothing
    (both 0) is refused. Refused (exit 65) while the lake or ledger is damaged.

    \b
    Examples:
      auditor backup prune --keep-daily 14 --keep-monthly 12 --dry-run
      auditor backup prune --keep-daily 14 --keep-monthly 12
      auditor backup prune --keep-daily 30 --keep-monthly 12 --allow-dropping-dates
    """
    from auditor import backup as backups
    from auditor.integrity import require_intact

    ws = workspace_of(ctx)
    store = backups.store_of(ws)
    options = {"allow_dropping_dates": allow_dropping_dates}
    plan = backups.plan_prune(store, keep_daily, keep_monthly, **options)  # refuses keeping nothing
    if not dry_run:
        with ws.locked():
            require_intact(ws, "not pruning")
            plan = backups.prune(store, keep_daily, keep_monthly, **options)
    verb = "would remove" if dry_run else "removed"
    for snapshot_id in plan.remove:
        click.echo(f"{verb} {snapshot_id}")
    if plan.dropped_dates:
        click.echo(f"dates left without any snapshot: {', '.join(plan.dropped_dates)}")
    freed = "would free" if dry_run else "freed"
    click.echo(f"{verb} {len(plan.remove)} snapshots, kept {len(plan.keep)}, {freed} {plan.freed:,} bytes")
