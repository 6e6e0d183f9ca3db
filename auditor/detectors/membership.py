"""Membership (成员管理): people in groups they should not be in.

- someone the HR roster marks ``left`` still posting after their leaving date;
- an external contact (wo…/wm… ids) posting in an ``internal`` or ``project`` group.
Robots (wb…) are never counted as people. One finding per person, room and day.
"""

from __future__ import annotations

import datetime as dt

from auditor.detectors import register
from auditor.detectors.base import DayDetector, Event
from auditor.detectors.day import Day


@register
class Membership(DayDetector):
    category = "membership"

    def detect(self, day: Day) -> list[Event]:
        messages = day.group_messages().sort_values(["msgtime", "msgid"])
        today = dt.date.fromisoformat(day.date)
        events = []
        for (roomid, sender), frame in messages.groupby(["roomid", "sender"], sort=True):
            first = frame.iloc[0]
            person = day.roster.get(sender)
            if person and person["status"] == "left" and person["left_date"] and person["left_date"] < today:
                events.append(
                    Event(
                        "membership",
                        "membership.left_member",
                        "high",
                        roomid,
                        sender,
                        int(first.msgtime),
                        msgid=first.msgid,
                        anchor_msgid=first.msgid,
                        score=float(len(frame)),
                        evidence={"left_date": person["left_date"].isoformat(), "messages": len(frame)},
                    )
                )
            category = first.group_category
            if first.sender_kind == "external" and category in ("internal", "project"):
                events.append(
                    Event(
                        "membership",
                        "membership.external_in_internal_group",
                        "high" if category == "internal" else "medium",
                        roomid,
                        sender,
                        int(first.msgtime),
                        msgid=first.msgid,
                        anchor_msgid=first.msgid,
                        score=float(len(frame)),
                        evidence={"group_category": category, "messages": len(frame)},
                    )
                )
        return events
