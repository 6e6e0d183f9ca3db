"""The one small interface every detector implements, and the records they produce.

Two kinds, because some rules see one message and some see a conversation:

- a ``TextDetector`` looks at one text (``scan``) and returns ``Hit``s. It is a pure function of
  the text, so each distinct text is analysed once per run, in worker processes. It sees a whole
  batch (``scan_batch``): the normalization and the lexicon automaton have run over the batch at
  once (``TextBatch``), and ``scan`` runs only on the texts a cheap batch pass says can hit;
- a ``DayDetector`` looks at one day of messages with the text hits (``detect``) and returns
  ``Event``s: flooding bursts, quarrels, membership breaches.
"""

from __future__ import annotations

import abc
import bisect
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from auditor.lexicon import SEVERITIES, Lexicon, Match
from auditor.text.batch import SEPARATOR, Joined, codepoints, nfkc
from auditor.text.normalize import COMPOSING, ZERO_WIDTH, Normalized, fold_width, normalize, normalize_many
from auditor.text.segment import Segmenter

if TYPE_CHECKING:
    from auditor.detectors.day import Day

_ASCII_WORD = re.compile(r"[a-z0-9]")
# A Latin term used as an identifier in code pasted into chat (StringBuilder sb = …, sb.append(,
# int cnm;): assigned, called, indexed, a member, or a statement's end.
_CODE_AFTER = re.compile(r"\s*(?:=|;|\[|\(\)|\.[a-z_]|->|::)")
_CODE_BEFORE = re.compile(r"(?:[.$@>]|::)$")
# A title of a work in book-title marks (《无耻混蛋》, 《白痴》) names a film or a book, it does not
# call anyone names: profanity and insult terms inside one are not hits. Other categories (a
# codename in 《北极星计划》, 《绝密》) still are.
_TITLE = re.compile(r"《[^《》\n]{1,40}》")
TITLE_EXEMPT_CATEGORIES = frozenset({"profanity", "abuse"})


def raise_severity(severity: str, steps: int = 1) -> str:
    index = min(len(SEVERITIES) - 1, max(0, SEVERITIES.index(severity) + steps))
    return SEVERITIES[index]


def max_severity(*severities: str) -> str:
    return max(severities, key=SEVERITIES.index)


@dataclass(frozen=True)
class Hit:
    """Something a text detector found, with offsets into the original text."""

    category: str
    rule: str
    severity: str
    start: int
    end: int
    score: float = 1.0
    evidence: dict[str, Any] = field(default_factory=dict, hash=False)
    masked: str | None = None  # personal data or secrets: what the span shows in excerpts

    @classmethod
    def of_match(cls, match: Match, **changes: Any) -> Hit:
        evidence = {"term": match.entry.term, "lexicon": f"{match.entry.origin}/{match.entry.category}.txt"}
        evidence.update(changes.pop("evidence", {}))
        values = {
            "category": match.entry.category,
            "rule": match.entry.rule,
            "severity": match.entry.severity,
            "start": match.orig_start,
            "end": match.orig_end,
            "evidence": evidence,
        }
        values.update(changes)
        return cls(**values)


class Sensitive(NamedTuple):
    """A span of personal data or a secret in a plain string, with what it shows once masked."""

    start: int
    end: int
    rule: str
    severity: str
    masked: str


