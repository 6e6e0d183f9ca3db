"""Sign-in through WeCom web authorisation (企业微信网页授权 / 扫码登录): the browser goes to WeCom,
comes back with a one-time code, and ``auth/getuserinfo`` turns the code into the member's userid.

The userid must already have a console account (``auditor user add USERID --role …``): WeCom proves
who someone is, the workspace decides what they may do. The state parameter travels in its own
signed, short-lived SameSite=Lax cookie, because the Strict session cookie is not sent on the
cross-site return from WeCom; for the same reason the callback answers with a page that moves on
by itself (a same-site navigation that carries the new session).
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from auditor.console.signin import HOME, start_session
from auditor.console.web import render
from auditor.errors import AuditorError
from auditor.wecom.client import WeComApiError, WeComClient

STATE_COOKIE = "auditor_wecom_state"
STATE_SECONDS = 600
TIMEOUT = 10


class WeComError(Exception):
    """WeCom's API answered with an error, or could not be reached."""


@dataclass
class WeComOAuth:
    corpid: str
    agentid: str
    secret: str = field(repr=False)
    redirect_uri: str
    authorize_url: str
    api_base: str
    client: WeComClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # one token for the app's life, shared by every request's thread (WeCom limits gettoken calls)
        self.client = WeComClient(self.corpid, self.secret, base_url=self.api_base, timeout=TIMEOUT)

    @classmethod
    def of_config(cls, cfg: dict[str, Any]) -> WeComOAuth | None:
        """From ``[console.wecom_oauth]``; None while no corpid is set (WeCom sign-in off)."""
        o = cfg["console"]["wecom_oauth"]
        if not o["corpid"]:
            return None
        secret = os.environ.get(o["secret_env"], "")
        if not secret:
            raise AuditorError(
                f"console.wecom_oauth is configured but ${o['secret_env']} "
                "(the application's secret) is not set"
            )
        return cls(o["corpid"], o["agentid"], secret, o["redirect_uri"], o["authorize_url"], o["api_base"])

    # --- the WeCom API ---------------------------------------------------------------------------

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        """``cgi-bin/<path>`` with the application's token (gettoken's errors come out here too)."""
        try:
            return self.client.get(f"/cgi-bin/{path}", **params)
        except WeComApiError as exc:
            if exc.unreachable:
                raise WeComError(f"WeCom API {exc.api} unreachable or unreadable: {exc.detail}") from None
            raise WeComError(f"WeCom API {exc.api} answered errcode {exc.errcode}: {exc.errmsg}") from None

    def userid(self, code: str) -> str:
        """The member a one-time code belongs to; a non-member (only an openid) is refused."""
        body = self._get("auth/getuserinfo", code=code)
        userid = body.get("userid") or body.get("UserId")
        if not userid:
            raise WeComError("this WeCom user is not a member of the company (no userid)")
        return str(userid)

    # --- the routes ------------------------------------------------------------------------------

    def _signer(self, request: Request) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(request.app.state.users.session_key(), salt="wecom-oauth-state")

    async def start(self, request: Request) -> Response:
        state = secrets.token_urlsafe(24)
        query = urllib.parse.urlencode(
            {
                "login_type": "CorpApp",
                "appid": self.corpid,
                "agentid": self.agentid,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
            }
        )
        response = RedirectResponse(f"{self.authorize_url}?{query}", 303)
        response.set_cookie(
            STATE_COOKIE,
            self._signer(request).dumps(state),
            max_age=STATE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    def _refuse(self, request: Request, status: int, message: str) -> Response:
        response = render(request, "error.html.j2", None, status, message=message, code=status)
        response.delete_cookie(STATE_COOKIE)
        return response

    def callback(self, request: Request) -> Response:
        code, state = request.query_params.get("code", ""), request.query_params.get("state", "")
        try:
            expected = self._signer(request).loads(
                request.cookies.get(STATE_COOKIE, ""), max_age=STATE_SECONDS
            )
        except BadSignature:
            expected = None
        if not code or not expected or not secrets.compare_digest(str(expected), state):
            return self._refuse(request, 403, "WeCom sign-in refused: the state does not match; start again")
        try:
            userid = self.userid(code[:512])
        except WeComError as exc:
            return self._refuse(request, 502, f"WeCom sign-in failed: {exc}")
        user = request.app.state.users.get(userid)
        if user is None:
            return self._refuse(
                request,
                403,
                f"WeCom user {userid} has no console account; an officer adds one with "
                f"`auditor user add {userid} --role …`",
            )
        start_session(request, user)
        html = render(request, "continue.html.j2", user, target=HOME[user.role]).body
        response = HTMLResponse(html)
        response.delete_cookie(STATE_COOKIE)
        return response

    @property
    def routes(self) -> list[Route]:
        return [Route("/auth/wecom", self.start), Route("/auth/wecom/callback", self.callback)]
