"""What a day's report shows, computed from the lake: groups, findings in context, people, trends.

Everything message-derived that reaches a page passes through ``auditor.masking`` unless the
report is explicitly unmasked, and nothing here produces markup: templates escape every value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import lake
from auditor.detectors import CATEGORIES
from auditor.errors import AuditorError
from auditor.lexicon import SEVERITIES
from auditor.masking import mask_many, mask_text, unmasked_excerpt

SEVERITY_WEIGHT = {"low": 1, "medium": 3, "high": 9, "critical": 27}
TREND_DAYS = 7
MESSAGE_COLUMNS = [
    "msgid",
    "roomid",
    "sender",
    "sender_kind",
    "msgtime",
    "msgtype",
    "text",
    "action",
    "text_coverage",
]


def page_name(roomid: str) -> str:
    """A file name that never depends on the raw id's characters (``../../etc`` stays inside)."""
    return "g-" + hashlib.sha256(roomid.encode("utf-8")).hexdigest()[:16] + ".html"


@dataclass
class ReportSources:
    messages_dir: Path
    findings_dir: Path
    groups: dict[str, dict[str, Any]]
    members: list[dict[str, Any]]
    roster: dict[str, dict[str, Any]]
    files_dir: Path | None
    tz: dt.tzinfo
    context_messages: int = 3
    ledger: Any = None  # the review ledger, when the workspace has one

    _ingested: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def ingested_files(self) -> list[dict[str, Any]]:
        """The ingest file ledger's entries (W/lake/files/*.json), read once for every date of a run."""
        if self._ingested is None:
            folder = self.files_dir
            paths = sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []
            self._ingested = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
        return self._ingested

    @classmethod
    def of_workspace(cls, ws, findings_dir: Path | None = None) -> ReportSources:
        return cls(
            ws.messages_dir,
            findings_dir or ws.findings_dir,
            ws.groups(),
            ws.members(),
            ws.roster(),
            ws.files_dir,
            ws.tz,
            ws.config["report"]["context_messages"],
        )


def _findings(findings_dir: Path, date: str) -> list[dict[str, Any]]:
    path = lake.findings_path(findings_dir, date)
    if not path.exists():
        raise AuditorError(f"{date} has not been audited yet: run `auditor audit --date {date}` first")
    table = lake.read_findings(path)
    table = table.set_column(
        table.schema.get_field_index("msgtime"), "msgtime_ms", pc.cast(table.column("msgtime"), "int64")
    )
    return table.to_pylist()


def _room_counts(findings_dir: Path, date: str) -> Counter:
    path = lake.findings_path(findings_dir, date)
    if not path.exists():
        return Counter()
    return Counter(pq.read_table(path, columns=["roomid"]).column("roomid").to_pylist())


def sparkline(values: list[int], width: int = 84, height: int = 20) -> dict[str, Any]:
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return {
        "points": points,
        "width": width,
        "height": height,
        "last": values[-1],
        "values": values,
        "rising": values[-1] > (sum(values[:-1]) / max(1, len(values) - 1)),
    }


class Bar(NamedTuple):
    """One hour of a group's timeline (attributes, not a dict: a page reads 24 of them)."""

    x: float
    y: float
    w: float
    h: float
    hour: str  # "07"
    count: int
    flood: bool


def timeline(hours: Counter, flood_hours: set[int], width: int = 480, height: int = 90) -> dict[str, Any]:
    top = max(hours.values(), default=0) or 1
    bar = width / 24
    bars = []
    for hour in range(24):
        h = (hours.get(hour, 0) / top) * (height - 18)
        bars.append(
            Bar(
                x=round(hour * bar + 1, 1),
                y=round(height - 14 - h, 1),
                w=round(bar - 2, 1),
                h=round(h, 1),
                hour=f"{hour:02d}",
                count=hours.get(hour, 0),
                flood=hour in flood_hours,
            )
        )
    return {"bars": bars, "width": width, "height": height, "peak": top}


def _ingest_numbers(entries: list[dict[str, Any]], date: str) -> dict[str, int] | None:
    """Reconciliation of the ingested files holding messages of ``date`` (from W/lake/files/)."""
    entries = [entry for entry in entries if date in entry.get("dates", [])]
    if not entries:
        return None
    numbers = {k: sum(int(e[k]) for e in entries) for k in ("records", "accepted", "duplicates", "rejected")}
    return numbers | {"files": len(entries)}


def _hit_text(hit: dict[str, Any]) -> str:
    details = ", ".join(
        f"{k}={', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in hit.items()
        if k not in ("rule", "severity", "start", "end", "lexicon")
    )
    return f"{hit['rule']} ({hit['severity']})" + (f": {details}" if details else "")


