"""Every batch pass equals its one-text counterpart: the batch-first analyzer finds exactly what
analysing each text with the per-text functions finds, whatever else shares the batch."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.detectors.base import TextBatch, TextView
from auditor.features import char_ngrams, ngrams_by_text, prepare_many
from auditor.text.batch import TermIndex, _nfkc_kind, nfkc
from auditor.text.model_view import view, view_many
from auditor.text.normalize import normalize, normalize_many

# Characters that take every branch of the batch passes: CJK (simplified and traditional), Latin in
# both cases and full width, digits, CJK and ASCII punctuation, blanks, emoji with a variation
# selector, zero-width and combining characters, Hangul jamo that compose, characters NFKC or case
# folding lengthen (… ß İ ㈱), the separators of the joined batches (NUL, 〆, newline), dots of
# abbreviations, and the lexicon's terms.
ALPHABET = list(
    "傻逼你好世界他媽的们是个猪垃圾分类操场谢哈转发扩散紧急听说裁员ＳＢsbSBAa1２3.*_/-~ 　，。！？、…"
    "😊\ufe0f\u200b\u00ad\u0301é①ß\u0130㈱\u1100\u1161ㄱㅏ\x00\u3006\n\twxid@《》"
    ":：,—[]"  # what joins a number's digits (7:00, 1,000) and brackets a sticker code ([哈哈])
)
batch_texts = st.lists(st.text(alphabet=st.sampled_from(ALPHABET), max_size=24), max_size=12)

# Texts a realistic batch rarely holds, written out so every run meets them.
EDGE_TEXTS = [
    "",
    "傻 逼",
    "傻\u200b逼",
    "ＳＢ吧",
    "他媽的",
    "哈哈哈",
    "婊……子",
    "S.B. 你好",
    "Mr. S. B. Chen",
    "a\x00b",
    "转发\u3006扩散",
    "e\u0301",
    "ㄱㅏ",
    "ß İ ㈱",
    "你是猪吧",
    "垃圾分类 你是个垃圾",
    "《无耻混蛋》",
    "紧急扩散！！！听说公司要裁员",
    "加微信 wxid_abcdef 领优惠券",
    "http://1.2.3.4/a.exe 工资表.xlsx.exe",
    "客户电话 13812345678",
    "密码：Xy#82jd!q9",
]


@settings(max_examples=300, deadline=None)
@given(texts=batch_texts)
def test_normalize_many_equals_normalize(texts):
    assert normalize_many(texts) == [normalize(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(texts=batch_texts)
def test_view_many_equals_view(texts):
    assert view_many(texts) == [view(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(ALPHABET), max_size=40) | st.text(max_size=40))
def test_nfkc_equals_unicodedata(text):
    assert nfkc(text) == unicodedata.normalize("NFKC", text)
    assert nfkc(text.replace("\n", " ") + "\n" + text, "\n") == unicodedata.normalize(
        "NFKC", text.replace("\n", " ") + "\n" + text
    )


def test_no_character_mapped_alone_can_compose():
    """The second character of every canonical composition needs real NFKC (kind 2): a character the
    table maps on its own never composes with the one before it."""
    seconds = set()
    for point in range(0x110000):
        decomposition = unicodedata.decomposition(chr(point))
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2:
            seconds.add(int(decomposition.split()[1], 16))
    assert seconds
    assert [hex(p) for p in sorted(seconds) if _nfkc_kind(chr(p))[0] != 2] == []


@settings(max_examples=150, deadline=None)
@given(texts=batch_texts)
def test_lexicon_find_many_equals_find(analyzer, texts):
    norms = [normalize(t) for t in texts]
    assert [list(found) for found in analyzer.lexicon.find_many(norms)] == [
        analyzer.lexicon.find(n) for n in norms
    ]


@settings(max_examples=100, deadline=None)
@given(texts=batch_texts)
def test_scoring_n_grams_without_positions_are_the_same_n_grams(texts):
    batch = prepare_many(texts)
    full, lean = char_ngrams(batch, (1, 4), 20), char_ngrams(batch, (1, 4), 20, positions=False)
    assert np.array_equal(full.row, lean.row) and np.array_equal(full.bucket, lean.bucket)


@settings(max_examples=150, deadline=None)
@given(texts=batch_texts, ngrams=st.sampled_from([(1, 4), (2, 3), (1, 1), (3, 6)]))
def test_n_grams_by_text_are_the_occurrences_grouped_by_text(texts, ngrams):
    """Scoring's layout holds every occurrence, each text's in the order the occurrences list them."""
    batch = prepare_many(texts)
    occ, grams = char_ngrams(batch, ngrams, 20, positions=False), ngrams_by_text(batch, ngrams, 20)
    assert grams.n_texts == len(texts)
    assert np.array_equal(np.diff(grams.indptr), np.bincount(occ.row, minlength=len(texts)))
    assert np.array_equal(grams.bucket, occ.bucket[np.argsort(occ.row, kind="stable")])


def _bincount_gram_part(model, texts):
    """A model's n-gram part computed as training computes it: bincount over the occurrences."""
    from auditor.classifier import occurrence_norms

    batch = model.featurizer.batch(texts)
    occ = model.featurizer.ngrams(batch, positions=False)
    norms = occurrence_norms(occ, model.idf, model.meta["norm_prior"])
    return np.bincount(occ.row, weights=model._gram_weight[occ.bucket], minlength=len(texts)) / norms


