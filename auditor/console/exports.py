"""Evidence export from the console: the zip of ``auditor.evidence`` for a finding, a person or a
case (an action), handed out as a download.

A POST with the CSRF token, because an export is recorded (who, when, what: ``W/logs/
evidence-exports.jsonl``) before its bytes leave. Masked for every role that may export; the form's
``unmasked`` only for officers, and then every file in the zip is marked RESTRICTED.
"""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor import evidence
from auditor.console import auth, data
from auditor.console.users import User
from auditor.console.web import form_of, today, ws_of
from auditor.errors import AuditorError
from auditor.ledger import Ledger, action_label, parse_label


def _selection(request: Request, user: User) -> evidence.Selection:
    """What the path names, once the account may export it (404 unknown, 403 outside its scope)."""
    ws, on = ws_of(request), today(request)
    params = request.path_params
    if "finding_id" in params:
        f = data.finding(ws, params["finding_id"])
        if f is None:
            raise HTTPException(404, "no such finding")
        auth.check_finding(ws, user, f, on)
        return evidence.Selection("finding", f["finding_id"])
    if "userid" in params:
        auth.check_export(ws, user, params["userid"], on)
        return evidence.Selection("person", params["userid"])
    try:
        event_id = parse_label(params["action_id"], "ACT")
    except Exception:
        raise HTTPException(404, "no such action") from None
    with Ledger(ws.ledger_path) as ledger:
        action = ledger.actions().get(event_id)
    if action is None:
        raise HTTPException(404, "no such action")
    auth.check_export(ws, user, action.subject, on)
    return evidence.Selection("case", action_label(event_id))


async def export_evidence(request: Request) -> Response:
    user = auth.require(request, "evidence.export")
    form = await form_of(request)
    unmasked = form.get("unmasked") == "1"
    if unmasked:
        user = auth.require(request, "evidence.unmasked")
    selection = _selection(request, user)
    ws = ws_of(request)

    def run() -> tuple[bytes, dict]:
        payload, written = evidence.export_bytes(ws, selection, unmasked=unmasked)
        at = dt.datetime.now(ws.tz)
        evidence.record_export(ws, selection, written, by=user.name, role=user.role, at=at)
        return payload, written

    try:
        payload, written = await run_in_threadpool(run)
    except AuditorError as exc:  # e.g. a person with neither findings nor actions: nothing to export
        raise HTTPException(404, str(exc)) from None
    except OSError as exc:  # the export could not be recorded (disk full, W/logs not writable)
        raise HTTPException(503, f"the export could not be recorded, so it is not given: {exc}") from None
    name = evidence.download_name(selection, written)
    return Response(
        payload,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-evidence-sha256": written["sha256"],
        },
    )


routes = [
    Route("/findings/{finding_id:str}/evidence", export_evidence, methods=["POST"]),
    Route("/people/{userid:str}/evidence", export_evidence, methods=["POST"]),
    Route("/actions/{action_id:str}/evidence", export_evidence, methods=["POST"]),
]
