"""``auditor init``: create a workspace."""

from __future__ import annotations

import click

from auditor.workspace import Workspace


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the workspace folders and a commented auditor.toml.

    Safe to run again: nothing that exists is changed.

    \b
    Example:
      auditor -w ./auditor-workspace init
    """
    ws = ctx.find_object(Workspace)
    created = ws.init()
    ws.config  # noqa: B018 - validates an existing auditor.toml now rather than at the first nightly run
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"workspace ready: {ws.root}")