def _evidence_items(evidence_json: str, show: Callable[[str], str]) -> list[tuple[str, str]]:
    """Evidence as (key, text) rows; values pass through ``show`` (a URL or file name may hold a secret)."""
    evidence = json.loads(evidence_json)
    items = []
    for key, value in evidence.items():
        if key in ("group_category", "base_severity", "msgids"):
            continue
        if key == "hits":
            value = "; ".join(_hit_text(h) for h in value)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value[:10]) + (" …" if len(value) > 10 else "")
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        items.append((key, show(str(value))))
    return items


@dataclass
class GroupReport:
    roomid: str
    page: str
    name: str
    category: str
    owner: str
    admins: list[str]
    facts: dict[str, Any]
    messages: int
    people: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    by_category: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    risk: int = 0
    trend: dict[str, Any] = field(default_factory=dict)
    sections: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    timeline: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "roomid": self.roomid,
            "name": self.name,
            "category": self.category,
            "owner": self.owner,
            "messages": self.messages,
            "people": self.people,
            "findings": len(self.findings),
            "by_category": self.by_category,
            "by_severity": self.by_severity,
            "risk": self.risk,
            "trend": self.trend["values"],
            "page": f"groups/{self.page}",
        }


def display_name(roster: dict[str, dict[str, Any]], userid: str) -> str:
    person = roster.get(userid)
    return f"{person['name']} ({userid})" if person and person.get("name") else userid


class _DayMessages:
    """A date's messages as Arrow columns, read in the order of (roomid, msgtime, msgid): each room
    is one contiguous run of positions in its own time order. Per-room counts and hours are
    computed on the columns; only the few rows shown as context around a finding become Python
    objects, so a day of a million messages costs its Arrow columns, not a million dicts. Rows are
    reached through ``order`` rather than a sorted copy of the table: sorting the text column only
    to read a few dozen rows of it was a fifth of the report's time."""

    def __init__(self, messages_dir: Path, date: str, tz: dt.tzinfo) -> None:
        table = lake.read_partition(messages_dir, date, lake.MESSAGE_SCHEMA, MESSAGE_COLUMNS)
        if table.num_rows == 0:
            raise AuditorError(f"no messages in the lake for {date}")
        table = table.set_column(
            table.schema.get_field_index("msgtime"), "msgtime", pc.cast(table.column("msgtime"), "int64")
        )
        self.table = table
        self.rows = table.num_rows
        self.order, rooms = _room_time_order(table)
        codes = rooms.indices.to_numpy()
        starts = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
        names = rooms.dictionary.take(pa.array(codes[starts])).to_pylist()
        ends = np.append(starts[1:], self.rows)
        self.spans = {name: (int(a), int(b)) for name, a, b in zip(names, starts, ends, strict=True)}
        # local hour of every message: distinct seconds are few next to messages, and converting
        # those through the time zone is exact for any offset
        seconds = table.column("msgtime").take(self.order).to_numpy() // 1000
        distinct, inverse = np.unique(seconds, return_inverse=True)
        hour_of = local_hours(distinct, tz)
        room_index = np.repeat(np.arange(len(names)), ends - starts)
        self.hours = np.bincount(room_index * 24 + hour_of[inverse], minlength=len(names) * 24).reshape(
            -1, 24
        )
        self.room_order = {name: i for i, name in enumerate(names)}
        people = table.group_by("roomid").aggregate(
            [("sender", "count_distinct", pc.CountOptions(mode="all"))]
        )
        self.people = dict(
            zip(
                people.column("roomid").to_pylist(),
                people.column("sender_count_distinct").to_pylist(),
                strict=True,
            )
        )
        generic = table.filter(pc.equal(table.column("text_coverage"), "generic"))
        counts = pc.value_counts(generic.column("msgtype")).to_pylist()
        self.generic_types = dict(sorted((c["values"], c["counts"]) for c in counts))

    def hour_counts(self, roomid: str) -> Counter:
        row = self.hours[self.room_order[roomid]]
        return Counter({hour: int(n) for hour, n in enumerate(row) if n})

    def positions(self, msgids: set[str]) -> dict[str, int]:
        """Position (in the day's order) of each of ``msgids`` found in the day."""
        if not msgids:
            return {}
        column = self.table.column("msgid")
        found = np.flatnonzero(
            pc.is_in(column, value_set=pa.array(sorted(msgids), pa.string())).to_numpy(False)
        )
        position = np.empty(self.rows, dtype=np.int64)
        position[self.order.to_numpy()] = np.arange(self.rows)
        return dict(zip(column.take(pa.array(found)).to_pylist(), position[found].tolist(), strict=True))

    def rows_at(self, positions: set[int]) -> dict[int, dict[str, Any]]:
        """The rows at these positions of the day's order, as dicts."""
        ordered = sorted(positions)
        rows = self.order.take(pa.array(ordered, pa.int64()))
        return dict(zip(ordered, self.table.take(rows).to_pylist(), strict=True))


