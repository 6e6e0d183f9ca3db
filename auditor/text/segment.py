"""Word boundaries from jieba, only for the matches that need a decision.

A one- or two-character term such as 操 or 垃圾 is a hit in 我操 or 你真是个垃圾 but not in
操场, 操作 or 垃圾桶. jieba's segmentation decides: the match must start and end on token
boundaries. The tokenizer is built once per process with every multi-character lexicon
term added as a word, so jieba keeps our terms whole.

Segmentation runs on rjieba, the Rust port of jieba (same dictionary, same DAG and route
algorithm, same frequency suggestion for added words), about ten times faster. Without the HMM
it gives jieba's tokens exactly — tests/test_segment.py proves it on the conversation corpus and
on texts carrying every lexicon term — except where two routes score exactly alike (the same words
in another order: 可可可你你 is 可可/可/你/你 or 可/可可/你/你), which the last bit of a float sum
decides and the two round differently; jieba's own choice there is as arbitrary. With the HMM it
does not (rjieba keeps ``50-100`` or ``010-51979888`` whole where jieba splits at the hyphen), so
HMM cuts stay on jieba.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba


@functools.cache
def _jieba() -> ModuleType:
    """jieba, imported on first use: with rjieba it is a third of a second of imports (jieba's
    pkg_resources) that a command segmenting nothing need not pay, and the audit's main process
    starts its workers sooner without it (their fork server preloads both: ``engines.WORKER_MODULES``)."""
    import jieba

    # jieba logs its dictionary loading at INFO; that is noise in a nightly job's output.
    jieba.setLogLevel(logging.WARNING)
    return jieba


SHORT_WORD_FREQ = 5


def jieba_dictionary() -> Path:
    """jieba's own dictionary (``jieba.dt.get_dict_file()``), found without importing jieba: the
    audit's main process reads it for its workers and segments nothing itself."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("jieba is not installed")
    return Path(spec.origin).parent / "dict.txt"


# What jieba's dictionary says about a word list's pieces: see ``dictionary_entries``.
DictionaryEntries = tuple[dict[str, int], set[str], int]
_entries: dict[tuple[str, ...], DictionaryEntries] = {}


def dictionary_entries(words: tuple[str, ...]) -> DictionaryEntries:
    """What jieba's dictionary says about the pieces of ``words``: their frequencies, which of them
    are only prefixes of dictionary words (jieba stores those with frequency 0), and the total.

    Reading the dictionary is most of building a tokenizer (a Python pass over 350,000 lines):
    it is done once per process and word list, and a pool's workers are handed what their
    parent read (``remember_entries``) instead of each reading it again."""
    if words not in _entries:
        _entries[words] = _read_dictionary_entries(words)
    return _entries[words]


def remember_entries(words: tuple[str, ...], entries: DictionaryEntries) -> None:
    """``dictionary_entries(words)`` as another process of this installation read them."""
    _entries[words] = entries


def _read_dictionary_entries(words: tuple[str, ...]) -> DictionaryEntries:
    """``dictionary_entries``: Arrow's CSV reader parses the 350,000 lines (a Python pass over them
    took 0.9 CPU s, a second the audit's main process spent beside reading its first date), and
    only the lines whose word starts like a piece are looked at in Python."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    pieces = {w[i:j] for w in words for i in range(len(w)) for j in range(i + 1, len(w) + 1)}
    starts = {p[0] for p in pieces}
    try:
        listed = pa_csv.read_csv(
            jieba_dictionary(),
            read_options=pa_csv.ReadOptions(column_names=["word", "count", "tag"]),
            parse_options=pa_csv.ParseOptions(delimiter=" ", quote_char=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={"word": pa.string(), "count": pa.int64()}, include_columns=["word", "count"]
            ),
        )
    except pa.ArrowInvalid:  # a line of another shape than jieba's ``word count tag``: read as jieba does
        return _entries_by_line(pieces, starts)
    near = listed.filter(
        pc.is_in(pc.utf8_slice_codeunits(listed["word"], 0, 1), pa.array(list(starts), pa.string()))
    )
    found = zip(near["word"].to_pylist(), near["count"].to_pylist(), strict=True)
    return *_entries_of(found, pieces), pc.sum(listed["count"]).as_py() or 0


def _entries_by_line(pieces: set[str], starts: set[str]) -> DictionaryEntries:
    """``dictionary_entries`` read line by line, as jieba's ``gen_pfdict`` reads its dictionary."""
    listed = []
    with jieba_dictionary().open("rb") as handle:
        for raw in handle:
            if line := raw.strip().decode("utf-8"):
                word, count = line.split(" ")[:2]
                listed.append((word, int(count)))
    found = ((word, count) for word, count in listed if word[0] in starts)
    return *_entries_of(found, pieces), sum(count for _, count in listed)


