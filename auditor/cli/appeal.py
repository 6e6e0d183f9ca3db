"""``auditor appeal file|resolve``."""

from __future__ import annotations

import click

from auditor.cli.base import configured_workspace, decision_date, echo_calendar_notice, echo_follow, on_option


@click.group()
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
        ws, action_id, by=by, reason=reason, on=decision_date(ws, on), calendar=calendar
    )
    click.echo(f"{appeal_id}: the owner or admin must answer by {answer_by}")
    echo_calendar_notice(calendar)
    echo_follow(follow.after_action(ws, action_id))


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
    action_id = resolve_appeal(ws, appeal_id, outcome, by=by, reason=reason, on=decision_date(ws, on))
    click.echo(f"{appeal_id}: {outcome}")
    echo_follow(follow.after_action(ws, action_id))
