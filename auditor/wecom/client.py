"""The one client for WeCom's server API (``qyapi.weixin.qq.com/cgi-bin/…``): sign-in, application
messages and the group APIs all call through it.

WeCom answers HTTP 200 with ``{"errcode": …, "errmsg": …}``; a non-zero errcode becomes a
``WeComApiError`` carrying it, and so does a server that cannot be reached or answers something
that is not a JSON object. Every call needs an access token per (corp, secret), which WeCom rate
limits: it is kept in memory and, when a file is given (``W/state/wecom-tokens.json``, mode 0600,
one entry per secret's label), across runs, until ``EARLY_REFRESH_S`` before it expires. An answer
saying the token is expired or invalid gets one fresh token and one more try.

Secrets and tokens travel in the query string (WeCom's gettoken only takes GET), so they are kept
out of error messages and out of httpx's request log lines.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from auditor import atomic

API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
EARLY_REFRESH_S = 300  # fetch a new token this long before the old one expires
DEFAULT_LIFETIME_S = 7200  # what WeCom grants when an answer does not say
_SECRET_IN_QUERY = re.compile(r"((?:corpsecret|access_token)=)[^&\s\"']+")


def redact(text: str) -> str:
    """``text`` with every ``corpsecret=…`` and ``access_token=…`` value replaced by ``***``."""
    return _SECRET_IN_QUERY.sub(r"\1***", text)


class _RedactQueryFilter(logging.Filter):
    """httpx logs every request's URL at INFO; the URL holds the secret or the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(str(a)) if isinstance(a, httpx.URL | str) else a for a in args)
        record.msg = redact(str(record.msg))
        return True


logging.getLogger("httpx").addFilter(_RedactQueryFilter())


class WeComApiError(Exception):
    """WeCom could not be reached, answered something unreadable (``errcode`` None, ``detail`` says
    what), or answered a non-zero ``errcode``. ``path`` is the full API path (``/cgi-bin/…``)."""

    def __init__(self, path: str, *, errcode: int | None = None, errmsg: str = "", detail: str = "") -> None:
        self.path = path
        self.errcode = errcode
        self.errmsg = errmsg
        self.detail = detail
        super().__init__(self.describe())

    @property
    def api(self) -> str:
        """The path without ``/cgi-bin/``, as WeCom's documentation names the API."""
        return self.path.removeprefix("/cgi-bin/")

    @property
    def unreachable(self) -> bool:
        return self.errcode is None

    def describe(self) -> str:
        if self.errcode is None:
            return f"{self.path}: {self.detail}"
        return f"{self.path}: errcode {self.errcode} {self.errmsg}".rstrip()


class TokenRefused(WeComApiError):
    """gettoken refused the corp id or the secret: no call with this secret can succeed until the
    settings are fixed, so callers stop instead of trying every item."""

    def __init__(self, label: str, *, errcode: int | None, errmsg: str = "", detail: str = "") -> None:
        self.label = label
        super().__init__("/cgi-bin/gettoken", errcode=errcode, errmsg=errmsg, detail=detail)

    def describe(self) -> str:
        if self.errcode is None:
            return f"gettoken for the {self.label} secret: {self.detail}"
        return f"gettoken for the {self.label} secret: errcode {self.errcode} {self.errmsg}".rstrip()


