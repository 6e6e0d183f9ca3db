"""string_codes: the one way strings become codes with the empty string as "none" (a day's texts
for the analysis keys, the flooding detector's repeat keys)."""

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.detectors.day import RepeatKeys
from auditor.engines.chunk import DateKeys
from auditor.string_codes import NONE, string_codes


@pytest.mark.parametrize(
    ("values", "codes", "distinct"),
    [
        ([], [], []),
        ([""], [NONE], [""]),
        (["", ""], [NONE, NONE], [""]),
        (["收到", "", "收到", "好的"], [0, NONE, 0, 2], ["收到", "", "好的"]),
        (["a", "A", "a "], [0, 1, 2], ["a", "A", "a "]),  # no folding: equal means equal
        (["👍", "👍🏻", "👍"], [0, 1, 0], ["👍", "👍🏻"]),
        ([" ", ""], [0, NONE], [" ", ""]),  # a blank is text, only "" is none
    ],
)
def test_codes_table(values, codes, distinct):
    got, dictionary = string_codes(values)
    assert got.dtype == np.int64
    assert got.tolist() == codes
    assert dictionary.to_pylist() == distinct


def test_arrow_inputs_give_the_same_codes():
    values = ["x", "", "y", "x", ""]
    chunked = pa.chunked_array([pa.array(values[:2]), pa.array(values[2:])])
    for given_as in (values, pa.array(values), chunked):
        assert string_codes(given_as)[0].tolist() == [0, NONE, 2, 0, NONE]


def test_nulls_are_refused():
    with pytest.raises(ValueError, match="nulls"):
        string_codes(pa.array(["a", None], type=pa.string()))


@given(st.lists(st.sampled_from(["", "收到", "好的", "ok", "Ok", "ok!", "\u200b"]), max_size=40))
def test_equal_codes_exactly_for_equal_strings(values):
    codes, dictionary = string_codes(values)
    for i, a in enumerate(values):
        assert (codes[i] == NONE) == (a == "")
        if a:
            assert dictionary[int(codes[i])].as_py() == a
        for j, b in enumerate(values):
            assert (codes[i] == codes[j]) == (a == b)


@given(st.lists(st.tuples(st.sampled_from(["", "收到", "a.txt", "好的"]), st.booleans()), max_size=30))
def test_date_keys_and_repeat_keys_share_the_codes(pairs):
    """DateKeys and the flooding detector's repeat keys both code through string_codes: a message
    without text has no key (-1) exactly where its repeat code is none."""
    keys = [(text, is_file) if text else None for text, is_file in pairs]
    date_keys = DateKeys.of_keys(keys)
    texts = [text for text, _ in pairs]
    every = np.arange(len(texts))
    assert ((date_keys.rows == -1) == (RepeatKeys.of_messages(texts).codes(every) == NONE)).all()
    assert [date_keys.key(int(r)) if r >= 0 else None for r in date_keys.rows] == keys


KEYS = st.sampled_from(["", "收到", "好的", "ok", "在吗"])


@given(st.lists(KEYS, min_size=1, max_size=20), st.data())
def test_repeat_keys_code_any_subset_of_messages_by_key(distinct_keys, data):
    """The audit's form (a key per distinct text, each message's text among them) gives, for any
    messages asked about, codes equal exactly where their repeat keys are; none for a message
    without text or with an empty key."""
    rows = np.array(data.draw(st.lists(st.integers(-1, len(distinct_keys) - 1), max_size=30)), dtype=np.int64)
    asked = np.array(
        data.draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), max_size=len(rows))), dtype=np.int64
    )
    codes = RepeatKeys(pa.array(distinct_keys, type=pa.string()), rows).codes(asked)
    keys = [distinct_keys[r] if r >= 0 else "" for r in rows[asked]]
    assert len(codes) == len(asked)
    for i, a in enumerate(keys):
        assert (codes[i] == NONE) == (a == "")
        for j, b in enumerate(keys):
            assert (codes[i] == codes[j]) == (a == b)
