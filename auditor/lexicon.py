"""Dictionaries → one index of the terms of every lexicon (``TermIndex``).

Format (DESIGN.md): one UTF-8 file per lexicon category; ``#`` starts a comment; a line is
``term``, ``term<TAB>severity`` or ``term<TAB>severity<TAB>tag``. The tag names the rule
(``illegal.gambling``) or, for rumor cues, the cue's role; in ``allowlist.txt`` a tag
``room:<roomid>`` limits the phrase to one group (see ``auditor/allowlist.py``). The package's
``dictionaries/`` come first; ``W/dictionaries/`` (or a replay's ``--dictionaries``) adds company
terms under the same file names. Terms are normalized like the text they are matched against, so a
traditional or full-width spelling in a dictionary still matches. A Latin term written with
spaces is pinyin split into syllables (``cao ni ma``): it also matches with the syllables joined
(caonima) or split by one common separator (cao.ni.ma, cao_ni_ma, cao-ni-ma, cao*ni*ma).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auditor.categories import SEVERITIES
from auditor.errors import AuditorError
from auditor.resources import data_dir
from auditor.text.batch import SEPARATOR, Joined, TermIndex
from auditor.text.normalize import Normalized, normalize

# file stem → default severity for its terms. Files not listed here are plain term sets.
MATCHED_LEXICONS = {
    "profanity": "medium",
    "abuse": "medium",
    "illegal": "high",
    "rumor": "low",
    "confidential": "medium",
    "ad": "low",
    "allowlist": "low",
    "debunked": "high",
}
# Lexicons whose two-character terms are also common morphemes of innocent words.
BOUNDARY_CHECKED = ("profanity", "abuse", "illegal")
TERM_SETS = ("link_blocklist", "link_allowlist", "link_user_content", "shorteners")
LEXICON_FILES = (*MATCHED_LEXICONS, *TERM_SETS)
# What people put between pinyin syllables; "..." is the ellipsis after NFKC.
SYLLABLE_SEPARATORS = ("", " ", ".", "_", "-", "*", "...", "、", "~")
ROOM_SCOPE = "room:"


@dataclass(frozen=True)
class Entry:
    term: str  # as written in the dictionary
    key: str  # normalized, what the index matches
    category: str  # file stem
    severity: str
    tag: str
    origin: str  # "builtin" or "company"

    @property
    def rule(self) -> str:
        return f"{self.category}.{self.tag}"

    @property
    def is_latin(self) -> bool:
        """Starts and ends with a Latin letter or digit: boundaries are ASCII word boundaries."""
        first, last = self.key[0], self.key[-1]
        return first.isascii() and last.isascii() and first.isalnum() and last.isalnum()

    @property
    def room(self) -> str | None:
        """The one group an allowlisted phrase applies to (tag ``room:<roomid>``); None: everywhere."""
        if self.category == "allowlist" and self.tag.startswith(ROOM_SCOPE):
            return self.tag[len(ROOM_SCOPE) :]
        return None

    @property
    def needs_boundary(self) -> bool:
        """Latin terms, single characters and two-character insults only count on word boundaries
        (sb ≠ SB2024, 操 ≠ 操场, 垃圾 ≠ 垃圾桶, 大麻 ≠ 大麻烦); longer or distinctive cues (速转) do not."""
        return (
            self.is_latin or len(self.key) == 1 or (len(self.key) == 2 and self.category in BOUNDARY_CHECKED)
        )


@dataclass(frozen=True)
class Match:
    entry: Entry
    start: int  # in the normalized text
    end: int
    orig_start: int
    orig_end: int


def builtin_dir() -> Path:
    return data_dir("dictionaries")


def parse_lines(text: str, category: str, origin: str, where: str) -> list[Entry]:
    default = MATCHED_LEXICONS.get(category, "low")
    entries = []
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0].rstrip() if not raw_line.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t")]
        term = parts[0]
        severity = parts[1] if len(parts) > 1 and parts[1] else default
        if severity not in SEVERITIES:
            raise AuditorError(
                f"{where}:{lineno}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
            )
        tag = parts[2] if len(parts) > 2 and parts[2] else ("company" if origin == "company" else "lexicon")
        key = normalize(term).text if category in MATCHED_LEXICONS else term.strip().lower()
        for spelling in spellings(key) if category in MATCHED_LEXICONS else (key,):
            if spelling:
                entries.append(Entry(term, spelling, category, severity, tag, origin))
    return entries


def spellings(key: str) -> tuple[str, ...]:
    """The keys a normalized term matches: itself, or for spaced pinyin (``sha bi``) every
    separator between the syllables."""
    syllables = key.split(" ")
    if len(syllables) < 2 or not key.isascii() or not all(s.isalpha() for s in syllables):
        return (key,)
    return tuple(sep.join(syllables) for sep in SYLLABLE_SEPARATORS)


class Lexicon:
    """All dictionary entries, the index of the matched ones, and the plain term sets."""

    def __init__(self, folders: Iterable[tuple[Path, str]]) -> None:
        self.entries: list[Entry] = []
        digest = hashlib.sha256()
        for folder, origin in folders:
            if not folder.is_dir():
                continue
            for name in LEXICON_FILES:
                path = folder / f"{name}.txt"
                if not path.is_file():
                    continue
                data = path.read_bytes()
                digest.update(f"{origin}/{name}\0".encode() + data + b"\0")
                try:
                    text = data.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise AuditorError(
                        f"{path}: dictionaries must be UTF-8 ({exc.reason} at byte {exc.start})"
                    ) from None
                self.entries += parse_lines(text, name, origin, str(path))
        self.digest = digest.hexdigest()
        self.sets: dict[str, frozenset[str]] = {
            name: frozenset(e.key for e in self.entries if e.category == name) for name in TERM_SETS
        }
        by_key: dict[str, list[Entry]] = defaultdict(list)
        # group-scoped allowlist phrases: analysis is per distinct text, whatever the group, so these
        # are applied per message afterwards (allowlist.unsuppressed), never by the index
        self.room_allowlist: dict[str, tuple[str, ...]] = {}
        for entry in self.entries:
            if entry.room is not None:
                self.room_allowlist[entry.room] = (*self.room_allowlist.get(entry.room, ()), entry.key)
            elif entry.category in MATCHED_LEXICONS:
                by_key[entry.key].append(entry)
        self.terms = TermIndex({key: (len(key), tuple(entries)) for key, entries in by_key.items()})
        self.words = list(by_key)

    @classmethod
    def load(cls, company_dir: Path | None) -> Lexicon:
        folders = [(builtin_dir(), "builtin")]
        if company_dir is not None:
            folders.append((company_dir, "company"))
        return cls(folders)

    def find(self, norm: Normalized) -> list[Match]:
        """Every match of every term, before boundary checks, in text order."""
        out = []
        for end_index, (length, entries) in self.terms.find(norm.text):
            start, end = end_index - length + 1, end_index + 1
            orig_start, orig_end = norm.span(start, end)
            for entry in entries:
                out.append(Match(entry, start, end, orig_start, orig_end))
        return out

    def find_many(self, norms: list[Normalized]) -> list[Sequence[Match]]:
        """``find`` for every text of a batch, in one pass over the joined batch (a numpy screen, then a
        comparison where a term may start: a few places in a hundred texts in chat)."""
        out: list[Sequence[Match]] = [()] * len(norms)  # most texts match nothing: one shared empty tuple
        if not self.words:
            return out
        joined = Joined.of([norm.text for norm in norms])
        if joined.joined.count(SEPARATOR) != len(norms) - 1:  # rare: a text holds the separator itself
            return [self.find(norm) for norm in norms]
        found = self.terms.find(joined.joined)
        if not found:
            return out
        rows = joined.rows(np.array([end_index for end_index, _ in found])).tolist()
        starts = joined.starts.tolist()
        for (end_index, (length, entries)), row in zip(found, rows, strict=True):
            end = end_index + 1 - starts[row]
            start = end - length
            orig_start, orig_end = norms[row].span(start, end)
            out[row] = [*out[row], *(Match(entry, start, end, orig_start, orig_end) for entry in entries)]
        return out
