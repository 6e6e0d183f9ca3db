"""Word boundaries from jieba, only for the matches that need a decision.

A one- or two-character term such as 操 or 垃圾 is a hit in 我操 or 你真是个垃圾 but not in
操场, 操作 or 垃圾桶. jieba's segmentation decides: the match must start and end on token
boundaries. The tokenizer is built once per process with every multi-character lexicon
term added as a word, so jieba keeps our terms whole.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

import jieba

# jieba logs its dictionary loading at INFO on import; that is noise in a nightly job's output.
jieba.setLogLevel(logging.WARNING)


SHORT_WORD_FREQ = 5


@functools.lru_cache(maxsize=4)
def _tokenizer(words: tuple[str, ...]) -> jieba.Tokenizer:
    """One tokenizer per process and word list (loading jieba's dictionary takes half a second)."""
    tokenizer = jieba.Tokenizer()
    if words:
        # Start from the default tokenizer's loaded prefix dictionary instead of loading it again.
        base = _tokenizer(())
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base.FREQ), base.total, True
    else:
        tokenizer.initialize()
    for word in words:
        if len(word) >= 3:
            tokenizer.add_word(word)  # jieba suggests a frequency that keeps it whole
        elif not tokenizer.FREQ.get(word):
            # a short term jieba does not know gets a small frequency: enough to be a word
            # (傻逼), too little to break real words around it (我靠谱 is 我/靠谱).
            tokenizer.add_word(word, freq=SHORT_WORD_FREQ)
    return tokenizer


class Segmenter:
    def __init__(self, user_words: Iterable[str]) -> None:
        self._words = sorted({w for w in user_words if len(w) >= 2})
        self._tokenizer: jieba.Tokenizer | None = None

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        """Loaded on first use: most texts never need a boundary decision."""
        if self._tokenizer is None:
            self._tokenizer = _tokenizer(tuple(self._words))
        return self._tokenizer

    def boundaries(self, text: str) -> frozenset[int]:
        """Offsets where a token starts or ends."""
        cuts = {0}
        position = 0
        for token in self.tokenizer.cut(text, HMM=False):
            position += len(token)
            cuts.add(position)
        return frozenset(cuts)


def default_tokenizer() -> jieba.Tokenizer:
    """jieba with its own dictionary only: for features that must not shift with our lexicons."""
    return _tokenizer(())
