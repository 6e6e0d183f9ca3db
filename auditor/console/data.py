"""What the console's pages show, read from the lake and the ledger (the one source of truth).

Nothing here writes: decisions go through ``auditor.violations``, the functions the CLI calls.
Every text from chat passes through ``auditor.masking`` before it reaches a page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from starlette.exceptions import HTTPException

from auditor import lake
from auditor.categories import FINDING_CATEGORIES, GROUP_CATEGORIES, SEVERITIES
from auditor.ledger import Ledger, action_label, appeal_label
from auditor.masking import mask_text
from auditor.notify.dispatch import NOTICE_STEPS
from auditor.report.model import MESSAGE_COLUMNS, SEVERITY_WEIGHT, display_name
from auditor.violations import load_findings, person_states, review_rows
from auditor.workspace import Workspace

STATUSES = ("pending", "confirmed", "dismissed")
QUEUE_LIMIT = 300  # rows on one page; later rows are on the next pages
CONTEXT_MESSAGES = 5


def _date(value: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise HTTPException(400, f"{name} must be a date like 2026-11-16, not {value!r}") from None


@dataclass(frozen=True)
class Page:
    """One page of the queue: which rows it shows, and whether there are pages before and after.

    A page number past the end shows the last page (after decisions shrink a pending queue, the
    link one was on still lands on findings)."""

    number: int
    count: int  # pages in all, at least 1
    size: int

    @classmethod
    def of(cls, value: str | None, rows: int) -> Page:
        size = QUEUE_LIMIT
        count = max(1, -(-rows // size))
        try:
            number = int(value or 1)
        except ValueError:
            raise HTTPException(400, "page must be a whole number") from None
        if number < 1:
            raise HTTPException(400, "page must be 1 or more")
        return cls(min(number, count), count, size)

    @property
    def start(self) -> int:
        return (self.number - 1) * self.size

    @property
    def end(self) -> int:
        return self.number * self.size


@dataclass
class QueueFilter:
    """The queue's filters, all query parameters (a filtered queue is a link one can keep)."""

    date_from: str = ""
    date_to: str = ""
    group: str = ""  # a room id or part of a group name
    group_category: str = ""
    person: str = ""
    category: str = ""
    severity: str = ""
    status: str = "pending"  # "all" shows every status
    reviewer: str = ""  # the assignee
    q: str = ""

    @classmethod
    def of(cls, params: Any) -> QueueFilter:
        values = {f.name: (params.get(f.name) or "").strip()[:200] for f in fields(cls)}
        values["status"] = values["status"] or "pending"
        for name in ("date_from", "date_to"):
            if values[name]:
                values[name] = _date(values[name], name)
        choices = {
            "group_category": GROUP_CATEGORIES,
            "category": FINDING_CATEGORIES,
            "severity": SEVERITIES,
            "status": (*STATUSES, "all"),
        }
        for name, allowed in choices.items():
            if values[name] and values[name] not in allowed:
                raise HTTPException(400, f"{name} must be one of {', '.join(allowed)}")
        return cls(**values)

    def params(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def _scores(ws: Workspace) -> dict[str, float]:
    out: dict[str, float] = {}
    for date in lake.dates(ws.findings_dir):
        path = lake.findings_path(ws.findings_dir, date)
        if path.exists():
            table = pq.read_table(path, columns=["finding_id", "score"])
            out.update(
                zip(table.column("finding_id").to_pylist(), table.column("score").to_pylist(), strict=True)
            )
    return out


def queue(ws: Workspace, flt: QueueFilter, rooms: set[str] | None) -> list[dict[str, Any]]:
    """Findings with their status and workflow, filtered, most severe and riskiest first."""
    groups = ws.groups()
    with Ledger(ws.ledger_path) as ledger:
        workflow = ledger.workflow()
    scores = _scores(ws)
    rows = []
    for row in review_rows(ws, status=None if flt.status == "all" else flt.status):
        date = str(row["date"])
        info = groups.get(row["roomid"], {})
        state = workflow.get(row["finding_id"])
        row = {
            **row,
            "date": date,
            "group_category": info.get("category", ""),
            "score": scores.get(row["finding_id"]) or 0.0,
            "assignee": state.assignee if state else None,
            "escalated": bool(state and state.escalated_by),
            "acknowledged": list(state.acknowledged_by) if state else [],
        }
        if rooms is not None and row["roomid"] not in rooms:
            continue
        if (flt.date_from and date < flt.date_from) or (flt.date_to and date > flt.date_to):
            continue
        if flt.group and flt.group != row["roomid"] and flt.group not in row["group"]:
            continue
        wanted = {
            "group_category": row["group_category"],
            "person": row["sender"],
            "category": row["category"],
            "severity": row["severity"],
            "reviewer": row["assignee"] or "",
        }
        if any(getattr(flt, k) and getattr(flt, k) != v for k, v in wanted.items()):
            continue
        if flt.q and not any(
            flt.q.lower() in str(row.get(k) or "").lower()
            for k in ("excerpt", "rule", "sender", "group", "finding_id")
        ):
            continue
        rows.append(row)
    rows.sort(
        key=lambda r: (
            -SEVERITIES.index(r["severity"]),
            -r["escalated"],
            -SEVERITY_WEIGHT[r["severity"]] * float(r["score"]),
            r["date"],
            r["finding_id"],
        )
    )
    return rows


# --- one finding -------------------------------------------------------------------------------


def finding(ws: Workspace, finding_id: str) -> dict[str, Any] | None:
    """The finding's full row from its date's file, or what the ledger kept if a re-audit dropped it."""
    small = load_findings(ws).get(finding_id)
    if small is not None:
        path = lake.findings_path(ws.findings_dir, str(small["date"]))
        table = pq.read_table(path, filters=[("finding_id", "=", finding_id)])
        table = table.set_column(
            table.schema.get_field_index("msgtime"), "msgtime", pc.cast(table.column("msgtime"), "int64")
        )
        [row] = table.to_pylist()
        return {**row, "date": str(row["date"]), "gone": False}
    with Ledger(ws.ledger_path) as ledger:
        review = ledger.reviews().get(finding_id)
    if review is None:
        return None
    return {"finding_id": finding_id, "evidence": "{}", "msgtime": None, "score": None, **review.details} | {
        "gone": True
    }


def conversation(ws: Workspace, f: dict[str, Any], around: int = CONTEXT_MESSAGES) -> list[dict[str, Any]]:
    """The messages of the finding's room around its message (or its conversation's first), masked."""
    evidence = json.loads(f.get("evidence") or "{}")
    anchor = f.get("msgid") or next(iter(evidence.get("msgids", [])), None)
    if anchor is None:
        return []
    table = lake.read_partition(ws.messages_dir, f["date"], lake.MESSAGE_SCHEMA, MESSAGE_COLUMNS)
    table = table.filter(pc.equal(table.column("roomid"), f["roomid"]))
    table = table.set_column(
        table.schema.get_field_index("msgtime"), "msgtime", pc.cast(table.column("msgtime"), "int64")
    )
    messages = sorted(table.to_pylist(), key=lambda m: (m["msgtime"], m["msgid"]))
    position = next((i for i, m in enumerate(messages) if m["msgid"] == anchor), None)
    if position is None:
        return []
    roster = ws.roster()
    marked = {anchor, *evidence.get("msgids", [])}
    return [
        {
            "time": dt.datetime.fromtimestamp(m["msgtime"] / 1000, ws.tz).strftime("%H:%M:%S"),
            "sender": display_name(roster, m["sender"]),
            "text": mask_text(m["text"]) if m["text"] else f"[{m['msgtype'] or m['action']}]",
            "anchor": m["msgid"] in marked,
        }
        for m in messages[max(0, position - around) : position + around + 1]
    ]


def evidence_words(evidence_json: str, t: dict[str, str]) -> list[str]:
    """The evidence as sentences a reviewer reads: which term, which rule, which model n-grams.
    Every value from chat (a term, a URL, a masked number) passes through the masker."""
    evidence = json.loads(evidence_json or "{}")
    out = []
    for hit in evidence.get("hits", []):
        parts = [t["ev_rule"].format(rule=hit.get("rule", ""), severity=t.get(hit.get("severity", ""), ""))]
        if hit.get("term"):
            parts.append(t["ev_term"].format(term=mask_text(str(hit["term"]))))
        if hit.get("ngrams"):
            parts.append(
                t["ev_model"].format(
                    score=hit.get("score", ""), ngrams="、".join(mask_text(str(g)) for g in hit["ngrams"])
                )
            )
        if hit.get("url"):
            parts.append(t["ev_url"].format(url=mask_text(str(hit["url"]))))
        for key in ("phrases", "hearsay", "spread", "topic", "reasons"):
            if hit.get(key):
                parts.append(f"{t.get('ev_' + key, key)}：" + "、".join(mask_text(str(v)) for v in hit[key]))
        if hit.get("kind") and hit.get("value"):
            parts.append(f"{hit['kind']}: {mask_text(str(hit['value']))}")
        elif hit.get("kind"):
            parts.append(str(hit["kind"]))
        if hit.get("solicitation"):
            parts.append(t["ev_solicitation"].format(word=mask_text(str(hit["solicitation"]))))
        out.append("；".join(parts))
    if evidence.get("participants"):
        out.append(t["ev_participants"].format(who="、".join(map(str, evidence["participants"]))))
    if evidence.get("messages") and not evidence.get("hits"):
        out.append(t["ev_messages"].format(n=evidence["messages"]))
    if evidence.get("kinds"):
        out.append(t["ev_kinds"].format(kinds="、".join(map(str, evidence["kinds"]))))
    if evidence.get("left_date"):
        out.append(t["ev_left"].format(date=evidence["left_date"]))
    if evidence.get("group_category"):
        out.append(
            t["ev_policy"].format(
                group=t.get(evidence["group_category"], evidence["group_category"]),
                base=t.get(evidence.get("base_severity", ""), ""),
            )
        )
    return out


def finding_events(ws: Workspace, finding_id: str) -> list[dict[str, Any]]:
    """Every ledger event about this finding, oldest first."""
    with Ledger(ws.ledger_path) as ledger:
        rows = ledger.db.execute(
            "SELECT * FROM events WHERE finding_id = ? ORDER BY event_id", (finding_id,)
        ).fetchall()
    return [trail_row(r) for r in rows]


# --- people ------------------------------------------------------------------------------------


def person(ws: Workspace, userid: str, on: dt.date) -> dict[str, Any]:
    """A person's findings across groups and dates, the ladder's recommendation, actions, appeals."""
    roster = ws.roster()
    groups = ws.groups()
    with Ledger(ws.ledger_path) as ledger:
        reviews = ledger.reviews()
        appeals = [a for a in ledger.appeals().values() if a.subject == userid]
        notices: dict[int, list[dict[str, Any]]] = {}
        for row in ledger.events("notice_sent"):
            if row["subject"] == userid and row["ref"] is not None:
                details = json.loads(row["details"])
                notices.setdefault(row["ref"], []).append(
                    {"channel": details["channel"], "on": row["effective"], "actor": row["actor"]}
                )
        states = person_states(ws, on, ledger)
    findings = sorted(
        (
            {
                **f,
                "date": str(f["date"]),
                "group": groups.get(f["roomid"], {}).get("name") or f["roomid"],
                "status": reviews[fid].decision if fid in reviews else "pending",
            }
            for fid, f in load_findings(ws).items()
            if f["sender"] == userid
        ),
        key=lambda f: (f["date"], f["finding_id"]),
        reverse=True,
    )
    recommendation, actions = states.get(userid, (None, []))
    return {
        "userid": userid,
        "who": display_name(roster, userid),
        "department": roster.get(userid, {}).get("department", ""),
        "status": roster.get(userid, {}).get("status", ""),
        "findings": findings,
        "confirmed": [f for f in findings if f["status"] == "confirmed"],
        "recommendation": recommendation,
        "actions": sorted(actions, key=lambda a: a.event_id, reverse=True),
        "appeals": sorted(appeals, key=lambda a: a.event_id, reverse=True),
        "notices": notices,  # by the action's event id: who sent its notice, when, by which channel
        "notice_steps": NOTICE_STEPS,
        "known": bool(findings or actions or userid in roster),
    }


# --- the audit trail ---------------------------------------------------------------------------

TRAIL_COLUMNS = ("event_id", "recorded", "effective", "kind", "actor", "what", "subject", "reason")


def trail_row(row: Any) -> dict[str, Any]:
    """One ledger event in words: who, when, what, why."""
    details = json.loads(row["details"] or "{}")
    kind = row["kind"]
    if kind == "review":
        what = f"{row['decision']} {row['finding_id']}"
    elif kind == "action":
        what = f"{action_label(row['event_id'])} {row['step']}"
    elif kind == "action_voided":
        what = f"void {action_label(row['ref'])}"
    elif kind == "appeal_filed":
        what = f"{appeal_label(row['event_id'])} against {action_label(row['ref'])}"
    elif kind == "appeal_resolved":
        what = f"{appeal_label(row['ref'])} {row['outcome']}"
    elif kind == "assign":
        what = f"{row['finding_id']} → {details.get('assignee', '')}"
    else:
        what = str(row["finding_id"] or "")
    return {
        "event_id": row["event_id"],
        "recorded": row["recorded"][:19].replace("T", " "),
        "effective": row["effective"],
        "kind": kind,
        "actor": row["actor"],
        "what": what,
        "subject": row["subject"] or "",
        "reason": row["reason"],
        "finding_id": row["finding_id"] or "",
    }


@dataclass
class TrailFilter:
    kind: str = ""
    actor: str = ""
    subject: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""

    @classmethod
    def of(cls, params: Any) -> TrailFilter:
        values = {f.name: (params.get(f.name) or "").strip()[:200] for f in fields(cls)}
        for name in ("date_from", "date_to"):
            if values[name]:
                values[name] = _date(values[name], name)
        return cls(**values)

    def params(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def trail(ws: Workspace, flt: TrailFilter) -> list[dict[str, Any]]:
    """Every ledger event matching the filter, newest first (dates are effective dates)."""
    with Ledger(ws.ledger_path) as ledger:
        rows = [trail_row(r) for r in ledger.events()]
    out = []
    for r in reversed(rows):
        if (flt.kind and r["kind"] != flt.kind) or (flt.actor and r["actor"] != flt.actor):
            continue
        if flt.subject and r["subject"] != flt.subject:
            continue
        if (flt.date_from and r["effective"] < flt.date_from) or (
            flt.date_to and r["effective"] > flt.date_to
        ):
            continue
        if flt.q and not any(
            flt.q.lower() in str(r[k]).lower() for k in ("what", "reason", "subject", "actor")
        ):
            continue
        out.append(r)
    return out


# --- dashboard ---------------------------------------------------------------------------------


def message_count(ws: Workspace, date: str) -> int:
    """Messages of a date, from the Parquet footers (no row is read)."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in lake.partition_files(ws.messages_dir, date))


def dashboard(ws: Workspace, on: dt.date, days: int = 30) -> dict[str, Any]:
    """Per-day series over the last ``days`` audited dates: findings per category, the review
    backlog (pending findings by the day they were found, and their age), open appeals by deadline."""
    rows = review_rows(ws)
    # every audited day, also those without a finding (a trend needs its zeros)
    dates = sorted(set(lake.dates(ws.findings_dir)) | {str(r["date"]) for r in rows})[-days:]
    per_day: dict[str, Counter] = defaultdict(Counter)
    pending: Counter = Counter()
    for r in rows:
        per_day[str(r["date"])][r["category"]] += 1
        if r["status"] == "pending":
            pending[str(r["date"])] += 1
    ages = [(on - dt.date.fromisoformat(d)).days for d, n in pending.items() for _ in range(n)]
    with Ledger(ws.ledger_path) as ledger:
        appeals = [a for a in ledger.appeals().values() if a.outcome is None]
    messages = {d: message_count(ws, d) for d in dates}
    rate = {d: round(1000 * sum(per_day[d].values()) / messages[d], 1) if messages[d] else 0 for d in dates}
    confirmed_by_person: Counter = Counter(r["sender"] for r in rows if r["status"] == "confirmed")
    confirmed_by_group: Counter = Counter(r["group"] for r in rows if r["status"] == "confirmed")
    return {
        "dates": dates,
        "per_day": per_day,
        "pending": pending,
        "messages": messages,
        "rate": rate,
        "pending_total": sum(pending.values()),
        "oldest_pending_days": max(ages, default=0),
        "median_pending_days": sorted(ages)[len(ages) // 2] if ages else 0,
        "appeals": sorted(appeals, key=lambda a: a.investigation_deadline),
        "top_people": confirmed_by_person.most_common(5),
        "top_groups": confirmed_by_group.most_common(5),
        "total": len(rows),
    }
