import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.detectors.day import RepeatKeys
from auditor.detectors.flooding import Flooding, bursts, repeat_keys
from auditor.lexicon import Lexicon
from tests.detectors.day_helpers import CONFIG, at, day_of


def detect(rows, keys=None):
    """With ``keys`` (text → repeat key), the day carries the codes the audit computes from them."""
    day = day_of(rows)
    if keys is not None:
        day.repeat_keys = RepeatKeys.of_messages([keys[text] for text in day.messages["text"]])
    return Flooding(CONFIG["detectors"]["flooding"], Lexicon([])).detect(day)


CASES = [
    (
        "12 messages in 44 s",
        [{"sender": "a", "msgtime": at(4 * i), "text": f"第{i}条"} for i in range(12)],
        ["flooding.burst"],
    ),
    (
        "6 near-identical in 5 min",
        [{"sender": "a", "msgtime": at(50 * i), "text": "在吗" + "!" * i} for i in range(6)],
        ["flooding.repeat"],
    ),
    (
        "evasion: spaces and traditional",
        [
            {"sender": "a", "msgtime": at(40 * i), "text": t}
            for i, t in enumerate(["快回覆", "快 回复", "快回复", "快回复！", "快—回复"])
        ],
        ["flooding.repeat"],
    ),
]
NEGATIVES = [
    ("ten people say 收到 once", [{"sender": f"p{i}", "msgtime": at(i)} for i in range(10)]),
    ("9 messages in a minute", [{"sender": "a", "msgtime": at(6 * i), "text": f"第{i}条"} for i in range(9)]),
    (
        "12 messages over an hour",
        [{"sender": "a", "msgtime": at(300 * i), "text": f"第{i}条"} for i in range(12)],
    ),
    ("4 repeats", [{"sender": "a", "msgtime": at(30 * i), "text": "在吗"} for i in range(4)]),
    ("a robot posting alerts", [{"sender": "wbAlert", "msgtime": at(i), "text": "告警"} for i in range(30)]),
    ("one-to-one chat", [{"sender": "a", "roomid": "", "msgtime": at(i), "text": "在吗"} for i in range(30)]),
    (
        "same text, different rooms",
        [{"sender": "a", "roomid": f"r{i}", "msgtime": at(i), "text": "通知"} for i in range(8)],
    ),
]


@pytest.mark.parametrize(("name", "rows", "rules"), CASES, ids=[c[0] for c in CASES])
def test_flooding_found_once_per_burst(name, rows, rules):
    events = detect(rows)
    assert [e.rule for e in events] == rules
    assert events[0].evidence["messages"] == len(rows)


@pytest.mark.parametrize(("name", "rows"), NEGATIVES, ids=[c[0] for c in NEGATIVES])
def test_not_flooding(name, rows):
    assert detect(rows) == []


def test_two_separate_bursts_are_two_findings():
    rows = [{"sender": "a", "msgtime": at(3 * i), "text": f"a{i}"} for i in range(10)]
    rows += [{"sender": "a", "msgtime": at(3600 + 3 * i), "text": f"b{i}"} for i in range(10)]
    assert len(detect(rows)) == 2


def test_bursts_merge_overlapping_windows():
    import numpy as np

    assert bursts(np.array([0, 1, 2, 3, 10, 11]), 3, 3) == [(0, 4)]
    assert bursts(np.array([0, 100]), 3, 3) == []


@pytest.mark.parametrize(
    ("name", "rows"), [c[:2] for c in CASES + NEGATIVES], ids=[c[0] for c in CASES + NEGATIVES]
)
def test_repeat_keys_from_the_audit_find_the_same(name, rows):
    """With the keys the audit's analysis computed (every text of the day), the same events as when
    the detector normalizes the busy people's texts itself."""
    texts = sorted({row.get("text", "收到") for row in rows})
    assert detect(rows, dict(zip(texts, repeat_keys(texts).to_pylist(), strict=True))) == detect(rows)


def test_repeat_keys_from_the_day_are_the_ones_counted():
    rows = [{"sender": "a", "msgtime": at(50 * i), "text": f"第{i}条"} for i in range(6)]
    assert detect(rows) == []
    same = {f"第{i}条": "同一句" for i in range(6)}
    assert [e.rule for e in detect(rows, same)] == ["flooding.repeat"]


# Repeat keys against their definition, Python's own regex: (text, key).
KEY_CASES = [
    ("", ""),
    ("收到！！！", "收到"),
    ("好的，马上到。", "好的马上到"),
    ("ok_ok  OK", "okokOK"),
    ("👍👍👍", ""),
    ("第①条 ²³ 一二三", "第①条²³一二三"),
    ("cafe\u0301 naïve", "cafenaïve"),  # a combining mark is no word character
    ("a\x00b", "ab"),  # a NUL inside a text: the batch's separator, still that text's own
    ("𠀀𠀁 emoji😀end", "𠀀𠀁emojiend"),  # astral letters kept, 4 UTF-8 bytes each
    ("\u200b零\u200d宽", "零宽"),
]


@pytest.mark.parametrize(("text", "key"), KEY_CASES)
def test_a_repeat_key_is_the_text_without_non_word_characters(text, key):
    import re

    from auditor.detectors.flooding import keys_of_normalized

    assert re.sub(r"[\W_]+", "", text) == key
    texts = [t for t, _ in KEY_CASES]  # in a batch of all the cases, each keeps its own key
    assert keys_of_normalized(texts).to_pylist()[texts.index(text)] == key
    assert keys_of_normalized([text]).to_pylist() == [key]


def test_repeat_keys_keep_exactly_pythons_word_characters_over_every_code_point():
    import re

    from auditor.detectors.flooding import keys_of_normalized

    every = "".join(chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000)
    texts = [every[i : i + 5000] for i in range(0, len(every), 5000)]
    assert keys_of_normalized(texts).to_pylist() == [re.sub(r"[\W_]+", "", t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=20))
def test_repeat_keys_of_any_batch_equal_the_regex(texts):
    import re

    from auditor.detectors.flooding import keys_of_normalized

    assert keys_of_normalized(texts).to_pylist() == [re.sub(r"[\W_]+", "", t) for t in texts]


def test_repeats_found_among_messages_that_are_not_group_messages():
    """Robots' and one-to-one messages are left out of the day's group messages (and their copy
    holds no texts): the repeats between them are found from the texts of the rows that stay."""
    rows = []
    for i in range(6):
        rows.append({"sender": "wbAlert", "msgtime": at(50 * i), "text": "告警"})
        rows.append({"sender": "a", "roomid": "", "msgtime": at(50 * i + 1), "text": "私聊"})
        rows.append({"sender": "a", "msgtime": at(50 * i + 2), "text": "在吗" + "!" * i})
    texts = sorted({row["text"] for row in rows})
    for keys in (None, dict(zip(texts, repeat_keys(texts).to_pylist(), strict=True))):
        events = detect(rows, keys)
        assert [(e.rule, e.sender, e.evidence["messages"]) for e in events] == [("flooding.repeat", "a", 6)]
