"""One decrypted GetChatData record → one row of the messages lake.

The archive has some thirty message types, each with its own payload key and shape
(see the WeCom 会话内容存档 documentation). Every type yields the text a detector can audit:
the words people typed, but also file names, link titles and URLs, card and location
names, quoted chat records. A type this table does not know (WeCom adds some every year) is
read by a generic walk of its payload's prose-like strings, so a new release neither drops
records nor hides their words; ``text_coverage`` says which happened: ``extracted`` (a known
type), ``none_by_type`` (no text by design: image, voice, …) or ``generic`` (the walk).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, Literal

import msgspec

ACTIONS = ("send", "recall", "switch")


class RecordError(ValueError):
    """The record cannot be accepted; the message is the reason shown to the operator."""


def sender_kind(userid: str) -> str:
    """WeCom id prefixes: wo/wm external contacts, wb robots, anything else internal staff."""
    if userid.startswith(("wo", "wm")):
        return "external"
    if userid.startswith("wb"):
        return "robot"
    return "internal"


def _strings(payload: Any, keys: Iterable[str]) -> list[str]:
    if not isinstance(payload, dict):
        return []
    out = []
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value:
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str) and v)
    return out


def _embedded_json(value: Any) -> Any:
    """chatrecord and mixed items carry their payload as a JSON *string*."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # a plain string is still auditable text
    return value


def _fields(*keys: str) -> Callable[[Any], list[str]]:
    return lambda payload: _strings(payload, keys)


def _news(payload: Any) -> list[str]:
    items = payload.get("item") if isinstance(payload, dict) else None
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        out += _strings(item, ("title", "description", "url"))
    return out


def _vote(payload: Any) -> list[str]:
    """Under a ``vote`` key, or (public SDK models) votetitle/voteitem at the record's top level:
    ``extract`` hands over the whole record when there is no ``vote`` key."""
    return _strings(payload, ("votetitle", "voteitem"))


def _meeting_voice_call(payload: Any) -> list[str]:
    """Names of documents shared during the call (the voice itself has no text)."""
    shared = payload.get("demofiledata") if isinstance(payload, dict) else None
    out: list[str] = []
    for item in shared if isinstance(shared, list) else []:
        out += _strings(item, ("filename",))
    return out


def _collect(payload: Any) -> list[str]:
    out = _strings(payload, ("room_name", "title"))
    details = payload.get("details") if isinstance(payload, dict) else None
    for item in details if isinstance(details, list) else []:
        out += _strings(item, ("ques",))
    return out


def _item_author(item: dict[str, Any]) -> str:
    for key in ("from", "sender", "fromname", "from_name", "name"):
        if isinstance(item.get(key), str) and item[key]:
            return item[key]
    return ""


