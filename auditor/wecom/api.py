"""Group names, owners and members from WeCom's server API, written where ingest reads groups.json.

Internal groups come from the archive's ``msgaudit/groupchat/get`` (one call per room seen in
the archive); customer groups from the customer-contact API (``externalcontact/groupchat/list``
and ``…/get``), which needs the customer-contact secret. Each secret has its own access token,
which ``auditor.wecom.client`` caches in ``W/state/wecom-tokens.json`` and renews. The answers
are written as one ``groups-….json`` file in ``W/inbox/wecom/`` in the shapes
``auditor/wecom/groups.py`` parses, so ingest fills the same lake tables (and membership checks
read them) whether the file came from WeCom or by hand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor import atomic
from auditor.wecom.client import API_BASE, TokenRefused, WeComApiError, WeComClient
from auditor.workspace import Workspace

log = logging.getLogger("auditor")


class GroupApi:
    """The group calls, one ``WeComClient`` per secret (``"archive"``, ``"contact"``) sharing one
    token file."""

    def __init__(
        self,
        corp_id: str,
        secrets: dict[str, str],
        token_cache: Path,
        *,
        base: str = API_BASE,
        proxy: str = "",
        timeout: float = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.corp_id = corp_id
        self.secrets = {kind: s for kind, s in secrets.items() if s}  # "archive", "contact"
        self.token_cache = token_cache
        self.base = base.rstrip("/")
        # wecom.proxy is the one proxy setting (as for the Finance SDK); a socks proxy is the SDK's only
        self.clients = {
            kind: WeComClient(
                corp_id,
                secret,
                label=kind,
                base_url=self.base,
                timeout=timeout,
                token_file=token_cache,
                proxy=proxy if proxy.startswith("http") else "",
                trust_env=False,
                clock=clock,
            )
            for kind, secret in self.secrets.items()
        }

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

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def call(self, kind: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.clients[kind].post(path, body)

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
            raise WeComApiError(
                "/cgi-bin/externalcontact/groupchat/get", detail=f"{chat_id}: no group_chat in the answer"
            )
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
            except TokenRefused:
                raise
            except WeComApiError as exc:
                report.group_errors.append(f"{roomid}: {exc}")
    except TokenRefused as exc:
        report.group_errors.append(str(exc))
    except WeComApiError as exc:
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