def test_scores_keep_every_bit_of_the_occurrence_sums(analyzer, realistic_keys):
    """The sparse product adds what bincount adds in the same order: equal, not just close, for the
    three models alone and for rumor and ad scored together."""
    from auditor.classifier import gram_parts

    texts = [t for t, _ in realistic_keys] + EDGE_TEXTS
    by_name = {type(d).__name__: d for d in analyzer.detectors}
    models = [by_name["AbuseModel"].model, by_name["Rumor"].learned.model, by_name["Ad"].learned.model]
    expected = [_bincount_gram_part(model, texts) for model in models]
    for model, reference in zip(models, expected, strict=True):
        grams = model.featurizer.ngrams_by_text(model.featurizer.batch(texts))
        assert np.array_equal(model._gram_part(grams), reference)
    together = gram_parts(
        tuple(models[1:]), models[1].featurizer.ngrams_by_text(models[1].featurizer.batch(texts))
    )
    assert all(np.array_equal(a, b) for a, b in zip(together, expected[1:], strict=True))


# Astral characters (one code point, two UTF-16 units), and newlines: the featurizer's separator, so
# texts of one character or none and separators at a batch's ends and side by side come up often.
GRAM_ALPHABET = [*ALPHABET, "\U0001f600", "\U00020000", "\U0010fffd", "\n", "\n"]


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.sampled_from(GRAM_ALPHABET), max_size=10), max_size=10))
def test_scores_keep_every_bit_on_random_batches(analyzer, texts):
    """``test_scores_keep_every_bit_of_the_occurrence_sums`` on batches hypothesis makes up."""
    from auditor.classifier import gram_parts

    by_name = {type(d).__name__: d for d in analyzer.detectors}
    models = [by_name["AbuseModel"].model, by_name["Rumor"].learned.model, by_name["Ad"].learned.model]
    expected = [_bincount_gram_part(model, texts) for model in models]
    grams = models[0].featurizer.ngrams_by_text(models[0].featurizer.batch(texts))  # all prepare alike
    for model, reference in zip(models, expected, strict=True):
        assert np.array_equal(model._gram_part(grams), reference)
    together = gram_parts(tuple(models[1:]), grams)
    assert all(np.array_equal(a, b) for a, b in zip(together, expected[1:], strict=True))


# Pieces of what the pattern detectors' prefilters look for, in evasive forms, and chat around them.
PREFILTER_PIECES = [
    *ALPHABET,
    *"ḦＷJvd:/@-xı",
    "https://",
    "HTTP://",
    "www.",
    "ｗｗｗ.",
    "javascript:",
    "javascrıpt",
    "data:text/html",
    ".xlsx.",
    ".PDF.",
    "138 1234 5678",
    "110101199003074578",
    "a.b@c-d",
    "密码",
    "口 令",
    "token",
    "sk-",
    " sk ",
    "3:aa",
    "a/b",
    "r /x",
    "AKIA",
]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(PREFILTER_PIECES), max_size=8).map("".join), max_size=12))
def test_prefilters_find_what_searching_every_text_finds(texts):
    """The screen lets every text through that the pattern matches in: candidates are exactly the
    texts the pattern finds something in when each is folded and searched alone."""
    from auditor.detectors import malicious_link, pii, secret
    from auditor.detectors.base import Prefilter
    from auditor.text.normalize import COMPOSING

    for prefilter in (malicious_link.PREFILTER, pii.PREFILTER, secret.PREFILTER):
        alone = [
            i
            for i, t in enumerate(texts)
            if COMPOSING.search(t) or prefilter.pattern.search(Prefilter._fold(t))
        ]
        assert prefilter.candidates(texts) == alone
        assert [i for i, t in enumerate(texts) if prefilter.may_match(t)] == alone  # one text at a time