class WeComClient:
    """Calls to one corp's API with one secret (each secret has its own token).

    ``label`` names the secret in messages and is its key in ``token_file``; ``proxy`` (http:// or
    https://) is used when set, and ``trust_env`` says whether the environment's proxy variables
    count; ``clock`` is wall-clock seconds (tokens in the file outlive the process).
    """

    def __init__(
        self,
        corpid: str,
        secret: str,
        *,
        label: str = "application",
        base_url: str = API_BASE,
        timeout: float = 10,
        token_file: Path | None = None,
        proxy: str = "",
        trust_env: bool = True,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.corpid = corpid
        self._secret = secret
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.token_file = token_file
        self.clock = clock
        self._token: tuple[str, float] | None = None  # (token, expires_at)
        self._lock = threading.Lock()
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            proxy=proxy or None,
            trust_env=trust_env,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"WeComClient(corpid={self.corpid!r}, label={self.label!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> WeComClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- HTTP ---

    def _request(
        self, method: str, path: str, params: dict[str, str], body: dict[str, Any] | None
    ) -> dict[str, Any]:
        """One request; the answer as a dict, errcode not yet looked at."""
        try:
            response = self.http.request(method, path, params=params, json=body)
            response.raise_for_status()
            answer = response.json()
        except httpx.HTTPStatusError as exc:
            raise WeComApiError(path, detail=f"HTTP {exc.response.status_code}") from None
        except (httpx.HTTPError, ValueError) as exc:
            # httpx's messages may quote the URL, which holds the secret or the token
            message = redact(str(exc))
            if self._secret:
                message = message.replace(self._secret, "***")
            raise WeComApiError(path, detail=f"{type(exc).__name__}: {message}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("errcode", 0), int):
            raise WeComApiError(path, detail=f"unexpected answer {redact(str(answer))[:200]}")
        return answer

    # --- tokens ---

    def _file_entries(self) -> dict[str, Any]:
        if self.token_file is None:
            return {}
        try:
            entries = json.loads(self.token_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: a fresh token is one call away
        return entries if isinstance(entries, dict) else {}

    def _fresh(self, expires_at: object) -> bool:
        return isinstance(expires_at, int | float) and expires_at - EARLY_REFRESH_S > self.clock()

    def access_token(self, *, refresh: bool = False) -> str:
        """A token for this secret: from memory, else the file, else gettoken (``refresh``: gettoken)."""
        with self._lock:
            if not refresh:
                if self._token and self._fresh(self._token[1]):
                    return self._token[0]
                entry = self._file_entries().get(self.label)
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get("token"), str)
                    and self._fresh(entry.get("expires_at"))
                ):
                    self._token = (entry["token"], float(entry["expires_at"]))
                    return entry["token"]
            return self._fetch_token()

    def _fetch_token(self) -> str:
        try:
            answer = self._request(
                "GET", "/cgi-bin/gettoken", {"corpid": self.corpid, "corpsecret": self._secret}, None
            )
        except WeComApiError:
            self._token = None
            raise
        token = answer.get("access_token")
        if answer.get("errcode", 0) != 0 or not isinstance(token, str) or not token:
            self._token = None
            if answer.get("errcode", 0) == 0:
                raise TokenRefused(self.label, errcode=None, detail="the answer has no access_token")
            raise TokenRefused(self.label, errcode=answer["errcode"], errmsg=str(answer.get("errmsg", "")))
        lifetime = answer.get("expires_in", DEFAULT_LIFETIME_S)
        expires_at = self.clock() + (lifetime if isinstance(lifetime, int) else DEFAULT_LIFETIME_S)
        self._token = (token, expires_at)
        if self.token_file is not None:
            entries = self._file_entries() | {self.label: {"token": token, "expires_at": expires_at}}
            # 0600 from the start: a token grants API access until it expires
            atomic.write_bytes(self.token_file, json.dumps(entries).encode("utf-8"), mode=0o600)
        return token

    # --- calls ---

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``path`` with the access token added; the answer when its errcode is 0.

        A token WeCom calls expired or invalid (revoked, expired early, secret reset) is replaced
        once; a second refusal is raised like any other errcode.
        """
        params = params or {}
        answer = self._request(method, path, params | {"access_token": self.access_token()}, body)
        if answer.get("errcode") in TOKEN_ERRORS:
            fresh = self.access_token(refresh=True)
            answer = self._request(method, path, params | {"access_token": fresh}, body)
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            raise WeComApiError(path, errcode=errcode, errmsg=str(answer.get("errmsg", "")))
        return answer

    def get(self, path: str, **params: str) -> dict[str, Any]:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        return self.call("POST", path, params=params, body=body)
