"""Allowlisting learned from review dismissals: scoped, previewed, written one at a time.

A dismissal with ``--allowlist`` adds the matched text *in its context* (the term with up to
``CONTEXT_CHARS`` characters either side, on its own line), never a bare term: dismissing
"tmd 又要通宵加班" must not silence every other tmd. ``--group`` limits the phrase to the finding's
group: the line gets the tag ``room:<roomid>`` (``phrase<TAB>low<TAB>room:<roomid>``), and since
text analysis is per distinct text, whatever the group, such phrases are applied per message by
``unsuppressed`` in the audit. Before anything is written, ``preview`` re-analyses the past
messages that contain a new phrase with the new allowlist and counts the findings it would
silence. Writers hold ``W/dictionaries/.allowlist.lock`` and replace the file atomically, so
parallel dismissals keep every phrase.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from auditor import atomic, lake
from auditor.errors import AuditorError
from auditor.lexicon import ROOM_SCOPE
from auditor.text.normalize import normalize
from auditor.workspace import Workspace

CONTEXT_CHARS = 6
# Categories whose hits come from dictionary terms or the abuse model: the ones a company-wide phrase
# silences too (inside TextView). Personal data, secrets and links are never allowlisted by a phrase.
SUPPRESSIBLE = frozenset({"profanity", "abuse", "illegal", "rumor", "confidential", "ad"})
FILE_NAME = "allowlist.txt"
HEADER = "# Accepted phrases (review dismissals): phrase, or phrase<TAB>low<TAB>room:<roomid> for one group\n"
_NOT_IN_A_LINE = "\n\r\t#"  # the dictionary format: one phrase per line, TAB-separated fields, # comments


@dataclass(frozen=True)
class Phrase:
    text: str
    room: str | None = None  # None: every group
    finding_id: str = ""  # the dismissed finding it comes from

    @property
    def line(self) -> str:
        return self.text if self.room is None else f"{self.text}\tlow\t{ROOM_SCOPE}{self.room}"


def phrase_in_context(text: str, start: int, end: int) -> str | None:
    """The matched text with up to CONTEXT_CHARS characters either side on its line; None when there
    is no context to add (the message is the bare term) or the match itself spans lines."""
    term = text[start:end]
    if not term.strip() or any(c in term for c in _NOT_IN_A_LINE):
        return None
    line_start = max(text.rfind(c, 0, start) for c in _NOT_IN_A_LINE) + 1
    line_end = min((i for i in (text.find(c, end) for c in _NOT_IN_A_LINE) if i >= 0), default=len(text))
    phrase = text[max(line_start, start - CONTEXT_CHARS) : min(line_end, end + CONTEXT_CHARS)].strip()
    return phrase if len(phrase) > len(term.strip()) else None


def phrase_for(finding: dict[str, Any], text: str, scoped: bool) -> Phrase:
    """The allowlist phrase for a dismissed message finding, or a clear refusal."""
    fid = finding["finding_id"]
    if finding["msgid"] is None or finding["start"] is None:
        raise AuditorError(f"finding {fid} is conversation-level: it has no phrase to allowlist")
    phrase = phrase_in_context(text, finding["start"], finding["end"])
    if phrase is None:
        raise AuditorError(
            f"finding {fid}: the message is the bare term {text[finding['start'] : finding['end']]!r} "
            f"with no context on its line, and allowlisting a bare term would silence it everywhere; "
            f"if that is meant, add it to W/dictionaries/{FILE_NAME} by hand"
        )
    room = finding["roomid"] if scoped else None
    if room is not None and (not room or any(c in room for c in _NOT_IN_A_LINE + " ")):
        raise AuditorError(f"finding {fid}: its group id {room!r} cannot be written as a scope")
    return Phrase(phrase, room, fid)


def message_texts(ws: Workspace, findings: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """msgid → (text, msgtype) for the findings' messages, read one date at a time."""
    by_date: dict[str, set[str]] = {}
    for f in findings:
        if f["msgid"] is not None:
            by_date.setdefault(str(f["date"]), set()).add(f["msgid"])
    out = {}
    for date, msgids in by_date.items():
        table = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid", "text", "msgtype"])
        # the few finding messages are picked in Arrow: a date's whole text column never becomes Python
        table = table.filter(pc.is_in(table.column("msgid"), value_set=pa.array(sorted(msgids), pa.string())))
        for msgid, text, msgtype in zip(
            *(table.column(c).to_pylist() for c in ("msgid", "text", "msgtype")), strict=True
        ):
            out[msgid] = (text or "", msgtype)
    return out


