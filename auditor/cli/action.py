"""``auditor action record|void|list``: the escalation ladder."""

from __future__ import annotations

import json

import click

from auditor.cli.base import (
    configured_workspace,
    decision_date,
    echo_calendar_notice,
    echo_follow,
    json_option,
    on_option,
)


@click.group()
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
        on=decision_date(ws, on),
        calendar=calendar,
    )
    click.echo(action_id)
    echo_calendar_notice(calendar)
    echo_follow(follow.after_action(ws, action_id))


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
    void_action(ws, action_id, by=by, reason=reason, on=decision_date(ws, on))
    click.echo(f"{action_id}: void")
    echo_follow(follow.after_action(ws, action_id))


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
