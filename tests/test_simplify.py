"""``to_simplified`` converts a joined batch exactly as OpenCC's ``t2s`` does, while sending only the texts
that hold a changing key through the converter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.text import simplify
from auditor.text.simplify import dictionary_keys, t2s_converter, to_simplified


def _changing() -> list[str]:
    keys = dictionary_keys()
    assert keys is not None, "the installed OpenCC's t2s dictionaries must be readable"
    return sorted(k for k in keys if t2s_converter().convert(k) != k)


CASES = [
    "",
    "收到",
    "好的👍",
    "今天下午三点开会，大家准时到",
    "他媽的",  # characters that change
    "這個週末我們去看電影",
    "沈默是金",  # a phrase of characters that each stay, but change together (沈默 → 沉默)
    "一目瞭然",
    "重覆三次",
    "沈先生明天来",  # 沈 alone stays
    "乾隆",  # an identity phrase that shields 乾
    "乾淨",
    "ﾊﾝｶｸ and ASCII",
    "\uf900\uf901",  # compatibility ideographs (the normalization dictionary)
]


@pytest.mark.parametrize("separator", ["\x00", "\n"])
def test_batch_equals_the_converter(separator: str) -> None:
    joined = separator.join(CASES)
    assert to_simplified(joined, separator) == t2s_converter().convert(joined)


def test_every_changing_key_is_converted_in_context() -> None:
    """Each changing key of the dictionaries, alone and between simplified neighbours, in one batch."""
    texts = [form for key in _changing() for form in (key, f"我说{key}了", f"{key}{key}")]
    joined = "\n".join(texts)
    assert to_simplified(joined, "\n") == t2s_converter().convert(joined)


def test_texts_without_a_changing_key_skip_the_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = t2s_converter()

    class Counting:
        def convert(self, text: str) -> str:
            calls.append(text)
            return real.convert(text)

    monkeypatch.setattr(simplify, "t2s_converter", lambda: Counting())
    assert to_simplified("收到\n好的\n今天开会", "\n") == "收到\n好的\n今天开会"
    assert calls == []
    assert to_simplified("收到\n這個\n好的\n週末", "\n") == "收到\n这个\n好的\n周末"
    assert calls == ["這個\n週末"]


def test_unreadable_dictionaries_convert_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simplify, "dictionary_keys", lambda: None)
    simplify._screen.cache_clear()
    try:
        assert to_simplified("這個\n收到", "\n") == "这个\n收到"
    finally:
        simplify._screen.cache_clear()


# traditional characters, the pieces of phrases that change together, simplified words and a newline
PIECES = list("這個週末沈默瞭解覆乾淨隆坏打我们你好说\n ab1")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(PIECES), max_size=10)))
def test_any_batch_equals_the_converter(texts: list[str]) -> None:
    joined = "\x00".join(texts)
    assert to_simplified(joined, "\x00") == t2s_converter().convert(joined)


def test_the_converter_keeps_the_batch_separator() -> None:
    """Batches are joined by NUL (``text.batch.SEPARATOR``); OpenCC before 1.4 cut a text at its first
    NUL, so every text of a batch after the first was lost (pyproject's lower bound)."""
    from auditor.text.batch import SEPARATOR

    assert t2s_converter().convert(f"漢{SEPARATOR}語") == f"汉{SEPARATOR}语"
