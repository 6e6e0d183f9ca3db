"""rjieba gives jieba's tokens (HMM off), with and without our user words, on real chat text."""

from __future__ import annotations

import csv
import pickle
import random
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor.lexicon import Lexicon
from auditor.text.segment import Segmenter, _python_tokenizer, _tokenizer, default_tokenizer

REPO = Path(__file__).resolve().parent.parent
COMPANY_WORDS = ("北极星计划", "天枢", "星河项目", "sb2024", "操场边")


def conversation_lines() -> list[str]:
    """The conversation train and dev splits (the test split stays the false-alarm set)."""
    lines = []
    for split in ("train", "dev"):
        with open(REPO / "eval" / "data" / "conversation" / f"{split}.csv", encoding="utf-8") as handle:
            lines += [row["text"] for row in csv.DictReader(handle)]
    return lines


@pytest.fixture(scope="module")
def user_words() -> tuple[str, ...]:
    words = {w for w in Lexicon.load(None).words if len(w) >= 2} | set(COMPANY_WORDS)
    return tuple(sorted(words))


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return conversation_lines()


def assert_same_tokens(words: tuple[str, ...], texts: list[str]) -> None:
    rust, python = _tokenizer(words), _python_tokenizer(words)
    different = [(t, rust.cut(t), python.lcut(t, HMM=False)) for t in texts]
    different = [d for d in different if d[1] != d[2]]
    assert different == [], f"{len(different)} of {len(texts)} texts differ, e.g. {different[:3]}"


def test_default_dictionary_parity_on_conversation_lines(lines):
    assert len(lines) > 9000
    assert_same_tokens((), lines)


def test_default_dictionary_parity_on_a_newline_joined_batch(lines):
    """The classifier cuts a whole batch joined by newlines in one call."""
    batch = "\n".join(lines[:2000])
    assert default_tokenizer().cut(batch) == _python_tokenizer(()).lcut(batch, HMM=False)


def test_user_word_parity_with_every_lexicon_term_in_context(lines, user_words):
    rng = random.Random(14)
    texts = list(lines)
    for word in user_words:  # every term at random places in real sentences, and on its own
        texts.append(word)
        for _ in range(5):
            line = rng.choice(lines)
            cut = rng.randrange(len(line) + 1)
            texts.append(line[:cut] + word + line[cut:])
    assert len(texts) > len(lines) + 5 * len(user_words)
    assert_same_tokens(user_words, texts)


def test_user_words_go_in_with_jiebas_frequencies(user_words):
    """Same suggested frequencies, in the same order, so the same routes win."""
    rust, python = _tokenizer(user_words), _python_tokenizer(user_words)
    assert len(rust.added) > 100
    assert rust.added == {word: python.FREQ[word] for word in rust.added}
    assert {w for w in user_words if len(w) >= 3} <= set(rust.added)


@pytest.mark.parametrize(
    ("text", "term", "whole"),
    [
        ("你真是个傻逼", "傻逼", True),
        ("我靠谱吗", "我靠", False),
        ("北极星计划下季度发布", "北极星计划", True),
        ("下班后去操场打球", "操", False),
    ],
)
def test_boundaries_keep_user_words_whole(user_words, text, term, whole):
    cuts = Segmenter(user_words).boundaries(text)
    start = text.index(term)
    assert ({start, start + len(term)} <= cuts) is whole


CHAT_ALPHABET = st.sampled_from(
    list("我你他的是了在有不这个人们来到时大上为和国地以说要就出会可也得对生能而子那傻逼操场垃圾桶")
    + list("abcXYZ019 .-_%#&+，。！？、\n\t")
    + ["😀", "👍", "ｓｂ", "１２"]
)


def _tied(cut: list[str], other: list[str]) -> bool:
    """Whether jieba's route scores two cuts of one text exactly alike: the same words in another order
    (可可/可 and 可/可可 both add log P(可) and log P(可可)). Which one wins is then the last bit of a
    float sum, which rjieba and jieba round differently."""
    return sorted(cut) == sorted(other)


@settings(max_examples=300, deadline=None)
@given(st.lists(CHAT_ALPHABET, max_size=40).map("".join))
@example("可可可你你")  # such a tie, found by this test: rjieba 可可/可/你/你, jieba 可/可可/你/你
def test_parity_on_arbitrary_mixed_script_text(user_words, text):
    """The same tokens, or a cut jieba's own scoring cannot tell from them (``_tied``)."""
    rust, python = _tokenizer(user_words).cut(text), _python_tokenizer(user_words).lcut(text, HMM=False)
    assert rust == python or _tied(rust, python)


