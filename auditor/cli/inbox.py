"""``auditor inbox list|ack``: input files that need an operator."""

from __future__ import annotations

import json
import os

import click

from auditor.cli.base import json_option, workspace_of


@click.group()
def inbox() -> None:
    """Input files that need an operator: quarantined, or with too many rejected records.

    Such a file is marked done like any other, but every nightly run exits 65 and names it
    until it is acknowledged here.

    \b
    Examples:
      auditor inbox list
      auditor inbox ack --all
    """


@inbox.command("list")
@json_option
@click.pass_context
def inbox_list(ctx: click.Context, as_json: bool) -> None:
    """List the unacknowledged input problems.

    \b
    Example:
      auditor inbox list
    """
    from auditor import attention

    records = attention.pending(workspace_of(ctx))
    if as_json:
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    for r in [] if as_json else records:
        click.echo(f"{r['sha256'][:12]}  {r['raised'][:10]}  {r['status']:11}  {r['path']}: {r['reason']}")
    if not records and not as_json:
        click.echo("nothing needs attention")


@inbox.command("ack")
@click.argument("files", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Acknowledge every listed problem.")
@click.option("--by", default=lambda: os.environ.get("USER", "operator"), help="Who (default: $USER).")
@click.pass_context
def inbox_ack(ctx: click.Context, files: tuple[str, ...], all_: bool, by: str) -> None:
    """Acknowledge input problems by path (as listed), file name or sha256 prefix.

    \b
    Examples:
      auditor inbox ack inbox/2026-11-20.jsonl.gz
      auditor inbox ack --all --by ops-oncall
    """
    from auditor import attention

    if bool(files) == all_:
        raise click.UsageError("give FILE names or --all (not both)")
    ws = workspace_of(ctx)
    with ws.locked():
        done = attention.acknowledge(ws, list(files), by=by)
    for r in done:
        click.echo(f"acknowledged {r['path']}")
    if not done:
        click.echo("nothing needs attention")