class Prefilter:
    """One regex pass over a whole batch that says which texts can match a detector at all.

    Pattern detectors are cheap per text but most chat has nothing for them; a single search over
    the joined batch keeps Python work to the few candidates. The pattern sees the batch as the
    detectors see it (``fold_width``: NFKC, zero-width characters dropped), lower-cased (full-width
    and upper-case evasions pass too), and must match wherever any of the detector's rules could.
    A text with combining marks is always a candidate (NFKC of the whole batch may compose what
    ``fold_width`` keeps apart).

    ``pattern`` opens with a look-ahead class (``(?=[…])``) naming the characters a match can start
    with, and ``starts`` (the inside of a character class, case-sensitive) lists every character
    that class matches (``test_prefilter_starts_cover_their_patterns``). The batch is searched for
    ``[starts]`` followed by a look back that matches ``pattern`` from that character: the same
    places as ``pattern``, but ``re`` skips from one such character to the next in a C loop (about
    1 ns a character of Chinese) only when a pattern opens with a plain, case-sensitive character
    class; a pattern that opens with a look-ahead, a case-insensitive class or alternatives of
    classes is tried at every place (10–15 ns a character).
    """

    _SEPARATOR = SEPARATOR

    def __init__(self, pattern: re.Pattern[str], starts: str) -> None:
        if pattern.flags & ~(re.IGNORECASE | re.UNICODE):
            raise ValueError("a prefilter pattern takes no flags but IGNORECASE")
        self.pattern = pattern
        inner = f"(?i:{pattern.pattern})" if pattern.flags & re.IGNORECASE else pattern.pattern
        self.starts = re.compile(f"[{starts}]")
        self._search = re.compile(f"[{starts}](?<=(?={inner})(?s:.))")

    @staticmethod
    def _fold(text: str) -> str:
        return nfkc(ZERO_WIDTH.sub("", text)).lower()

    def may_match(self, text: str) -> bool:
        """Whether a rule of the detector may match in ``text`` (one text: ``candidates`` of a batch)."""
        return may_match_any((self,), text)

    def candidates(self, texts: list[str]) -> list[int]:
        """Indexes of the texts the pattern finds something in, ascending."""
        batch = _folded_batch(self._SEPARATOR.join(texts), len(texts))
        if batch is None:  # rare: a text holds combining marks or the separator itself: search each
            return [i for i, t in enumerate(texts) if self.may_match(t)]
        folded, ends = batch
        found: list[int] = []
        position = 0
        while (match := self._search.search(folded, position)) is not None:
            index = bisect.bisect_right(ends, match.start())
            found.append(index)
            position = ends[index]  # the next text: one candidate is enough
        return found


def may_match_any(prefilters: Sequence[Prefilter], text: str) -> bool:
    """Whether a rule of any of ``prefilters``' detectors may match in one text, folded once for all.
    NFKC straight from ``unicodedata``: ``nfkc``'s table lookups pay off over a batch, not a line."""
    if COMPOSING.search(text):
        return True
    folded = unicodedata.normalize("NFKC", ZERO_WIDTH.sub("", text)).lower()
    return any(prefilter.pattern.search(folded) for prefilter in prefilters)


@functools.lru_cache(maxsize=1)
def _folded_batch(joined: str, count: int) -> tuple[str, list[int]] | None:
    """The folded batch and where each text ends, or None when it cannot be searched whole.

    Memoised for the last batch: every pattern detector's prefilter searches the same one.
    """
    if COMPOSING.search(joined) or joined.count(Prefilter._SEPARATOR) != count - 1:
        return None
    folded = Prefilter._fold(joined)
    separators = np.flatnonzero(codepoints(folded) == ord(Prefilter._SEPARATOR))
    return folded, [*(separators + 1).tolist(), len(folded) + 1]


@dataclass(frozen=True)
class Event:
    """Something a day detector found: a conversation-level finding (msgid may be None)."""

    category: str
    rule: str
    severity: str
    roomid: str
    sender: str
    msgtime: int  # epoch ms of the first message involved
    msgid: str | None = None
    anchor_msgid: str | None = None  # the message whose (masked) text becomes the excerpt
    score: float = 1.0
    evidence: dict[str, Any] = field(default_factory=dict, hash=False)


