"""Flooding (刷屏): one person, one room, too many messages too fast, or the same message again and again.

Thresholds in auditor.toml ``[detectors.flooding]``: ≥ burst_messages within burst_seconds, or
≥ repeat_messages near-identical ones (equal once punctuation and repeats are stripped) within
repeat_seconds. Overlapping bursts of one sender merge into one conversation-level finding.
Ten people each saying 收到 once is not flooding: counting is per sender.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.detectors import register
from auditor.detectors.base import DayDetector, Event
from auditor.detectors.day import Day, same_values, stable_order
from auditor.string_codes import string_codes
from auditor.text.batch import CodepointTable, Joined, codepoints
from auditor.text.normalize import normalize_many


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


# A word character, as Python's ``re`` means ``[^\W_]``: the characters repeat keys keep.
_WORD = CodepointTable(str.isalnum)
# UTF-8 bytes per code point: 1 below U+0080, 2 below U+0800, 3 below U+10000, else 4.
_UTF8_STEPS = np.array([0x80, 0x800, 0x10000], dtype=np.uint32)


def keys_of_normalized(texts: list[str]) -> pa.Array:
    r"""The repeat key of each normalized text: what makes two messages the same for repeat counting,
    the text without punctuation, symbols or blanks (``re.sub(r"[\W_]+", "", text)``).

    One numpy pass over the joined batch (``Joined``: its separators are no word characters, and
    the texts' own lengths say where each ends), and the keys are built as one Arrow array from the
    kept characters' UTF-8 bytes, with no Python string per text."""
    joined = Joined.of(texts)
    points = codepoints(joined.joined)
    keep = _WORD(points)
    kept = points[keep]
    byte_ends = np.zeros(len(kept) + 1, dtype=np.int64)  # after each kept character
    np.cumsum(1 + np.searchsorted(_UTF8_STEPS, kept, side="right"), out=byte_ends[1:])
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = byte_ends[np.cumsum(joined.counts(keep))]
    data = kept.tobytes().decode("utf-32-le", "surrogatepass").encode("utf-8", "surrogatepass")
    array = pa.LargeStringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(data))
    return array.cast(pa.string())


def repeat_keys(texts: list[str], batch: int = 2000) -> pa.Array:
    """The repeat key of each raw text, normalized a batch at a time (``normalize_many``)."""
    keys = [
        keys_of_normalized([norm.text for norm in normalize_many(texts[i : i + batch])])
        for i in range(0, len(texts), batch)
    ]
    return pa.concat_arrays(keys) if keys else pa.array([], pa.string())


def candidate_groups(codes: np.ndarray, times: np.ndarray, threshold: int, span_ms: int) -> np.ndarray:
    """Codes (rows sorted by code, then time) of groups where ``threshold`` rows fit in span_ms.

    Vectorized: row i starts a qualifying window when row i+threshold-1 has the same code and
    lies within the span. Only those few groups are then examined one by one.
    """
    n = threshold - 1
    if len(times) <= n:
        return np.empty(0, dtype=codes.dtype)
    if n == 0:
        return np.unique(codes)
    ok = (codes[n:] == codes[:-n]) & (times[n:] - times[:-n] <= span_ms)
    return np.unique(codes[:-n][ok])


@register
class Flooding(DayDetector):
    category = "flooding"

    def detect(self, day: Day) -> list[Event]:
        cfg = self.settings
        messages = day.group_messages()
        if messages.empty:
            return []
        roomids = messages["roomid"].to_numpy(dtype=object)
        senders = messages["sender"].to_numpy(dtype=object)
        person = day.people()
        times = messages["msgtime"].to_numpy(dtype=np.int64)
        ids = messages["msgid"].to_numpy(dtype=object)
        keys = self._repeat_keys(day, person, times)
        same_text = same_values(person, keys)
        same_text[keys < 0] = -1  # media without text never repeat

        found: dict[int, list[tuple[list[tuple[int, str]], str]]] = defaultdict(list)
        for kind, codes, threshold, seconds in (
            ("burst", person, cfg["burst_messages"], cfg["burst_seconds"]),
            ("repeat", same_text, cfg["repeat_messages"], cfg["repeat_seconds"]),
        ):
            # rows are in (msgtime, msgid) order: each group's stay in it
            # (msgids are read only for the few spans found: taking them all in order costs more)
            order = day.people_order() if kind == "burst" else stable_order(codes)
            c, t = codes[order], times[order]
            for code in candidate_groups(c, t, threshold, seconds * 1000):
                if code < 0:
                    continue
                lo, hi = np.searchsorted(c, code, "left"), np.searchsorted(c, code, "right")
                for i, j in bursts(t[lo:hi], threshold, seconds * 1000):
                    span = [(int(t[k]), str(ids[order[k]])) for k in range(lo + i, lo + j)]
                    found[int(person[order[lo]])].append((span, kind))
        # events come out sorted below; within one person _merge orders them, so codes need no order
        first_rows = day.first_rows()
        events = []
        for code in found:
            row = first_rows[code]
            events += self._merge(roomids[row], senders[row], found[code])
        return sorted(events, key=lambda e: (e.msgtime, e.roomid, e.sender))

    def _repeat_keys(self, day: Day, person: np.ndarray, times: np.ndarray) -> np.ndarray:
        """A code per message of ``day.group_messages()``, equal where the repeat keys are, for the
        messages of people who post ``repeat_messages`` messages within ``repeat_seconds`` at all
        (whatever they say); -1 for everyone else and for messages without text: only they can
        repeat themselves that often. The keys come from the day (the audit's analysis computed
        them) when it has them; otherwise only the busy people's distinct texts are normalized."""
        threshold, span_ms = self.settings["repeat_messages"], self.settings["repeat_seconds"] * 1000
        order = day.people_order()
        busy = np.flatnonzero(
            np.isin(person, candidate_groups(person[order], times[order], threshold, span_ms))
        )
        codes = np.full(len(person), -1, dtype=np.int64)
        if day.repeat_keys is not None:
            codes[busy] = day.repeat_keys.codes(np.flatnonzero(day.group_rows)[busy])
            return codes
        texts = day.group_texts(busy)
        text_codes, distinct = pd.factorize(texts)
        codes[busy] = string_codes(repeat_keys(list(distinct)))[0][text_codes]
        return codes

    def _merge(self, roomid: str, sender: str, found: list[tuple[list[tuple[int, str]], str]]) -> list[Event]:
        """Overlapping bursts of one person become one event listing every message once."""
        merged: list[tuple[set[tuple[int, str]], set[str]]] = []
        for span, kind in sorted(found):
            if merged and span[0][0] <= max(merged[-1][0])[0]:
                merged[-1][0].update(span)
                merged[-1][1].add(kind)
            else:
                merged.append((set(span), {kind}))
        events = []
        for span, kinds in merged:
            ordered = sorted(span)
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
                    ordered[0][0],
                    anchor_msgid=ordered[0][1],
                    score=float(count),
                    evidence={
                        "messages": count,
                        "seconds": round((ordered[-1][0] - ordered[0][0]) / 1000, 1),
                        "kinds": sorted(kinds),
                        "msgids": [m for _, m in ordered][:50],
                    },
                )
            )
        return events