def test_abuse_model_reaching_the_threshold_is_assess(analyzer, realistic_keys):
    """Pruning the cue lookup changes no score that can reach the threshold."""
    [detector] = [d for d in analyzer.detectors if type(d).__name__ == "AbuseModel"]
    texts = [normalize(t).text for t, _ in realistic_keys] + [normalize(t).text for t in EDGE_TEXTS]
    floor = detector.settings["threshold"]
    full, pruned = detector.model.assess(texts), detector.model.assess_reaching(texts, floor)
    reaching = full.scores >= floor - 1e-9
    assert reaching.any()
    assert np.array_equal(full.scores[reaching], pruned.scores[reaching])
    assert np.array_equal(full.cues[reaching], pruned.cues[reaching])
    assert (pruned.scores[~reaching] < floor).all()


def test_candidates_miss_nothing(analyzer, realistic_keys):
    """A rule detector scanning only its candidates finds what scanning every text finds."""
    keys = realistic_keys + [(t, False) for t in EDGE_TEXTS] + [("setup.exe", True)]
    views = [TextView(t, analyzer.lexicon, analyzer.segmenter, is_file=f) for t, f in keys]
    batch = TextBatch(views, analyzer.lexicon)
    checked = 0
    for detector in analyzer.detectors:
        if type(detector).__name__ in ("AbuseModel", "Rumor", "Ad"):  # the models read every text
            continue
        everything = {i: hits for i, v in enumerate(views) if (hits := detector.scan(v))}
        assert detector.scan_batch(batch) == everything, type(detector).__name__
        checked += bool(everything)
    assert checked >= 5


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_a_text_alone_and_in_a_batch_get_the_same_hits(analyzer, realistic_keys, text):
    keys = [*realistic_keys[:300], (text, False)]
    assert analyzer.analyze_many(keys)[-1] == analyzer.analyze(text)


# Terms that share first characters, overlap, nest and repeat one character (so occurrences end
# together and start inside one another), matched in texts of the same characters.
TERM_ALPHABET = list("傻逼你们是猪\x00a")


@settings(max_examples=300, deadline=None)
@given(
    terms=st.sets(st.text(alphabet=st.sampled_from(TERM_ALPHABET), min_size=1, max_size=4), max_size=12),
    text=st.text(alphabet=st.sampled_from(TERM_ALPHABET), max_size=40),
)
def test_term_index_finds_what_an_automaton_reports(terms: set[str], text: str) -> None:
    """Every occurrence of every term, by end and the longest first, as an Aho-Corasick automaton reports."""
    index = TermIndex({term: term for term in terms})
    expected = sorted(
        (
            (start + len(term) - 1, -len(term), term)
            for term in terms
            for start in range(len(text))
            if text.startswith(term, start)
        ),
    )
    assert index.find(text) == [(end, term) for end, _, term in expected]


def test_prefilter_starts_cover_their_patterns():
    """Every character a prefilter's pattern can start a match with (its opening look-ahead class,
    with the pattern's flags) is in the class its batch search skips to: a match is never skipped."""
    import re

    from auditor.detectors import malicious_link, pii, secret

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for prefilter in (malicious_link.PREFILTER, pii.PREFILTER, secret.PREFILTER):
        opening = re.match(r"\(\?=(\[(?:\\.|[^\]\\])*\])\)", prefilter.pattern.pattern)
        assert opening, prefilter.pattern.pattern
        first = re.compile(opening.group(1), prefilter.pattern.flags)
        assert set(first.findall(every)) <= set(prefilter.starts.findall(every))


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from([*ALPHABET, "http://", "https://", "www.", "O网页链接", "a.cn/x"])).map(
        "".join
    )
)
def test_view_link_alternatives_match_as_grouped(text):
    """The view's link pattern lists each opening on its own (so ``re`` can skip to an h, w or O):
    it finds what the grouped form finds."""
    import re

    from auditor.text.model_view import _LINK, _LINK_END

    grouped = re.compile(rf"(?:https?://|www\.){_LINK_END}|O网页链接")
    assert [m.span() for m in _LINK.finditer(text)] == [m.span() for m in grouped.finditer(text)]


def test_lazy_origins_read_pickle_and_compare_as_tuples():
    """A batch leaves a text's origins in the batch's array until read; they index, compare, hash and
    pickle as the tuple ``normalize`` gives."""
    import pickle

    from auditor.text.normalize import Origins

    texts = ["傻 逼", "好的", "你 好 啊", "S B"]
    batch = normalize_many(texts)
    lazy = [n for n in batch if isinstance(n.origin, Origins)]
    assert lazy  # the texts that lose a blank
    for got, want in zip(batch, map(normalize, texts), strict=True):
        assert got == want and want == got and hash(got) == hash(want)
        assert list(got.origin or ()) == list(want.origin or ())
        assert pickle.loads(pickle.dumps(got)) == want
        assert type(pickle.loads(pickle.dumps(got)).origin) is type(want.origin)
        assert got.span(0, len(got.text)) == want.span(0, len(want.text))
