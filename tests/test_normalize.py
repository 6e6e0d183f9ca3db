"""Normalization: evasions undone, and every character still points back into the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.text.normalize import (
    _ABBREVIATION,
    _collapse_repeats,
    _drop_noise,
    _fold,
    _is_noise,
    _joins,
    _to_simplified,
    fold_width,
    is_cjk,
    normalize,
)

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


# The noise and repeat steps as first written, one character at a time: the regex-driven steps in
# normalize.py must give exactly the same characters and offsets.
def _drop_noise_reference(chars, origin, original):
    keep = [True] * len(chars)
    protected = {k for m in _ABBREVIATION.finditer("".join(chars)) for k in range(m.start(), m.end())}
    i, n = 0, len(chars)
    while i < n:
        if not _is_noise(original[origin[i]]):
            i += 1
            continue
        j = i
        while j < n and _is_noise(original[origin[j]]):
            j += 1
        run = "".join(original[o] for o in sorted(set(origin[i:j])))
        if i > 0 and j < n and len(run) <= 3 and i not in protected and _joins(chars, i - 1, j, run):
            keep[i:j] = [False] * (j - i)
        i = j
    return [c for c, k in zip(chars, keep, strict=True) if k], [
        o for o, k in zip(origin, keep, strict=True) if k
    ]


def _collapse_repeats_reference(chars, origin):
    out_c, out_o, i = [], [], 0
    while i < len(chars):
        j = i
        while j < len(chars) and chars[j] == chars[i]:
            j += 1
        if j - i >= 3 and is_cjk(chars[i]):
            out_c.append(chars[i])
            out_o.append(origin[i])
        else:
            out_c.extend(chars[i:j])
            out_o.extend(origin[i:j])
        i = j
    return out_c, out_o


noisy_chat = st.text(
    alphabet=st.sampled_from(list("傻逼哈你好ＳＢsbAa1２.*_/ -😊\ufe0f，、…\u200b\u00ad\n\t逼逼𠀀é\u0301①")),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(text=noisy_chat | st.text(max_size=40))
def test_noise_and_repeat_steps_equal_the_per_character_reference(text):
    chars, origin = _fold(text)
    chars = _to_simplified(chars)
    assert _drop_noise(list(chars), list(origin), text) == _drop_noise_reference(chars, origin, text)
    assert _collapse_repeats(list(chars), list(origin)) == _collapse_repeats_reference(chars, origin)


@pytest.mark.parametrize(("text", "_expected"), CASES)
def test_cases_equal_the_per_character_reference(text, _expected):
    chars, origin = _fold(text)
    chars = _to_simplified(chars)
    dropped = _drop_noise(chars, origin, text)
    assert dropped == _drop_noise_reference(chars, origin, text)
    assert _collapse_repeats(*dropped) == _collapse_repeats_reference(*dropped)
