"""Each text's sums of per-bucket values over its hashed n-grams, in one compiled pass over a prepared batch.

Scoring needs, per text and model, Σ idf² and Σ idf × weight over the text's n-grams. In numpy that is
five or six whole-batch passes (the rolling hash per length, the mix, placing each bucket in its
text's row) and then a sparse product; each pass writes an array several times the batch's size.
Here one loop walks the code points, hashes each n-gram as ``features._hashed`` does (the same
polynomial, salt and mix, modulo 2**64) and adds the values of its bucket straight into the text's
sums: no bucket array at all.

A text's values are added one by one from zero, by n-gram length, then by position: the order in
which ``bincount`` over ``features.char_ngrams``' occurrences adds them when a model is trained, so
the sums are equal to the last bit (``tests/test_text_batch.py`` checks it on random batches).
Training and explaining still read the occurrences, which they need anyway.

Compiled once, ahead of the first call, and cached beside this module (or, where the package's
directory is read-only, in numba's user cache directory); the analysis workers import this module
in the fork server, so each worker starts with the compiled function loaded.
"""

from __future__ import annotations

import numba
import numpy as np

from auditor.features import _LENGTH_SALT, _MIX, _PRIME, SEPARATOR, Batch

_SEPARATOR_POINT = np.uint32(ord(SEPARATOR))
# a batch's code points are a read-only buffer (``np.frombuffer``), so the signature takes read-only arrays
_POINTS = numba.types.Array(numba.uint32, 1, "C", readonly=True)
_TABLE = numba.types.Array(numba.float64, 2, "C", readonly=True)


@numba.njit(
    numba.float64[:, ::1](_POINTS, numba.int64, numba.int64, numba.int64, numba.uint64, _TABLE),
    cache=True,
    nogil=True,
    boundscheck=False,
)
def _sums(
    codepoints: np.ndarray, n_texts: int, shortest: int, longest: int, shift: np.uint64, table: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled; its Python source is what numba reads
    columns = table.shape[1]
    sums = np.zeros((n_texts, columns))
    # A text's buckets are hashed into ``buckets`` first and gathered in a loop of their own: a loop that
    # only loads and adds keeps many more loads in flight than one that hashes between them.
    buckets = np.empty(len(codepoints) * (longest - shortest + 1), dtype=np.int64)
    text_sums = np.zeros(columns)
    end = -1
    for row in range(n_texts):
        start = end + 1
        end = start
        while end < len(codepoints) and codepoints[end] != _SEPARATOR_POINT:
            end += 1
        count = 0
        for n in range(shortest, longest + 1):
            salt = np.uint64(n) * _LENGTH_SALT
            for at in range(start, end - n + 1):
                rolling = np.uint64(0)
                for k in range(at, at + n):
                    rolling = rolling * _PRIME + np.uint64(codepoints[k])
                mixed = (rolling + salt) * _MIX
                mixed ^= mixed >> np.uint64(29)
                mixed *= _MIX
                buckets[count] = np.int64(mixed >> shift)
                count += 1
        text_sums[:] = 0.0
        for j in range(count):
            bucket = buckets[j]
            for c in range(columns):
                text_sums[c] += table[bucket, c]
        sums[row] = text_sums
    return sums


def gram_sums(batch: Batch, ngrams: tuple[int, int], bits: int, table: np.ndarray) -> np.ndarray:
    """Per text of ``batch`` (rows) and column of ``table`` (a float64 row per bucket, ``2**bits``
    rows), the sum of the column's values over the text's ``ngrams[0]``…``ngrams[1]``-grams."""
    if table.shape[0] != 1 << bits or table.dtype != np.float64:
        raise ValueError(f"the table needs 2**{bits} float64 rows, one per bucket")
    return _sums(
        _read_only(batch.codepoints, np.uint32),
        batch.n_texts,
        *ngrams,
        np.uint64(64 - bits),
        _read_only(table, np.float64),
    )


def _read_only(array: np.ndarray, dtype: type) -> np.ndarray:
    """``array`` as the compiled signature takes it: C-contiguous, read-only (a view when it already is)."""
    view = np.ascontiguousarray(array, dtype=dtype).view()
    view.flags.writeable = False
    return view
