"""The ``auditor`` command line: parses options and delegates to functions tests can call.

Exit codes: 0 success, 1 unexpected failure, 2 usage or configuration error,
65 input data rejected above the configured threshold (the work is still done), 75 locked.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from auditor import __version__
from auditor.errors import EXIT_DATA, EXIT_FAILURE, AuditorError
from auditor.workspace import DEFAULT_WORKSPACE, Workspace

EXIT_CODES_HELP = """\b
Exit codes:
  0   success
  1   unexpected failure
  2   usage or configuration error
  65  input records rejected above ingest.max_reject_ratio (work still done)
  75  another run holds the workspace lock"""


class AuditorGroup(click.Group):
    """Turns AuditorError into a one-line message and its exit code; never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as exc:  # the promise is "never a traceback" for users; keep one for debugging
            if os.environ.get("AUDITOR_DEBUG"):
                traceback.print_exc()
            click.echo(
                f"Error: unexpected failure: {type(exc).__name__}: {exc}"
                " (set AUDITOR_DEBUG=1 for a traceback)",
                err=True,
            )
            ctx.exit(EXIT_FAILURE)


def workspace_of(ctx: click.Context) -> Workspace:
    return ctx.find_object(Workspace)


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


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the workspace folders and a commented auditor.toml.

    Safe to run again: nothing that exists is changed.

    \b
    Example:
      auditor -w ./auditor-workspace init
    """
    ws = workspace_of(ctx)
    created = ws.init()
    ws.config  # noqa: B018 - validates an existing auditor.toml now rather than at the first nightly run
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"workspace ready: {ws.root}")


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the reconciliation as JSON on stdout.")
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
    from auditor.ingest import ingest as run_ingest

    ws = workspace_of(ctx)
    ws.init()
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
        if report.rejects_file:
            click.echo(f"rejected records and reasons: {report.rejects_file}")
    threshold = ws.config["ingest"]["max_reject_ratio"]
    if report.reject_ratio > threshold:
        click.echo(
            f"Error: {report.reject_ratio:.1%} of records rejected, above ingest.max_reject_ratio "
            f"({threshold:.1%}); see {report.rejects_file}",
            err=True,
        )
        ctx.exit(EXIT_DATA)


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
    import datetime as dt

    for name, value in values.items():
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise AuditorError(f"--{name} must be YYYY-MM-DD, got {value!r}") from None


@cli.command()
@date_options
@click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: audit.workers, else all cores)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.pass_context
def audit(
    ctx: click.Context,
    date: str | None,
    since: str | None,
    until: str | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Run every detector over lake messages and write the findings lake.

    Without --date or --since/--until, every date in the lake is audited. Findings go to
    W/lake/findings/date=D/findings.parquet, replaced atomically; the same input and rules
    give byte-identical findings.

    \b
    Examples:
      auditor audit
      auditor audit --date 2026-11-16
      auditor audit --since 2026-11-01 --until 2026-11-30 --workers 2
    """
    from auditor import lake
    from auditor.audit import audit as run_audit
    from auditor.audit import resolve_dates

    check_dates(date=date, since=since, until=until)
    ws = workspace_of(ctx)
    dates = resolve_dates(lake.dates(ws.messages_dir), date, since, until)
    if not dates:
        raise AuditorError(f"the lake in {ws.root} has no messages yet: run `auditor ingest` first")

    def progress(day: str, messages: int, findings: int) -> None:
        if not as_json:
            click.echo(f"{day}: {messages} messages, {findings} findings")

    summary = run_audit(ws, dates, workers, on_date=progress).summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        rate = summary["messages"] / summary["seconds"] if summary["seconds"] else 0
        click.echo(
            f"total: {summary['messages']} messages, {summary['findings']} findings in "
            f"{summary['seconds']:.1f}s ({rate:,.0f} messages/s), ruleset {summary['ruleset_version']}"
        )


@cli.command(name="report")
@date_options
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Page language (default: report.lang, zh).")
@click.option(
    "--unmasked",
    is_flag=True,
    help="Show personal data and secrets in clear; every page is marked RESTRICTED.",
)
@click.pass_context
def report_command(
    ctx: click.Context,
    date: str | None,
    since: str | None,
    until: str | None,
    lang: str | None,
    unmasked: bool,
) -> None:
    """Write the HTML compliance report (index, one page per group) and summary.json.

    Reports go to W/reports/D/. Personal data and secrets are masked unless --unmasked.
    Without --date or --since/--until, every audited date is reported.

    \b
    Examples:
      auditor report --date 2026-11-16
      auditor report --since 2026-11-01 --until 2026-11-30 --lang en
      auditor report --date 2026-11-16 --unmasked   # for an authorised investigation only
    """
    from auditor import lake
    from auditor.audit import resolve_dates
    from auditor.report.render import report

    check_dates(date=date, since=since, until=until)
    ws = workspace_of(ctx)
    dates = resolve_dates(lake.dates(ws.messages_dir), date, since, until)
    if not dates:
        raise AuditorError(f"the lake in {ws.root} has no messages yet: run `auditor ingest` first")
    for index in report(ws, dates, lang=lang, unmasked=unmasked):
        click.echo(str(index))


@cli.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the archive into (created).",
)
@click.option(
    "--messages",
    default=4000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of message records.",
)
@click.option("--groups", default=6, show_default=True, type=click.IntRange(min=3), help="Number of groups.")
@click.option("--days", default=3, show_default=True, type=click.IntRange(min=1), help="Number of days.")
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed: same seed, same bytes.")
@click.option("--start", default="2026-11-16", show_default=True, help="First day (YYYY-MM-DD).")
def sample(out_dir: Path, messages: int, groups: int, days: int, seed: int, start: str) -> None:
    """Write a realistic synthetic WeCom archive (deterministic for a seed).

    Writes OUT/exports/ (JSONL, gzip JSONL and GetChatData batch files, groups.json,
    roster.csv) and OUT/manifest.json listing the groups and the planted violations.

    \b
    Examples:
      auditor sample --out sample_data
      auditor sample --out /tmp/big --messages 1000000 --groups 300 --days 3
    """
    import datetime as dt

    from auditor.sample import generate

    check_dates(start=start)
    first_day = dt.date.fromisoformat(start)
    manifest = generate(out_dir, messages=messages, groups=groups, days=days, seed=seed, start=first_day)
    click.echo(
        f"wrote {manifest['messages']} messages in {len(manifest['groups'])} groups over {days} days "
        f"to {out_dir}"
    )


def main() -> None:
    cli(prog_name="auditor")


if __name__ == "__main__":
    sys.exit(main())
