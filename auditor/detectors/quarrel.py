"""Quarrels (争吵): two or more people trading profanity or abuse in one room.

Profane or abusive messages in a room are chained while each follows the previous within
``window_seconds``; a chain with ≥ min_participants senders and ≥ min_messages messages is one
conversation-level finding naming the participants. One person swearing alone is not a quarrel.
"""

from __future__ import annotations

from collections import Counter

from auditor.detectors import register
from auditor.detectors.base import DayDetector, Event
from auditor.detectors.day import Day

HOSTILE = ("profanity", "abuse")


@register
class Quarrel(DayDetector):
    category = "quarrel"

    def detect(self, day: Day) -> list[Event]:
        messages = day.group_messages()
        hostile_ids = {m for m, hits in day.hits.items() if any(h.category in HOSTILE for h in hits)}
        hostile = messages[messages["msgid"].isin(hostile_ids)]
        window_ms = self.settings["window_seconds"] * 1000
        events = []
        for roomid, frame in hostile.groupby("roomid", sort=True):
            chain: list[tuple] = []
            for row in frame.itertuples(index=False):
                if chain and row.msgtime - chain[-1].msgtime > window_ms:
                    events += self._event(roomid, chain)
                    chain = []
                chain.append(row)
            events += self._event(roomid, chain)
        return events

    def _event(self, roomid: str, chain: list) -> list[Event]:
        senders = Counter(row.sender for row in chain)
        if len(senders) < self.settings["min_participants"] or len(chain) < self.settings["min_messages"]:
            return []
        participants = sorted(senders)
        severity = "high" if len(chain) >= 2 * self.settings["min_messages"] else "medium"
        return [
            Event(
                "quarrel",
                "quarrel.exchange",
                severity,
                roomid,
                participants[0],
                int(chain[0].msgtime),
                anchor_msgid=chain[0].msgid,
                score=float(len(chain)),
                evidence={
                    "participants": participants,
                    "messages": len(chain),
                    "per_person": dict(sorted(senders.items())),
                    "seconds": round((chain[-1].msgtime - chain[0].msgtime) / 1000, 1),
                    "msgids": [row.msgid for row in chain][:50],
                },
            )
        ]