class TextView:
    """One text with its normalized forms and lexicon matches, each computed at most once (for a whole
    batch at once when the view is in a ``TextBatch``)."""

    def __init__(self, text: str, lexicon: Lexicon, segmenter: Segmenter, *, is_file: bool = False) -> None:
        self.text = text
        self.is_file = is_file
        self._lexicon = lexicon
        self._segmenter = segmenter
        self.batch: TextBatch | None = None

    @cached_property
    def norm(self) -> Normalized:
        return normalize(self.text)

    @cached_property
    def folded(self) -> Normalized:
        return fold_width(self.text)

    @cached_property
    def _boundaries(self) -> frozenset[int]:
        return self._segmenter.boundaries(self.norm.text)

    def _on_boundaries(self, match: Match) -> bool:
        text = self.norm.text
        if match.entry.is_latin:
            before = text[match.start - 1] if match.start > 0 else ""
            after = text[match.end] if match.end < len(text) else ""
            if _ASCII_WORD.match(before) or _ASCII_WORD.match(after):
                return False
            return not (_CODE_AFTER.match(text, match.end) or _CODE_BEFORE.search(text, 0, match.start))
        return match.start in self._boundaries and match.end in self._boundaries

    @cached_property
    def _found(self) -> Sequence[Match]:
        return self._lexicon.find(self.norm)

    @cached_property
    def allowed_spans(self) -> list[tuple[int, int]]:
        """Spans of allowlisted phrases in the normalized text."""
        return [(m.start, m.end) for m in self._found if m.entry.category == "allowlist"]

    def allowed(self, start: int, end: int) -> bool:
        """True when normalized [start, end) overlaps an allowlisted phrase (垃圾 in 垃圾分类)."""
        return any(a < end and start < b for a, b in self.allowed_spans)

    @cached_property
    def title_spans(self) -> list[tuple[int, int]]:
        """Spans of titles of works (《…》) in the normalized text."""
        return [m.span() for m in _TITLE.finditer(self.norm.text)] if "《" in self.norm.text else []

    def _in_title(self, match: Match) -> bool:
        return match.entry.category in TITLE_EXEMPT_CATEGORIES and any(
            a <= match.start and match.end <= b for a, b in self.title_spans
        )

    @cached_property
    def matches(self) -> list[Match]:
        """Lexicon matches on word boundaries and not inside an allowlisted phrase."""
        return [
            m
            for m in self._found
            if m.entry.category != "allowlist"
            and not self.allowed(m.start, m.end)
            and not self._in_title(m)
            and (not m.entry.needs_boundary or self._on_boundaries(m))
        ]

    @cached_property
    def _by_category(self) -> dict[str, list[Match]]:
        grouped: dict[str, list[Match]] = {}
        for match in self.matches:
            grouped.setdefault(match.entry.category, []).append(match)
        return grouped

    def terms(self, category: str) -> list[Match]:
        return self._by_category.get(category, [])


