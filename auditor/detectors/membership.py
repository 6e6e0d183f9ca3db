"""Membership (成员管理): people in groups they should not be in.

- someone the HR roster marks ``left`` still posting after their leaving date;
- an external contact (wo…/wm… ids) posting in an ``internal`` or ``project`` group.
Robots (wb…) are never counted as people. One finding per person, room and day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from auditor.detectors import register
from auditor.detectors.base import DayDetector, Event
from auditor.detectors.day import Day


@register
class Membership(DayDetector):
    category = "membership"

    def detect(self, day: Day) -> list[Event]:
        messages = day.group_messages()
        people = day.people()
        counts = np.bincount(people)  # messages per person and room
        first = day.first_rows()  # each one's first message per room
        firsts = messages.iloc[first].assign(person=people[first])
        left = {u for u, p in day.roster.items() if p["status"] == "left" and p["left_date"]}
        today = dt.date.fromisoformat(day.date)
        suspects = firsts[firsts["sender"].isin(left) | (firsts["sender_kind"] == "external")]
        events = []
        for row in suspects.sort_values(["roomid", "sender"]).itertuples(index=False):
            count = int(counts[row.person])
            person = day.roster.get(row.sender)
            if row.sender in left and person["left_date"] < today:
                events.append(
                    Event(
                        "membership",
                        "membership.left_member",
                        "high",
                        row.roomid,
                        row.sender,
                        int(row.msgtime),
                        msgid=row.msgid,
                        anchor_msgid=row.msgid,
                        score=float(count),
                        evidence={"left_date": person["left_date"].isoformat(), "messages": count},
                    )
                )
            if row.sender_kind == "external" and row.group_category in ("internal", "project"):
                events.append(
                    Event(
                        "membership",
                        "membership.external_in_internal_group",
                        "high" if row.group_category == "internal" else "medium",
                        row.roomid,
                        row.sender,
                        int(row.msgtime),
                        msgid=row.msgid,
                        anchor_msgid=row.msgid,
                        score=float(count),
                        evidence={"group_category": row.group_category, "messages": count},
                    )
                )
        return events
