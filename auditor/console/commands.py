"""``auditor serve`` and ``auditor user``: the console's commands, registered on the main CLI group."""

from __future__ import annotations

import sys

import click

from auditor.cli.base import configured_workspace
from auditor.console.users import MIN_PASSWORD, ROLES, UserStore


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8750, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option(
    "--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="Serve HTTPS with this certificate."
)
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="… and this private key.")
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Session cookies only over HTTPS (behind a TLS proxy; implied by --ssl-*).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    secure_cookies: bool,
) -> None:
    """Serve the review console over this workspace (Ctrl-C stops it).

    Create accounts first with `auditor user add`. Decisions taken in the console are written to
    the same ledger as `auditor review`, `action` and `appeal`, with the signed-in name as actor.

    \b
    Examples:
      auditor user add wangfang --role officer
      auditor serve --port 8750
    """
    import uvicorn

    from auditor.console.app import create_app

    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise click.UsageError("--ssl-certfile and --ssl-keyfile go together")
    ws = configured_workspace(ctx)
    with UserStore(ws.root) as users:
        if not users.all():
            click.echo(
                "Note: no accounts yet; create one with `auditor user add NAME --role officer`", err=True
            )
    app = create_app(ws, secure_cookies=secure_cookies or bool(ssl_certfile))
    scheme = "https" if ssl_certfile else "http"
    click.echo(f"review console on {scheme}://{host}:{port}/ (workspace {ws.root})", err=True)
    uvicorn.run(
        app, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level="warning"
    )


@click.group()
def user() -> None:
    """Accounts of the review console (W/users.sqlite).

    A user name is the person's WeCom userid: an owner sees the groups the lake lists them as
    owner or admin of, and anyone can appeal actions recorded against their userid.

    \b
    Examples:
      auditor user add wangfang --role officer
      printf '%s\\n' "$PASSWORD" | auditor user add lina --role owner --password-stdin
      auditor user list
    """


@user.command(name="add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="officer, owner, hr or viewer.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--wecom-only", is_flag=True, help="No password: the account signs in through WeCom only.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool, wecom_only: bool) -> None:
    """Create an account; the password is prompted for (twice) unless --password-stdin.

    \b
    Examples:
      auditor user add wangfang --role officer
      auditor user add lina --role owner --wecom-only
    """
    ws = configured_workspace(ctx)
    if wecom_only and password_stdin:
        raise click.UsageError("--wecom-only takes no password")
    password = None if wecom_only else _password(name, password_stdin)
    with UserStore(ws.root) as users:
        users.add(name, role, password)
    click.echo(f"user {name} ({role}) created")


@user.command(name="list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List accounts and their roles.

    \b
    Example:
      auditor user list
    """
    ws = configured_workspace(ctx)
    with UserStore(ws.root) as users:
        accounts = users.all()
    for account in accounts:
        click.echo(f"{account.name}  {account.role}")
    if not accounts:
        click.echo("no accounts")


def _password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(
        f"Password for {name} (at least {MIN_PASSWORD} characters)", hide_input=True, confirmation_prompt=True
    )


@user.command(name="password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def user_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password for an account.

    \b
    Example:
      auditor user password wangfang
    """
    ws = configured_workspace(ctx)
    with UserStore(ws.root) as users:
        users.set_password(name, _password(name, password_stdin))
    click.echo(f"password of {name} changed")


@user.command(name="remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Delete an account; a signed-in session of it ends at its next request.

    The ledger keeps every decision the account took, under its name.

    \b
    Example:
      auditor user remove viewer1
    """
    ws = configured_workspace(ctx)
    with UserStore(ws.root) as users:
        users.remove(name)
    click.echo(f"user {name} removed")
