"""The batch path (every detector over a whole batch, prefilters, shared folds) finds exactly what
analysing each text alone finds, on the texts of a realistic sample (real sentences, most distinct)."""

from __future__ import annotations

import pytest

from auditor import lake
from auditor.audit import FILE_TYPES
from auditor.ingest import ingest
from auditor.sample import generate


@pytest.fixture(scope="module")
def realistic_keys(tmp_path_factory):
    from auditor.workspace import Workspace

    root = tmp_path_factory.mktemp("parity")
    generate(root / "s", messages=1500, groups=4, days=1, seed=23, realism="real")
    ws = Workspace(root / "ws")
    ws.init()
    ingest(ws, [root / "s" / "exports"])
    keys: set[tuple[str, bool]] = set()
    for date in lake.dates(ws.messages_dir):
        for batch in lake.iter_batches(ws.messages_dir, date, ["text", "msgtype"]):
            texts, types = batch.column("text").to_pylist(), batch.column("msgtype").to_pylist()
            keys |= {(t, m in FILE_TYPES) for t, m in zip(texts, types, strict=True) if t}
    return sorted(keys)


def test_batch_equals_one_by_one_on_realistic_texts(analyzer, realistic_keys):
    batch = analyzer.analyze_many(realistic_keys)
    alone = [analyzer.analyze(text, is_file) for text, is_file in realistic_keys]
    assert batch == alone
    found = {h.category for hits in batch for h in hits}
    assert {"malicious_link", "pii", "secret", "abuse"} <= found  # the planted violations are in it
    assert sum(is_file for _, is_file in realistic_keys) > 0
