"""Quarrels (争吵): two or more people trading profanity or abuse in one room.

Profane or abusive messages in a room are chained while each follows the previous within
``window_seconds``; a chain with ≥ min_participants senders and ≥ min_messages messages is one
conversation-level finding naming the participants. One person swearing alone is not a quarrel, and
neither are interjections alone: a chain needs one message that abuses or swears above ``low``
(卧槽, 我靠 — the low-severity profanity — are how colleagues cheer a release as often as how they fight).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import NamedTuple

import numpy as np

from auditor.detectors import register
from auditor.detectors.base import DayDetector, Event, Hit
from auditor.detectors.day import Day

HOSTILE = ("profanity", "abuse")


class Message(NamedTuple):
    msgtime: int  # epoch ms
    sender: str
    msgid: str


def _pointed(hit: Hit) -> bool:
    """Abuse, or profanity stronger than an interjection."""
    return hit.category == "abuse" or (hit.category == "profanity" and hit.severity != "low")


@register
class Quarrel(DayDetector):
    category = "quarrel"

    def detect(self, day: Day) -> list[Event]:
        messages = day.group_messages()
        hostile_ids = {m for m, hits in day.hits.items() if any(h.category in HOSTILE for h in hits)}
        pointed = {m for m in hostile_ids if any(_pointed(h) for h in day.hits[m])}
        hostile = messages[messages["msgid"].isin(hostile_ids)]  # a few in a thousand messages
        window_ms = self.settings["window_seconds"] * 1000
        by_room: dict[str, list[Message]] = defaultdict(list)  # each room's in time order
        for roomid, *message in zip(
            hostile["roomid"].tolist(),
            hostile["msgtime"].to_numpy(dtype=np.int64).tolist(),
            hostile["sender"].tolist(),
            hostile["msgid"].tolist(),
            strict=True,
        ):
            by_room[roomid].append(Message(*message))
        events = []
        for roomid in sorted(by_room):
            chain: list[Message] = []
            for message in by_room[roomid]:
                if chain and message.msgtime - chain[-1].msgtime > window_ms:
                    events += self._event(roomid, chain, pointed)
                    chain = []
                chain.append(message)
            events += self._event(roomid, chain, pointed)
        return events

    def _event(self, roomid: str, chain: list[Message], pointed: set[str]) -> list[Event]:
        senders = Counter(message.sender for message in chain)
        if len(senders) < self.settings["min_participants"] or len(chain) < self.settings["min_messages"]:
            return []
        if not any(message.msgid in pointed for message in chain):  # interjections only
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
                chain[0].msgtime,
                anchor_msgid=chain[0].msgid,
                score=float(len(chain)),
                evidence={
                    "participants": participants,
                    "messages": len(chain),
                    "per_person": dict(sorted(senders.items())),
                    "seconds": round((chain[-1].msgtime - chain[0].msgtime) / 1000, 1),
                    "msgids": [message.msgid for message in chain][:50],
                },
            )
        ]
