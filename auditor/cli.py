"""The ``auditor`` command line: parses options and delegates to functions tests can call.

Exit codes: 0 success, 1 unexpected failure, 2 usage or configuration error,
65 input needs attention (rejects above the threshold, a quarantined or unreadable file;
the work is still done) or a damaged lake or ledger, 75 locked, 143 stopped by SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

import click

from auditor import __version__
from auditor.categories import FINDING_CATEGORIES, LEARNED_CATEGORIES
from auditor.errors import EXIT_DATA, EXIT_FAILURE, EXIT_INTERRUPTED, AuditorError, Terminated
from auditor.sample import REALISMS
from auditor.workspace import DEFAULT_WORKSPACE, Workspace

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
    """Turns AuditorError into a one-line message and its exit code; never a traceback."""

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


@cli.command()
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


@cli.command(epilog=EXIT_CODES_HELP)
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
    from auditor.ingest import ingest as run_ingest

    ws = workspace_of(ctx)
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


@cli.command()
@date_options
@click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: audit.workers, else all cores)."
)
@engine_options
@json_option
@click.pass_context
def audit(
    ctx: click.Context,
    date: str | None,
    since: str | None,
    until: str | None,
    workers: int | None,
    engine: str | None,
    scheduler: str | None,
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
      auditor audit --engine dask --scheduler tcp://10.0.0.5:8786
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

    with ws.locked():
        summary = run_audit(
            ws, dates, workers, on_date=progress, engine=engine, scheduler=scheduler
        ).summary()
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
    help="Show personal data and secrets in clear; every page is marked RESTRICTED. Needs --out.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write here instead of the shared W/reports (required by --unmasked and another --lang).",
)
@click.pass_context
def report_command(
    ctx: click.Context,
    date: str | None,
    since: str | None,
    until: str | None,
    lang: str | None,
    unmasked: bool,
    out_dir: Path | None,
) -> None:
    """Write the HTML compliance report (index, one page per group) and summary.json.

    Reports go to W/reports/D/, masked and in report.lang: the shared pages group owners read.
    Unmasked pages or another language go to a separate folder given with --out (never inside
    W/reports). Without --date or --since/--until, every audited date is reported.

    \b
    Examples:
      auditor report --date 2026-11-16
      auditor report --since 2026-11-01 --until 2026-11-30 --lang en --out /tmp/reports-en
      auditor report --date 2026-11-16 --unmasked --out /srv/restricted/case-42   # authorised only
    """
    from auditor import lake
    from auditor.audit import resolve_dates
    from auditor.report.render import check_private_output, report

    check_dates(date=date, since=since, until=until)
    ws = workspace_of(ctx)
    check_private_output(ws, lang, unmasked, out_dir)
    dates = resolve_dates(lake.dates(ws.messages_dir), date, since, until)
    if not (date or since or until):  # by default every audited date; name a date to hear why one is missing
        dates = [d for d in dates if d in set(lake.dates(ws.findings_dir))]
    if not dates:
        raise AuditorError(f"nothing to report in {ws.root}: run `auditor ingest` and `auditor audit` first")
    with ws.locked():
        indexes = report(ws, dates, lang=lang, unmasked=unmasked, out_dir=out_dir)
    for index in indexes:
        click.echo(str(index))


@cli.command(epilog=EXIT_CODES_HELP)
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
    from auditor.pipeline import nightly as run_nightly

    ws = workspace_of(ctx)
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


@cli.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--redecrypt", is_flag=True, help="Decrypt the quarantined records again (after adding a private key)."
)
@json_option
@click.pass_context
def pull(ctx: click.Context, redecrypt: bool, as_json: bool) -> None:
    """Pull new archive pages from WeCom's Finance SDK into W/inbox/wecom/ (needs [wecom] in auditor.toml).

    Pages land in the inbox before the checkpoint W/state/pull.json advances, so a crash only
    re-pulls a page. Records that cannot be decrypted wait in W/quarantine/. `nightly` pulls
    first by itself; run this by hand to test the setup or after adding a key.

    \b
    Exit codes specific to pulling:
      2   configuration: library, keys or secret missing; Init failed; 10000, 10009 (IP not
          allowed), 10011 (certificate)
      65  WeCom says the data expired (10010): messages were lost
      75  network or system errors (10001, 10003) persisted after retries

    \b
    Examples:
      WECOM_ARCHIVE_SECRET=… auditor -w /srv/audit pull
      auditor -w /srv/audit pull --redecrypt
    """
    from auditor.logs import setup
    from auditor.wecom.pull import run_pull

    ws = configured_workspace(ctx)
    with ws.locked():
        setup(ws.logs_dir, to_stderr=False)
        outcome = run_pull(ws, redecrypt_only=redecrypt)
    summary = outcome.summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"seq {summary['seq_from']} → {summary['seq_to']}: {summary['records']} records, "
            f"{summary['decrypted']} decrypted, {summary['quarantined']} quarantined; "
            f"{summary['groups']} groups refreshed"
        )
        for path in summary["files"]:
            click.echo(path)
    for alarm in outcome.report.alarms:
        click.echo(f"ALARM: {alarm}", err=True)
    if outcome.error:
        click.echo(f"Error: {outcome.error}", err=True)
    ctx.exit(outcome.exit_code)


@cli.group()
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


@cli.group()
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
    from auditor.errors import EXIT_DATA

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


@cli.command(name="check", epilog=EXIT_CODES_HELP)
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
    from auditor.errors import EXIT_DATA
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


@cli.command()
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
    from auditor.replay import replay as run_replay

    check_dates(since=since, until=until)
    diff = run_replay(
        workspace_of(ctx),
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


def on_option(command):
    return click.option(
        "--on",
        "on",
        metavar="YYYY-MM-DD",
        help="Date the decision or step took effect (default: today in the configured zone).",
    )(command)


def _on_date(ws, on: str | None):
    import datetime as dt

    check_dates(on=on)
    return dt.date.fromisoformat(on) if on else dt.datetime.now(ws.tz).date()


def _follow(result: tuple[list[Path], str | None]) -> None:
    """Say which pages followed the decision, or why they will only at the next nightly run."""
    pages, why_not = result
    if pages:
        click.echo(f"pages refreshed: {len(pages)} date{'s' if len(pages) != 1 else ''}", err=True)
    if why_not:
        click.echo(f"Note: {why_not}", err=True)


def _calendar_notice(calendar) -> None:
    notice = calendar.notice()
    if notice:
        click.echo(f"Note: {notice}", err=True)


@cli.group()
def review() -> None:
    """Review findings: confirm or dismiss them in the append-only ledger.

    \b
    Examples:
      auditor review list --status pending --category abuse
      auditor review confirm 7f3a9c0e1b2d4a5f6e7d8c9b --by wangfang --reason "checked with the group owner"
      auditor review dismiss 1a2b3c4d5e6f7a8b9c0d1e2f --by wangfang --reason "a quoted headline" --allowlist
    """


@review.command(name="list")
@click.option("--status", type=click.Choice(["pending", "confirmed", "dismissed"]), help="Only this status.")
@click.option("--group", "group", help="Room id or part of the group name.")
@click.option("--category", type=click.Choice(FINDING_CATEGORIES), help="Only this finding category.")
@json_option
@click.pass_context
def review_list(
    ctx: click.Context, status: str | None, group: str | None, category: str | None, as_json: bool
) -> None:
    """List findings with their review status.

    \b
    Example:
      auditor review list --status pending --group 客户
    """
    from auditor.violations import review_rows

    rows = review_rows(configured_workspace(ctx), status=status, group=group, category=category)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['finding_id']}  {r['date']}  {r['status']:9}  {r['severity']:8}  {r['category']:14}  "
            f"{r['group']}  {r['sender']}  {r['excerpt']}"
            + ("  [no longer found by the detectors]" if r["gone"] else "")
        )
    click.echo(f"{len(rows)} findings")


def _review(
    ctx: click.Context,
    ids: tuple[str, ...],
    decision: str,
    by: str,
    reason: str,
    on: str | None,
    allowlist: bool = False,
    group_only: bool = False,
    dry_run: bool = False,
) -> None:
    from auditor.report import follow
    from auditor.violations import review as record_review

    ws = workspace_of(ctx)
    result = record_review(
        ws,
        list(ids),
        decision,
        by=by,
        reason=reason,
        on=_on_date(ws, on),
        allowlist_phrases=allowlist,
        group_only=group_only,
        dry_run=dry_run,
    )
    if result.preview is not None:
        silenced = result.preview.silenced
        others = len(set(silenced) - set(result.findings))
        click.echo(
            f"the allowlisted phrase{'s' if len(result.phrases) != 1 else ''} would silence {len(silenced)} "
            f"past finding{'s' if len(silenced) != 1 else ''} ({others} besides the dismissed)"
        )
        for phrase in result.phrases:
            scope = f"in group {phrase.room}" if phrase.room else "in every group"
            click.echo(f"  {phrase.text}  ({scope})")
    if not result.written:
        click.echo("dry run: nothing was recorded")
        return
    n = len(result.findings)
    click.echo(f"{decision} {n} finding{'s' if n != 1 else ''}")
    for phrase in result.added:
        click.echo(f"allowlisted: {phrase.text}")
    _follow(follow.after_findings(ws, result.findings))


@review.command(name="confirm")
@click.argument("finding_ids", nargs=-1, required=True)
@click.option("--by", required=True, help="Reviewer.")
@click.option("--reason", default="", help="Why.")
@on_option
@click.pass_context
def review_confirm(
    ctx: click.Context, finding_ids: tuple[str, ...], by: str, reason: str, on: str | None
) -> None:
    """Confirm findings as violations; they count on the person's escalation ladder.

    Unknown ids are an error and nothing is recorded.

    \b
    Example:
      auditor review confirm 7f3a9c0e1b2d4a5f6e7d8c9b 0c1d2e3f4a5b6c7d8e9f0a1b --by wangfang
    """
    _review(ctx, finding_ids, "confirmed", by, reason, on)


@review.command(name="dismiss")
@click.argument("finding_ids", nargs=-1, required=True)
@click.option("--by", required=True, help="Reviewer.")
@click.option("--reason", required=True, help="Why this is not a violation.")
@click.option(
    "--allowlist",
    is_flag=True,
    help="Add the matched text in its context to W/dictionaries/allowlist.txt (after a preview).",
)
@click.option("--group", "group_only", is_flag=True, help="With --allowlist: only in the finding's group.")
@click.option("--dry-run", is_flag=True, help="Show what --allowlist would silence; record nothing.")
@on_option
@click.pass_context
def review_dismiss(
    ctx: click.Context,
    finding_ids: tuple[str, ...],
    by: str,
    reason: str,
    allowlist: bool,
    group_only: bool,
    dry_run: bool,
    on: str | None,
) -> None:
    """Dismiss findings as false alarms; --allowlist keeps the same phrase from coming back.

    The phrase learned is the matched text with a few characters of context, never a bare term;
    --group limits it to the finding's group. The command first says how many past findings the
    phrase would silence (the dismissed one included); --dry-run stops there.

    \b
    Examples:
      auditor review dismiss 1a2b3c4d5e6f --by wangfang --reason "product name" --allowlist --dry-run
      auditor review dismiss 1a2b3c4d5e6f --by wangfang --reason "team banter" --allowlist --group
    """
    _review(ctx, finding_ids, "dismissed", by, reason, on, allowlist, group_only, dry_run)


@cli.group()
def action() -> None:
    """Record and list steps taken on the escalation ladder.

    Steps: warning, public_criticism, temporary_removal, termination_review.

    \b
    Examples:
      auditor action record zhangwei warning --by lina --finding 7f3a9c0e1b2d4a5f6e7d8c9b
      auditor action list
      auditor action void ACT-000012 --by lina --reason "recorded for the wrong person"
    """


@action.command(name="record")
@click.argument("user")
@click.argument(
    "step", type=click.Choice(["warning", "public_criticism", "temporary_removal", "termination_review"])
)
@click.option("--by", required=True, help="Who carried out the step (group owner, admin, HR).")
@click.option("--finding", "finding_ids", multiple=True, help="Finding the step answers (repeatable).")
@click.option("--reason", default="", help="Notes.")
@on_option
@click.pass_context
def action_record(
    ctx: click.Context,
    user: str,
    step: str,
    by: str,
    finding_ids: tuple[str, ...],
    reason: str,
    on: str | None,
) -> None:
    """Record that a step was carried out for USER; prints its id and appeal deadline.

    \b
    Example:
      auditor action record zhangwei public_criticism --by lina --finding 7f3a9c0e1b2d4a5f6e7d8c9b
    """
    from auditor.report import follow
    from auditor.violations import record_action
    from auditor.workdays import WorkCalendar

    ws = configured_workspace(ctx)
    calendar = WorkCalendar.of_workspace(ws.root)
    action_id = record_action(
        ws,
        user,
        step,
        by=by,
        reason=reason,
        finding_ids=list(finding_ids),
        on=_on_date(ws, on),
        calendar=calendar,
    )
    click.echo(action_id)
    _calendar_notice(calendar)
    _follow(follow.after_action(ws, action_id))


@action.command(name="void")
@click.argument("action_id")
@click.option("--by", required=True, help="Who withdraws the action.")
@click.option("--reason", required=True, help="Why it was a mistake.")
@on_option
@click.pass_context
def action_void(ctx: click.Context, action_id: str, by: str, reason: str, on: str | None) -> None:
    """Void a mistaken action: an append-only event; the action leaves the ladder, history stays.

    \b
    Example:
      auditor action void ACT-000012 --by lina --reason "recorded for the wrong person"
    """
    from auditor.report import follow
    from auditor.violations import void_action

    ws = configured_workspace(ctx)
    void_action(ws, action_id, by=by, reason=reason, on=_on_date(ws, on))
    click.echo(f"{action_id}: void")
    _follow(follow.after_action(ws, action_id))


@action.command(name="list")
@json_option
@click.pass_context
def action_list(ctx: click.Context, as_json: bool) -> None:
    """List actions with their appeals.

    \b
    Example:
      auditor action list
    """
    from dataclasses import asdict

    from auditor.ledger import Ledger
    from auditor.workdays import WorkCalendar

    ws = configured_workspace(ctx)
    with Ledger(ws.ledger_path) as ledger:
        actions = list(ledger.actions().values())
        appeals = list(ledger.appeals().values())
    if as_json:
        click.echo(
            json.dumps(
                {"actions": [asdict(a) for a in actions], "appeals": [asdict(a) for a in appeals]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    calendar = WorkCalendar.of_workspace(ws.root)

    def deadline(day: str | None) -> str:
        if not day:
            return "?"
        return f"{day} (estimated)" if calendar.is_estimated(int(day[:4])) else day

    for a in actions:
        state = f"VOID ({a.void_reason})" if a.voided else "in force"
        click.echo(
            f"{a.action_id}  {a.effective}  {a.subject:12}  {a.step:18}  by {a.actor}  {state}  "
            f"appeal by {deadline(a.details.get('appeal_deadline'))}"
        )
        for p in appeals:
            if p.action_id == a.action_id:
                click.echo(
                    f"    {p.appeal_id} filed {p.filed}, answer by {deadline(p.investigation_deadline)}: "
                    f"{p.outcome or 'open'}"
                )
    if not actions:
        click.echo("no actions recorded")


@cli.group()
def appeal() -> None:
    """Appeals (申诉) against actions, counted in statutory working days.

    \b
    Examples:
      auditor appeal file ACT-000012 --by zhangwei --reason "I was quoting the customer"
      auditor appeal resolve APL-000013 --outcome overturned --by lina --reason "quote confirmed"
    """


@appeal.command(name="file")
@click.argument("action_id")
@click.option("--by", required=True, help="The member the action concerns.")
@click.option("--reason", required=True, help="Grounds of the appeal.")
@on_option
@click.pass_context
def appeal_file(ctx: click.Context, action_id: str, by: str, reason: str, on: str | None) -> None:
    """File an appeal; refused after the filing window, with the deadline in the message.

    \b
    Example:
      auditor appeal file ACT-000012 --by zhangwei --reason "I was quoting the customer"
    """
    from auditor.report import follow
    from auditor.violations import file_appeal
    from auditor.workdays import WorkCalendar

    ws = configured_workspace(ctx)
    calendar = WorkCalendar.of_workspace(ws.root)
    appeal_id, answer_by = file_appeal(
        ws, action_id, by=by, reason=reason, on=_on_date(ws, on), calendar=calendar
    )
    click.echo(f"{appeal_id}: the owner or admin must answer by {answer_by}")
    _calendar_notice(calendar)
    _follow(follow.after_action(ws, action_id))


@appeal.command(name="resolve")
@click.argument("appeal_id")
@click.option("--outcome", required=True, type=click.Choice(["upheld", "overturned"]))
@click.option("--by", required=True, help="Who investigated.")
@click.option("--reason", required=True, help="Findings of the investigation.")
@on_option
@click.pass_context
def appeal_resolve(
    ctx: click.Context, appeal_id: str, outcome: str, by: str, reason: str, on: str | None
) -> None:
    """Resolve an appeal; overturned voids the action, whose findings leave the ladder.

    \b
    Example:
      auditor appeal resolve APL-000013 --outcome overturned --by lina --reason "quote confirmed"
    """
    from auditor.report import follow
    from auditor.violations import resolve_appeal

    ws = configured_workspace(ctx)
    action_id = resolve_appeal(ws, appeal_id, outcome, by=by, reason=reason, on=_on_date(ws, on))
    click.echo(f"{appeal_id}: {outcome}")
    _follow(follow.after_action(ws, action_id))


@cli.group()
def model() -> None:
    """The learned detectors (abuse, rumor, ad): train one on labelled data.

    \b
    Example:
      auditor model train --train ../shared/data/cold/train.csv --dev ../shared/data/cold/dev.csv \\
          --negatives eval/data/conversation/train.csv --dev-negatives eval/data/conversation/dev.csv \\
          --out auditor/models/abuse-cold.zip --seed 0
    """


_CSV = click.Path(dir_okay=False, path_type=Path)


@model.command(name="train")
@click.option(
    "--category",
    default="abuse",
    show_default=True,
    type=click.Choice(("abuse", *LEARNED_CATEGORIES)),
    help="Which detector's model to train.",
)
@click.option(
    "--train", "train_csv", required=True, type=_CSV, help="Training CSV (text and 0/1 label columns)."
)
@click.option(
    "--dev",
    "dev_csv",
    required=True,
    type=_CSV,
    help="Development CSV: chooses the regularisation, calibration and thresholds.",
)
@click.option(
    "--held-out",
    "held_out",
    multiple=True,
    metavar="NAME=CSV",
    help="abuse: a set (text,label columns) only measured for the model card, after every choice.",
)
@click.option(
    "--negatives",
    multiple=True,
    type=_CSV,
    help="rumor/ad: label-0 CSV of ordinary conversation added to training (repeatable).",
)
@click.option(
    "--dev-negatives",
    multiple=True,
    type=_CSV,
    help="rumor/ad: label-0 CSV whose false-alarm rate the threshold must keep low (repeatable).",
)
@click.option(
    "--test", "test_csv", type=_CSV, help="rumor/ad: held-out CSV, measured for the model card only."
)
@click.option(
    "--test-negatives",
    multiple=True,
    type=_CSV,
    help="rumor/ad: held-out label-0 CSV, measured only (repeatable).",
)
@click.option(
    "--out",
    required=True,
    type=_CSV,
    help="Artifact to write (a model card is written next to it as .md).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Same data and seed → identical artifact."
)
@click.option("--text-column", help="Text column [default: TEXT for abuse (COLD), text otherwise].")
@click.option("--label-column", default="label", show_default=True)
@click.option(
    "--topic-column",
    default="topic",
    show_default=True,
    help="When train and dev have it: cross-topic figures for the card (train on the others, test on one).",
)
def model_train(
    category: str,
    train_csv: Path,
    dev_csv: Path,
    held_out: tuple[str, ...],
    negatives: tuple[Path, ...],
    dev_negatives: tuple[Path, ...],
    test_csv: Path | None,
    test_negatives: tuple[Path, ...],
    out: Path,
    seed: int,
    text_column: str | None,
    label_column: str,
    topic_column: str,
) -> None:
    """Train a learned detector's model, precision first, with ordinary conversation as hard negatives.

    The abuse model (hashed character n-grams and abuse cues, calibrated) keeps its conversation
    false alarms within budget while holding COLD dev accuracy; rumor and ad models choose C and the
    threshold for precision first under a false-alarm budget.

    \b
    Examples:
      auditor model train --train cold/train.csv --dev cold/dev.csv \\
          --negatives eval/data/conversation/train.csv --dev-negatives eval/data/conversation/dev.csv \\
          --held-out chineseharm=eval/data/offensive-chineseharm/test.csv --out /tmp/abuse.zip --seed 0
      auditor model train --category rumor --train eval/data/rumor/train.csv --dev eval/data/rumor/dev.csv \\
          --negatives eval/data/conversation/train.csv --dev-negatives eval/data/conversation/dev.csv \\
          --test eval/data/rumor/test.csv --out auditor/models/rumor-weibo.zip
    """
    if category == "abuse":
        from auditor.training import train

        if len(negatives) > 1 or len(dev_negatives) > 1 or test_csv or test_negatives:
            raise click.UsageError(
                "abuse takes one --negatives and one --dev-negatives; --test and --test-negatives are for "
                "rumor and ad (abuse: --held-out NAME=CSV)"
            )
        sets = {}
        for item in held_out:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise click.BadParameter(f"expected NAME=CSV, got {item!r}", param_hint="--held-out")
            sets[name] = Path(path)
        meta = train(
            train_csv,
            dev_csv,
            out,
            seed,
            text_column or "TEXT",
            label_column,
            negatives_train=negatives[0] if negatives else None,
            negatives_dev=dev_negatives[0] if dev_negatives else None,
            held_out=sets,
            topic_column=topic_column or None,
        )
    else:
        if held_out:
            raise click.UsageError("--held-out is for abuse; rumor and ad take --test")
        from auditor.category_training import Sources, train_category

        sources = Sources(train_csv, dev_csv, negatives, dev_negatives, test_csv, test_negatives)
        meta = train_category(category, sources, out, seed, text_column or "text", label_column)
    m = meta["dev_metrics"]
    click.echo(
        f"dev: accuracy {m['accuracy']}, precision {m['precision']}, recall {m['recall']}, f1 {m['f1']} "
        f"at threshold {meta['threshold']}"
        + (f" with a cue, {meta['alone_threshold']} alone" if "alone_threshold" in meta else "")
        + f" (C={meta['C']})"
    )
    for key, name in (("dev_false_alarm", "dev negatives"), ("test_false_alarm", "test negatives")):
        if key in meta:
            click.echo(f"{name}: {meta[key]['fired']} of {meta[key]['texts']} flagged")
    if "test_metrics" in meta:
        t = meta["test_metrics"]
        click.echo(f"test: precision {t['precision']}, recall {t['recall']}, f1 {t['f1']}")
    for kind, sets in (("cross-topic", meta.get("cross_topic", {})), ("held out", meta.get("held_out", {}))):
        for name, f in sets.items():
            click.echo(f"{kind} {name}: precision {f['precision']}, recall {f['recall']}, f1 {f['f1']}")
    click.echo(f"wrote {out} and {out.with_suffix('.md')}")


@cli.command(name="eval")
@click.option(
    "--labels",
    "labels_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="One CSV of texts with 0/1 labels (COLD's dev.csv works as it is).",
)
@click.option("--text-column", default="TEXT", show_default=True, help="With --labels: the text column.")
@click.option("--label-column", default="label", show_default=True, help="With --labels: the label column.")
@click.option(
    "--category",
    "categories",
    multiple=True,
    type=click.Choice(FINDING_CATEGORIES),
    help="Finding categories to measure (repeatable; default abuse with --labels, all with --suite).",
)
@click.option(
    "--suite",
    "suite_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of sets: <category>[-<variant>]/test.csv and conversation/test.csv (all label 0).",
)
@click.option(
    "--set",
    "extra_sets",
    multiple=True,
    metavar="NAME=CSV",
    help="One more labelled set for the suite, e.g. abuse-cold-dev=dev.csv (repeatable).",
)
@click.option(
    "--targets",
    "targets_toml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML of [[target]] set/metric/at_least|at_most: printed next to the measured figures.",
)
@click.option(
    "--worst",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many of the worst conversation false alarms to list.",
)
@click.option(
    "--out",
    "out_json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the suite's result as JSON to this file.",
)
@json_option
@click.pass_context
def eval_command(
    ctx: click.Context,
    labels_csv: Path | None,
    text_column: str,
    label_column: str,
    categories: tuple[str, ...],
    suite_dir: Path | None,
    extra_sets: tuple[str, ...],
    targets_toml: Path | None,
    worst: int,
    out_json: Path | None,
    as_json: bool,
) -> None:
    """Measure detection quality: precision, recall, F1, and false alarms on real conversation.

    Runs the real detection pipeline (the workspace's settings and dictionaries, if any). With
    --labels, one labelled CSV; with --suite (and/or --set), every labelled set for its own category,
    plus the share of ordinary conversation lines each category flags and the worst of them.

    \b
    Examples:
      auditor eval --labels ../shared/data/cold/dev.csv --category abuse
      auditor eval --labels mine.csv --text-column text --label-column y --category abuse --category profanity
      auditor eval --suite eval/data --set abuse-cold-dev=cold/dev.csv --targets eval/targets.toml
    """
    from auditor.analyzer import Ruleset

    ws = workspace_of(ctx)
    if labels_csv is not None:
        if suite_dir or extra_sets or targets_toml or out_json:
            raise click.UsageError(
                "--labels measures one CSV; --suite, --set, --targets and --out are for suites"
            )
        _eval_labels(ws, labels_csv, text_column, label_column, categories, as_json)
        return
    if suite_dir is None and not extra_sets:
        raise click.UsageError("give --labels CSV, or --suite DIR and/or --set NAME=CSV")
    from auditor import atomic
    from auditor.evaluate import (
        LabelledSet,
        category_of,
        check_targets,
        discover,
        evaluate_suite,
        format_suite,
        read_targets,
    )

    sets, conversation = discover(suite_dir) if suite_dir else ([], None)
    for spec in extra_sets:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{spec!r} is not NAME=CSV", param_hint="--set")
        sets.append(LabelledSet(name, category_of(name), Path(path)))
    targets = read_targets(targets_toml) if targets_toml else []
    ruleset = Ruleset(ws.config, ws.dictionaries_dir)
    result = evaluate_suite(ruleset, sets, conversation, categories or FINDING_CATEGORIES, worst)
    result["targets"] = check_targets(result, targets)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if out_json is not None:
        atomic.write_text(out_json, text + "\n")
    click.echo(text if as_json else format_suite(result).rstrip())


def _eval_labels(
    ws: Workspace,
    labels_csv: Path,
    text_column: str,
    label_column: str,
    categories: tuple[str, ...],
    as_json: bool,
) -> None:
    from auditor.analyzer import Ruleset
    from auditor.evaluate import evaluate
    from auditor.training import read_labelled

    labelled = read_labelled(labels_csv, text_column, label_column)
    result = evaluate(Ruleset(ws.config, ws.dictionaries_dir), labelled, categories or ("abuse",))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    cm = result["confusion"]
    click.echo(f"categories: {', '.join(result['categories'])}   texts: {result['support']}")
    for key in ("accuracy", "precision", "recall", "f1"):
        click.echo(f"{key:>9}: {result[key]:.4f}")
    click.echo("confusion matrix (rows: label, columns: predicted)")
    click.echo(f"          pred 0  pred 1\n label 0  {cm['tn']:6}  {cm['fp']:6}")
    click.echo(f" label 1  {cm['fn']:6}  {cm['tp']:6}")


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
@click.option(
    "--realism",
    type=click.Choice(REALISMS),
    default="template",
    show_default=True,
    help="template: a few dozen work lines with names swapped in (the demo sample); real: sentences of "
    "real conversational Chinese, mostly distinct (the benchmark archive).",
)
def sample(out_dir: Path, messages: int, groups: int, days: int, seed: int, start: str, realism: str) -> None:
    """Write a realistic synthetic WeCom archive (deterministic for a seed).

    Writes OUT/exports/ (JSONL, gzip JSONL and GetChatData batch files, groups.json,
    roster.csv) and OUT/manifest.json listing the groups and the planted violations.

    \b
    Examples:
      auditor sample --out sample_data
      auditor sample --out /tmp/big --messages 1000000 --groups 300 --days 3 --realism real
    """
    import datetime as dt

    from auditor.sample import generate

    check_dates(start=start)
    first_day = dt.date.fromisoformat(start)
    manifest = generate(
        out_dir, messages=messages, groups=groups, days=days, seed=seed, start=first_day, realism=realism
    )
    click.echo(
        f"wrote {manifest['messages']} messages in {len(manifest['groups'])} groups over {days} days "
        f"to {out_dir}"
    )


# Command groups that live in their own modules (DESIGN: the CLI split by command group).
from auditor.commands.evidence import check_evidence, export_group  # noqa: E402
from auditor.commands.notify import notify  # noqa: E402
from auditor.console.commands import serve, user  # noqa: E402

for command in (notify, export_group, check_evidence, serve, user):
    cli.add_command(command)


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


if __name__ == "__main__":
    sys.exit(main())
