"""Who may do what in the console: one permission table, one check every route calls, the scope of
an owner's and HR's view, CSRF on every POST, and a login throttle.

Roles (policy 二.2, 七): officers see and decide everything; a group owner or admin sees their own
groups' findings and acknowledges them; HR sees the people referred for a termination review;
viewers read. Anyone signed in may appeal an action taken against themselves (七.3).
"""

from __future__ import annotations

import collections
import datetime as dt
import hmac
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auditor.console.users import User
from auditor.violations import person_states
from auditor.workspace import Workspace

ALL = frozenset({"officer", "owner", "hr", "viewer"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "queue.view": frozenset({"officer", "owner", "viewer"}),
    "finding.view": ALL,  # scoped: an owner to their groups, HR to referred people
    "finding.review": frozenset({"officer"}),  # confirm, dismiss, claim, assign, escalate
    "finding.acknowledge": frozenset({"officer", "owner"}),
    "person.view": ALL,  # scoped: owners and viewers see people, HR the referred, anyone themselves
    "action.decide": frozenset({"officer"}),  # record and void
    "appeal.file": ALL,  # only against an action concerning oneself
    "appeal.resolve": frozenset({"officer"}),
    "trail.view": frozenset({"officer", "viewer"}),
    "dashboard.view": frozenset({"officer", "viewer"}),
    "referrals.view": frozenset({"officer", "hr"}),
    "action.notify": frozenset({"officer"}),  # send the notice of a warning or public criticism
    # evidence, masked: scoped (check_finding; check_export for a person or case): an owner exports
    # their groups' findings, HR the referred people's; viewers read pages and export nothing
    "evidence.export": frozenset({"officer", "owner", "hr"}),
    "evidence.unmasked": frozenset({"officer"}),  # marked RESTRICTED, every export logged
}

CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 1 << 20


class SignInRequired(Exception):
    """No one is signed in: a page sends them to the sign-in form."""


def signed_in(request: Request) -> User | None:
    """The session's account as the store has it now (a removed account is signed out)."""
    name = request.session.get("user")
    if not name:
        return None
    user = request.app.state.users.get(name)
    if user is None:
        request.session.clear()
    return user


def require(request: Request, permission: str) -> User:
    """The one check every route calls: signed in, and the role holds ``permission``."""
    user = signed_in(request)
    if user is None:
        raise SignInRequired()
    if user.role not in PERMISSIONS[permission]:
        raise HTTPException(403, f"the {user.role} role may not do this ({permission})")
    return user


def deny(user: User, what: str) -> HTTPException:
    return HTTPException(403, f"{what} is outside what the {user.role} role of {user.name} may see")


# --- scope -------------------------------------------------------------------------------------


def owned_rooms(ws: Workspace, user: User) -> set[str]:
    """Rooms whose owner or an admin is this account (its name is their WeCom userid)."""
    return {
        roomid
        for roomid, g in ws.groups().items()
        if g.get("owner") == user.name or user.name in (g.get("admins") or [])
    }


def referred_people(ws: Workspace, today: dt.date) -> set[str]:
    """People recommended for, or with an action of, a termination review by HR."""
    return {
        person
        for person, (recommendation, actions) in person_states(ws, today).items()
        if recommendation.step == "termination_review"
        or any(a.step == "termination_review" and not a.voided for a in actions)
    }


def room_scope(ws: Workspace, user: User) -> set[str] | None:
    """Rooms whose findings the account sees in the queue; None means every room."""
    return owned_rooms(ws, user) if user.role == "owner" else None


def check_finding(ws: Workspace, user: User, finding: dict[str, Any], today: dt.date) -> None:
    if user.role == "owner" and finding["roomid"] not in owned_rooms(ws, user):
        raise deny(user, "this finding")
    if user.role == "hr" and finding["sender"] not in referred_people(ws, today):
        raise deny(user, "this finding")


def check_person(ws: Workspace, user: User, userid: str, today: dt.date) -> None:
    if user.name == userid or user.role in ("officer", "viewer"):
        return
    if user.role == "hr" and userid in referred_people(ws, today):
        return
    raise deny(user, "this person's record")


def check_export(ws: Workspace, user: User, userid: str, today: dt.date) -> None:
    """A person's or a case's evidence spans groups: officers, and HR for a referred person."""
    if user.role == "officer" or (user.role == "hr" and userid in referred_people(ws, today)):
        return
    raise deny(user, "this person's evidence")


# --- login throttle ----------------------------------------------------------------------------


class LoginThrottle:
    """At most ``limit`` failed sign-ins per (name, address) in ``window`` seconds; a success clears."""

    def __init__(self, limit: int = 5, window: float = 900.0, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.failures: dict[tuple[str, str], collections.deque] = collections.defaultdict(collections.deque)
        self.lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> collections.deque:
        failures = self.failures[key]
        while failures and self.clock() - failures[0] > self.window:
            failures.popleft()
        return failures

    def blocked(self, name: str, address: str) -> bool:
        with self.lock:
            return len(self._recent((name, address))) >= self.limit

    def failed(self, name: str, address: str) -> None:
        with self.lock:
            self._recent((name, address)).append(self.clock())

    def succeeded(self, name: str, address: str) -> None:
        with self.lock:
            self.failures.pop((name, address), None)


# --- CSRF and headers --------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's token, made on first use; every form carries it in a hidden field."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


class CSRFMiddleware:
    """Refuses every POST whose url-encoded form lacks the session's token (403), then hands the
    request on with its body intact. Runs inside the session middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_FORM_BYTES:
                await PlainTextResponse("form too large", 413)(scope, receive, send)
                return
        expected = scope.get("session", {}).get("csrf", "")
        given = ""
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            try:
                given = parse_qs(body.decode("utf-8"), max_num_fields=2000).get(CSRF_FIELD, [""])[0]
            except (UnicodeDecodeError, ValueError):
                given = ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            await PlainTextResponse(
                "form refused: missing or stale CSRF token; reload the page and try again", 403
            )(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    """CSP without any script, no framing, no sniffing, no referrer, nothing cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def login_url(request: Request) -> str:
    """The sign-in page, returning to where the person was going (a local path only)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


def safe_next(target: str | None) -> str:
    """A post-sign-in destination: a path on this site, never another origin (//evil, /\\evil)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
