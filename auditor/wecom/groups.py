"""Group facts from ``groups.json``: internal groups (会话存档 groupchat/get) and customer
groups (客户联系 externalcontact/groupchat/get), normalised into one shape.

Each item becomes one group row plus one row per member. The category (internal /
project / customer) decides policy severities later, so it is settled here once:
an explicit ``category`` field wins, then the name rules of auditor.toml, then the
shape (customer-group objects are customer groups), then the configured default.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.config import GROUP_CATEGORIES
from auditor.wecom.messages import RecordError, sender_kind


def _str(obj: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise RecordError(f"missing field '{key}'")
        return ""
    if not isinstance(value, str):
        raise RecordError(f"field '{key}' must be a string, got {type(value).__name__}")
    return value


LATEST_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z: the last second a lake timestamp can hold as a date
MAX_CODE = 2**31 - 1  # WeCom's codes are small (join scene: 1 invited, 2 by link, 3 by QR code)


def _integer(obj: dict[str, Any], key: str, least: int, most: int, what: str) -> int | None:
    """An optional integer field within [least, most]; ``what`` names its unit in the errors."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"field '{key}' must be an integer ({what}), got {type(value).__name__}")
    if not least <= value <= most:
        raise RecordError(f"field '{key}' is out of range: {value} is no {what}")
    return value


def _epoch(obj: dict[str, Any], key: str) -> int | None:
    """WeCom group APIs give seconds; keep milliseconds like messages."""
    value = _integer(obj, key, 0, LATEST_EPOCH, "epoch second between 1970 and 9999")
    return None if value is None else value * 1000


def _category(item: dict[str, Any], name: str, is_customer_shape: bool, groups_cfg: dict[str, Any]) -> str:
    explicit = item.get("category")
    if explicit is not None:
        if explicit not in GROUP_CATEGORIES:
            raise RecordError(
                f"field 'category' must be one of {', '.join(GROUP_CATEGORIES)}, got {explicit!r}"
            )
        return explicit
    for rule in groups_cfg["rules"]:
        if re.search(rule["name_pattern"], name, flags=re.IGNORECASE):
            return rule["category"]
    return "customer" if is_customer_shape else groups_cfg["default_category"]


def _members(items: Any, key: str, roomid: str, parse) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise RecordError(f"field '{key}' must be a list")
    rows = []
    for i, member in enumerate(items):
        if not isinstance(member, dict):
            raise RecordError(f"{key}[{i}] must be an object")
        try:
            rows.append({"roomid": roomid, **parse(member)})
        except RecordError as exc:
            raise RecordError(f"{key}[{i}]: {exc}") from None
    return rows


def _internal_member(member: dict[str, Any]) -> dict[str, Any]:
    userid = _str(member, "memberid", required=True)
    return {
        "userid": userid,
        "member_kind": sender_kind(userid),
        "join_time": _epoch(member, "jointime"),
        "join_scene": None,
    }


def _customer_member(member: dict[str, Any]) -> dict[str, Any]:
    userid = _str(member, "userid", required=True)
    member_type = _integer(member, "type", -MAX_CODE, MAX_CODE, "member type code")  # 1 staff, 2 external
    kind = {1: "internal", 2: "external"}.get(member_type, sender_kind(userid))
    scene = _integer(member, "join_scene", 0, MAX_CODE, "join scene code")
    return {
        "userid": userid,
        "member_kind": kind,
        "join_time": _epoch(member, "join_time"),
        "join_scene": scene,
    }


def parse_group(item: Any, groups_cfg: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One groups.json item → (group row, member rows)."""
    if not isinstance(item, dict):
        raise RecordError(f"a group must be a JSON object, got {type(item).__name__}")
    if "group_chat" in item:
        chat = item["group_chat"]
        if not isinstance(chat, dict):
            raise RecordError("field 'group_chat' must be an object")
        roomid = _str(chat, "chat_id", required=True)
        name = _str(chat, "name")
        admins_raw = chat.get("admin_list") or []
        if not isinstance(admins_raw, list) or not all(isinstance(a, dict) for a in admins_raw):
            raise RecordError("field 'admin_list' must be a list of objects")
        group = {
            "roomid": roomid,
            "name": name,
            "shape": "customer",
            "category": _category(item, name, True, groups_cfg),
            "owner": _str(chat, "owner"),
            "creator": _str(chat, "owner"),
            "create_time": _epoch(chat, "create_time"),
            "notice": _str(chat, "notice"),
            "admins": [_str(a, "userid", required=True) for a in admins_raw],
        }
        members = _members(chat.get("member_list"), "member_list", roomid, _customer_member)
    elif "roomid" in item:
        roomid = _str(item, "roomid", required=True)
        name = _str(item, "roomname")
        group = {
            "roomid": roomid,
            "name": name,
            "shape": "internal",
            "category": _category(item, name, False, groups_cfg),
            "owner": _str(item, "creator"),
            "creator": _str(item, "creator"),
            "create_time": _epoch(item, "room_create_time"),
            "notice": _str(item, "notice"),
            "admins": [],
        }
        members = _members(item.get("members"), "members", roomid, _internal_member)
    else:
        raise RecordError("a group needs 'roomid' (internal group) or 'group_chat' (customer group)")
    if not group["roomid"]:
        raise RecordError("group id is empty")
    return group, members
