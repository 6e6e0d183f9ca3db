"""What every view shares: rendering a page, one-line notices after a decision, and recording a
decision through the CLI's own functions with the pages following it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from auditor.console import auth
from auditor.console.users import User
from auditor.errors import AuditorError
from auditor.resources import data_dir
from auditor.workspace import Workspace


def environment() -> jinja2.Environment:
    """The reports' template folder (the console's pages are in its ``console/``), autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["query"] = lambda params, **more: urlencode({**params, **more})
    return env


def ws_of(request: Request) -> Workspace:
    return request.app.state.ws


def today(request: Request) -> dt.date:
    return request.app.state.today()


def render(
    request: Request, template: str, user: User | None, status: int = 200, **context: Any
) -> HTMLResponse:
    state = request.app.state
    notices = request.session.pop("notices", []) if "session" in request.scope else []
    html = state.env.get_template(f"console/{template}").render(
        t=state.labels,
        lang=state.lang,
        user=user,
        csrf=auth.csrf_token(request),
        notices=notices,
        permissions={p for p, roles in auth.PERMISSIONS.items() if user and user.role in roles},
        oauth=state.oauth is not None,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status)


def notice(request: Request, text: str, ok: bool = True) -> None:
    """A one-line message shown on the next page (kept short: it travels in the session cookie)."""
    request.session.setdefault("notices", []).append({"ok": ok, "text": text[:400]})


def back(target: str | None, fallback: str) -> RedirectResponse:
    """Back to the page the form was on (its hidden ``next``; a local path only), with 303 so the
    browser GETs it."""
    return RedirectResponse(auth.safe_next(target) if target else fallback, 303)


Followup = Callable[[], tuple[list[Path], str | None]]


def record(request: Request, what: Callable[[], tuple[str, Followup | None]]) -> bool:
    """Run a decision (an ``auditor.violations`` call) that returns what it did and how the report
    pages follow it (``report.follow``, as the CLI does); a refusal becomes a notice, never a
    traceback."""
    t = request.app.state.labels
    try:
        done, followup = what()
    except AuditorError as exc:
        notice(request, t["refused"].format(why=exc), ok=False)
        return False
    notice(request, t["done"].format(what=done))
    if followup is not None:
        _, why_not = followup()
        if why_not:
            notice(request, t["pages_note"].format(note=why_not), ok=False)
    return True


async def form_of(request: Request) -> dict[str, Any]:
    """The url-encoded form: single fields as strings, repeated ones (checkbox lists) as lists."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in set(form.keys()):
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if key.endswith("[]") else (values[-1] if values else "")
    return out


def effective_date(request: Request, value: str) -> dt.date:
    """The form's effective date, or today in the workspace's zone; a malformed one is refused."""
    if not value:
        return today(request)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AuditorError(f"the date must look like 2026-11-16, not {value!r}") from None
