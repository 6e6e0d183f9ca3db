"""The batch path (every detector over a whole batch, prefilters, shared folds) finds exactly what
analysing each text alone finds, on the texts of a realistic sample (real sentences, most distinct)."""

from __future__ import annotations


def test_batch_equals_one_by_one_on_realistic_texts(analyzer, realistic_keys):
    batch = analyzer.analyze_many(realistic_keys)
    alone = [analyzer.analyze(text, is_file) for text, is_file in realistic_keys]
    assert batch == alone
    found = {h.category for hits in batch for h in hits}
    assert {"malicious_link", "pii", "secret", "abuse"} <= found  # the planted violations are in it
    assert sum(is_file for _, is_file in realistic_keys) > 0


def test_chunk_repeat_keys_equal_the_flooding_detectors_own(analyzer, realistic_keys):
    """The repeat keys the engines return with the hits are the ones the flooding detector would
    compute itself, text by text."""
    from auditor.detectors.flooding import repeat_keys
    from auditor.engines.chunk import analyze_chunk

    analysis = analyze_chunk(analyzer, realistic_keys)
    assert analysis.hits == analyzer.analyze_many(realistic_keys)
    keys = analysis.repeat_keys.to_pylist()
    assert keys == repeat_keys([text for text, _ in realistic_keys]).to_pylist()
    assert any(key != text for key, (text, _) in zip(keys, realistic_keys, strict=True))