def quoted_items(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Spans of ``text`` that come from items of a forwarded chat record, with each item's own author
    and time: a finding inside one is the quoted person's words, not the forwarder's."""
    msgtype = record.get("msgtype")
    if msgtype not in ("chatrecord", "mixed") or not isinstance(record.get(msgtype), dict):
        return []
    payload = record[msgtype]
    position = len("\n".join(_strings(payload, ("title",)))) if msgtype == "chatrecord" else 0
    spans: list[dict[str, Any]] = []
    for item in payload.get("item") if isinstance(payload.get("item"), list) else []:
        if not isinstance(item, dict):
            continue
        parts = _item_text(str(item.get("type", "")), item.get("content"))
        if not parts:
            continue
        if position:
            position += 1  # the newline joining it to what came before
        length = len("\n".join(parts))
        if msgtype == "chatrecord":
            msgtime = item.get("msgtime")
            spans.append(
                {
                    "start": position,
                    "end": position + length,
                    "from": _item_author(item),
                    "msgtime": msgtime
                    if isinstance(msgtime, int) and not isinstance(msgtime, bool)
                    else None,
                    "from_chatroom": bool(item.get("from_chatroom")),
                }
            )
        position += length
    return spans


def _item_text(item_type: str, content: Any) -> list[str]:
    """Text of a chatrecord/mixed item: its type names the payload shape ("ChatRecordText" → text)."""
    kind = item_type.lower()
    if kind != "chatrecord":  # a nested chat record keeps its name; "ChatRecordText" → "text"
        kind = kind.removeprefix("chatrecord")
    content = _embedded_json(content)
    if isinstance(content, str):
        return [content] if content else []
    if kind in ("", "text", "markdown") or kind not in EXTRACTORS:
        # Unknown item kinds: take every string value, auditing too much beats too little.
        return [*_strings(content, ("content",)), *_strings(content, ("title", "description", "link_url"))]
    if isinstance(content, dict) and kind in content and kind != "text":
        content = content[kind]  # some exports wrap the payload under its type key again
    return EXTRACTORS[kind][1](content)


def _items(payload: Any) -> list[str]:
    items = payload.get("item") if isinstance(payload, dict) else None
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            out += _item_text(str(item.get("type", "")), item.get("content"))
    return out


def _chatrecord(payload: Any) -> list[str]:
    return _strings(payload, ("title",)) + _items(payload)


# msgtype → (payload key, text extractor)
EXTRACTORS: dict[str, tuple[str, Callable[[Any], list[str]]]] = {
    "text": ("text", _fields("content")),
    "image": ("image", _fields()),
    "revoke": ("revoke", _fields()),
    "agree": ("agree", _fields()),
    "disagree": ("disagree", _fields()),
    "voice": ("voice", _fields()),
    "video": ("video", _fields()),
    "card": ("card", _fields("corpname", "userid")),
    "location": ("location", _fields("title", "address")),
    "emotion": ("emotion", _fields()),
    "file": ("file", _fields("filename")),
    "link": ("link", _fields("title", "description", "link_url")),
    "weapp": ("weapp", _fields("title", "description", "displayname", "name")),
    "chatrecord": ("chatrecord", _chatrecord),
    "todo": ("todo", _fields("title", "content")),
    "vote": ("vote", _vote),  # or votetitle/voteitem at the top level (see extract)
    "collect": ("collect", _collect),
    "redpacket": ("redpacket", _fields("wish")),
    "external_redpacket": ("redpacket", _fields("wish")),
    "meeting": ("meeting", _fields("topic", "address", "remarks")),
    "docmsg": ("doc", _fields("title", "link_url")),
    "markdown": ("info", _fields("content")),
    "news": ("info", _news),
    "calendar": ("calendar", _fields("title", "creatorname", "attendeename", "place", "remarks")),
    "mixed": ("mixed", _items),
    "meeting_voice_call": ("meeting_voice_call", _meeting_voice_call),
    "voip_doc_share": ("voip_doc_share", _fields("filename")),
    "sphfeed": ("sphfeed", _fields("sph_name", "feed_desc")),
    "voiptext": ("voiptext", _fields()),
    "qydiskfile": ("info", _fields("filename")),
}


# Types without words by design: their coverage is "none_by_type" (not "text not understood").
NO_TEXT_TYPES = frozenset(
    {"image", "revoke", "agree", "disagree", "voice", "video", "emotion", "voiptext", "meeting_voice_call"}
)

# The generic walk: keys that hold ids, hashes, sizes or addresses, and values that look like them.
_ID_KEY = re.compile(
    r"(^|_)(id|ids|msgid|sdkfileid|md5sum|md5|sha\w*|url|link|fileext|size|filesize|ext|type|time|"
    r"[a-z]*time|seq|status|index|width|height|length|play_length|corpid|userid|openid|roomid)$|id$",
    re.IGNORECASE,
)
_NOT_PROSE = re.compile(
    r"^(https?://\S+|[0-9a-fA-F]{16,}|[A-Za-z0-9+/_=-]{24,}|[\d\s.:/+-]+|[\w.-]+@[\w.-]+|wo\w+|wm\w+|wb\w+)$"
)
_HAS_WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]{2,}")


def _prose(value: str) -> bool:
    value = value.strip()
    return bool(value) and bool(_HAS_WORDS.search(value)) and not _NOT_PROSE.match(value)


def generic_strings(payload: Any, depth: int = 0) -> Iterator[str]:
    """Prose-like strings anywhere in an unknown payload (ids, hashes, URLs and numbers left out);
    strings holding JSON (as chatrecord items do) are walked too."""
    if depth > 20:
        return
    if isinstance(payload, dict):
        for key, value in payload.items():
            if isinstance(value, str) and _ID_KEY.search(str(key)):
                continue
            yield from generic_strings(value, depth + 1)
    elif isinstance(payload, list):
        for value in payload:
            yield from generic_strings(value, depth + 1)
    elif isinstance(payload, str):
        inner = _embedded_json(payload) if payload.lstrip().startswith(("{", "[")) else payload
        if inner is not payload and not isinstance(inner, str):
            yield from generic_strings(inner, depth + 1)
        elif _prose(payload):
            yield payload


ENVELOPE_KEYS = frozenset({"msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype", "seq"})


def extract(msgtype: str, record: dict[str, Any]) -> tuple[str, str]:
    """(text, text_coverage) of one record."""
    if msgtype not in EXTRACTORS:
        payload = record.get(msgtype)
        if payload is None:  # no payload under its type key: everything but the envelope
            payload = {k: v for k, v in record.items() if k not in ENVELOPE_KEYS}
        return "\n".join(dict.fromkeys(generic_strings(payload))), "generic"
    key, extractor = EXTRACTORS[msgtype]
    payload = record.get(key)
    if payload is None and msgtype == "vote":
        payload = record
    text = "\n".join(extractor(payload))
    return text, ("none_by_type" if msgtype in NO_TEXT_TYPES and not text else "extracted")


def extract_text(msgtype: str, record: dict[str, Any]) -> str:
    return extract(msgtype, record)[0]


def _require(
    record: dict[str, Any], key: str, kind: type | tuple[type, ...], *, optional: bool = False
) -> Any:
    if key not in record or record[key] is None:
        if optional:
            return None
        raise RecordError(f"missing field '{key}'")
    value = record[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = "an integer" if kind is int else "a string" if kind is str else "a list"
        raise RecordError(f"field '{key}' must be {expected}, got {type(value).__name__}")
    return value


ARCHIVE_START_MS = 1_262_304_000_000  # 2010-01-01 UTC: no WeCom archive record is older
FUTURE_SLACK_MS = 86_400_000  # clocks differ, but not by more than a day
_INT64 = (-(2**63), 2**63 - 1)


def _utc(ms: int) -> str:
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "beyond year 9999"


def check_msgtime(msgtime: int, now_ms: int) -> None:
    """Reject a time no archived message can have: before the archive existed or after this run.

    A time in seconds (the archive uses milliseconds) would land in January 1970; the reason says so.
    """
    latest = now_ms + FUTURE_SLACK_MS
    if ARCHIVE_START_MS <= msgtime <= latest:
        return
    when = "before 2010-01-01" if msgtime < ARCHIVE_START_MS else "more than a day after this run"
    hint = ""
    if ARCHIVE_START_MS <= msgtime * 1000 <= latest:
        hint = f"; it looks like seconds, not milliseconds ({_utc(msgtime * 1000)} if it were)"
    raise RecordError(f"field 'msgtime' {msgtime} is {_utc(msgtime)}, {when}{hint}")


def parse_message(record: Any, *, now_ms: int | None = None) -> dict[str, Any]:
    """Validate one decrypted record and return its lake row (without the partition date).

    ``msgtime`` stays epoch milliseconds here; the lake turns it into a UTC timestamp. It must
    lie between 2010 and a day after ``now_ms`` (default: now).
    """
    if not isinstance(record, dict):
        raise RecordError(f"a record must be a JSON object, got {type(record).__name__}")
    if "encrypt_chat_msg" in record and "msgid" in record and "action" not in record:
        raise RecordError("record is still encrypted: decrypt it with the Finance SDK before export")
    # Each field is checked inline for the type it nearly always has (``type(x) is int`` also
    # excludes bool); anything else goes through _require, which accepts or names the problem.
    get = record.get
    msgid = get("msgid")
    if type(msgid) is not str:
        msgid = _require(record, "msgid", str)
    if not msgid.strip():
        raise RecordError("field 'msgid' is empty")
    action = get("action")
    if type(action) is not str:
        action = _require(record, "action", str)
    if action not in ACTIONS:
        raise RecordError(f"unknown action {action!r} (expected send, recall or switch)")
    seq = get("seq")
    if seq is not None and type(seq) is not int:
        seq = _require(record, "seq", int, optional=True)
    if seq is not None and not _INT64[0] <= seq <= _INT64[1]:  # the lake stores it as int64
        raise RecordError(f"field 'seq' is out of range (a 64-bit integer), got {seq}")

    if action == "switch":  # a user switching enterprise: no msgtype, `time` and `user` instead
        msgtime = _require(record, "time", int)
        sender = _require(record, "user", str)
        msgtype, tolist, roomid, text, coverage = "", [], "", "", "none_by_type"
    else:
        msgtime, sender, msgtype = get("msgtime"), get("from"), get("msgtype")
        if type(msgtime) is not int:
            msgtime = _require(record, "msgtime", int)
        if type(sender) is not str:
            sender = _require(record, "from", str)
        if type(msgtype) is not str:
            msgtype = _require(record, "msgtype", str)
        tolist = get("tolist")
        if type(tolist) is not list:
            tolist = _require(record, "tolist", list, optional=True) or []
        if not all(isinstance(t, str) for t in tolist):
            raise RecordError("field 'tolist' must be a list of strings")
        # meeting_voice_call and voip_doc_share may have no roomid key at all
        roomid = get("roomid")
        if type(roomid) is not str:
            roomid = _require(record, "roomid", str, optional=True) or ""
        text, coverage = extract(msgtype, record)
    check_msgtime(msgtime, int(time.time() * 1000) if now_ms is None else now_ms)

    pre_msgid = None
    if msgtype == "revoke" and isinstance(record.get("revoke"), dict):
        pre_msgid = record["revoke"].get("pre_msgid")
        if pre_msgid is not None and not isinstance(pre_msgid, str):
            raise RecordError("field 'revoke.pre_msgid' must be a string")
    row = {
        "msgid": msgid,
        "seq": seq,
        "action": action,
        "msgtype": msgtype,
        "sender": sender,
        "sender_kind": sender_kind(sender),
        "tolist": tolist,
        "roomid": roomid,
        "msgtime": msgtime,
        "text": text,
        "text_coverage": coverage,
        "pre_msgid": pre_msgid,
    }
    _check_storable(row)
    return row


_STORED_STRINGS = {"msgid": "field 'msgid'", "action": "field 'action'", "msgtype": "field 'msgtype'"}
_STORED_STRINGS |= {
    "sender": "field 'from'",
    "roomid": "field 'roomid'",
    "pre_msgid": "field 'revoke.pre_msgid'",
}
_STORED_STRINGS |= {"text": "the message's text"}


def _check_storable(row: dict[str, Any]) -> None:
    """JSON's \\u escapes can spell half a surrogate pair, which the json module reads into a str and
    UTF-8 (the lake's strings) cannot store: such a record is rejected, naming where it is."""
    values = [(label, row[key]) for key, label in _STORED_STRINGS.items()]
    values += [("field 'tolist'", item) for item in row["tolist"]]
    for label, value in values:
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise RecordError(
                    f"{label} holds a lone surrogate ({value[exc.start]!r}), which UTF-8 cannot store"
                ) from None


class _TextPayload(msgspec.Struct):
    content: str | None = None


# Types whose whole text the common shape holds: text (``text.content``, as EXTRACTORS reads it) and
# the types without words (their extractor reads nothing; revoke is left out for its pre_msgid).
CommonType = Literal["text", "image", "agree", "disagree", "voice", "video", "emotion", "voiptext"]
Int64 = Annotated[int, msgspec.Meta(ge=_INT64[0], le=_INT64[1])]  # the lake stores seq as int64


class CommonRecord(msgspec.Struct, rename={"sender": "from"}, gc=False):
    """The shape nearly every archived record has (a ``send`` or ``recall`` of text, image, voice …),
    decoded and type-checked by msgspec in one C call, without a dict per record: the action, the
    type and seq's range are checked by msgspec too (a record outside them fails to decode).

    It is a shortcut, not a second parser: ``common_record`` returns one only when ``parse_message``
    would accept the record and make of it exactly ``common_row``'s row; every other record takes
    ``parse_message`` (a test compares the two on generated records).
    """

    msgid: str
    action: Literal["send", "recall"]
    sender: str
    msgtime: int
    msgtype: CommonType
    tolist: list[str] | None = None
    roomid: str | None = None
    seq: Int64 | None = None
    text: _TextPayload | None = None


_decode_common = msgspec.json.Decoder(CommonRecord).decode


def common_record(raw: bytes, latest_ms: int) -> CommonRecord | None:
    """``raw`` in the common shape, or None when it is anything else (``parse_message`` decides
    those). ``latest_ms``: the latest msgtime accepted (see ``check_msgtime``)."""
    try:
        record = _decode_common(raw)
    # ValidationError is a DecodeError; invalid UTF-8 is one from msgspec 0.23, a UnicodeDecodeError before
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if ARCHIVE_START_MS <= record.msgtime <= latest_ms and record.msgid.strip() and utf8(raw):
        return record
    return None


def utf8(raw: bytes) -> bool:
    """msgspec checks the UTF-8 of the strings it decodes only: invalid bytes in a field it skips
    (or a key) are left to ``parse_message``'s reading, which rejects the record for them."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def common_texts(records: list[CommonRecord]) -> tuple[list[str], list[str]]:
    """(texts, text_coverages) of common records: what ``extract`` makes of each, a column at a time."""
    texts = [(r.text.content or "") if r.msgtype == "text" and r.text is not None else "" for r in records]
    coverages = ["extracted" if r.msgtype == "text" else "none_by_type" for r in records]
    return texts, coverages
