"""Normalization: evasions undone, and every character still points back into the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.text.normalize import fold_width, normalize

CASES = [
    ("傻*逼", "傻逼"),
    ("傻 逼", "傻逼"),
    ("傻.逼", "傻逼"),
    ("傻😊逼", "傻逼"),
    ("傻\u200b逼", "傻逼"),
    ("ＳＢ吧", "sb吧"),
    ("他媽的", "他妈的"),
    ("傻逼逼逼逼", "傻逼"),
    ("谢谢", "谢谢"),
    ("哈哈哈", "哈"),
    ("你好，世界", "你好，世界"),
    ("13８0013８000", "13800138000"),
    ("a b", "ab"),  # one-letter parts are never a word: s b, s.b, s_b are evasions
    ("ab cd", "ab cd"),  # words keep their spaces
    ("s.b", "sb"),
    ("s_b", "sb"),
    ("c n m", "cnm"),
    ("sha😊bi", "shabi"),  # pictures between letters
    ("sha.bi", "sha.bi"),  # dots inside words are names: left for pinyin spellings in the lexicon
    ("os.path", "os.path"),
    ("wxid_abc", "wxid_abc"),
    ("a/b", "a/b"),
    ("S.B.", "s.b."),  # initials and abbreviations keep their dots
    ("Mr. S. B. Chen", "mr. s. b. chen"),  # a slash is never joined (s/b = "should be")
    ("傻 B", "傻b"),  # noise between a Chinese character and a Latin letter
    ("用 python 写", "用python写"),
    ("婊…子", "婊子"),  # … and 、 are noise between characters
    ("婊……子", "婊子"),  # counted in original characters: …… is two, not six after NFKC
    ("婊、、子", "婊子"),
    ("苹果，香蕉", "苹果，香蕉"),  # sentence punctuation keeps words apart
    ("傻*&^%逼", "傻*&^%逼"),  # more than three noise characters: not an evasion, left alone
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_normalize(text, expected):
    assert normalize(text).text == expected


chinese_chat = st.text(
    alphabet=st.sampled_from(list("傻逼你好世界他媽的ＳＢsb 1２3.*_/😊\ufe0f，。、…\u200b\n逼逼逼")),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(text=chinese_chat | st.text(max_size=30))
def test_every_normalized_character_points_into_the_original(text):
    for result in (normalize(text), fold_width(text)):
        origin = result.origin if result.origin is not None else range(len(result.text))
        assert len(origin) == len(result.text)
        assert all(0 <= o < len(text) for o in origin)
        assert list(origin) == sorted(origin)
        if result.text:
            start, end = result.span(0, len(result.text))
            assert 0 <= start < end <= len(text)
