"""The root ``auditor`` group, its error handling and ``main()``, and the options and helpers the
command modules share (like sqlite-utils: the same flag means the same thing on every command).

Exit codes: 0 success, 1 unexpected failure, 2 usage or configuration error,
65 input needs attention (rejects above the threshold, a quarantined or unreadable file;
the work is still done) or a damaged lake or ledger, 75 locked, 143 stopped by SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import signal
import sys
import traceback
from pathlib import Path

import click

from auditor import __version__
from auditor.errors import EXIT_FAILURE, EXIT_INTERRUPTED, AuditorError, Terminated
from auditor.workspace import DEFAULT_WORKSPACE, Workspace

# The report's worker module (``render.REPORT_WORKER_MODULES``), named, not imported: a command that
# will render several dates in a pool plans it for its fork server, which imports it instead.
REPORT_POOL_MODULES = ("auditor.report.render",)
INGEST_POOL_MODULES = ("auditor.ingest_decode",)  # the modules of ingest's decoding workers

EXIT_CODES_HELP = """\b
Exit codes:
  0   success
  1   unexpected failure
  2   usage or configuration error (also: no workspace; run `auditor init`)
  65  input needs attention: records rejected above ingest.max_reject_ratio,
      a file quarantined or unreadable (the rest is still done; see `inbox list`);
      `check` / `backup verify` found damage; refused over a damaged lake or ledger;
      `pull`: WeCom says the archive expired (10010)
  69  notify: a notice could not be delivered (the next run tries again)
  75  another run holds the workspace lock; `pull`: WeCom unreachable after retries
  143 stopped by SIGTERM (the next run completes the work)"""


class AuditorGroup(click.Group):
    """Turns AuditorError into a one-line message and its exit code; never a traceback.

    Commands named in ``lazy`` (name → "module:attribute") are imported only when run or listed:
    a nightly run does not pay for importing the console, evidence export and every detector's
    module just to start (about 0.6 CPU s of each run)."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            _stdout_reader_gone()
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Terminated as exc:
            click.echo("Terminated (SIGTERM); the next run completes the work.", err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:  # the promise is "never a traceback" for users; keep one for debugging
            if os.environ.get("AUDITOR_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"Error: unexpected failure: {type(exc).__name__}: {exc}"
                " (set AUDITOR_DEBUG=1 for a traceback)",
                err=True,
            )
            ctx.exit(EXIT_FAILURE)


# Shared options (like sqlite-utils): the same flag means the same thing on every command.
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")


def workspace_of(ctx: click.Context) -> Workspace:
    """The workspace of every command but ``init``: it must exist (exit 2 naming the path otherwise)."""
    ws = ctx.find_object(Workspace)
    ws.require()
    return ws


def configured_workspace(ctx: click.Context) -> Workspace:
    """The workspace with its auditor.toml read now: a malformed file is exit 2 on every command."""
    ws = workspace_of(ctx)
    ws.config  # noqa: B018 - validates
    return ws


@click.group(cls=AuditorGroup, epilog=EXIT_CODES_HELP)
@click.option(
    "-w",
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="AUDITOR_WORKSPACE",
    default=DEFAULT_WORKSPACE,
    show_default=True,
    show_envvar=True,
    help="Workspace folder holding the lake, reports, ledger and auditor.toml.",
)
@click.version_option(__version__, prog_name="auditor")
@click.pass_context
def cli(ctx: click.Context, workspace: Path) -> None:
    """Compliance auditor for WeCom (企业微信) session-archive exports.

    \b
    Examples:
      auditor -w /srv/audit init
      auditor -w /srv/audit ingest /exports/2026-11-22/
      AUDITOR_WORKSPACE=/srv/audit auditor ingest --json chat.jsonl.gz groups.json roster.csv
    """
    ctx.obj = Workspace(workspace)


def date_options(command):
    """--date D | --since D --until D, shared by the commands that work on lake dates."""
    for option in reversed(
        [
            click.option("--date", "date", metavar="YYYY-MM-DD", help="One date."),
            click.option("--since", metavar="YYYY-MM-DD", help="First date of a range (inclusive)."),
            click.option("--until", metavar="YYYY-MM-DD", help="Last date of a range (inclusive)."),
        ]
    ):
        command = option(command)
    return command


def check_dates(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise AuditorError(f"--{name} must be YYYY-MM-DD, got {value!r}") from None


def engine_options(command):
    """--engine local|dask and --scheduler, shared by audit and nightly."""
    command = click.option(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="Dask scheduler address (with --engine dask; default audit.scheduler).",
    )(command)
    return click.option(
        "--engine",
        type=click.Choice(["local", "dask"]),
        help="Where text analysis runs (default audit.engine: local).",
    )(command)


# Ledger decisions (review, action, appeal): when they took effect and what followed them.


def on_option(command):
    """--on D, the date a decision or step took effect."""
    return click.option(
        "--on",
        "on",
        metavar="YYYY-MM-DD",
        help="Date the decision or step took effect (default: today in the configured zone).",
    )(command)


def decision_date(ws: Workspace, on: str | None) -> dt.date:
    """The date a decision took effect: --on, or today in the workspace's time zone."""
    check_dates(on=on)
    return dt.date.fromisoformat(on) if on else dt.datetime.now(ws.tz).date()


def echo_follow(result: tuple[list[Path], str | None]) -> None:
    """Say which pages followed the decision, or why they will only at the next nightly run."""
    pages, why_not = result
    if pages:
        click.echo(f"pages refreshed: {len(pages)} date{'s' if len(pages) != 1 else ''}", err=True)
    if why_not:
        click.echo(f"Note: {why_not}", err=True)


def echo_calendar_notice(calendar) -> None:
    """Warn when a deadline rests on working days estimated by rule, not an official schedule."""
    notice = calendar.notice()
    if notice:
        click.echo(f"Note: {notice}", err=True)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _stdout_reader_gone() -> None:
    """The reader of our output left (`auditor review list | head`): point stdout at devnull so
    no later flush fails, and end quietly with exit 1, as the Python docs advise for EPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_FAILURE)


def main() -> None:
    # SIGTERM (systemd stop, timeout) ends the run like an error: the audit pool is stopped, the
    # lock released, and nightly writes a failed run manifest, instead of dying mid-step.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli(prog_name="auditor")
    finally:
        try:
            sys.stdout.flush()  # output that fit in the buffer meets the closed pipe only here
        except BrokenPipeError:
            _stdout_reader_gone()
