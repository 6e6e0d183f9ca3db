"""Policy: from detector hits to findings — severity per group category, one finding per
message and category, masked excerpts and stable ids.

The finding id hashes what the finding is *about* (the message and category, or the room,
person, time and rule of a conversation-level event), not the ruleset: a review recorded
against a finding still applies after a dictionary update re-audits the day.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from auditor.detectors.base import Event, Hit, raise_severity
from auditor.lexicon import SEVERITIES
from auditor.masking import EVENT_EXCERPT, excerpt, hit_spans


def finding_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:24]


def adjust(severity: str, category: str, group_category: str, policy: dict[str, Any]) -> str:
    steps = policy["adjust"].get(category, {}).get(group_category, 0)
    return raise_severity(severity, steps)


def _evidence_json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def message_findings(
    message: dict[str, Any],
    hits: list[Hit],
    group_category: str,
    policy: dict[str, Any],
    date: str,
    version: str,
) -> list[dict[str, Any]]:
    """One finding per category for a message: the most severe hit wins, evidence lists all."""
    by_category: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_category[hit.category].append(hit)
    findings = []
    for category, group in sorted(by_category.items()):
        ranked = sorted(group, key=lambda h: (-SEVERITIES.index(h.severity), h.start, h.rule))
        top = ranked[0]
        evidence = {
            "hits": [
                {"rule": h.rule, "severity": h.severity, "start": h.start, "end": h.end, **h.evidence}
                for h in sorted(group, key=lambda h: (h.start, h.rule))
            ],
            "group_category": group_category,
            "base_severity": top.severity,
        }
        findings.append(
            {
                "finding_id": finding_id("message", message["msgid"], category),
                "date": date,
                "roomid": message["roomid"],
                "msgid": message["msgid"],
                "sender": message["sender"],
                "msgtime": message["msgtime"],
                "category": category,
                "rule": top.rule,
                "severity": adjust(top.severity, category, group_category, policy),
                "excerpt": excerpt(message["text"], top.start, top.end, hit_spans(hits)),
                "start": top.start,
                "end": top.end,
                "score": max(h.score for h in group),
                "evidence": _evidence_json(evidence),
                "ruleset_version": version,
            }
        )
    return findings


def event_finding(
    event: Event,
    anchor_text: str,
    anchor_hits: list[Hit],
    group_category: str,
    policy: dict[str, Any],
    date: str,
    version: str,
) -> dict[str, Any]:
    shown = excerpt(anchor_text, 0, min(len(anchor_text), EVENT_EXCERPT), hit_spans(anchor_hits), context=0)
    return {
        "finding_id": finding_id(
            "event", event.rule, event.roomid, event.sender, event.msgtime, event.msgid or ""
        ),
        "date": date,
        "roomid": event.roomid,
        "msgid": event.msgid,
        "sender": event.sender,
        "msgtime": event.msgtime,
        "category": event.category,
        "rule": event.rule,
        "severity": adjust(event.severity, event.category, group_category, policy),
        "excerpt": shown,
        "start": None,
        "end": None,
        "score": event.score,
        "evidence": _evidence_json(
            {**event.evidence, "group_category": group_category, "base_severity": event.severity}
        ),
        "ruleset_version": version,
    }
