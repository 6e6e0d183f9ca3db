"""Flooding (刷屏): one person, one room, too many messages too fast, or the same message again and again.

Thresholds in auditor.toml ``[detectors.flooding]``: ≥ burst_messages within burst_seconds, or
≥ repeat_messages near-identical ones (equal once punctuation and repeats are stripped) within
repeat_seconds. Overlapping bursts of one sender merge into one conversation-level finding.
Ten people each saying 收到 once is not flooding: counting is per sender.
"""

from __future__ import annotations

import re

import numpy as np

from auditor.detectors import register
from auditor.detectors.base import DayDetector, Event
from auditor.detectors.day import Day
from auditor.text.normalize import normalize

_NOT_WORD = re.compile(r"[\W_]+")


def bursts(times: np.ndarray, threshold: int, span_ms: int) -> list[tuple[int, int]]:
    """Index ranges [i, j) of sorted ``times`` where ≥ threshold fall within span_ms, merged."""
    if len(times) < threshold:
        return []
    ends = np.searchsorted(times, times + span_ms, side="right")
    out: list[tuple[int, int]] = []
    for i in np.nonzero(ends - np.arange(len(times)) >= threshold)[0]:
        i, j = int(i), int(ends[i])
        if out and i < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], j))
        else:
            out.append((i, j))
    return out


def repeat_key(text: str) -> str:
    return _NOT_WORD.sub("", normalize(text).text)


@register
class Flooding(DayDetector):
    category = "flooding"

    def detect(self, day: Day) -> list[Event]:
        cfg = self.settings
        messages = day.group_messages().sort_values(["msgtime", "msgid"])
        events = []
        for (roomid, sender), frame in messages.groupby(["roomid", "sender"], sort=True):
            if len(frame) < min(cfg["burst_messages"], cfg["repeat_messages"]):
                continue
            found: list[tuple[int, int, list[str], str]] = []  # (first ms, last ms, msgids, kind)
            times = frame["msgtime"].to_numpy()
            ids = frame["msgid"].to_list()
            for i, j in bursts(times, cfg["burst_messages"], cfg["burst_seconds"] * 1000):
                found.append((int(times[i]), int(times[j - 1]), ids[i:j], "burst"))
            keys = frame["text"].map(repeat_key)
            for _key, same in frame[keys != ""].groupby(keys[keys != ""], sort=True):
                t, same_ids = same["msgtime"].to_numpy(), same["msgid"].to_list()
                for i, j in bursts(t, cfg["repeat_messages"], cfg["repeat_seconds"] * 1000):
                    found.append((int(t[i]), int(t[j - 1]), same_ids[i:j], "repeat"))
            events += self._merge(roomid, sender, sorted(found), {m: i for i, m in enumerate(ids)})
        return events

    def _merge(self, roomid: str, sender: str, found: list, position: dict[str, int]) -> list[Event]:
        merged: list[list] = []
        for first, last, ids, kind in found:
            if merged and first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], last)
                merged[-1][2] |= set(ids)
                merged[-1][3].add(kind)
            else:
                merged.append([first, last, set(ids), {kind}])
        events = []
        for first, last, ids, kinds in merged:
            ordered = sorted(ids, key=position.__getitem__)
            count = len(ordered)
            severity = "high" if count >= 3 * self.settings["burst_messages"] else "medium"
            rule = "flooding.burst" if "burst" in kinds else "flooding.repeat"
            events.append(
                Event(
                    "flooding",
                    rule,
                    severity,
                    roomid,
                    sender,
                    first,
                    msgid=None,
                    anchor_msgid=ordered[0],
                    score=float(count),
                    evidence={
                        "messages": count,
                        "seconds": round((last - first) / 1000, 1),
                        "kinds": sorted(kinds),
                        "msgids": ordered[:50],
                    },
                )
            )
        return events
