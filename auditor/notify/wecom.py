"""WeCom application messages (应用消息): ``cgi-bin/gettoken`` then ``cgi-bin/message/send``.

The access token is cached for the life of the channel (it lasts ``expires_in`` seconds, two hours)
and fetched again when WeCom answers 42001 (expired) or 40014 (invalid), once per message. The
application secret comes from the environment variable ``notify.wecom.secret_env`` names.

WeCom shows ``<a href>`` in text messages and a few tags in card descriptions, so angle brackets in
what we send become full-width look-alikes (text) or are escaped (card): chat content never
becomes markup in the client.
"""

from __future__ import annotations

import html
import os
import time
from typing import Any

import httpx

from auditor.errors import AuditorError
from auditor.notify.channels import DeliveryError

TOKEN_ERRORS = (42001, 40014)  # access_token expired / invalid: fetch a new one and try again
TOKEN_MARGIN_SECONDS = 300  # refresh a little before WeCom says it expires
TEXTCARD_DESCRIPTION_LIMIT = 512  # bytes WeCom accepts in a card's description
TEXT_LIMIT = 2048  # bytes WeCom accepts in a text message


def plain(text: str) -> str:
    """Text WeCom cannot read as a tag."""
    return text.replace("<", "＜").replace(">", "＞")


def _clip(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


class WeComChannel:
    name = "wecom"

    def __init__(
        self,
        settings: dict[str, Any],
        environ: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not settings["corpid"] or settings["agentid"] <= 0:
            raise AuditorError("WeCom notifications need notify.wecom.corpid and notify.wecom.agentid")
        environ = os.environ if environ is None else environ
        self.secret = environ.get(settings["secret_env"], "")
        if not self.secret:
            raise AuditorError(
                f"the environment variable {settings['secret_env']} (notify.wecom.secret_env) holding the "
                "application secret is empty or unset"
            )
        self.settings = settings
        self.http = httpx.Client(
            base_url=settings["api_base"].rstrip("/"), timeout=settings["timeout"], transport=transport
        )
        self._token: str | None = None
        self._token_expires = 0.0

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(f"WeCom {path}: {type(exc).__name__}: {exc}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("errcode", 0), int):
            raise DeliveryError(f"WeCom {path}: unexpected answer {str(answer)[:200]}")
        return answer

    def token(self) -> str:
        if self._token is None or time.monotonic() >= self._token_expires:
            answer = self._call(
                "GET",
                "/cgi-bin/gettoken",
                params={"corpid": self.settings["corpid"], "corpsecret": self.secret},
            )
            if answer.get("errcode", 0) != 0 or not answer.get("access_token"):
                raise DeliveryError(
                    f"WeCom gettoken: errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip()
                )
            self._token = str(answer["access_token"])
            lifetime = answer.get("expires_in", 7200)
            lifetime = lifetime if isinstance(lifetime, int) else 7200
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 60)
        return self._token

    def payload(self, userid: str, subject: str, body: str, link: str) -> dict[str, Any]:
        """A card (title, description, button to ``link``) when there is a link, else a text message."""
        base = {"touser": userid, "agentid": self.settings["agentid"], "safe": 0}
        if link:
            lines = [line for line in body.splitlines() if line.strip()]
            short = _clip("\n".join(lines[:12]), TEXTCARD_DESCRIPTION_LIMIT - 64)
            description = "<br>".join(html.escape(line, quote=False) for line in short.splitlines())
            card = {"title": _clip(subject, 128), "description": description, "url": link, "btntxt": "详情"}
            return base | {"msgtype": "textcard", "textcard": card}
        return base | {
            "msgtype": "text",
            "text": {"content": _clip(plain(f"{subject}\n\n{body}"), TEXT_LIMIT)},
        }

    def send(self, address: str, subject: str, body: str, *, link: str = "") -> None:
        payload = self.payload(address, subject, body, link)
        for attempt in range(2):
            answer = self._call(
                "POST", "/cgi-bin/message/send", params={"access_token": self.token()}, json=payload
            )
            errcode = answer.get("errcode", 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                self._token = None  # expired early or revoked: one fresh token, one more try
                continue
            if errcode != 0:
                raise DeliveryError(
                    f"WeCom message/send: errcode {errcode} {answer.get('errmsg', '')}".strip()
                )
            if answer.get("invaliduser"):
                raise DeliveryError(
                    f"WeCom: {answer['invaliduser']} is not a user the application can reach", permanent=True
                )
            return
        raise DeliveryError(f"WeCom message/send: access token refused twice (errcode {errcode})")