class TextBatch:
    """The views of one batch, normalized and matched against the lexicons together.

    ``normalize_many`` and one pass of the term index over the joined batch give each text its
    ``norm`` and lexicon matches (the same values a view computes alone); ``rows_with`` says which
    texts have a raw match in a lexicon, so a lexicon detector scans only those. A batch made from
    keys (``of_keys``) builds a text's view only when a detector asks for it (most never are).
    ``shared`` holds work that several detectors need once per batch (the learned models' features).
    """

    def __init__(self, views: list[TextView], lexicon: Lexicon) -> None:
        self._setup([view.text for view in views], lexicon, [view.is_file for view in views])
        self._views: list[TextView | None] = list(views)
        for i, view in enumerate(views):
            self._fill(i, view)

    @classmethod
    def of_keys(cls, keys: list[tuple[str, bool]], lexicon: Lexicon, segmenter: Segmenter) -> TextBatch:
        """The batch of (text, is_file) keys, its views built on first use."""
        batch = cls.__new__(cls)
        batch._setup([text for text, _ in keys], lexicon, [is_file for _, is_file in keys], segmenter)
        batch._views = [None] * len(keys)
        return batch

    def _setup(
        self, texts: list[str], lexicon: Lexicon, is_file: list[bool], segmenter: Segmenter | None = None
    ) -> None:
        self.texts = texts
        self.lexicon = lexicon
        self._is_file = is_file
        self._segmenter = segmenter  # None when every view is given
        self.norms = normalize_many(texts)
        self._found = lexicon.find_many(self.norms)
        self._rows: dict[str, set[int]] = {}
        for i, matches in enumerate(self._found):
            for match in matches:
                self._rows.setdefault(match.entry.category, set()).add(i)
        self.shared: dict[Any, Any] = {}

    def _fill(self, i: int, view: TextView) -> None:
        view.__dict__["norm"] = self.norms[i]  # what the cached properties would compute
        view.__dict__["_found"] = self._found[i]
        view.batch = self

    def view(self, i: int) -> TextView:
        """The view of text ``i``."""
        view = self._views[i]
        if view is None:
            assert self._segmenter is not None  # a batch of given views has every view
            view = TextView(self.texts[i], self.lexicon, self._segmenter, is_file=self._is_file[i])
            self._fill(i, view)
            self._views[i] = view
        return view

    @property
    def views(self) -> list[TextView]:
        """Every text's view (all of them built)."""
        return [self.view(i) for i in range(len(self.texts))]

    def close(self) -> None:
        """Let the views go (they point back at the batch): freed at once rather than by the collector."""
        for view in self._views:
            if view is not None:
                view.batch = None

    @classmethod
    def of(cls, views: list[TextView], lexicon: Lexicon) -> TextBatch:
        """The batch these views were analysed in, or a new one over them."""
        batch = views[0].batch if views else None
        if (
            batch is not None
            and len(batch.texts) == len(views)
            and all(batch._views[i] is view for i, view in enumerate(views))
        ):
            return batch
        return cls(views, lexicon)

    def rows_with(self, *lexicons: str) -> list[int]:
        """The texts with a lexicon match (before boundary and allowlist checks) in any of ``lexicons``."""
        return sorted(set().union(*(self._rows.get(name, ()) for name in lexicons)))

    @functools.cached_property
    def file_rows(self) -> list[int]:
        """The positions of the texts that are file names."""
        return [i for i, is_file in enumerate(self._is_file) if is_file]

    @functools.cached_property
    def text_rows(self) -> list[int]:
        """The positions of the views that are message texts, not file names (what the models read)."""
        if not self.file_rows:
            return list(range(len(self.texts)))
        files = set(self.file_rows)
        return [i for i in range(len(self.texts)) if i not in files]

    @functools.cached_property
    def _norm_joined(self) -> Joined:
        return Joined.of([norm.text for norm in self.norms])

    def rows_matching(self, pattern: re.Pattern[str]) -> list[int]:
        """The texts whose normalized form ``pattern`` matches in (searched over the joined batch: the
        pattern must not match a separator)."""
        joined = self._norm_joined
        positions = [m.start() for m in pattern.finditer(joined.joined)]
        return sorted(set(joined.rows(np.array(positions, dtype=np.int64)).tolist()))


class Detector(abc.ABC):
    category: ClassVar[str]

    @classmethod
    def settings_key(cls) -> str:
        """The auditor.toml table under [detectors] holding this detector's settings."""
        return cls.category

    def __init__(self, settings: dict[str, Any], lexicon: Lexicon) -> None:
        self.settings = settings
        self.lexicon = lexicon


class TextDetector(Detector):
    # A detector whose rules all start from a lexicon term names those lexicons: a text without a
    # match in any of them is never scanned.
    lexicons: ClassVar[tuple[str, ...] | None] = None

    @abc.abstractmethod
    def scan(self, view: TextView) -> list[Hit]:
        """Hits in one text."""

    def candidates(self, batch: TextBatch) -> list[int]:
        """The texts ``scan`` can find anything in; detectors with a cheaper batch test override it."""
        return list(range(len(batch.texts))) if self.lexicons is None else batch.rows_with(*self.lexicons)

    def scan_batch(self, batch: TextBatch) -> dict[int, list[Hit]]:
        """Hits per text position, for the texts that have any; detectors with vectorized work (a model)
        override this."""
        found = {}
        for i in self.candidates(batch):
            if hits := self.scan(batch.view(i)):
                found[i] = hits
        return found

    def scan_many(self, views: list[TextView]) -> list[list[Hit]]:
        """Hits per text for a list of views (``scan_batch`` over them)."""
        found = self.scan_batch(TextBatch.of(views, self.lexicon))
        return [found.get(i, []) for i in range(len(views))]


class DayDetector(Detector):
    @abc.abstractmethod
    def detect(self, day: Day) -> list[Event]:
        """Conversation-level events in one day of messages."""
