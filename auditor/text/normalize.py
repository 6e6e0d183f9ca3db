"""Normalization that defeats common evasions while remembering where every character came from.

People dodge keyword filters with full-width letters (ＳＢ), traditional characters (他媽的),
symbols, spaces or emoji between characters (傻*逼, 傻😊逼, 婊…子, 傻 B), letters split by a
symbol (s.b, s_b, c n m) and repeats (傻逼逼逼). Matching runs on the normalized text; findings
must point back into the original text, so every normalized character carries the index of the
original character it came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from auditor.text.batch import SEPARATOR, CodepointTable, Joined, codepoints, nfkc
from auditor.text.simplify import t2s_converter, to_simplified

# Characters that are real sentence punctuation in Chinese and must keep words apart. The
# enumeration comma 、, the ellipsis … and dashes are not among them: 婊、、子 and 婊…子 are
# evasions far more often than a list whose neighbouring items happen to spell an insult.
_CJK_PUNCT = set("，。！？；：“”‘’（）《》【】「」『』〈〉")
ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# A run of at most three noise characters between two CJK characters.
_NOISE_MAX = 3


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def _is_noise(ch: str) -> bool:
    """Symbols, spaces, ASCII punctuation and emoji; not letters, digits, CJK or CJK punctuation."""
    if ch in _CJK_PUNCT or ch.isalnum() or is_cjk(ch):
        return False
    return unicodedata.category(ch)[0] in "PSZC" or ch.isspace() or ch in _VARIATION_SELECTORS


_VARIATION_SELECTORS = set("\ufe0e\ufe0f")


def _is_picture(ch: str) -> bool:
    """Emoji and other pictographs: never part of a word, a URL or an identifier."""
    return unicodedata.category(ch) in ("So", "Sk") or ch in _VARIATION_SELECTORS


def _is_letter(ch: str) -> bool:
    return "a" <= ch <= "z"


def _is_alnum_ascii(ch: str) -> bool:
    return "a" <= ch <= "z" or "0" <= ch <= "9"


class Origins(Sequence[int]):
    """Where each character of a text normalized in a batch came from: a piece of the batch's array,
    made a tuple only when read (a hit's span). Most texts are never read: building every text's
    tuple cost more than the rest of normalizing the texts that lose noise runs."""

    __slots__ = ("_array", "_begin", "_end", "_values")

    def __init__(self, array: np.ndarray, begin: int, end: int) -> None:
        self._array, self._begin, self._end, self._values = array, begin, end, None

    @property
    def values(self) -> tuple[int, ...]:
        if self._values is None:
            self._values = tuple(self._array[self._begin : self._end].tolist())
        return self._values

    def __getitem__(self, index):  # type: ignore[override]
        return self.values[index]

    def __len__(self) -> int:
        return self._end - self._begin

    def __eq__(self, other: object) -> bool:
        return self.values == (other.values if isinstance(other, Origins) else other)

    def __hash__(self) -> int:
        return hash(self.values)

    def __repr__(self) -> str:
        return repr(self.values)

    def __reduce__(self):  # pickled as the tuple it stands for, not with the batch's array
        return tuple, (self.values,)


class Normalized(NamedTuple):
    """Normalized ``text``; ``origin[i]`` is the index in the original of ``text[i]``. (A named tuple:
    a batch makes one per text, and a frozen dataclass costs several times as much to build.)"""

    text: str
    origin: tuple[int, ...] | Origins | None  # None: identity (the common case, no copy needed)
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covering normalized [start, end)."""
        if self.origin is None:
            return start, end
        if end <= start:
            return self.origin[start] if start < len(
                self.origin
            ) else self.original_length, self.original_length
        return self.origin[start], self.origin[end - 1] + 1


# Combining marks and Hangul jamo can compose across characters under NFKC; without them, a
# whole-string NFKC of unchanged length maps character i to character i.
COMPOSING = re.compile("[\u0300-\u036f\u1100-\u11ff\u1ab0-\u1aff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f]")


def _one_to_one(text: str, fold_case: bool) -> str | None:
    """The NFKC (and case-folded) text when it keeps every character in place, else None."""
    if ZERO_WIDTH.search(text) or COMPOSING.search(text):
        return None
    out = unicodedata.normalize("NFKC", text)
    if fold_case:
        out = out.casefold()
    return out if len(out) == len(text) else None


def _fold(text: str) -> tuple[list[str], list[int]]:
    """NFKC + case folding per character, dropping zero-width characters."""
    fast = _one_to_one(text, fold_case=True)
    if fast is not None:
        return list(fast), list(range(len(text)))
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ZERO_WIDTH.match(ch):
            continue
        folded = unicodedata.normalize("NFKC", ch).casefold()
        for out in folded:
            chars.append(out)
            origin.append(i)
    return chars, origin


def _to_simplified(chars: list[str]) -> list[str]:
    joined = "".join(chars)
    converted = t2s_converter().convert(joined)
    if len(converted) == len(joined):
        return list(converted)
    # rare phrase conversions: convert character by character, keeping the mapping 1:1
    return [c if len(simple := t2s_converter().convert(c)) != 1 else simple for c in chars]


# Initials and abbreviations (S.B., U.S.A., e.g.): one-letter parts each closed by a dot.
_ABBREVIATION = re.compile(r"(?<![a-z0-9])(?:[a-z]\.){2,}(?![a-z0-9])")


def _joins(chars: list[str], left: int, right: int, run: str) -> bool:
    """Whether the noise ``run`` between ``chars[left]`` and ``chars[right]`` is an evasion.

    Between two Chinese characters, or a Chinese character and a Latin letter (傻 B), always.
    Between two Latin letters only when both stand alone (s.b, s_b, c n m: no word has
    one-letter parts) or the run is pictures only (sha😊bi): dots and underscores inside
    words are names (os.path, wxid_abc, www.example.com) that other detectors read.
    A slash is never joined (a/b, s/b "should be", w/o), nor a dot and a space (S. B. Chen).
    """
    a, b = chars[left], chars[right]
    if is_cjk(a) or is_cjk(b):
        return (is_cjk(a) or _is_letter(a)) and (is_cjk(b) or _is_letter(b))
    if not (_is_letter(a) and _is_letter(b)):
        return False
    if all(_is_picture(ch) for ch in run):
        return True
    alone = (left == 0 or not _is_alnum_ascii(chars[left - 1])) and (
        right + 1 == len(chars) or not _is_alnum_ascii(chars[right + 1])
    )
    mixed = any(ch.isspace() for ch in run) and not all(ch.isspace() for ch in run)
    return alone and "/" not in run and not mixed


# Characters that are never noise (CJK, the sentence punctuation, ASCII letters and digits): only
# the runs of other characters are looked at one by one, so a plain Chinese text costs one search.
_MAYBE_NOISE = re.compile(
    "[^\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaffA-Za-z0-9" + re.escape("".join(sorted(_CJK_PUNCT))) + "]+"
)
_is_noise_char = lru_cache(maxsize=4096)(_is_noise)


def _noise_runs(source: str) -> list[tuple[int, int]]:
    """The maximal runs [i, j) of noise characters in ``source``."""
    runs: list[tuple[int, int]] = []
    for candidate in _MAYBE_NOISE.finditer(source):
        start = None
        for k in range(candidate.start(), candidate.end()):
            if _is_noise_char(source[k]):
                if start is None:
                    start = k
            elif start is not None:
                runs.append((start, k))
                start = None
        if start is not None:
            runs.append((start, candidate.end()))
    return runs


def _drop_noise(chars: list[str], origin: list[int], original: str) -> tuple[list[str], list[int]]:
    """Drop runs of at most three noise characters (counted in the original text) that split a word."""
    n = len(chars)
    source = "".join(map(original.__getitem__, origin))  # the original character at each position
    abbreviations: list[tuple[int, int]] | None = None
    dropped: list[tuple[int, int]] = []
    for i, j in _noise_runs(source):
        if i == 0 or j == n:
            continue
        # one position is one original character (the common case: a space); origin is ascending
        run = source[i] if j - i == 1 else "".join([original[o] for o in dict.fromkeys(origin[i:j])])
        if len(run) > _NOISE_MAX:
            continue
        if abbreviations is None:
            abbreviations = [m.span() for m in _ABBREVIATION.finditer("".join(chars))]
        if not any(a <= i < b for a, b in abbreviations) and _joins(chars, i - 1, j, run):
            dropped.append((i, j))
    if not dropped:
        return chars, origin
    out_c: list[str] = []
    out_o: list[int] = []
    last = 0
    for i, j in dropped:
        out_c += chars[last:i]
        out_o += origin[last:i]
        last = j
    return out_c + chars[last:], out_o + origin[last:]


# A run of three or more of the same CJK character (the ranges of ``is_cjk``).
_CJK_REPEAT = re.compile("([\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff])\\1{2,}")


def _collapse_repeats(chars: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    """Runs of three or more of the same CJK character become one (傻逼逼逼 → 傻逼); 谢谢 stays."""
    runs = list(_CJK_REPEAT.finditer("".join(chars)))
    if not runs:
        return chars, origin
    out_c: list[str] = []
    out_o: list[int] = []
    last = 0
    for run in runs:  # keep each run's first character
        out_c += chars[last : run.start() + 1]
        out_o += origin[last : run.start() + 1]
        last = run.end()
    return out_c + chars[last:], out_o + origin[last:]


_ANY_REPEAT = re.compile(r"(.)\1\1")
_FAST_SAFE = re.compile(r"[\u4e00-\u9fffa-z0-9，。！？；：]*")


@lru_cache(maxsize=1 << 16)
def normalize(text: str) -> Normalized:
    """Full normalization for lexicon matching (memoised: the lexicons, the model and the flooding
    detector all normalize the same texts)."""
    if _FAST_SAFE.fullmatch(text) and t2s_converter().convert(text) == text and not _ANY_REPEAT.search(text):
        return Normalized(text, None, len(text))  # nothing to change: skip the per-character work
    chars, origin = _fold(text)
    chars = _to_simplified(chars)
    chars, origin = _drop_noise(chars, origin, text)
    chars, origin = _collapse_repeats(chars, origin)
    normalized = "".join(chars)
    if len(origin) == len(text) and normalized == text:
        return Normalized(text, None, len(text))
    return Normalized(normalized, tuple(origin), len(text))


def fold_width(text: str) -> Normalized:
    """Light normalization for pattern detectors (numbers, URLs, keys): NFKC only, case kept."""
    if unicodedata.is_normalized("NFKC", text) and not ZERO_WIDTH.search(text):
        return Normalized(text, None, len(text))
    fast = _one_to_one(text, fold_case=False)
    if fast is not None:  # typically full-width punctuation (，：) becoming ASCII in place
        return Normalized(fast, None, len(text))
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ZERO_WIDTH.match(ch):
            continue
        for out in unicodedata.normalize("NFKC", ch):
            chars.append(out)
            origin.append(i)
    return Normalized("".join(chars), tuple(origin), len(text))


_FAST_SAFE_POINTS = np.zeros(0x110000, dtype=bool)  # the characters of ``_FAST_SAFE``
_FAST_SAFE_POINTS[
    [*range(0x4E00, 0xA000), *range(ord("a"), ord("z") + 1), *range(ord("0"), ord("9") + 1)]
] = True
_FAST_SAFE_POINTS[[ord(c) for c in "，。！？；："]] = True
_noise_table = CodepointTable(_is_noise)


def normalize_many(texts: list[str]) -> list[Normalized]:
    """``normalize`` of every text, equal to it text by text, computed over the joined batch.

    Which texts are already normal is a numpy pass and one OpenCC call over them; NFKC, case folding
    and OpenCC run once over the rest (``_normalize_joined``).
    """
    joined = Joined.of(texts)
    text = joined.joined
    if text.count(SEPARATOR) != len(texts) - 1:  # rare: a text holds the separator itself
        return [normalize(t) for t in texts]
    points = codepoints(text)
    # Already normal (``normalize``'s own shortcut): safe characters only, nothing to convert or collapse.
    unsafe = ~_FAST_SAFE_POINTS.take(points)
    # ``_ANY_REPEAT`` (any character but a newline three times running), as one comparison
    triple = _triples(points) & (points[:-2] != 10)
    unsafe[:-2] |= triple
    maybe = np.flatnonzero(~joined.rows_with(unsafe)).tolist()
    converted = (
        to_simplified(SEPARATOR.join([texts[i] for i in maybe]), SEPARATOR).split(SEPARATOR) if maybe else []
    )
    out: list[Normalized | None] = [None] * len(texts)
    for i, simplified in zip(maybe, converted, strict=True):
        if simplified == texts[i]:
            out[i] = _new(Normalized, (simplified, None, len(simplified)))
    rest = [i for i, found in enumerate(out) if found is None]
    for i, found in zip(rest, _normalize_joined([texts[i] for i in rest]), strict=True):
        out[i] = found
    return out  # type: ignore[return-value]


def _normalize_joined(texts: list[str]) -> list[Normalized]:
    """``normalize`` of texts without a separator: fold, simplify, drop noise, collapse repeats, for the
    batch at once. Where the noise runs are and whether they split a word are numpy passes plus a few
    Python steps per run. A text the batch cannot vouch for (a zero-width or composing character, a
    conversion that changes its length, a repeat to collapse) goes through ``normalize``."""
    if not texts:
        return []
    joined = Joined.of(texts)
    text = joined.joined
    points = codepoints(text)
    separator = points == 0
    alone = _rows_matching(ZERO_WIDTH, text, joined) | _rows_matching(COMPOSING, text, joined)
    folded = nfkc(text).casefold()
    simple = to_simplified(folded, SEPARATOR)
    pieces = simple.split(SEPARATOR)
    if not (_same_pieces(folded, points) and _same_pieces(simple, points)):  # a text changed length: alone
        alone |= np.array(
            [
                len(a) != len(t) or len(b) != len(t)
                for a, b, t in zip(folded.split(SEPARATOR), pieces, texts, strict=True)
            ]
        )
        simple = SEPARATOR.join(t if alone[i] else pieces[i] for i, t in enumerate(texts))
    drop_starts, drop_ends, closing = _dropped_runs(text, simple, points, separator, joined, alone)
    # ``_CJK_REPEAT`` in the folded texts, as one comparison (a text with dropped noise is searched alone)
    folded_points = codepoints(simple)
    cjk_triple = _triples(folded_points) & _is_cjk_points(folded_points[:-2])
    collapses = joined.rows_with(np.concatenate([cjk_triple, np.zeros(min(2, len(points)), dtype=bool)]))
    by_itself = (alone | collapses).tolist()
    dropping, kept = _without_runs(folded_points, separator, joined, drop_starts, drop_ends)
    # most texts keep every character where it is (a tuple built by ``tuple.__new__``: a named
    # tuple's own constructor is a Python call, several times slower, and a batch makes one a text)
    out = [
        _new(Normalized, (original, None, len(original)))
        if chars == original
        else _new(Normalized, (chars, _identity(len(original)), len(original)))
        for original, chars in zip(texts, pieces, strict=True)
    ]
    for i, (chars, origin) in zip(dropping, kept, strict=True):  # never a text that goes alone
        # a repeat is one found before, or one a dropped run closed up (equal characters meet across it)
        if (by_itself[i] or i in closing) and _CJK_REPEAT.search(chars):
            out[i] = normalize(texts[i])
        else:
            out[i] = _new(Normalized, (chars, origin, len(texts[i])))
    for i in np.flatnonzero(alone | collapses).tolist():
        if i not in dropping:
            out[i] = normalize(texts[i])
    return out


def _without_runs(
    chars: np.ndarray, separator: np.ndarray, joined: Joined, starts: np.ndarray, ends: np.ndarray
) -> tuple[dict[int, None], list[tuple[str, Origins]]]:
    """The texts that lose runs [starts, ends) of the joined batch ``chars`` (ascending, as the keys of
    a dict for lookups) and, for each in that order, what is left and where each of its characters
    stood in the text: array passes over the batch, then one slice per text instead of a Python step
    per character."""
    if not len(starts):
        return {}, []
    edges = np.zeros(len(chars) + 1, dtype=np.int64)
    edges[starts] += 1  # maximal runs: no two share a start or an end, and none starts where one ends
    edges[ends] -= 1
    kept = np.cumsum(edges[:-1]) == 0
    rows = np.unique(joined.rows(starts))
    losing = np.zeros(len(joined.starts), dtype=bool)
    losing[rows] = True
    span = joined.lengths + 1  # a text and the separator after it (the last text has none)
    in_losing = np.repeat(losing, span)[: len(chars)] & ~separator
    chosen = np.flatnonzero(in_losing & kept)
    origin = chosen - np.repeat(joined.starts, span)[chosen]  # read per text only when asked
    left = chars[chosen].tobytes().decode("utf-32-le", "surrogatepass")
    ends_at = np.cumsum(joined.counts(in_losing & kept)[rows])
    begins_at = np.concatenate(([0], ends_at[:-1])).tolist()
    pieces = [(left[b:e], Origins(origin, b, e)) for b, e in zip(begins_at, ends_at.tolist(), strict=True)]
    return dict.fromkeys(rows.tolist()), pieces


_new = tuple.__new__


@lru_cache(maxsize=4096)
def _identity(length: int) -> tuple[int, ...]:
    """``tuple(range(length))``, shared: most texts keep every character where it is."""
    return tuple(range(length))


def _same_pieces(text: str, points: np.ndarray) -> bool:
    """Whether ``text`` is as long as the joined batch of ``points``, with its separators in the same
    places (one text lengthened and another shortened keep the total)."""
    return len(text) == len(points) and np.array_equal(codepoints(text) == 0, points == 0)


def _triples(points: np.ndarray) -> np.ndarray:
    """Where a code point starts a run of three equal ones (two shorter than ``points``)."""
    return (points[:-2] == points[1:-1]) & (points[1:-1] == points[2:])


def _is_cjk_points(points: np.ndarray) -> np.ndarray:
    """``is_cjk`` for an array of code points."""
    return (
        ((points >= 0x4E00) & (points <= 0x9FFF))
        | ((points >= 0x3400) & (points <= 0x4DBF))
        | ((points >= 0xF900) & (points <= 0xFAFF))
    )


def _is_letter_points(points: np.ndarray) -> np.ndarray:
    """``_is_letter`` for an array of code points."""
    return (points >= ord("a")) & (points <= ord("z"))


def _rows_matching(pattern: re.Pattern[str], text: str, joined: Joined) -> np.ndarray:
    """Per text, whether ``pattern`` (which never matches across a separator) matches in it."""
    found = np.zeros(len(joined.starts), dtype=bool)
    positions = [m.start() for m in pattern.finditer(text)]
    if positions:
        found[joined.rows(np.array(positions))] = True
    return found


def _dropped_runs(
    text: str, chars: str, points: np.ndarray, separator: np.ndarray, joined: Joined, skip: np.ndarray
) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """The noise runs ``_drop_noise`` drops in the texts not in ``skip`` (their starts and ends in the
    joined batch); and the texts where a dropped run closes up two equal characters (a repeat to
    collapse may form there).

    ``text`` is the joined originals and ``chars`` the joined folded, simplified texts, one character
    for one; a separator is never noise and bounds every run like the end of a text does, so
    ``_joins`` reads the same neighbours in the joined strings as in one text alone.
    """
    noise = _noise_table(points) & ~separator
    edges = np.diff(noise.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    rows = joined.rows(starts)
    text_start, text_end = joined.starts[rows], joined.starts[rows] + joined.lengths[rows]
    keep = (starts > text_start) & (ends < text_end) & (ends - starts <= _NOISE_MAX) & ~skip[rows]
    if not keep.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), set()
    starts, ends, rows, text_start, text_end = (a[keep] for a in (starts, ends, rows, text_start, text_end))
    # ``_joins`` for the runs that cannot lie in an abbreviation (letters and dots only), as array
    # passes: next to a Chinese character a run is dropped when both neighbours are Chinese characters
    # or Latin letters; elsewhere it is kept unless both are Latin letters. The rest go one by one.
    folded = codepoints(chars)
    first, before, after = folded[starts], folded[starts - 1], folded[ends]
    # an abbreviation is letter–dot pairs: a run starting on a dot lies in one only after a letter
    maybe_abbreviation = ((first == ord(".")) & _is_letter_points(before)) | _is_letter_points(first)
    next_to_cjk = _is_cjk_points(before) | _is_cjk_points(after)
    word_both = (_is_cjk_points(before) | _is_letter_points(before)) & (
        _is_cjk_points(after) | _is_letter_points(after)
    )
    dropped = ~maybe_abbreviation & next_to_cjk & word_both
    decided = ~maybe_abbreviation & (next_to_cjk | ~(_is_letter_points(before) & _is_letter_points(after)))
    abbreviations: dict[int, list[tuple[int, int]]] = {}  # per text, searched only where one can be
    undecided = np.flatnonzero(~decided)
    for k, i, j, row, offset, end in zip(
        undecided.tolist(),
        *(a[undecided].tolist() for a in (starts, ends, rows, text_start, text_end)),
        strict=True,
    ):
        if chars[i] == "." or "a" <= chars[i] <= "z":  # an abbreviation is letters and dots only
            if row not in abbreviations:
                abbreviations[row] = [m.span() for m in _ABBREVIATION.finditer(chars, offset, end)]
            if any(a <= i < b for a, b in abbreviations[row]):
                continue
        dropped[k] = _joins(chars, i - 1, j, text[i:j])  # type: ignore[arg-type]
    closing = set(rows[dropped & (folded[starts - 1] == folded[ends])].tolist())
    return starts[dropped], ends[dropped], closing
