"""The day's shared groupings: codes, orders and first rows the day detectors rely on."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from auditor.detectors.day import same_values, stable_order
from tests.detectors.day_helpers import day_of

CODES = st.lists(st.integers(min_value=-1, max_value=(1 << 20)), max_size=300)


@given(CODES)
def test_stable_order_is_numpys_stable_argsort(codes):
    codes = np.array(codes, dtype=np.int64)
    assert stable_order(codes).tolist() == np.argsort(codes, kind="stable").tolist()


@given(st.lists(st.integers(min_value=-1, max_value=40), max_size=300))
def test_stable_order_of_few_codes_too(codes):
    codes = np.array(codes, dtype=np.int64)
    assert stable_order(codes).tolist() == np.argsort(codes, kind="stable").tolist()


def test_stable_order_beyond_32_bits_falls_back():
    codes = np.array([1 << 40, 3, 1 << 40, 0], dtype=np.int64)
    assert stable_order(codes).tolist() == [3, 1, 0, 2]


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=60), st.data())
def test_same_values_number_rows_in_order_of_first_appearance(senders, data):
    rooms = data.draw(st.lists(st.sampled_from(["r1", "r2"]), min_size=len(senders), max_size=len(senders)))
    codes = same_values(np.array(rooms, dtype=object), np.array(senders, dtype=object))
    pairs = list(zip(rooms, senders, strict=True))
    in_order_of_first = list(dict.fromkeys(pairs))
    assert codes.tolist() == [in_order_of_first.index(pair) for pair in pairs]


def test_first_rows_are_each_persons_first_message():
    day = day_of([{"sender": s} for s in ["a", "b", "a", "c", "b"]])
    assert day.people().tolist() == [0, 1, 0, 2, 1]
    assert day.first_rows().tolist() == [0, 1, 3]
    assert day.people_order().tolist() == [0, 2, 1, 4, 3]


CODED = ["action", "roomid", "sender", "sender_kind"]
MESSAGE = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["send", "recall", "switch"]),
        "roomid": st.sampled_from(["", "wr1", "wr2", "wr群"]),
        "sender": st.sampled_from(["a", "b", "wmx", "wb1", "张伟"]),
        "sender_kind": st.sampled_from(["internal", "external", "robot"]),
    }
)


@given(st.lists(MESSAGE, min_size=1, max_size=80))
def test_the_lake_codes_give_the_groupings_the_strings_give(rows):
    """A day read from the lake carries its columns of few values as codes; the group messages and
    the people they give are those the strings give (the same rows, the same numbering)."""
    import pyarrow as pa

    from auditor.lake_view import _coded

    plain = day_of(rows)
    table = pa.Table.from_pandas(plain.messages[CODED], preserve_index=False)
    day = day_of(rows)
    day.coded = {column: _coded(table.column(column)) for column in CODED}
    assert day.group_rows.tolist() == plain.group_rows.tolist()
    assert day.people().tolist() == plain.people().tolist()
