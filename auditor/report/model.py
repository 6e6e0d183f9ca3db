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
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import lake
from auditor.detectors import CATEGORIES
from auditor.errors import AuditorError
from auditor.lexicon import SEVERITIES
from auditor.masking import mask_text, unmasked_excerpt

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


def timeline(hours: Counter, flood_hours: set[int], width: int = 480, height: int = 90) -> dict[str, Any]:
    top = max(hours.values(), default=0) or 1
    bar = width / 24
    bars = []
    for hour in range(24):
        h = (hours.get(hour, 0) / top) * (height - 18)
        bars.append(
            {
                "x": round(hour * bar + 1, 1),
                "y": round(height - 14 - h, 1),
                "w": round(bar - 2, 1),
                "h": round(h, 1),
                "hour": hour,
                "count": hours.get(hour, 0),
                "flood": hour in flood_hours,
            }
        )
    return {"bars": bars, "width": width, "height": height, "peak": top}


def _ingest_numbers(files_dir: Path | None, date: str) -> dict[str, int] | None:
    """Reconciliation of the ingested files holding messages of ``date`` (from W/lake/files/)."""
    if files_dir is None or not files_dir.is_dir():
        return None
    entries = []
    for path in sorted(files_dir.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        if date in entry.get("dates", []):
            entries.append(entry)
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


def build_day(sources: ReportSources, date: str, *, unmasked: bool, one_to_one_label: str) -> dict[str, Any]:
    """Everything the index, the group pages and summary.json need for one date."""
    table = lake.read_partition(sources.messages_dir, date, lake.MESSAGE_SCHEMA, MESSAGE_COLUMNS)
    if table.num_rows == 0:
        raise AuditorError(f"no messages in the lake for {date}")
    table = table.set_column(
        table.schema.get_field_index("msgtime"), "msgtime", pc.cast(table.column("msgtime"), "int64")
    )
    messages = sorted(table.to_pylist(), key=lambda m: (m["msgtime"], m["msgid"]))
    findings = _findings(sources.findings_dir, date)
    show = (lambda t: t) if unmasked else mask_text
    day = dt.date.fromisoformat(date)
    history = [
        _room_counts(sources.findings_dir, (day - dt.timedelta(days=k)).isoformat())
        for k in range(TREND_DAYS, 0, -1)
    ]

    by_room: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in messages:
        by_room[m["roomid"]].append(m)
    findings_by_room: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        findings_by_room[f["roomid"]].append(f)
    members_by_room: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for member in sources.members:
        members_by_room[member["roomid"]].append(member)

    def local(ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ms / 1000, sources.tz)

    groups = []
    for roomid in sorted(by_room):
        room_messages = by_room[roomid]
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
        position = {m["msgid"]: i for i, m in enumerate(room_messages)}
        text_of = {m["msgid"]: m["text"] for m in room_messages}
        shown = []
        for f in room_findings:
            evidence = json.loads(f["evidence"])
            anchor = f["msgid"] or next(iter(evidence.get("msgids", [])), None)
            context = []
            if anchor in position:
                i = position[anchor]
                lo, hi = max(0, i - sources.context_messages), i + sources.context_messages + 1
                for m in room_messages[lo:hi]:
                    context.append(
                        {
                            "time": local(m["msgtime"]).strftime("%H:%M:%S"),
                            "sender": display_name(sources.roster, m["sender"]),
                            "text": show(m["text"]) if m["text"] else f"[{m['msgtype'] or m['action']}]",
                            "anchor": m["msgid"] == anchor,
                        }
                    )
            excerpt = f["excerpt"]
            if unmasked and anchor in text_of:
                text = text_of[anchor]
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
        hours = Counter(local(m["msgtime"]).hour for m in room_messages)
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
                messages=len(room_messages),
                people=len({m["sender"] for m in room_messages}),
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
        "messages": len(messages),
        "findings": len(findings),
        "by_category": {c: n for c in CATEGORIES if (n := sum(1 for f in findings if f["category"] == c))},
        "by_severity": {s: n for s in SEVERITIES if (n := sum(1 for f in findings if f["severity"] == s))},
        "ruleset_versions": sorted({f["ruleset_version"] for f in findings}),
        "ingest": _ingest_numbers(sources.files_dir, date),
        "generic_types": dict(
            sorted(Counter(m["msgtype"] for m in messages if m["text_coverage"] == "generic").items())
        ),
    }
