"""Hashed character n-grams for a whole batch of texts at once, without a Python loop per n-gram.

The batch is joined into one string, prepared in one pass (NFKC, case folding, traditional →
simplified), and read as one array of code points. Each n-gram's value is a rolling polynomial
hash over those code points, mixed and cut to a bucket; n-grams that would cross from one text
into the next are dropped. Scoring reads each text's buckets grouped together (``ngrams_by_text``:
a linear model scores a batch as one sparse matrix product); training and explaining read one row per
*occurrence* (text, bucket, start, n), so a firing text is explained by slicing its own n-grams back
out (``start``, ``n``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from auditor.text.batch import nfkc
from auditor.text.simplify import to_simplified

SEPARATOR = "\n"  # never inside a prepared text (newlines become spaces), never part of an n-gram
_PRIME = np.uint64(1_000_003)
_LENGTH_SALT = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xFF51AFD7ED558CCD)


@dataclass(frozen=True)
class Batch:
    """Prepared texts joined by ``SEPARATOR``, with their code points and separator positions."""

    joined: str
    n_texts: int
    codepoints: np.ndarray  # uint32
    separators: np.ndarray  # indices of SEPARATOR in ``joined``

    def texts(self) -> list[str]:
        return self.joined.split(SEPARATOR) if self.n_texts else []


def prepare_many(texts: list[str]) -> Batch:
    """The batch prepared at once: NFKC, case folding and traditional → simplified are three C calls
    over the joined texts instead of a normalization per text."""
    joined = "\x00".join(texts)  # a newline in a text reads as a blank: three C passes, no loop
    if joined.count("\x00") == max(0, len(texts) - 1):
        joined = joined.replace(SEPARATOR, " ").replace("\x00", SEPARATOR)
    else:  # rare: a text holds a NUL
        joined = SEPARATOR.join(t.replace(SEPARATOR, " ") for t in texts)
    return prepare_joined(joined, len(texts))


def prepare_joined(joined: str, n_texts: int) -> Batch:
    """``prepare_many`` of ``n_texts`` texts already joined by ``SEPARATOR`` (none holding one)."""
    joined = to_simplified(nfkc(joined, SEPARATOR).casefold(), SEPARATOR)
    codepoints = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    separators = np.flatnonzero(codepoints == ord(SEPARATOR))
    if len(separators) != max(0, n_texts - 1):  # a conversion that made or ate a separator: never silently
        raise ValueError("preparing the batch changed its separators")
    return Batch(joined, n_texts, codepoints, separators)


@dataclass(frozen=True)
class Occurrences:
    """Every n-gram occurrence of a batch: ``row`` (text), ``bucket``, ``start`` (in the text), ``n``."""

    row: np.ndarray
    bucket: np.ndarray
    start: np.ndarray
    n: np.ndarray
    n_texts: int


def _hashed(batch: Batch, ngrams: tuple[int, int], bits: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per n-gram length ``n`` in ``ngrams``: where in the joined batch each n-gram that stays inside its
    text starts (ascending), and its bucket (int64 below ``2**bits``). Deterministic across runs,
    platforms and processes."""
    cp = batch.codepoints.astype(np.uint64)
    separator = cp == ord(SEPARATOR)
    shift = np.uint64(64 - bits)
    rolling = np.zeros(0, dtype=np.uint64)
    clear = ~separator  # clear[i]: no separator in cp[i : i + n]
    with np.errstate(over="ignore"):  # the hash wraps modulo 2**64 by design
        for n in range(1, ngrams[1] + 1):
            count = len(cp) - n + 1
            if count <= 0:
                break
            if n == 1:
                rolling = cp.copy()
            else:
                rolling = rolling[:count] * _PRIME
                rolling += cp[n - 1 :]
                clear = clear[:count] & ~separator[n - 1 :]
            if n < ngrams[0]:
                continue
            at = np.flatnonzero(clear)
            mixed = rolling.take(at)  # take: several times faster than indexing with an array
            mixed += np.uint64(n) * _LENGTH_SALT
            mixed *= _MIX
            mixed ^= mixed >> np.uint64(29)
            mixed *= _MIX
            mixed >>= shift
            yield n, at, mixed.view(np.int64)  # below 2**bits: the same value as a signed integer


def char_ngrams(batch: Batch, ngrams: tuple[int, int], bits: int, *, positions: bool = True) -> Occurrences:
    """Hash every character n-gram (lengths ``ngrams[0]``…``ngrams[1]``) of a prepared batch into
    ``2**bits`` buckets, ordered by length, then by place in the batch. Without ``positions`` ``start``
    and ``n`` are left empty."""
    seps_before = np.concatenate(([0], np.cumsum(batch.codepoints == ord(SEPARATOR))))  # in cp[:i]
    text_start = np.concatenate(([0], batch.separators + 1))
    rows, buckets, starts, lengths = [], [], [], []
    for n, at, bucket in _hashed(batch, ngrams, bits):
        row = seps_before.take(at)
        rows.append(row)
        buckets.append(bucket)
        if positions:
            starts.append(at - text_start.take(row))
            lengths.append(np.full(len(at), n, dtype=np.int8))
    empty = np.zeros(0, dtype=np.int64)
    if not rows:
        return Occurrences(empty, empty, empty, np.zeros(0, dtype=np.int8), batch.n_texts)
    return Occurrences(
        np.concatenate(rows),
        np.concatenate(buckets),
        np.concatenate(starts) if positions else empty,
        np.concatenate(lengths) if positions else np.zeros(0, dtype=np.int8),
        batch.n_texts,
    )


@dataclass(frozen=True)
class TextNgrams:
    """Every n-gram of a batch grouped by text, what scoring reads: text ``i``'s buckets are
    ``bucket[indptr[i]:indptr[i + 1]]``, in the order ``char_ngrams`` lists them (by length, then
    position). As the rows of a CSR matrix (int32 indices where they fit, as scipy would keep them) a
    linear model gathers and sums a text's values in that order in one C loop over the batch."""

    indptr: np.ndarray  # n_texts + 1
    bucket: np.ndarray
    n_texts: int


def ngrams_by_text(batch: Batch, ngrams: tuple[int, int], bits: int) -> TextNgrams:
    """``char_ngrams``' buckets, grouped by text without a sort: a text of ``L`` characters has
    ``L - n + 1`` n-grams of each length ``n``, so where each one goes is known up front."""
    if not batch.n_texts:
        return TextNgrams(np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), 0)
    text_start = np.concatenate(([0], batch.separators + 1))
    lengths = np.diff(np.append(text_start, len(batch.codepoints) + 1)) - 1
    per_length = [np.maximum(lengths - n + 1, 0) for n in range(ngrams[0], ngrams[1] + 1)]
    indptr = np.zeros(batch.n_texts + 1, dtype=np.int64)
    np.cumsum(np.sum(per_length, axis=0), out=indptr[1:])
    index = np.int32 if max(indptr[-1], 1 << bits) < 2**31 else np.int64  # scipy's choice, made once
    bucket = np.empty(int(indptr[-1]), dtype=index)
    # where the n-gram starting at joined position ``at`` of text ``row`` goes: before[row] + at; the
    # n-grams of one length come text by text, ``per_length`` of them each, so before[row] is a repeat
    before = indptr[:-1] - text_start
    for n, at, hashed in _hashed(batch, ngrams, bits):
        counts = per_length[n - ngrams[0]]
        bucket[np.repeat(before, counts) + at] = hashed
        before += counts
    return TextNgrams(indptr.astype(index), bucket, batch.n_texts)
