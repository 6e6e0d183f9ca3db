"""``auditor notify run`` and ``auditor notify send-notice``."""

from __future__ import annotations

import json

import click

from auditor.cli.base import check_dates, configured_workspace, date_options, json_option
from auditor.errors import EXIT_UNAVAILABLE
from auditor.lake import dates as lake_dates
from auditor.notify.dispatch import Delivery, run_summaries, send_action_notice


def _show(deliveries: list[Delivery], dry_run: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([d.record() for d in deliveries], ensure_ascii=False, indent=2))
        return
    if not deliveries:
        click.echo("nothing to send")
    for d in deliveries:
        n = d.notice
        where = f"{n.channel} {n.address or '-'}"
        click.echo(
            f"{d.status}: {n.kind} to {n.recipient} ({where}) {n.notice_id}"
            + (f": {d.error}" if d.error else "")
        )
        if dry_run and d.status == "dry-run":
            click.echo(f"  Subject: {n.subject}")
            click.echo("".join(f"  | {line}\n" for line in n.body.splitlines()), nl=False)


def _exit_on_failure(ctx: click.Context, deliveries: list[Delivery]) -> None:
    failed = [d for d in deliveries if d.status == "failed"]
    if failed:
        click.echo(f"Error: {len(failed)} notice(s) not delivered; the next run tries again", err=True)
        ctx.exit(EXIT_UNAVAILABLE)


@click.group()
def notify() -> None:
    """Send group summaries and notices (e-mail, WeCom application messages).

    Each notice goes out once: what was delivered is recorded in the ledger and
    never sent again. Settings: [notify] in auditor.toml.

    \b
    Examples:
      auditor notify run --date 2026-11-16 --dry-run
      auditor notify send-notice ACT-000012 --channel email
    """


@notify.command(name="run")
@date_options
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@json_option
@click.pass_context
def notify_run(
    ctx: click.Context, date: str | None, since: str | None, until: str | None, dry_run: bool, as_json: bool
) -> None:
    """Send each group owner and admin their group's summary for the dates, and retry
    every summary an earlier run could not deliver (what `auditor nightly` does).

    \b
    Examples:
      auditor notify run --date 2026-11-16 --dry-run
      auditor notify run --since 2026-11-16 --until 2026-11-18
      auditor notify run            # only the summaries still pending
    """
    check_dates(date=date, since=since, until=until)
    ws = configured_workspace(ctx)
    if date and (since or until):
        raise click.UsageError("--date cannot be combined with --since/--until")
    if date:
        dates = [date]
    elif since or until:
        dates = [
            d for d in lake_dates(ws.findings_dir) if (not since or d >= since) and (not until or d <= until)
        ]
    else:
        dates = []
    if dry_run:
        outcome = run_summaries(ws, dates, dry_run=True)
    else:
        with ws.locked():
            outcome = run_summaries(ws, dates)
    _show(outcome.deliveries, dry_run, as_json)
    _exit_on_failure(ctx, outcome.deliveries)


@notify.command(name="send-notice")
@click.argument("action_id")
@click.option(
    "--channel", type=click.Choice(["email", "wecom"]), help="Only this channel (default: notify.channels)."
)
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Template language (default: notify.lang, zh).")
@click.option("--dry-run", is_flag=True, help="Print the notice; send and record nothing.")
@json_option
@click.pass_context
def notify_send_notice(
    ctx: click.Context, action_id: str, channel: str | None, lang: str | None, dry_run: bool, as_json: bool
) -> None:
    """Send the person a warning or public criticism concerns its notice (once per channel).

    \b
    Examples:
      auditor notify send-notice ACT-000012 --dry-run
      auditor notify send-notice ACT-000012 --channel wecom
    """
    ws = configured_workspace(ctx)
    if dry_run:
        deliveries = send_action_notice(ws, action_id, channel=channel, lang=lang, dry_run=True)
    else:
        with ws.locked():  # two senders at once could both see the notice as unsent
            deliveries = send_action_notice(ws, action_id, channel=channel, lang=lang)
    _show(deliveries, dry_run, as_json)
    _exit_on_failure(ctx, deliveries)
