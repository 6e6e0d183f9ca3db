"""Strings as integer codes, the empty string as "none": how a day's texts key the analysis
(``engines.chunk.DateKeys``) and how repeat keys group the flooding detector's messages."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NONE = -1  # the code of the empty string: a message without text, a repeat key of nothing


def string_codes(values: pa.Array | pa.ChunkedArray | list[str]) -> tuple[np.ndarray, pa.Array]:
    """A code (int64) per value, equal exactly where the values are, ``NONE`` for the empty string,
    and the distinct values the other codes index (in order of first appearance).

    Hashed by Arrow (``dictionary_encode``): the values need not be Python strings. Nulls are not
    expected (the lake stores "" for no text) and are refused rather than given a code."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    if array.null_count:
        raise ValueError("string codes of an array with nulls")
    encoded = array.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    empty = np.flatnonzero(pc.equal(encoded.dictionary, "").to_numpy(zero_copy_only=False))
    if len(empty):
        codes[codes == empty[0]] = NONE
    return codes, encoded.dictionary
