"""The audit trail: every ledger event (who, when, what, why), filterable, exportable as CSV."""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor.console import auth, data
from auditor.console.web import render, ws_of

KINDS = (
    "review",
    "action",
    "action_voided",
    "appeal_filed",
    "appeal_resolved",
    "assign",
    "escalate",
    "acknowledge",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """A cell a spreadsheet shows as text: chat-derived reasons starting with = + - @ are not run
    as formulas (CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def trail_page(request: Request) -> Response:
    user = auth.require(request, "trail.view")
    flt = data.TrailFilter.of(request.query_params)
    rows = data.trail(ws_of(request), flt)
    return render(request, "trail.html.j2", user, rows=rows[:1000], total=len(rows), flt=flt, kinds=KINDS)


def trail_csv(request: Request) -> Response:
    auth.require(request, "trail.view")
    rows = data.trail(ws_of(request), data.TrailFilter.of(request.query_params))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(data.TRAIL_COLUMNS)
    for r in rows:
        writer.writerow([spreadsheet_safe(r[c]) for c in data.TRAIL_COLUMNS])
    return Response(
        out.getvalue().encode("utf-8-sig"),  # the BOM lets spreadsheet programs read Chinese as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit-trail.csv"'},
    )


routes = [Route("/trail", trail_page), Route("/trail.csv", trail_csv)]
