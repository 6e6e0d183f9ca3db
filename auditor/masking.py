"""What is masked and how: the one place excerpts, context lines, pages and exports hide
personal data and secrets.

The recognizers are the detectors' own (``find_personal_data``, ``find_secrets``: one definition
of each pattern and of each mask's shape). What this module adds is the rule for text shown to a
reviewer: mask with every recognizer, *broader* than detection (a Luhn-valid card number without
a card word, a number after 订单号), because hiding a number too many costs nothing and showing
one too many is a leak. The report layer never runs detectors to mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from auditor.detectors import pii, secret
from auditor.detectors.base import Hit, Sensitive, may_match_any
from auditor.detectors.pii import find_personal_data
from auditor.detectors.secret import find_secrets
from auditor.text.normalize import fold_width

EXCERPT_CONTEXT = 20  # characters of context on each side of a match
EVENT_EXCERPT = 80  # characters of a conversation-level finding's anchor message

Span = tuple[int, int, str]  # (start, end, what the span shows instead) in the original text
_SCREENS = (secret.PREFILTER, pii.PREFILTER)  # where the recognizers could match anything, found fast


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Sorted spans where overlapping ones become one (their union, the first one's mask)."""
    out: list[Span] = []
    for start, end, mask in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]), out[-1][2])
        else:
            out.append((start, end, mask))
    return out


def sensitive_spans(text: str) -> list[Span]:
    """Every span of ``text`` a reviewer must not see, in original offsets, no two overlapping.

    Most texts hold nothing any recognizer could match, which the detectors' own prefilters tell in
    one search (they match wherever a rule could, broad masking included): the 18 secret rules and
    the personal-data patterns then never run (about 120 µs a line of real chat, the screen 15)."""
    if not may_match_any(_SCREENS, text):
        return []
    folded = fold_width(text)
    found: list[Sensitive] = find_secrets(folded.text) + find_personal_data(folded.text, broad=True)
    return _merged((*folded.span(f.start, f.end), f.masked) for f in found)


def hit_spans(hits: Iterable[Hit]) -> list[Span]:
    """The masked spans a text's detector hits carry."""
    return [(h.start, h.end, h.masked) for h in hits if h.masked is not None]


def excerpt(
    text: str, start: int, end: int, spans: Iterable[Span] = (), context: int = EXCERPT_CONTEXT
) -> str:
    """A window around [start, end) of ``text`` with every sensitive span replaced by its mask.

    ``spans`` adds spans already known (a finding's hits); the text's own sensitive spans are
    always masked as well, so an excerpt never shows what a context line would hide.
    """
    sensitive = _merged([*spans, *sensitive_spans(text)])
    lo, hi = max(0, start - context), min(len(text), end + context)
    for s, e, _ in sensitive:  # never cut a sensitive span in half: widen to include it whole
        if s < lo < e:
            lo = s
        if s < hi < e:
            hi = e
    pieces = []
    position = lo
    for s, e, mask in sensitive:
        if e <= lo or s >= hi:
            continue
        pieces.append(text[position:s])
        pieces.append(mask)
        position = e
    pieces.append(text[position:hi])
    body = " ".join("".join(pieces).split())  # newlines and runs of spaces → one space
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def unmasked_excerpt(text: str, start: int, end: int, context: int = EXCERPT_CONTEXT) -> str:
    """The same window with nothing hidden: for ``report --unmasked`` only (pages marked RESTRICTED)."""
    lo, hi = max(0, start - context), min(len(text), end + context)
    body = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def mask_many(texts: list[str]) -> dict[str, str]:
    """``mask_text`` of each of ``texts``, by text. The recognizers' prefilters screen them as one batch
    (a fraction of a single text's screen each): only the few they let through are searched."""
    maybe = {i for screen in _SCREENS for i in screen.candidates(texts)}
    return {text: mask_text(text) if i in maybe else text for i, text in enumerate(texts)}


@lru_cache(maxsize=65536)
def mask_text(text: str) -> str:
    """A whole text (a context line, a message on a page or in an export) with nothing sensitive left.

    Whitespace is kept as written; cached because a day's pages show the same lines many times.
    """
    spans = sensitive_spans(text)
    if not spans:
        return text
    pieces = []
    position = 0
    for s, e, mask in spans:
        pieces.append(text[position:s])
        pieces.append(mask)
        position = e
    pieces.append(text[position:])
    return "".join(pieces)