def _entries_of(listed: Iterable[tuple[str, int]], pieces: set[str]) -> tuple[dict[str, int], set[str]]:
    """The frequencies of the ``pieces`` among dictionary lines ``listed`` (word, count), and which
    pieces are proper prefixes of a listed word (jieba gives those frequency 0): in the sorted
    words, the first one after a piece starts with it if any does."""
    frequencies: dict[str, int] = {}
    words = []
    for word, count in listed:
        if word in pieces:
            frequencies[word] = count
        words.append(word)
    words.sort()
    prefixes = set()
    for piece in pieces:
        after = bisect.bisect_right(words, piece)
        if after < len(words) and words[after].startswith(piece):
            prefixes.add(piece)
    return frequencies, prefixes


class Tokenizer:
    """jieba's dictionary plus user words; ``cut`` has jieba's signature so callers need not care
    which engine runs. HMM cuts (which rjieba does differently) load Python jieba on first use.

    User words go in with the frequencies jieba would give them, computed jieba's way (a product
    of piece frequencies over the total): rjieba's own suggestion works in logarithms and is off
    by one for some words (他妈的 850 against 851), which can tip a route."""

    def __init__(self, words: tuple[str, ...]) -> None:
        import rjieba  # on first use, as jieba (see ``_jieba``)

        self.words = words
        self._rust = rjieba.Jieba()
        self.added: dict[str, int] = {}  # word → the frequency it went in with
        if not words:
            return
        known_frequencies, known_prefixes, total = dictionary_entries(words)
        frequencies, prefixes = dict(known_frequencies), set(known_prefixes)  # grown below

        def known(piece: str) -> int:  # jieba's FREQ.get(piece, 1): 0 for a mere prefix
            return frequencies.get(piece, 0 if piece in prefixes else 1)

        for word in words:
            if len(word) >= 3:
                # jieba's suggest_freq(word): enough to keep it whole
                product = 1.0
                for piece in self._rust.cut(word, False):
                    product *= known(piece) / total
                frequency = max(int(product * total) + 1, known(word))
            elif not frequencies.get(word):
                # a short term jieba does not know gets a small frequency: enough to be a word
                # (傻逼), too little to break real words around it (我靠谱 is 我/靠谱).
                frequency = SHORT_WORD_FREQ
            else:
                continue
            self.added[word] = self._rust.add_word(word, frequency, None)
            frequencies[word] = frequency
            total += frequency
            prefixes.update(word[:k] for k in range(1, len(word)))

    def cut(self, text: str, HMM: bool = False) -> list[str]:  # jieba's keyword, so callers need not care
        if HMM:
            return _python_tokenizer(self.words).lcut(text, HMM=True)
        return self._rust.cut(text, False)


@functools.lru_cache(maxsize=4)
def _tokenizer(words: tuple[str, ...]) -> Tokenizer:
    """One tokenizer per process and word list."""
    return Tokenizer(words)


@functools.lru_cache(maxsize=4)
def _python_tokenizer(words: tuple[str, ...]) -> jieba.Tokenizer:
    """Python jieba with the same user words, added the same way (the parity reference)."""
    tokenizer = _jieba().Tokenizer()
    if words:
        # Start from the default tokenizer's loaded prefix dictionary instead of loading it again.
        base = _python_tokenizer(())
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base.FREQ), base.total, True
    else:
        tokenizer.initialize()
    for word in words:
        if len(word) >= 3:
            tokenizer.add_word(word)
        elif not tokenizer.FREQ.get(word):
            tokenizer.add_word(word, freq=SHORT_WORD_FREQ)
    return tokenizer


class Segmenter:
    def __init__(self, user_words: Iterable[str]) -> None:
        self._words = sorted({w for w in user_words if len(w) >= 2})
        self._tokenizer: Tokenizer | None = None

    def __getstate__(self) -> dict:
        # the Rust tokenizer does not pickle; a worker builds its own on first use
        return {"_words": self._words, "_tokenizer": None}

    @property
    def words(self) -> tuple[str, ...]:
        """The user words the tokenizer is built with."""
        return tuple(self._words)

    @property
    def tokenizer(self) -> Tokenizer:
        """Loaded on first use: most texts never need a boundary decision."""
        if self._tokenizer is None:
            self._tokenizer = _tokenizer(self.words)
        return self._tokenizer

    def boundaries(self, text: str) -> frozenset[int]:
        """Offsets where a token starts or ends."""
        cuts = {0}
        position = 0
        for token in self.tokenizer.cut(text, HMM=False):
            position += len(token)
            cuts.add(position)
        return frozenset(cuts)


def default_tokenizer() -> Tokenizer:
    """jieba's own dictionary only: for features that must not shift with our lexicons."""
    return _tokenizer(())
