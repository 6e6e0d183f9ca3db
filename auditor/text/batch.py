"""A batch of texts as one joined string, so a normalization or a search is one C call for all of them.

Texts are joined with ``SEPARATOR`` (NUL: no chat text has one, no lexicon term or phrase conversion
contains one, and NFKC, case folding and OpenCC leave it alone); a text that holds one is handled on
its own by the caller. Per-character facts (is it noise, is it a letter) come from ``CodepointTable``,
which asks Python once per distinct code point a process meets and then answers for a whole batch as
one numpy lookup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

SEPARATOR = "\x00"
_UNICODE = 0x110000
_UNKNOWN = 255  # a code point a lazily filled table has not met yet
V = TypeVar("V")


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclass(frozen=True)
class Joined:
    """Texts joined by ``SEPARATOR``: where each one starts, and which text each character is in."""

    joined: str
    starts: np.ndarray  # int64, one per text
    lengths: np.ndarray  # int64, one per text

    @classmethod
    def of(cls, texts: list[str]) -> Joined:
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.zeros(len(texts), dtype=np.int64)
        if len(texts) > 1:
            np.cumsum(lengths[:-1] + 1, out=starts[1:])
        return cls(SEPARATOR.join(texts), starts, lengths)

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The text each position of ``joined`` lies in (a separator counts to the text after it)."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    def rows_with(self, flags: np.ndarray) -> np.ndarray:
        """Per text, whether any of its characters has ``flags`` set."""
        return self.counts(flags) > 0

    def counts(self, flags: np.ndarray) -> np.ndarray:
        """Per text, how many of its characters have ``flags`` set (one per character of ``joined``;
        the separators between texts are left out, a text may hold a NUL): a running count read at
        each text's ends, one sequential pass instead of a search per flagged character."""
        running = np.zeros(len(flags) + 1, dtype=np.int64)
        np.cumsum(flags, out=running[1:])
        return running[self.starts + self.lengths] - running[self.starts]


class CodepointTable:
    """A per-character predicate answered for a whole array of code points at once.

    Filled lazily: a batch costs one Python call per code point never seen before in this process.
    A code point not yet asked about reads ``_UNKNOWN``, so one lookup both answers and says whether
    anything is new (the common case: nothing is).
    """

    def __init__(self, predicate: Callable[[str], bool]) -> None:
        self.predicate = predicate
        self.value = np.full(_UNICODE, _UNKNOWN, dtype=np.uint8)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        value = self.value.take(points)  # take: several times faster than indexing with an array
        if len(value) and value.max() == _UNKNOWN:
            for point in np.unique(points[value == _UNKNOWN]).tolist():
                self.value[point] = self.predicate(chr(point))
            value = self.value.take(points)
        return value.view(bool)  # 0 or 1 from here on


def _nfkc_kind(ch: str) -> tuple[int, int]:
    """(kind, code point): 0 stays as it is, 1 becomes that one character (NFKC(ch)), 2 needs real NFKC.

    A character is only ever mapped alone (kinds 0 and 1) when neither it nor its image can take part in
    a composition or a reordering with a neighbour: its image is one starter (canonical combining class 0)
    that is no mark and no Hangul jamo — the only starters that compose with the character before them.
    """
    image = unicodedata.normalize("NFKC", ch)
    if len(image) != 1:
        return 2, ord(ch)
    for c in {ch, image}:
        if unicodedata.combining(c) or unicodedata.category(c)[0] == "M" or "\u1100" <= c <= "\u11ff":
            return 2, ord(ch)
    return (0 if image == ch else 1), ord(image)


class _NfkcTable:
    def __init__(self) -> None:
        self.kind = np.full(_UNICODE, _UNKNOWN, dtype=np.uint8)  # see ``CodepointTable``
        self.image = np.zeros(_UNICODE, dtype=np.uint32)

    def kinds(self, points: np.ndarray) -> np.ndarray:
        """``_nfkc_kind`` of every code point (filling the table for the ones never met)."""
        kind = self.kind.take(points)
        if len(kind) and kind.max() == _UNKNOWN:
            for point in np.unique(points[kind == _UNKNOWN]).tolist():
                self.kind[point], self.image[point] = _nfkc_kind(chr(point))
            kind = self.kind.take(points)
        return kind


_nfkc_table = _NfkcTable()