def local_hours(seconds: np.ndarray, tz: dt.tzinfo) -> np.ndarray:
    """The local hour of each of ``seconds`` (epoch seconds, ascending), as
    ``datetime.fromtimestamp(s, tz).hour`` gives it: one conversion for each run of seconds in one
    local hour at one UTC offset (a day's few dozen), not one per second (59,000 a 333,000-message
    date, about 0.05 CPU s). An hour in which the offset changes is converted a second at a time."""
    hours = np.empty(len(seconds), np.int64)
    start = 0
    while start < len(seconds):
        first = int(seconds[start])
        local = dt.datetime.fromtimestamp(first, tz)
        end = first + 3600 - local.minute * 60 - local.second  # the next local hour, at this offset
        if dt.datetime.fromtimestamp(end - 1, tz).utcoffset() != local.utcoffset():
            end = first + 1
        stop = int(np.searchsorted(seconds, end, "left"))
        hours[start:stop] = local.hour
        start = stop
    return hours


def _room_time_order(table: pa.Table) -> tuple[pa.Array, pa.DictionaryArray]:
    """The rows' order by (roomid, msgtime, msgid), and the roomid column in that order, encoded.

    Arrow's sort with a string as its first key compares strings at every step (a third of a second
    for a day of 333k messages); sorting by time first and then, stably, by each room's rank among
    the day's few hundred rooms gives the same order in a tenth of that."""
    by_time = pc.sort_indices(table, sort_keys=[("msgtime", "ascending"), ("msgid", "ascending")])
    rooms = table.column("roomid").combine_chunks().dictionary_encode()
    room_rank = pc.rank(rooms.dictionary, sort_keys="ascending").to_numpy()[rooms.indices.to_numpy()]
    by_time = by_time.to_numpy()  # (roomid is never null: the lake's schema)
    order = pa.array(by_time[np.argsort(room_rank[by_time], kind="stable")])
    return order, rooms.take(order)


