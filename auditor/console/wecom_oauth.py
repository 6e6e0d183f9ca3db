"""Sign-in through WeCom web authorisation (企业微信网页授权 / 扫码登录): the browser goes to WeCom,
comes back with a one-time code, and ``auth/getuserinfo`` turns the code into the member's userid.

The userid must already have a console account (``auditor user add USERID --role …``): WeCom proves
who someone is, the workspace decides what they may do. The state parameter travels in its own
signed, short-lived SameSite=Lax cookie, because the Strict session cookie is not sent on the
cross-site return from WeCom; for the same reason the callback answers with a page that moves on
by itself (a same-site navigation that carries the new session).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from auditor.console.signin import HOME, start_session
from auditor.console.web import render
from auditor.errors import AuditorError

STATE_COOKIE = "auditor_wecom_state"
STATE_SECONDS = 600
TIMEOUT = 10


class WeComError(Exception):
    """WeCom's API answered with an error, or could not be reached."""


@dataclass
class WeComOAuth:
    corpid: str
    agentid: str
    secret: str
    redirect_uri: str
    authorize_url: str
    api_base: str
    _token: tuple[str, float] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        url = f"{self.api_base.rstrip('/')}/cgi-bin/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                body = json.loads(response.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WeComError(f"WeCom API {path} unreachable or unreadable: {exc}") from None
        if body.get("errcode", 0) != 0:
            raise WeComError(
                f"WeCom API {path} answered errcode {body.get('errcode')}: {body.get('errmsg', '')}"
            )
        return body

    def access_token(self) -> str:
        """The application's token, kept until shortly before it expires (WeCom limits gettoken calls)."""
        with self._lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            body = self._get("gettoken", corpid=self.corpid, corpsecret=self.secret)
            self._token = (body["access_token"], time.monotonic() + int(body.get("expires_in", 7200)) - 300)
            return self._token[0]

    def userid(self, code: str) -> str:
        """The member a one-time code belongs to; a non-member (only an openid) is refused."""
        body = self._get("auth/getuserinfo", access_token=self.access_token(), code=code)
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
