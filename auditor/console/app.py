"""The review console: a small ASGI application over one workspace (``auditor serve``).

The lake, the findings and the append-only ledger stay the one source of truth; the console reads
them on every request and records decisions through the functions the CLI calls. Each area is a
module with its routes (signin, queue, people — with the notice of a warning —, trail, dashboard,
exports of evidence); every route calls ``auth.require`` with its permission first.

A new feature is one route in the area module it belongs to, plus its permission in
``auth.PERMISSIONS`` (and the scope check of ``auth`` for the object it concerns); forms post
through the CSRF middleware like every other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from auditor.console import auth, dashboard, exports, people, queue, signin, trail
from auditor.console.labels import labels
from auditor.console.users import UserStore
from auditor.console.web import environment, render
from auditor.console.wecom_oauth import WeComOAuth
from auditor.workspace import Workspace

SESSION_COOKIE = "auditor_session"
SESSION_HOURS = 8


def stylesheet(request: Request) -> Response:
    """The reports' styles plus the console's own, served from this origin (CSP: style-src 'self')."""
    env = request.app.state.env
    css = (
        env.get_template("_style.css.j2").render()
        + "\n"
        + env.get_template("console/_console.css.j2").render()
    )
    return Response(css, media_type="text/css; charset=utf-8")


async def sign_in_first(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse(auth.login_url(request), 303)
    return PlainTextResponse("sign in first", 403)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405 or "session" not in request.scope:
        return PlainTextResponse(exc.detail, exc.status_code)
    return render(
        request,
        "error.html.j2",
        auth.signed_in(request),
        exc.status_code,
        message=exc.detail,
        code=exc.status_code,
    )


def create_app(
    ws: Workspace,
    *,
    secure_cookies: bool = False,
    today: Callable[[], dt.date] | None = None,
    throttle: auth.LoginThrottle | None = None,
    oauth: WeComOAuth | None = None,
) -> Starlette:
    """The console for ``ws``. ``secure_cookies``: the session cookie only travels over HTTPS (set
    it whenever the console is served over TLS, directly or behind a proxy). ``today`` fixes the
    date decisions take effect (tests); it defaults to today in the workspace's zone. WeCom sign-in
    is on when ``[console.wecom_oauth]`` names a corpid."""
    ws.require()
    oauth = oauth or WeComOAuth.of_config(ws.config)
    users = UserStore(ws.root)
    routes = [
        *signin.routes,
        *queue.routes,
        *people.routes,
        *trail.routes,
        *dashboard.routes,
        *exports.routes,
        Route("/console.css", stylesheet),
    ]
    if oauth is not None:
        routes += oauth.routes
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(auth.SecurityHeadersMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=users.session_key(),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_HOURS * 3600,
                same_site="strict",
                https_only=secure_cookies,
            ),
            Middleware(auth.CSRFMiddleware),
        ],
        exception_handlers={auth.SignInRequired: sign_in_first, HTTPException: http_error},
    )
    lang = ws.config["report"]["lang"]
    app.state.ws = ws
    app.state.users = users
    app.state.env = environment()
    app.state.lang = lang
    app.state.labels = labels(lang)
    app.state.today = today or (lambda: dt.datetime.now(ws.tz).date())
    app.state.throttle = throttle or auth.LoginThrottle()
    app.state.oauth = oauth
    return app
