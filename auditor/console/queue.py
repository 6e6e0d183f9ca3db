"""The review queue, a finding's page, and the decisions on findings (one form, several buttons).

Confirm and dismiss go through ``violations.review`` and the pages follow through
``report.follow.after_findings``, exactly as ``auditor review`` does; claim, assign, escalate and
acknowledge are workflow events in the same append-only ledger.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor import violations
from auditor.console import auth, data
from auditor.console.web import Followup, back, effective_date, form_of, record, render, today, ws_of
from auditor.errors import AuditorError
from auditor.report import follow

OP_PERMISSION = {
    "confirm": "finding.review",
    "dismiss": "finding.review",
    "claim": "finding.review",
    "assign": "finding.review",
    "escalate": "finding.review",
    "acknowledge": "finding.acknowledge",
}


def queue_page(request: Request) -> Response:
    user = auth.require(request, "queue.view")
    ws = ws_of(request)
    flt = data.QueueFilter.of(request.query_params)
    rows = data.queue(ws, flt, auth.room_scope(ws, user))
    page = data.Page.of(request.query_params.get("page"), len(rows))
    groups = sorted(ws.groups().values(), key=lambda g: g["name"])
    if user.role == "owner":
        mine = auth.owned_rooms(ws, user)
        groups = [g for g in groups if g["roomid"] in mine]
    return render(
        request,
        "queue.html.j2",
        user,
        rows=rows[page.start : page.end],
        total=len(rows),
        page=page,
        flt=flt,
        groups=groups,
        reviewers=sorted({r["assignee"] for r in rows if r["assignee"]}),
        saved=request.app.state.users.filters(user.name),
    )


def finding_page(request: Request) -> Response:
    user = auth.require(request, "finding.view")
    ws = ws_of(request)
    f = data.finding(ws, request.path_params["finding_id"])
    if f is None:
        raise HTTPException(404, "no such finding")
    auth.check_finding(ws, user, f, today(request))
    t = request.app.state.labels
    with_record = user.role != "owner"  # an owner sees their group's findings, not a person's record
    return render(
        request,
        "finding.html.j2",
        user,
        f=f,
        group=ws.groups().get(f["roomid"], {}),
        evidence=data.evidence_words(f.get("evidence", "{}"), t),
        conversation=data.conversation(ws, f) if not f["gone"] else [],
        events=data.finding_events(ws, f["finding_id"]),
        person=data.person(ws, f["sender"], today(request)) if with_record else None,
    )


def _decide(request: Request, form: dict, user: auth.User) -> None:
    ws = ws_of(request)
    op = form.get("op", "")
    ids = [i for i in form.get("ids[]", []) if i][:1000]
    reason = str(form.get("reason", "")).strip()[:2000]

    def run() -> tuple[str, Followup | None]:
        if not ids:
            raise AuditorError("select at least one finding")
        on = effective_date(request, "")
        if op == "acknowledge" and user.role == "owner":
            mine = auth.owned_rooms(ws, user)
            known = violations.load_findings(ws)
            if any(i in known and known[i]["roomid"] not in mine for i in ids):
                raise AuditorError("an owner acknowledges findings of their own groups only")
        if op in ("confirm", "dismiss"):
            decision = "confirmed" if op == "confirm" else "dismissed"
            learn = op == "dismiss" and form.get("allowlist") == "1"
            result = violations.review(
                ws,
                ids,
                decision,
                by=user.name,
                reason=reason,
                on=on,
                allowlist_phrases=learn,
                group_only=learn and form.get("group_only") == "1",
            )
            done = f"{op} × {len(ids)}"
            if result.preview is not None:
                done += f"; {len(result.preview.silenced)} past findings silenced by: "
                done += ", ".join(p.text for p in result.phrases)
            return done, partial(follow.after_findings, ws, ids)
        elif op == "claim":
            violations.assign(ws, ids, user.name, by=user.name, on=on)
        elif op == "assign":
            violations.assign(
                ws, ids, str(form.get("assignee", "")).strip(), by=user.name, on=on, reason=reason
            )
        elif op == "escalate":
            violations.escalate(ws, ids, by=user.name, reason=reason, on=on)
        else:
            violations.acknowledge(ws, ids, by=user.name, on=on, reason=reason)
        return f"{op} × {len(ids)}", None

    record(request, run)


async def decide(request: Request) -> Response:
    form = await form_of(request)
    op = form.get("op", "")
    if op not in OP_PERMISSION:
        raise HTTPException(400, "unknown decision")
    user = auth.require(request, OP_PERMISSION[op])
    await run_in_threadpool(_decide, request, form, user)
    return back(form.get("next"), "/queue")


async def saved_filters(request: Request) -> Response:
    """Save the queue's current filter under a name, or forget one (each reviewer their own)."""
    user = auth.require(request, "queue.view")
    form = await form_of(request)
    users = request.app.state.users
    name = str(form.get("name", ""))
    if form.get("op") == "delete":
        users.delete_filter(user.name, name)
        return back("/queue", "/queue")
    # kept only as the validated filter's own parameters, so a saved link is always a valid filter
    flt = data.QueueFilter.of(dict(parse_qsl(str(form.get("query", "")))))
    query = urlencode(flt.params())

    def run() -> tuple[str, None]:
        users.save_filter(user.name, name, query)
        return name, None

    record(request, run)
    return back(f"/queue?{query}", "/queue")


routes = [
    Route("/queue", queue_page),
    Route("/queue/filters", saved_filters, methods=["POST"]),
    Route("/findings/{finding_id:str}", finding_page),
    Route("/decide", decide, methods=["POST"]),
]
