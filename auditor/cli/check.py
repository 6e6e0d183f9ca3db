"""``auditor check``: the lake, ledger and backups against what was written."""

from __future__ import annotations

import json

import click

from auditor.cli.base import EXIT_CODES_HELP, json_option, workspace_of
from auditor.errors import EXIT_DATA


@click.command(name="check", epilog=EXIT_CODES_HELP)
@click.option(
    "--quick", is_flag=True, help="Sizes and Parquet footers, SQLite quick_check; no hashes, no backups."
)
@click.option(
    "--adopt",
    is_flag=True,
    help="First record every unrecorded lake file that reads back whole (pre-manifest workspaces).",
)
@json_option
@click.pass_context
def check_command(ctx: click.Context, quick: bool, adopt: bool, as_json: bool) -> None:
    """Check the lake, ledger and backups against what was written; exit 65 naming every problem.

    Lake files against the lake manifest (SHA-256, size, row count; missing and unrecorded
    files), msgid uniqueness, every ingested file's reconciliation, the ledger (SQLite
    integrity_check, append-only triggers) and every backup snapshot.

    \b
    Examples:
      auditor check
      auditor check --quick --json
      auditor check --adopt      # once, on a workspace written before the lake manifest
    """
    from auditor.integrity import adopt_unrecorded, check

    ws = workspace_of(ctx)
    with ws.locked():  # a run writing meanwhile would show as damage
        if adopt:
            for outcome in adopt_unrecorded(ws):
                click.echo(str(outcome), err=True)
        problems = check(ws, quick=quick)
    if as_json:
        click.echo(json.dumps({"ok": not problems, "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
    if problems:
        click.echo(f"Error: {len(problems)} problems found", err=True)
        ctx.exit(EXIT_DATA)
    if not as_json:
        click.echo("ok: lake, ledger" + ("" if quick else ", msgids and backups") + " match what was written")
