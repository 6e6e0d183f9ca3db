"""Trends over days: findings per category, the review backlog and its age, appeals due."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor.categories import FINDING_CATEGORIES
from auditor.console import auth, charts, data
from auditor.console.web import render, today, ws_of


def dashboard_page(request: Request) -> Response:
    user = auth.require(request, "dashboard.view")
    on = today(request)
    d = data.dashboard(ws_of(request), on)
    present = [c for c in FINDING_CATEGORIES if any(d["per_day"][day].get(c) for day in d["dates"])]
    return render(
        request,
        "dashboard.html.j2",
        user,
        d=d,
        categories=present,
        per_category=charts.stacked_bars(d["dates"], d["per_day"], present),
        backlog=charts.bars(d["dates"], d["pending"], "pending"),
        rate=charts.bars(d["dates"], d["rate"], "rate"),
        today=on.isoformat(),
    )


routes = [Route("/dashboard", dashboard_page)]