def build_day(sources: ReportSources, date: str, *, unmasked: bool, one_to_one_label: str) -> dict[str, Any]:
    """Everything the index, the group pages and summary.json need for one date."""
    messages = _DayMessages(sources.messages_dir, date, sources.tz)
    findings = _findings(sources.findings_dir, date)
    day = dt.date.fromisoformat(date)
    history = [
        _room_counts(sources.findings_dir, (day - dt.timedelta(days=k)).isoformat())
        for k in range(TREND_DAYS, 0, -1)
    ]

    findings_by_room: dict[str, list[dict[str, Any]]] = defaultdict(list)
    anchors: dict[str, str | None] = {}  # finding → the message it is shown around
    for f in findings:
        findings_by_room[f["roomid"]].append(f)
        anchors[f["finding_id"]] = f["msgid"] or next(iter(json.loads(f["evidence"]).get("msgids", [])), None)
    members_by_room: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for member in sources.members:
        members_by_room[member["roomid"]].append(member)
    # a finding's anchor counts only inside its own room's run, as the page shows that room
    found = messages.positions({a for a in anchors.values() if a})
    position: dict[str, int] = {}
    wanted: set[int] = set()
    for f in findings:
        i = found.get(anchors[f["finding_id"]] or "")
        lo, hi = messages.spans.get(f["roomid"], (0, 0))
        if i is not None and lo <= i < hi:
            position[f["finding_id"]] = i
            wanted.update(
                range(max(lo, i - sources.context_messages), min(hi, i + sources.context_messages + 1))
            )
    context_rows = messages.rows_at(wanted)
    # the day's context lines masked as one batch (most need no search); other texts one by one
    masked = {} if unmasked else mask_many(list({m["text"] for m in context_rows.values() if m["text"]}))

    def show(text: str) -> str:
        return text if unmasked else masked.get(text) or mask_text(text)

    def local(ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ms / 1000, sources.tz)

    groups = []
    for roomid in sorted(messages.spans):
        info = sources.groups.get(roomid, {})
        name = info.get("name") or (one_to_one_label if roomid == "" else roomid)
        room_members = members_by_room.get(roomid, [])
        window_start = day - dt.timedelta(days=TREND_DAYS - 1)
        joined = sorted(
            (
                m
                for m in room_members
                if m["join_time"] is not None
                and window_start <= m["join_time"].astimezone(sources.tz).date() <= day
            ),
            key=lambda m: (m["join_time"], m["userid"]),
        )
        facts = {
            "created": info["create_time"].astimezone(sources.tz).strftime("%Y-%m-%d")
            if info.get("create_time")
            else "",
            "notice": info.get("notice", ""),
            "internal_members": sum(1 for m in room_members if m["member_kind"] == "internal"),
            "external_members": sum(1 for m in room_members if m["member_kind"] == "external"),
            "joined": [
                {
                    "who": display_name(sources.roster, m["userid"]),
                    "when": m["join_time"].astimezone(sources.tz).strftime("%Y-%m-%d %H:%M"),
                }
                for m in joined
            ],
            "left_staff": [
                display_name(sources.roster, m["userid"])
                for m in room_members
                if sources.roster.get(m["userid"], {}).get("status") == "left"
            ],
        }
        room_findings = sorted(
            findings_by_room.get(roomid, []),
            key=lambda f: (-SEVERITIES.index(f["severity"]), f["msgtime_ms"], f["finding_id"]),
        )
        first, last = messages.spans[roomid]
        shown = []
        for f in room_findings:
            anchor = anchors[f["finding_id"]]
            context = []
            i = position.get(f["finding_id"])
            if i is not None:
                lo, hi = max(first, i - sources.context_messages), min(last, i + sources.context_messages + 1)
                for m in (context_rows[k] for k in range(lo, hi)):
                    context.append(
                        {
                            "time": local(m["msgtime"]).strftime("%H:%M:%S"),
                            "sender": display_name(sources.roster, m["sender"]),
                            "text": show(m["text"]) if m["text"] else f"[{m['msgtype'] or m['action']}]",
                            "anchor": m["msgid"] == anchor,
                        }
                    )
            excerpt = f["excerpt"]
            if unmasked and i is not None:
                text = context_rows[i]["text"]
                excerpt = (
                    unmasked_excerpt(text, f["start"], f["end"])
                    if f["start"] is not None
                    else " ".join(text.split())[:80]
                )
            shown.append(
                {
                    **f,
                    "time": local(f["msgtime_ms"]).strftime("%H:%M:%S"),
                    "who": display_name(sources.roster, f["sender"]),
                    "excerpt": excerpt,
                    "evidence_items": _evidence_items(f["evidence"], show),
                    "context": context,
                    "conversation": f["msgid"] is None,
                }
            )
        sections = []
        for category in CATEGORIES:
            in_category = [f for f in shown if f["category"] == category]
            if in_category:
                sections.append(
                    {
                        "category": category,
                        "findings": in_category,
                        "by_severity": Counter(f["severity"] for f in in_category),
                    }
                )
        persons: dict[str, dict[str, Any]] = {}
        for f in room_findings:
            p = persons.setdefault(
                f["sender"],
                {
                    "userid": f["sender"],
                    "who": display_name(sources.roster, f["sender"]),
                    "counts": Counter(),
                    "total": 0,
                    "most_severe": "low",
                },
            )
            p["counts"][f["category"]] += 1
            p["total"] += 1
            if SEVERITIES.index(f["severity"]) > SEVERITIES.index(p["most_severe"]):
                p["most_severe"] = f["severity"]
        hours = messages.hour_counts(roomid)
        flood_hours = {local(f["msgtime_ms"]).hour for f in room_findings if f["category"] == "flooding"}
        trend_values = [h.get(roomid, 0) for h in history] + [len(room_findings)]
        groups.append(
            GroupReport(
                roomid=roomid,
                page=page_name(roomid),
                name=name,
                category=info.get("category", ""),
                owner=display_name(sources.roster, info["owner"]) if info.get("owner") else "",
                admins=[display_name(sources.roster, a) for a in info.get("admins", [])],
                facts=facts,
                messages=last - first,
                people=messages.people[roomid],
                findings=shown,
                by_category={
                    c: n for c in CATEGORIES if (n := sum(1 for f in room_findings if f["category"] == c))
                },
                by_severity={
                    s: n for s in SEVERITIES if (n := sum(1 for f in room_findings if f["severity"] == s))
                },
                risk=sum(SEVERITY_WEIGHT[f["severity"]] for f in room_findings),
                trend=sparkline(trend_values),
                sections=sections,
                persons=sorted(
                    persons.values(),
                    key=lambda p: (-SEVERITIES.index(p["most_severe"]), -p["total"], p["userid"]),
                ),
                timeline=timeline(hours, flood_hours),
            )
        )
    groups.sort(key=lambda g: (-g.risk, -len(g.findings), g.name, g.roomid))
    return {
        "date": date,
        "groups": groups,
        "messages": messages.rows,
        "findings": len(findings),
        "by_category": {c: n for c in CATEGORIES if (n := sum(1 for f in findings if f["category"] == c))},
        "by_severity": {s: n for s in SEVERITIES if (n := sum(1 for f in findings if f["severity"] == s))},
        "ruleset_versions": sorted({f["ruleset_version"] for f in findings}),
        "ingest": _ingest_numbers(sources.ingested_files(), date),
        "generic_types": messages.generic_types,
    }