def nfkc(text: str, barrier: str = SEPARATOR) -> str:
    """``unicodedata.normalize("NFKC", text)`` for a batch joined by ``barrier``, without its cost.

    NFKC of CJK text is slow in CPython (tens of nanoseconds a character); most characters of chat stay
    as they are or become one other character (full-width punctuation and letters), which a numpy
    lookup does for the whole batch. The pieces between barriers that hold any other character get
    real NFKC, spliced in. ``barrier`` must be a starter that composes with nothing (NUL, a newline).
    """
    if text.isascii():
        return text
    points = codepoints(text)
    kind = _nfkc_table.kinds(points)
    hardest = int(kind.max())
    if hardest == 0:
        return text
    mapped = text
    changed = np.flatnonzero(kind == 1)  # few: reading the image table only there
    if len(changed):
        images = points.copy()
        images[changed] = _nfkc_table.image.take(points.take(changed))
        mapped = images.tobytes().decode("utf-32-le")
    if hardest < 2:
        return mapped
    # the pieces holding a character of kind 2 (a few): real NFKC, the rest as mapped (same length)
    cuts = np.flatnonzero(points == ord(barrier))
    bounds = np.concatenate(([0], cuts + 1, [len(points) + 1]))
    hard = np.unique(np.searchsorted(bounds, np.flatnonzero(kind == 2), side="right") - 1)
    out, last = [], 0
    for begin, end in zip(bounds[hard].tolist(), (bounds[hard + 1] - 1).tolist(), strict=True):
        out += (mapped[last:begin], unicodedata.normalize("NFKC", text[begin:end]))
        last = end
    out.append(mapped[last:])
    return "".join(out)


_BIGRAM_BITS = 20


def _bigram_hash(points: np.ndarray) -> np.ndarray:
    """A bucket per pair of neighbouring code points (one shorter than ``points``)."""
    return _pair_hash(points[:-1], points[1:])


def _pair_hash(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A bucket per pair ``(first[i], second[i])`` of code points."""
    pairs = first.astype(np.uint64)
    pairs <<= np.uint64(21)  # in place: a batch's worth of code points, four passes and no temporaries
    pairs |= second
    with np.errstate(over="ignore"):
        pairs *= np.uint64(0x9E3779B97F4A7C15)
    pairs >>= np.uint64(64 - _BIGRAM_BITS)
    return pairs.view(np.int64)  # below 2**20: the same value, and ``take`` needs no cast


class TermScreen:
    """Where any of a set of terms may start, for a whole batch in a few numpy passes: at a
    one-character term, or where the first character of a longer one stands and the first two
    characters' hash is in a bitmap (a collision only lets a position through). ``TermIndex`` then
    checks only the places it lets through.

    The bitmap (a megabyte) is read only where a longer term's first character stands: reading it
    at every place of a batch cost a cache miss a character, more than everything else here.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.singles = np.zeros(_UNICODE, dtype=bool)
        self.firsts = np.zeros(_UNICODE, dtype=bool)
        self.bigrams = np.zeros(1 << _BIGRAM_BITS, dtype=bool)
        for term in terms:
            if len(term) == 1:
                self.singles[ord(term)] = True
            elif term:
                self.firsts[ord(term[0])] = True
                self.bigrams[_bigram_hash(codepoints(term[:2]))] = True

    def starts(self, points: np.ndarray) -> np.ndarray:
        singles, pairs = self.kinds_of_starts(points)
        singles[pairs] = True
        return singles

    def kinds_of_starts(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where a one-character term stands (a mask), and where a longer term may start (indexes)."""
        singles = self.singles.take(points)
        if len(points) < 2:
            return singles, np.zeros(0, dtype=np.int64)
        first = np.flatnonzero(self.firsts.take(points[:-1]))
        return singles, first[self.bigrams.take(_pair_hash(points.take(first), points.take(first + 1)))]


class TermIndex(Generic[V]):
    """Every occurrence of a set of terms (each with a value) in a text or a joined batch.

    The screen says where a term may start (in chat, about one place in fifty); there the terms
    sharing that place's first two characters (or its one character) are compared. Occurrences come
    as an Aho-Corasick automaton reports them — ``(end index, value)``, by end, the longest first —
    at a fraction of its cost: pyahocorasick walks every character and searches a node's children
    one by one, so a lexicon of a few hundred terms cost it about a hundred nanoseconds a character.
    """

    def __init__(self, terms: Mapping[str, V]) -> None:
        self.screen = TermScreen(terms)
        self._singles: dict[str, V] = {term: value for term, value in terms.items() if len(term) == 1}
        self._by_pair: dict[str, list[tuple[str, V]]] = {}  # longer terms by their first two characters
        for term, value in terms.items():
            if len(term) > 1:
                self._by_pair.setdefault(term[:2], []).append((term, value))

    def find(
        self, text: str, points: np.ndarray | None = None, within: np.ndarray | None = None
    ) -> list[tuple[int, V]]:
        """``(end index, value)`` of every occurrence in ``text`` (``points``: its code points, when the
        caller has them), starting where ``within`` is set when given (a mask over ``text``)."""
        if not text:
            return []
        single, pairs = self.screen.kinds_of_starts(codepoints(text) if points is None else points)
        if within is not None:
            single &= within
            pairs = pairs[within.take(pairs)]
        singles, by_pair = self._singles, self._by_pair
        # (end, -length, value): sorted, the automaton's order; a one-character term is where the screen
        # says, the longer ones are compared where their first two characters' hash is in its bitmap
        found: list[tuple[int, int, V]] = [(s, -1, singles[text[s]]) for s in np.flatnonzero(single).tolist()]
        for start in pairs.tolist():
            for term, value in by_pair.get(text[start : start + 2], ()):
                if text.startswith(term, start):
                    found.append((start + len(term) - 1, -len(term), value))
        found.sort(key=lambda occurrence: occurrence[:2])
        return [(end, value) for end, _, value in found]
