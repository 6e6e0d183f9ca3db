"""WeCom application messages (应用消息): ``cgi-bin/gettoken`` then ``cgi-bin/message/send``.

The calls, the access token (kept for the life of the channel, renewed once per message when WeCom
calls it expired or invalid) and WeCom's errcodes are ``auditor.wecom.client``'s; this module turns
its errors into ``DeliveryError``. The application secret comes from the environment variable
``notify.wecom.secret_env`` names.

WeCom shows ``<a href>`` in text messages and a few tags in card descriptions, so angle brackets in
what we send become full-width look-alikes (text) or are escaped (card): chat content never
becomes markup in the client.
"""

from __future__ import annotations

import html
import os
from typing import Any

import httpx

from auditor.errors import AuditorError
from auditor.notify.channels import DeliveryError
from auditor.wecom.client import TOKEN_ERRORS, WeComApiError, WeComClient

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
        secret = environ.get(settings["secret_env"], "")
        if not secret:
            raise AuditorError(
                f"the environment variable {settings['secret_env']} (notify.wecom.secret_env) holding the "
                "application secret is empty or unset"
            )
        self.settings = settings
        self.client = WeComClient(
            settings["corpid"],
            secret,
            base_url=settings["api_base"],
            timeout=settings["timeout"],
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

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
        try:
            answer = self.client.post("/cgi-bin/message/send", payload)
        except WeComApiError as exc:
            raise _delivery_error(exc) from None
        if answer.get("invaliduser"):
            raise DeliveryError(
                f"WeCom: {answer['invaliduser']} is not a user the application can reach", permanent=True
            )


def _delivery_error(exc: WeComApiError) -> DeliveryError:
    """Not delivered now; the next run tries again."""
    if exc.unreachable:
        return DeliveryError(f"WeCom {exc.path}: {exc.detail}")
    if exc.errcode in TOKEN_ERRORS and exc.path != "/cgi-bin/gettoken":
        return DeliveryError(f"WeCom {exc.api}: access token refused twice (errcode {exc.errcode})")
    return DeliveryError(f"WeCom {exc.api}: errcode {exc.errcode} {exc.errmsg}".strip())
