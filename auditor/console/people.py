"""A person's page and the decisions on the ladder: record and void actions, file and resolve
appeals — through ``auditor.violations`` and ``report.follow.after_action``, as the CLI does."""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor import violations
from auditor.console import auth, data
from auditor.console.web import Followup, back, effective_date, form_of, record, render, today, ws_of
from auditor.ledger import STEPS, Ledger, parse_label
from auditor.report import follow
from auditor.workdays import WorkCalendar


def person_page(request: Request) -> Response:
    user = auth.require(request, "person.view")
    ws = ws_of(request)
    userid = request.path_params["userid"]
    auth.check_person(ws, user, userid, today(request))
    p = data.person(ws, userid, today(request))
    if not p["known"]:
        raise HTTPException(404, "no such person")
    return render(request, "person.html.j2", user, p=p, steps=STEPS, today=today(request).isoformat())


def referrals_page(request: Request) -> Response:
    user = auth.require(request, "referrals.view")
    ws = ws_of(request)
    on = today(request)
    people = [data.person(ws, userid, on) for userid in sorted(auth.referred_people(ws, on))]
    return render(request, "referrals.html.j2", user, people=people)


async def record_action(request: Request) -> Response:
    user = auth.require(request, "action.decide")
    form = await form_of(request)
    ws = ws_of(request)
    userid = request.path_params["userid"]

    def run() -> tuple[str, Followup]:
        calendar = WorkCalendar.of_workspace(ws.root)
        action_id = violations.record_action(
            ws,
            userid,
            str(form.get("step", "")),
            by=user.name,
            reason=str(form.get("reason", ""))[:2000],
            finding_ids=[i for i in form.get("ids[]", []) if i],
            on=effective_date(request, str(form.get("on", ""))),
            calendar=calendar,
        )
        return action_id, partial(follow.after_action, ws, action_id)

    await run_in_threadpool(record, request, run)
    return back(form.get("next"), "/queue")


def _action_subject(request: Request, action_id: str) -> str:
    """The person an action concerns; a malformed or unknown id is a 404."""
    try:
        event_id = parse_label(action_id, "ACT")
    except Exception:
        raise HTTPException(404, "no such action") from None
    with Ledger(ws_of(request).ledger_path) as ledger:
        action = ledger.actions().get(event_id)
    if action is None:
        raise HTTPException(404, "no such action")
    return action.subject


async def void_action(request: Request) -> Response:
    user = auth.require(request, "action.decide")
    form = await form_of(request)
    ws = ws_of(request)
    action_id = request.path_params["action_id"]
    _action_subject(request, action_id)

    def run() -> tuple[str, Followup]:
        on = effective_date(request, "")
        violations.void_action(ws, action_id, by=user.name, reason=str(form.get("reason", ""))[:2000], on=on)
        return f"{action_id} void", partial(follow.after_action, ws, action_id)

    await run_in_threadpool(record, request, run)
    return back(form.get("next"), "/queue")


async def file_appeal(request: Request) -> Response:
    user = auth.require(request, "appeal.file")
    form = await form_of(request)
    ws = ws_of(request)
    action_id = request.path_params["action_id"]
    if _action_subject(request, action_id) != user.name:
        raise auth.deny(user, "appealing an action concerning someone else")

    def run() -> tuple[str, Followup]:
        appeal_id, answer_by = violations.file_appeal(
            ws,
            action_id,
            by=user.name,
            reason=str(form.get("reason", ""))[:2000],
            on=effective_date(request, ""),
        )
        return f"{appeal_id} ({answer_by})", partial(follow.after_action, ws, action_id)

    await run_in_threadpool(record, request, run)
    return back(form.get("next"), f"/people/{user.name}")


async def resolve_appeal(request: Request) -> Response:
    user = auth.require(request, "appeal.resolve")
    form = await form_of(request)
    ws = ws_of(request)
    appeal_id = request.path_params["appeal_id"]

    def run() -> tuple[str, Followup]:
        action_id = violations.resolve_appeal(
            ws,
            appeal_id,
            str(form.get("outcome", "")),
            by=user.name,
            reason=str(form.get("reason", ""))[:2000],
            on=effective_date(request, ""),
        )
        return f"{appeal_id} {form.get('outcome', '')}", partial(follow.after_action, ws, action_id)

    await run_in_threadpool(record, request, run)
    return back(form.get("next"), "/queue")


routes = [
    Route("/people/{userid:str}", person_page),
    Route("/referrals", referrals_page),
    Route("/people/{userid:str}/actions", record_action, methods=["POST"]),
    Route("/actions/{action_id:str}/void", void_action, methods=["POST"]),
    Route("/actions/{action_id:str}/appeal", file_appeal, methods=["POST"]),
    Route("/appeals/{appeal_id:str}/resolve", resolve_appeal, methods=["POST"]),
]
