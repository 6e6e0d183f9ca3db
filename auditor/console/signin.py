"""Signing in and out with a local account; the home page sends each role to its first page."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auditor.console import auth
from auditor.console.users import User
from auditor.console.web import form_of, render

HOME = {"officer": "/queue", "owner": "/queue", "viewer": "/queue", "hr": "/referrals"}


def start_session(request: Request, user: User) -> None:
    """A new session for the account: nothing of the anonymous one carries over (no fixation)."""
    request.session.clear()
    request.session["user"] = user.name
    auth.csrf_token(request)


async def home(request: Request) -> Response:
    user = auth.signed_in(request)
    if user is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse(HOME[user.role], 303)


async def login_form(request: Request) -> Response:
    return render(request, "login.html.j2", None, next=auth.safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await form_of(request)
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:1024]
    target = auth.safe_next(form.get("next"))
    address = request.client.host if request.client else ""
    throttle: auth.LoginThrottle = request.app.state.throttle
    t = request.app.state.labels
    if throttle.blocked(name, address):
        return render(request, "login.html.j2", None, 429, next=target, error=t["throttled"], name=name)
    user = await run_in_threadpool(request.app.state.users.authenticate, name, password)
    if user is None:
        throttle.failed(name, address)
        return render(request, "login.html.j2", None, 401, next=target, error=t["bad_login"], name=name)
    throttle.succeeded(name, address)
    start_session(request, user)
    return RedirectResponse(target if target != "/" else HOME[user.role], 303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", 303)


routes = [
    Route("/", home),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
