"""A person's page and the decisions on the ladder: record and void actions, file and resolve
appeals — through ``auditor.violations`` and ``report.follow.after_action``, as the CLI does — and
send the person the notice of a warning or public criticism (``auditor.notify.dispatch``)."""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor import violations
from auditor.console import auth, data
from auditor.console.web import (
    Followup,
    back,
    effective_date,
    form_of,
    notice,
    record,
    render,
    today,
    ws_of,
)
from auditor.errors import AuditorError
from auditor.ledger import STEPS, Ledger, parse_label
from auditor.notify.dispatch import Delivery, send_action_notice
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


def _delivery_words(t: dict[str, str], d: Delivery) -> tuple[str, bool]:
    """One delivery in a reviewer's words: sent where (and its subject), or why not."""
    n = d.notice
    fields = {"channel": t["channel_" + n.channel], "address": n.address or "", "subject": n.subject}
    if d.status == "sent":
        return t["notice_sent"].format(**fields), True
    if d.status == "already-sent":
        return t["notice_already_sent"].format(**fields), True
    return t["notice_" + d.status].format(**fields, why=d.error), False


async def send_notice(request: Request) -> Response:
    """Send the person a warning or public criticism concerns its notice, once per channel: a
    delivered notice is in the ledger under the signed-in name and never goes out again; a failed
    one records nothing and can be sent again. The workspace lock keeps two senders (two officers,
    the nightly run) from both seeing it as unsent."""
    user = auth.require(request, "action.notify")
    form = await form_of(request)
    ws = ws_of(request)
    action_id = request.path_params["action_id"]
    subject = _action_subject(request, action_id)
    t = request.app.state.labels

    def run() -> list[Delivery]:
        with ws.locked():
            return send_action_notice(ws, action_id, actor=user.name)

    try:
        deliveries = await run_in_threadpool(run)
    except AuditorError as exc:  # not a notice step, void, no channel configured, workspace locked
        notice(request, t["notice_refused"].format(why=exc), ok=False)
    else:
        for d in deliveries:
            notice(request, *_delivery_words(t, d))
    return back(form.get("next"), f"/people/{quote(subject, safe='')}")


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
    Route("/actions/{action_id:str}/notice", send_notice, methods=["POST"]),
    Route("/actions/{action_id:str}/appeal", file_appeal, methods=["POST"]),
    Route("/appeals/{appeal_id:str}/resolve", resolve_appeal, methods=["POST"]),
]