def test_hmm_cuts_stay_on_jieba():
    """rjieba's HMM mode keeps hyphenated numbers whole; jieba splits them. HMM cuts use jieba."""
    text = "人均消费50-100元，电话010-51979888"
    assert default_tokenizer().cut(text, HMM=True) == _python_tokenizer(()).lcut(text, HMM=True)
    assert "50-100" not in default_tokenizer().cut(text, HMM=True)


def test_segmenter_pickles_without_its_tokenizer(user_words):
    segmenter = Segmenter(user_words)
    before = segmenter.boundaries("你真是个傻逼")
    clone = pickle.loads(pickle.dumps(segmenter))
    assert clone.boundaries("你真是个傻逼") == before


def test_a_worker_handed_the_dictionary_entries_builds_the_same_tokenizer(user_words, monkeypatch):
    """A pool's workers get the entries their parent read (``init_worker``'s ``dictionary``): a
    tokenizer built from them adds the same words with the same frequencies, without reading
    jieba's dictionary; a worker whose words differ reads its own."""
    from auditor.text import segment

    fresh = segment._read_dictionary_entries(user_words)
    handed = (user_words, segment._read_dictionary_entries(user_words))
    monkeypatch.setattr(segment, "_entries", {})
    segment.remember_entries(*handed)
    read = []
    monkeypatch.setattr(segment, "_read_dictionary_entries", lambda words: read.append(words) or handed[1])
    built = segment.Tokenizer(user_words)
    assert read == [] and built.added == _tokenizer(user_words).added
    assert segment.dictionary_entries(user_words) == fresh  # not grown by the build
    other = user_words[1:]
    segment.Tokenizer(other)
    assert read[-1] == other


def _as_jieba_reads(dictionary: Path, words: tuple[str, ...]) -> tuple[dict[str, int], int]:
    """jieba's own reading of a dictionary (``gen_pfdict``: frequencies, 0 for a mere prefix, and
    the total), and what the entries read for ``words`` make of each of their pieces."""
    import jieba

    from auditor.text import segment

    with dictionary.open("rb") as handle:
        frequency, total = jieba.Tokenizer().gen_pfdict(handle)
    known, prefixes, our_total = segment._read_dictionary_entries(words)
    pieces = {w[i:j] for w in words for i in range(len(w)) for j in range(i + 1, len(w) + 1)}
    ours = {p: known.get(p, 0 if p in prefixes else 1) for p in pieces}
    assert our_total == total
    return ours, {p: frequency.get(p, 1) for p in pieces}


def test_the_dictionary_entries_are_what_jieba_reads(user_words):
    """The entries come from Arrow's CSV reader and a look at the lines starting like a piece: each
    piece's frequency is the one jieba's own ``gen_pfdict`` gives it (1 for an unknown piece)."""
    from auditor.text.segment import jieba_dictionary

    ours, jiebas = _as_jieba_reads(jieba_dictionary(), (*user_words, "中华人民共和国", "一", "x"))
    assert ours == jiebas
    assert 0 in ours.values() and 1 in ours.values() and max(ours.values()) > 1000  # every kind occurs
    assert _as_jieba_reads(jieba_dictionary(), ()) == ({}, {})  # no words: the total alone


def test_a_dictionary_of_another_shape_is_read_line_by_line(tmp_path, monkeypatch):
    """A line without a tag, or with blanks around it, is jieba's format too; Arrow's reader
    refuses it, and the dictionary is then read as jieba reads it."""
    from auditor.text import segment

    dictionary = tmp_path / "dict.txt"
    dictionary.write_bytes("北京 300 ns\n北京大学 20\n  大学 100 n  \n学生 50 n\n北京 400 ns\n".encode())
    monkeypatch.setattr(segment, "jieba_dictionary", lambda: dictionary)
    ours, jiebas = _as_jieba_reads(dictionary, ("北京大学生", "大学", "学", "京大"))
    assert ours == jiebas and ours["北京"] == 400 and ours["北京大"] == 0


def test_the_dictionary_read_without_importing_jieba_is_jiebas_own():
    import jieba

    from auditor.text.segment import jieba_dictionary

    with jieba.dt.get_dict_file() as handle:
        assert jieba_dictionary().read_bytes() == handle.read()
