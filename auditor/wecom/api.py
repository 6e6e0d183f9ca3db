"""Group names, owners and members from WeCom's server API, written where ingest reads groups.json.

Internal groups come from the archive's ``msgaudit/groupchat/get`` (one call per room seen in
the archive); customer groups from the customer-contact API (``externalcontact/groupchat/list``
and ``…/get``), which needs the customer-contact secret. Each secret has its own access token,
cached in ``W/state/wecom-tokens.json`` until shortly before it expires and fetched again when
WeCom says it is invalid or expired. The answers are written as one ``groups-….json`` file in
``W/inbox/wecom/`` in the shapes ``auditor/wecom/groups.py`` parses, so ingest fills the same
lake tables (and membership checks read them) whether the file came from WeCom or by hand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from auditor import atomic
from auditor.workspace import Workspace

log = logging.getLogger("auditor")

API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
EARLY_REFRESH_S = 300  # fetch a new token this long before the old one expires


class GroupApiError(Exception):
    pass


class TokenError(GroupApiError):
    """The secret itself is refused: no later call can succeed."""


class GroupApi:
    def __init__(
        self,
        corp_id: str,
        secrets: dict[str, str],
        token_cache: Path,
        *,
        base: str = API_BASE,
        proxy: str = "",
        timeout: float = 5,
        clock=time.time,
    ) -> None:
        self.corp_id = corp_id
        self.secrets = {kind: s for kind, s in secrets.items() if s}  # "archive", "contact"
        self.token_cache = token_cache
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.clock = clock
        handlers = [
            urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy.startswith("http") else {})
        ]
        self.opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_workspace(cls, ws: Workspace) -> GroupApi:
        from auditor.wecom.pull import settings

        cfg = ws.config["wecom"]
        s = settings(ws)
        contact = os.environ.get(cfg["contact_secret_env"], "").strip() if cfg["contact_secret_env"] else ""
        return cls(
            s.corp_id,
            {"archive": s.secret, "contact": contact},
            ws.state_dir / "wecom-tokens.json",
            proxy=s.proxy,
            timeout=s.timeout,
        )

    # --- HTTP and tokens ---

    def _http(
        self, path: str, *, query: dict[str, str], body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise GroupApiError(f"{path}: {exc}") from None
        if not isinstance(answer, dict):
            raise GroupApiError(f"{path}: the answer is not a JSON object")
        return answer

    def _cached(self) -> dict[str, Any]:
        try:
            return json.loads(self.token_cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def token(self, kind: str, *, refresh: bool = False) -> str:
        cache = self._cached()
        entry = cache.get(kind)
        if (
            not refresh
            and isinstance(entry, dict)
            and entry.get("expires_at", 0) - EARLY_REFRESH_S > self.clock()
        ):
            return entry["token"]
        answer = self._http(
            "/cgi-bin/gettoken", query={"corpid": self.corp_id, "corpsecret": self.secrets[kind]}
        )
        if answer.get("errcode", 0) != 0 or not answer.get("access_token"):
            raise TokenError(
                f"gettoken for the {kind} secret: errcode {answer.get('errcode')} {answer.get('errmsg', '')}"
            )
        cache[kind] = {
            "token": answer["access_token"],
            "expires_at": self.clock() + int(answer.get("expires_in", 7200)),
        }
        # 0600 from the start: a token grants API access until it expires
        atomic.write_bytes(self.token_cache, json.dumps(cache).encode("utf-8"), mode=0o600)
        return answer["access_token"]

    def call(self, kind: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._http(path, query={"access_token": self.token(kind)}, body=body)
        if answer.get("errcode") in TOKEN_ERRORS:  # revoked or expired early: one fresh token, one retry
            answer = self._http(path, query={"access_token": self.token(kind, refresh=True)}, body=body)
        if answer.get("errcode", 0) != 0:
            raise GroupApiError(f"{path}: errcode {answer.get('errcode')} {answer.get('errmsg', '')}")
        return answer

    # --- the group calls ---

    def archive_group(self, roomid: str) -> dict[str, Any]:
        """An internal group in the groups.json shape (``roomid`` + the msgaudit answer)."""
        answer = self.call("archive", "/cgi-bin/msgaudit/groupchat/get", {"roomid": roomid})
        keys = ("roomname", "creator", "room_create_time", "notice", "members")
        return {"roomid": roomid, **{k: answer[k] for k in keys if k in answer}}

    def customer_group_ids(self) -> list[str]:
        ids, cursor = [], ""
        while True:
            body = {"status_filter": 0, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            answer = self.call("contact", "/cgi-bin/externalcontact/groupchat/list", body)
            ids += [
                g["chat_id"]
                for g in answer.get("group_chat_list", [])
                if isinstance(g, dict) and "chat_id" in g
            ]
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                return ids

    def customer_group(self, chat_id: str) -> dict[str, Any]:
        """A customer group in the groups.json shape (``{"group_chat": …}``)."""
        answer = self.call(
            "contact", "/cgi-bin/externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1}
        )
        if not isinstance(answer.get("group_chat"), dict):
            raise GroupApiError(f"externalcontact/groupchat/get {chat_id}: no group_chat in the answer")
        return {"group_chat": answer["group_chat"]}


def refresh_groups(ws: Workspace, api: GroupApi, rooms: list[str], report) -> Path | None:
    """Ask WeCom about every room seen in the archive and every customer group; write one groups file.

    Failures are counted and logged, never fatal: messages matter more than group names, and the
    lake keeps the groups it already had.
    """
    items: list[dict[str, Any]] = []
    try:
        customer = set(api.customer_group_ids()) if "contact" in api.secrets else set()
        for roomid in sorted(set(rooms) | customer):
            try:
                items.append(api.customer_group(roomid) if roomid in customer else api.archive_group(roomid))
            except TokenError:
                raise
            except GroupApiError as exc:
                report.group_errors.append(f"{roomid}: {exc}")
    except TokenError as exc:
        report.group_errors.append(str(exc))
    except GroupApiError as exc:
        report.group_errors.append(f"customer groups: {exc}")
    for error in report.group_errors:
        log.warning("pull: group facts: %s", error)
    report.groups = len(items)
    if not items:
        return None
    body = json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8")
    path = ws.inbox_dir / "wecom" / f"groups-{hashlib.sha256(body).hexdigest()[:16]}.json"
    atomic.write_bytes(path, body)
    report.files.append(str(path))
    return path
