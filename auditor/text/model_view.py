"""What the learned rumor and ad models read: the wording, not the contact details or the number values.

Contact handles, links and numbers are the rules' cues (``detectors.ad.CONTACT``, the spread
phrases); a model that also learns them fires on a bare phone number or a helpdesk reply with a
hotline, and then "model and cue agree" means nothing. So links are dropped and every number reads as
one ``0`` (a price, a phone number and a date look alike), digits joined by a dot, comma, colon,
slash, tilde or dash included (7:00-19:30, 1,000, 400-810-1616: one ``0``; when each run of digits
made a ``0`` of its own, an opening-hours table read as a string of them, which the ad model took for
an ad). Punctuation and symbols are dropped too, without a trace: how a corpus punctuates (SMS ham
without commas, Weibo's 【】 and ！！！) is a trait of the corpus, not of a rumor or an ad (read as
blanks, every mark was one more space, and the ad model learned the space as its strongest feature:
a list of song titles in chat, all commas and title marks, scored as an ad). So are sticker codes
(WeCom's and Weibo's [呲牙], [哈哈]), and zero-width and other format characters (the CHECKED
fake-news posts end in a run of U+200B, a trait a character n-gram model learns at once), and so is
how much blank space a post carries: every gap reads as one space. So are the words of address and
politeness every group chat is full of (大家, 各位, 请, 麻烦, 一下): the public posts and SMS the
models learn from use them mostly to push a message on, and a model that learns that flags
请大家看一下. Training and scoring both go through ``view``.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from auditor.features import SEPARATOR
from auditor.text.batch import CodepointTable, codepoints

VIEW = "wording/7"  # recorded in the artifact: a model is scored through the view it was trained on
# Alternatives that each open with a letter: ``re`` then skips to the next h, w or O in a C loop
# instead of trying the pattern at every character (``(?:https?://|www\.)…`` is tried everywhere).
_LINK_END = r"[^\s\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u4e00-\u9fff]*"
_LINK = re.compile(rf"https?://{_LINK_END}|www\.{_LINK_END}|O网页链接")
_JOINS = ".,:：/~\\-—–"  # inside a number: 7:00, 1,000, 6-15, 400-810-1616, 0.5
_DIGITS = re.compile(rf"\d+(?:[{_JOINS}]\d+)*")
_STICKER = re.compile(r"\[[\u4e00-\u9fff]{1,4}\]")  # an emoticon code: [呲牙], [强], [捂脸]
_ADDRESS = re.compile("大家|各位|亲们|请|麻烦|一下|我们|你们|他们")
_MARKS = {
    cp: None
    for cp in range(0x10000)
    if unicodedata.category(chr(cp))[0] in "PS" or unicodedata.category(chr(cp)) == "Cf"
}


_MARK_POINTS = np.zeros(0x110000, dtype=bool)
_MARK_POINTS[list(_MARKS)] = True
_decimal = CodepointTable(str.isdecimal)  # what ``\d`` matches
_JOIN_POINTS = np.zeros(0x110000, dtype=bool)
_JOIN_POINTS[[ord(c) for c in _JOINS.replace("\\", "")]] = True


def _wording(text: str) -> str:
    """Sticker codes, links and words of address out, each number one ``0`` (marks, blanks still in)."""
    return _DIGITS.sub("0", _ADDRESS.sub(" ", _LINK.sub(" ", _STICKER.sub(" ", text))))


def view(text: str) -> str:
    return " ".join(_wording(text).translate(_MARKS).split())


# Joins a batch for ``view_many``: a letter (so no mark, digit or blank), inside the range that ends a
# link, in no address word; a text that holds it is viewed alone.
_VIEW_SEPARATOR = "\u3006"
JOINED_BY = SEPARATOR  # what ``view_joined`` puts between the views: the featurizer's (no view holds it)
_blank = CodepointTable(str.isspace)  # what ``str.split()`` splits at


def view_many(texts: list[str]) -> list[str]:
    """``view`` of every text, in one pass over the joined batch."""
    joined = view_joined(texts)
    if joined is None:
        return [view(text) for text in texts]
    return joined[0].split(JOINED_BY) if texts else []


def view_joined(texts: list[str]) -> tuple[str, np.ndarray] | None:
    """The views of ``texts`` joined by ``JOINED_BY`` and that string's code points, or None when a
    text holds ``_VIEW_SEPARATOR`` (then each is viewed alone)."""
    joined = _VIEW_SEPARATOR.join(texts)
    if joined.count(_VIEW_SEPARATOR) != len(texts) - 1:
        return None
    points = codepoints(_ADDRESS.sub(" ", _LINK.sub(" ", _STICKER.sub(" ", joined))))
    # ``_DIGITS.sub("0", …)`` and ``translate(_MARKS)`` as numpy passes (``re``'s ``\d`` is
    # ``str.isdecimal``; a digit is no mark): a regex substitution per number and str.translate with a
    # dict cost a Python-level step per match or character
    digit = _decimal(points)
    digit[1:-1] |= _JOIN_POINTS.take(points[1:-1]) & digit[:-2] & digit[2:]  # 7:00 is one number
    first_digits = digit.copy()
    first_digits[1:] &= ~digit[:-1]
    viewed = np.where(digit, np.uint32(ord("0")), points)
    viewed = viewed[(~digit | first_digits) & ~_MARK_POINTS.take(points)]
    # ``" ".join(view.split())`` of every view at once: a run of blanks becomes one space where it lies
    # between two characters of one text, and goes where it starts or ends a text
    blank = _blank(viewed)
    edges = np.diff(blank.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    inner = (run_starts > 0) & (run_ends < len(viewed))
    run_starts, run_ends = run_starts[inner], run_ends[inner]
    separator = viewed == ord(_VIEW_SEPARATOR)
    spaced = run_starts[~separator[run_starts - 1] & ~separator[run_ends]]
    kept = ~blank
    kept[spaced] = True
    viewed[spaced] = ord(" ")
    viewed[separator] = ord(JOINED_BY)
    viewed = viewed[kept]
    return viewed.tobytes().decode("utf-32-le", "surrogatepass"), viewed
