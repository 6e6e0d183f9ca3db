"""Traditional → simplified (OpenCC ``t2s``) for a joined batch, converting only the texts it can change.

OpenCC reads a text left to right, taking at each place the longest key of its dictionaries that
starts there and writing that key's value; where no key starts, the character stays. So a text in
which no key whose value differs from the key (a *changing* key) occurs comes out as it went in —
and simplified chat rarely holds one (about 2 % of distinct texts of a realistic archive). The
changing keys are read from the very dictionaries the converter loads (``t2s.json``; OpenCC stores
them as marisa tries) and screened for with ``TermScreen``: a text where none may start skips the
converter. A key is changing when the converter changes it on its own: alone, the key itself is
the longest match at its start. When the dictionaries cannot be read (another OpenCC layout), every
text is converted.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import marisa_trie
import numpy as np
import opencc

from auditor.text.batch import TermScreen, codepoints

_MARISA_HEADER = b"OPENCC_MARISA_0.2.5"


@functools.lru_cache(maxsize=1)
def t2s_converter() -> opencc.OpenCC:
    """Traditional → simplified, loaded once per process (the lexicons and the models share it)."""
    return opencc.OpenCC("t2s")


def _dictionary_files(node: object) -> list[str]:
    """Every dictionary file a converter configuration names, at any depth."""
    if isinstance(node, dict):
        found = [node["file"]] if isinstance(node.get("file"), str) else []
        return found + [f for value in node.values() for f in _dictionary_files(value)]
    if isinstance(node, list):
        return [f for value in node for f in _dictionary_files(value)]
    return []


def dictionary_keys() -> frozenset[str] | None:
    """Every key of the ``t2s`` dictionaries, or None when they cannot be read."""
    share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    try:
        config = json.loads((share / "t2s.json").read_text(encoding="utf-8"))
        keys: set[str] = set()
        for name in _dictionary_files(config):
            data = (share / name).read_bytes()
            if not data.startswith(_MARISA_HEADER):
                return None
            keys.update(marisa_trie.Trie().frombytes(data[len(_MARISA_HEADER) :]).keys())
    except (OSError, ValueError, RuntimeError):
        return None
    return frozenset(keys) or None


@functools.lru_cache(maxsize=1)
def _screen() -> tuple[TermScreen, frozenset[str]] | None:
    """Where a changing key may start, and every character of any key."""
    keys = dictionary_keys()
    if keys is None:
        return None
    converter = t2s_converter()
    return TermScreen(key for key in keys if converter.convert(key) != key), frozenset("".join(keys))


def to_simplified(text: str, separator: str) -> str:
    """``t2s_converter().convert(text)`` for texts joined by ``separator``: only the texts where a changing
    key may start go through the converter. (A separator inside a key could join texts: then all are.)"""
    screen = _screen()
    if screen is None or separator in screen[1]:
        return t2s_converter().convert(text)
    points = codepoints(text)
    possible = np.flatnonzero(screen[0].starts(points))
    if not len(possible):
        return text
    # a key never spans a separator, so each text converts as it would in the whole batch
    cuts = np.flatnonzero(points == ord(separator))
    pieces = np.unique(np.searchsorted(cuts, possible))  # the text each possible start lies in
    begins = np.concatenate(([0], cuts + 1))[pieces].tolist()
    ends = np.append(cuts, len(points))[pieces].tolist()
    converted = t2s_converter().convert(separator.join(text[b:e] for b, e in zip(begins, ends, strict=True)))
    out, last = [], 0
    for begin, end, piece in zip(begins, ends, converted.split(separator), strict=True):
        out += (text[last:begin], piece)
        last = end
    out.append(text[last:])
    return "".join(out)
