"""``auditor review list|confirm|dismiss``."""

from __future__ import annotations

import json

import click

from auditor.categories import FINDING_CATEGORIES
from auditor.cli.base import (
    configured_workspace,
    decision_date,
    echo_follow,
    json_option,
    on_option,
    workspace_of,
)


@click.group()
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
        on=decision_date(ws, on),
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
    echo_follow(follow.after_findings(ws, result.findings))


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