def room_spans(keys: Iterable[str], text: str) -> list[tuple[int, int]]:
    """Original-text spans of every occurrence of the normalized ``keys`` in ``text``."""
    norm = normalize(text)
    spans = []
    for key in keys:
        at = norm.text.find(key)
        while key and at >= 0:
            spans.append(norm.span(at, at + len(key)))
            at = norm.text.find(key, at + 1)
    return spans


def unsuppressed(room_allowlist: dict[str, tuple[str, ...]], roomid: str, text: str, hits: list) -> list:
    """The hits of a message in ``roomid`` that no phrase allowlisted for that group overlaps."""
    keys = room_allowlist.get(roomid)
    if not keys or not hits:
        return hits
    spans = room_spans(keys, text)
    return [
        h
        for h in hits
        if h.category not in SUPPRESSIBLE or not any(a < h.end and h.start < b for a, b in spans)
    ]


@contextlib.contextmanager
def _locked(ws: Workspace) -> Iterator[Path]:
    """Serialise allowlist writers (reviewers may run in parallel; the nightly lock is not theirs)."""
    ws.dictionaries_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(ws.dictionaries_dir / ".allowlist.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield ws.dictionaries_dir / FILE_NAME
    finally:
        os.close(fd)


def _present(existing: str) -> set[str]:
    return {line.rstrip("\n") for line in existing.splitlines()}


def add(ws: Workspace, phrases: list[Phrase]) -> list[Phrase]:
    """Append the phrases not yet present, under the lock, atomically; returns those added."""
    with _locked(ws) as path:
        existing = path.read_text(encoding="utf-8") if path.exists() else HEADER
        present = _present(existing)
        added = list({p.line: p for p in phrases if p.line not in present}.values())
        if added:
            atomic.write_text(path, existing.rstrip("\n") + "\n" + "".join(f"{p.line}\n" for p in added))
    return added


@dataclass
class Preview:
    silenced: list[str]  # finding ids the new phrases would silence (the dismissed ones included)
    unsilenced_own: list[str]  # dismissed findings their own phrase would not silence


def preview(ws: Workspace, phrases: list[Phrase], findings: dict[str, dict[str, Any]]) -> Preview:
    """Re-analyse the past messages that contain a new phrase with the allowlist as it would be, and
    name the message findings that would disappear."""
    from auditor.analyzer import Analyzer, Ruleset
    from auditor.engines.chunk import FILE_TYPES

    candidates = [f for f in findings.values() if f["msgid"] is not None]
    texts = message_texts(ws, candidates)
    keys = {p: normalize(p.text).text for p in phrases}
    touched = [
        f
        for f in candidates
        if f["msgid"] in texts
        and any(
            key in normalize(texts[f["msgid"]][0]).text and p.room in (None, f["roomid"])
            for p, key in keys.items()
        )
    ]
    silenced: list[str] = []
    if touched:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if ws.dictionaries_dir.is_dir():
                for path in ws.dictionaries_dir.glob("*.txt"):
                    shutil.copyfile(path, folder / path.name)
            allow = folder / FILE_NAME
            before = allow.read_text(encoding="utf-8") if allow.exists() else ""
            allow.write_text(before + "\n" + "".join(f"{p.line}\n" for p in phrases), encoding="utf-8")
            ruleset = Ruleset(ws.config, folder)
            analyzer = Analyzer(ruleset)
            for f in touched:
                text, msgtype = texts[f["msgid"]]
                hits = analyzer.analyze(text, msgtype in FILE_TYPES)
                hits = unsuppressed(ruleset.lexicon.room_allowlist, f["roomid"], text, hits)
                if f["category"] not in {h.category for h in hits}:
                    silenced.append(f["finding_id"])
    own = [p.finding_id for p in phrases if p.finding_id and p.finding_id not in silenced]
    return Preview(sorted(silenced), own)
